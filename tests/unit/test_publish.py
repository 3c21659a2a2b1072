"""Atomic publishing: refused builds leave the published file alone; temporaries of killed runs are removed."""

import hashlib
import os

import duckdb
import pytest

from warehouse.engine.paths import warehouse_paths
from warehouse.engine.publish import PublishError, publish, remove_stale_temporaries


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
    assert report.published and report.tables["core_a__b"] == 1
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


def _provenance_frame(n, title="A title"):
    import pandas as pd

    return pd.DataFrame([{
        "sha256": f"{i:064x}", "source_id": "s", "origin": "snapshot:x", "file_name": "x.csv", "bytes": 10 + i,
        "retrieved_at": "2026-01-01 00:00:00", "publisher": "ONS", "title": title, "licence": "OGL-UK-3.0",
        "mode": "snapshot", "landed_path": ".landing/x",
    } for i in range(n)])


def _load(paths, frame):
    from warehouse.engine import loader
    from warehouse.engine.registry import REGISTRY

    con = duckdb.connect(str(paths.working))
    loader.replace_table(con, REGISTRY["core_provenance__files"], frame)
    con.close()


def _history(paths):
    con = duckdb.connect(str(paths.published), read_only=True)
    try:
        return con.execute("SELECT * FROM core_build__changes ORDER BY publish_id").df()
    finally:
        con.close()


def test_each_publish_records_what_changed_and_an_unchanged_build_publishes_nothing(paths):
    _load(paths, _provenance_frame(3))
    first = publish(paths, [])
    assert first.published and {c.table_name: c.change for c in first.changes} == {"core_provenance__files": "added"}

    again = publish(paths, [])
    assert not again.published and again.changes == []
    assert len(_history(paths)) == 1

    frame = _provenance_frame(4)
    frame.loc[0, "title"] = "A new title"
    _load(paths, frame)
    before = _digest(paths.published)
    third = publish(paths, [])
    assert third.published and _digest(paths.published) != before
    change = third.changes[0]
    assert (change.table_name, change.rows_before, change.rows_after, change.rows_added, change.rows_changed) == ("core_provenance__files", 3, 4, 1, 1)
    assert change.sample == [{"key": {"sha256": f"{0:064x}"}, "column": "title", "before": "A title", "after": "A new title"}]
    history = _history(paths)
    assert list(history["change"]) == ["added", "changed"]
    assert "A new title" in history["sample_changes"].iloc[1]
