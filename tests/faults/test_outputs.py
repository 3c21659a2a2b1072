"""Outputs never overwrite inputs (issue 14, part 1): the real CLI against a small real warehouse.

`observatory report --out warehouse/observatory.duckdb` used to replace the warehouse with HTML. Now every
command that writes a user-named file asks `warehouse.engine.output_guard.check_output` first: the warehouse
file, its data folder (build folder, landing store, inbox) are refused whatever ``--force`` says, and an
existing file the observatory did not write is refused unless ``--force``. Writes go through a temporary
file renamed into place.
"""

from __future__ import annotations

import hashlib
import os

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from warehouse.engine.ddl import create_table_sql
from warehouse.engine.output_guard import OutputRefused, check_output, write_text_atomic
from warehouse.engine.paths import warehouse_paths
from warehouse.engine.registry import REGISTRY

pytestmark = [pytest.mark.slow, pytest.mark.faults]
runner = CliRunner()


@pytest.fixture()
def small_warehouse(tmp_path, monkeypatch):
    """A real (tiny) published warehouse with its data folder: build folder, landing store, inbox."""
    published = tmp_path / "wh" / "observatory.duckdb"
    published.parent.mkdir()
    con = duckdb.connect(str(published))
    con.execute(create_table_sql(REGISTRY["core_geo__areas"]))  # a registered table, empty
    con.close()
    paths = warehouse_paths(published)
    for folder in (paths.build_dir, paths.landing, paths.inbox):
        folder.mkdir(parents=True)
    (paths.inbox / ".passwords.toml").write_text('"a.pdf" = "secret"\n')
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(published))
    monkeypatch.setenv("COLUMNS", "200")
    return paths


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.scenario("fails_clearly", "loss")
@pytest.mark.parametrize("force", [False, True])
def test_report_refuses_to_overwrite_the_warehouse_even_with_force(small_warehouse, force):
    before = _digest(small_warehouse.published)
    result = runner.invoke(app, ["report", "--out", str(small_warehouse.published), *(["--force"] if force else [])])
    assert result.exit_code == 2, result.output
    assert "refusing to write" in result.output and "published warehouse file" in result.output
    assert _digest(small_warehouse.published) == before
    duckdb.connect(str(small_warehouse.published), read_only=True).close()  # still a DuckDB file


@pytest.mark.scenario("fails_clearly", "loss")
@pytest.mark.parametrize("where", ["build", "landing", "inbox", "passwords", "data"])
def test_report_and_export_refuse_the_data_folder(small_warehouse, where):
    target = {"build": small_warehouse.working, "landing": small_warehouse.landing / "x.html",
              "inbox": small_warehouse.inbox / "report.html", "passwords": small_warehouse.inbox / ".passwords.toml",
              "data": small_warehouse.data / "report.html"}[where]
    result = runner.invoke(app, ["report", "--out", str(target), "--force"])
    assert result.exit_code == 2 and "refusing to write" in result.output, result.output
    assert not target.exists() or target.read_bytes().startswith(b'"a.pdf"')
    folder = target.parent if where != "data" else small_warehouse.data
    exported = runner.invoke(app, ["export", "--out", str(folder), "--force"])
    assert exported.exit_code == 2 and "refusing to write" in exported.output, exported.output


@pytest.mark.scenario("fails_clearly", "loss")
def test_a_symlink_to_the_warehouse_is_the_warehouse(small_warehouse, tmp_path):
    link = tmp_path / "innocent.html"
    link.symlink_to(small_warehouse.published)
    before = _digest(small_warehouse.published)
    result = runner.invoke(app, ["report", "--out", str(link), "--force"])
    assert result.exit_code == 2, result.output
    assert _digest(small_warehouse.published) == before


@pytest.mark.scenario("survives", "loss")
def test_an_existing_file_not_written_by_the_observatory_needs_force(small_warehouse, tmp_path):
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my own notes</html>")
    refused = runner.invoke(app, ["report", "--out", str(mine)])
    assert refused.exit_code == 2 and "--force" in refused.output, refused.output
    assert mine.read_text() == "<html>my own notes</html>"
    forced = runner.invoke(app, ["report", "--out", str(mine), "--force"])
    assert forced.exit_code == 0, forced.output
    again = runner.invoke(app, ["report", "--out", str(mine)])  # now the observatory's own: replaced without --force
    assert again.exit_code == 0, again.output
    assert "northern-observatory-output" in mine.read_text()


@pytest.mark.scenario("survives", "loss")
def test_export_refuses_foreign_files_in_its_folder_and_reexports_its_own(small_warehouse, tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    foreign = out / "datapackage.json"
    foreign.write_text('{"name": "somebody else\'s package"}')
    refused = runner.invoke(app, ["export", "--out", str(out)])
    assert refused.exit_code == 2 and "datapackage.json" in refused.output, refused.output
    assert foreign.read_text() == '{"name": "somebody else\'s package"}'
    assert runner.invoke(app, ["export", "--out", str(out), "--force"]).exit_code == 0
    assert runner.invoke(app, ["export", "--out", str(out)]).exit_code == 0


@pytest.mark.scenario("survives", "loss")
def test_a_failed_write_leaves_the_previous_file_whole(tmp_path):
    target = tmp_path / "report.html"
    write_text_atomic(target, "old")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        from warehouse.engine.output_guard import write_atomic

        with write_atomic(target) as tmp:
            tmp.write_text("half")
            raise Boom
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.html"]


def test_the_guard_is_one_function_for_every_writer(small_warehouse, tmp_path):
    with pytest.raises(OutputRefused, match="build folder"):
        check_output(small_warehouse.working, small_warehouse, force=True)
    assert check_output(tmp_path / "new.html", small_warehouse) == (tmp_path / "new.html").resolve()
