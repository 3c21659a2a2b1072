"""Atomic publishing: refused builds leave the published file alone; temporaries of killed runs are removed."""

import hashlib
import os

import duckdb
import pytest

from warehouse.paths import warehouse_paths
from warehouse.publish import PublishError, publish, remove_stale_temporaries


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def paths(tmp_path):
    p = warehouse_paths(tmp_path / "observatory.duckdb").ensure()
    con = duckdb.connect(str(p.working))
    con.execute("CREATE TABLE core_a__b AS SELECT 1 AS x")
    con.close()
    return p


def test_publish_replaces_the_file_and_reports_tables(paths):
    report = publish(paths, ["core_a__b"])
    assert report.tables == {"core_a__b": 1}
    con = duckdb.connect(str(paths.published), read_only=True)
    assert con.execute("SELECT x FROM core_a__b").fetchall() == [(1,)]
    con.close()


def test_a_build_missing_a_table_is_not_published(paths):
    publish(paths, ["core_a__b"])
    before = _digest(paths.published)
    with pytest.raises(PublishError, match=r"lacks table\(s\) \['core_c__d'\]"):
        publish(paths, ["core_a__b", "core_c__d"])
    assert _digest(paths.published) == before
    assert not list(paths.folder.glob(".observatory.duckdb.publishing-*"))


def test_stale_temporaries_of_dead_processes_are_removed(paths):
    dead = paths.folder / ".observatory.duckdb.publishing-999999999-abcd1234"
    alive = paths.folder / f".observatory.duckdb.publishing-{os.getpid()}-abcd1234"
    dead.write_bytes(b"half a file")
    alive.write_bytes(b"in progress")
    removed = remove_stale_temporaries(paths)
    assert removed == [dead] and alive.exists()
