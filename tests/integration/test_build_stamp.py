"""A build with nothing changed launches no run; a change to anything the build reads or left launches one.

The real ``observatory build`` (in-process, through typer's runner) on a copy of the session's warehouse, and the
stamp functions on their own (:mod:`pipelines.build_stamp`).
"""

from __future__ import annotations

import os
import shutil

from typer.testing import CliRunner

from pipelines import build_stamp
from pipelines.cli import app
from pipelines.instance import shared_instance
from tests.conftest import REPO_ROOT
from warehouse.engine.paths import warehouse_paths

runner = CliRunner()


def _build(warehouse, *options):
    result = runner.invoke(app, ["build", "--warehouse", str(warehouse), *options])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _published(paths):
    st = paths.published.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def test_nothing_changed_means_no_run_and_any_change_means_a_run(warehouse_copy, scratch_snapshot):
    paths = warehouse_paths(warehouse_copy)
    instance = shared_instance(paths)
    assert "Up to date" not in _build(warehouse_copy)  # a copied warehouse: its files are not the ones any build left
    runs, published = instance.get_runs_count(), _published(paths)

    said = _build(warehouse_copy)
    assert "Up to date" in said and "no run was launched" in said
    assert instance.get_runs_count() == runs and _published(paths) == published
    assert "core_geo__areas" in said  # the tables are still listed

    with open(scratch_snapshot / "catalogue.toml", "a") as fh:  # one byte more in a file the build reads
        fh.write("\n")
    assert "Up to date" not in _build(warehouse_copy)
    assert instance.get_runs_count() == runs + 1

    assert "Up to date" in _build(warehouse_copy)
    assert "Up to date" not in _build(warehouse_copy, "--rerun")
    assert instance.get_runs_count() == runs + 2


def _code_root(tmp_path):
    root = tmp_path / "code"
    shutil.copytree(REPO_ROOT / "sources" / "snapshot" / "geography", root / "sources" / "snapshot" / "geography")
    (root / "warehouse" / "transforms").mkdir(parents=True)
    (root / "warehouse" / "transforms" / "x.sql").write_text("SELECT 1")
    (root / "pyproject.toml").write_text("[project]\n")
    return root


def test_the_reads_digest_sees_every_file_setting_and_package_but_no_database_or_cache(tmp_path, monkeypatch):
    root = _code_root(tmp_path)
    paths = warehouse_paths(tmp_path / "wh.duckdb")
    base = build_stamp.reads_digest(paths, root)
    assert build_stamp.reads_digest(paths, root) == base

    (root / "warehouse" / "observatory.duckdb").write_bytes(b"db")  # databases and caches are not read as code
    (root / "warehouse" / "transforms" / "__pycache__").mkdir()
    (root / "warehouse" / "transforms" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert build_stamp.reads_digest(paths, root) == base

    (root / "warehouse" / "transforms" / "x.sql").write_text("SELECT 2")
    edited = build_stamp.reads_digest(paths, root)
    assert edited != base
    (root / "warehouse" / "transforms" / "new.sql").write_text("")  # a new, empty file counts too
    assert build_stamp.reads_digest(paths, root) not in (base, edited)

    settled = build_stamp.reads_digest(paths, root)
    monkeypatch.setenv("OBSERVATORY_REPORT_SECONDS", "5")
    assert build_stamp.reads_digest(paths, root) != settled
    monkeypatch.delenv("OBSERVATORY_REPORT_SECONDS")
    monkeypatch.setenv("UNRELATED_SETTING", "1")
    assert build_stamp.reads_digest(paths, root) == settled


def test_the_stamp_holds_only_while_nothing_the_build_left_changes(tmp_path):
    paths = warehouse_paths(tmp_path / "wh.duckdb")
    home = tmp_path / "home"
    home.mkdir()
    paths.build_dir.mkdir(parents=True)
    paths.working.write_bytes(b"working")
    paths.published.write_bytes(b"published")
    (paths.outputs / "profiles").mkdir(parents=True)
    (paths.outputs / "profiles" / "a.html").write_text("a")

    assert build_stamp.up_to_date(paths, home, "r") is None  # no stamp yet
    build_stamp.record(paths, home, "r", "run-1")
    assert build_stamp.up_to_date(paths, home, "r").run_id == "run-1"
    assert build_stamp.up_to_date(paths, home, "other reads") is None

    (paths.outputs / "profiles" / "a.html").unlink()  # a rendered page deleted
    assert build_stamp.up_to_date(paths, home, "r") is None
    build_stamp.record(paths, home, "r", "run-2")
    paths.working.write_bytes(b"written by an ingest")
    assert build_stamp.up_to_date(paths, home, "r") is None
    build_stamp.record(paths, home, "r", "run-3")
    os.replace(tmp_path / "wh.duckdb", tmp_path / "moved")
    assert build_stamp.up_to_date(paths, home, "r") is None  # no published file: never up to date

    (tmp_path / "moved").rename(paths.published)
    build_stamp.record(paths, home, "r", "run-4")
    build_stamp.forget(paths)  # a run starting removes the stamp: a killed run leaves none
    assert build_stamp.up_to_date(paths, home, "r") is None
