"""Reports through the warehouse: accumulating loads, the inbox sensor, the real ingest job, and `observatory ingest`."""

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sources.reports.claims import PlaceMatcher
from sources.reports.frames import process_document
from warehouse.engine import loader
from warehouse.engine.paths import warehouse_paths
from warehouse.engine.contracts import ContractViolation
from warehouse.engine.registry import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
PDFS = FIXTURES / "pdfs"
SEEDS = FIXTURES / "seeds"
SEED = SEEDS / "000_da2ce94b81bae466.txt"


def _frames(path: Path, **kwargs):
    return process_document(path, places=PlaceMatcher(), **kwargs)


def test_frames_of_every_kind_meet_their_contracts():
    for path, password in [(PDFS / "eu-016.pdf", None), (SEED, None), (PDFS / "health_protected.pdf", "userpass"),
                           (PDFS / "image.pdf", None)]:
        processed = _frames(path, password=password)
        for name, frame in processed.frames.items():
            loader.validate(REGISTRY[name], frame, [path.name])
    landed = _frames(PDFS / "health_protected.pdf", password="userpass")
    assert landed.intake.landed and "core_reports__public_health_outlay" in landed.frames
    assert len(landed.frames["core_reports__public_health_outlay"]) == 23


def test_report_rows_accumulate_across_documents(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    table = REGISTRY["core_reports__claims"]
    first, second = _frames(SEED), _frames(SEEDS / "004_dfbe091a40c66b01.txt")
    for p in (first, second):
        loader.replace_rows(con, table, p.frames["core_reports__claims"], key_column="document_id", key_value=p.document_id)
    count = lambda: dict(con.execute("SELECT document_id, count(*) FROM core_reports__claims GROUP BY 1").fetchall())  # noqa: E731
    before = count()
    assert before[first.document_id] == len(first.frames["core_reports__claims"]) and second.document_id in before
    # loading one document again replaces its rows only
    loader.replace_rows(con, table, first.frames["core_reports__claims"].head(3), key_column="document_id", key_value=first.document_id)
    assert count() == {**before, first.document_id: 3}
    # a frame that breaks the contract changes nothing
    bad = first.frames["core_reports__claims"].assign(unit="furlongs")
    with pytest.raises(ContractViolation, match="unit"):
        loader.replace_rows(con, table, bad, key_column="document_id", key_value=first.document_id)
    # rows of another document are refused
    with pytest.raises(ValueError, match="do not belong"):
        loader.replace_rows(con, table, second.frames["core_reports__claims"], key_column="document_id", key_value=first.document_id)
    assert count() == {**before, first.document_id: 3}
    con.close()


def _working(wh: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse_paths(wh).working), read_only=True)


def test_inbox_sensor_starts_one_run_per_new_document_and_they_land(tmp_path, monkeypatch):
    from dagster import SensorResult, build_run_status_sensor_context, build_sensor_context, instance_for_test

    from pipelines.assets.reports import INGEST_JOB, PARTITIONS, inbox_dir, publish_after_ingest, reports_inbox_sensor
    from pipelines.definitions import defs
    from pipelines.resources import WarehouseResource

    wh = tmp_path / "observatory.duckdb"
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(wh))
    warehouse = WarehouseResource(path=str(wh))
    inbox = inbox_dir(warehouse.paths)
    for f in (PDFS / "eu-016.pdf", SEED, PDFS / "health_protected.pdf", PDFS / "image.pdf"):
        shutil.copy(f, inbox)

    with instance_for_test() as instance:
        tick = reports_inbox_sensor(build_sensor_context(instance=instance, resources={"warehouse": warehouse}))
        assert isinstance(tick, SensorResult)
        assert len(tick.run_requests) == 4
        (added,) = tick.dynamic_partitions_requests
        assert sorted(added.partition_keys) == sorted(r.partition_key for r in tick.run_requests)
        assert all(r.run_key == r.partition_key for r in tick.run_requests)  # idempotent by hash
        instance.add_dynamic_partitions(PARTITIONS.name, list(added.partition_keys))

        job = defs.resolve_job_def(INGEST_JOB)
        for request in tick.run_requests:
            assert job.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags).success

        # the same bytes under another name, and a second tick: nothing new
        shutil.copy(PDFS / "eu-016.pdf", inbox / "copy-of-eu-016.pdf")
        again = reports_inbox_sensor(build_sensor_context(instance=instance, cursor=tick.cursor, resources={"warehouse": warehouse}))
        assert again.run_requests == [] and again.dynamic_partitions_requests == []

        con = _working(wh)
        try:
            docs = con.execute("SELECT file_name, status, reason, tables, claims FROM core_reports__documents ORDER BY 1").df()
            cells = con.execute("SELECT count(*) FROM core_reports__cells").fetchall()[0][0]
            uk = con.execute("SELECT total_cases FROM core_reports__salmonellosis_origin WHERE country = 'United Kingdom'").fetchall()
        finally:
            con.close()
        status = dict(zip(docs["file_name"], docs["status"]))
        assert status == {"eu-016.pdf": "landed", SEED.name: "landed", "health_protected.pdf": "quarantined", "image.pdf": "quarantined"}
        reasons = dict(zip(docs["file_name"], docs["reason"]))
        assert "needs a password" in reasons["health_protected.pdf"] and "OCR" in reasons["image.pdf"]
        assert cells > 100 and uk == [(13802,)]

        # a password arrives: that document's run again lands it; the others' rows are untouched
        (inbox / ".passwords.toml").write_text('"health_protected.pdf" = "userpass"\n')
        protected = next(r.partition_key for r in tick.run_requests if r.tags["observatory/report_file"] == "health_protected.pdf")
        rerun = job.execute_in_process(partition_key=protected, instance=instance)
        assert rerun.success
        # a successful ingest run asks for the publish job
        publish_request = publish_after_ingest(build_run_status_sensor_context(
            sensor_name="publish_after_ingest", dagster_instance=instance, dagster_run=rerun.dagster_run,
            dagster_event=rerun.get_run_success_event()))
        assert publish_request.run_key == f"publish-after-{rerun.run_id}"
        con = _working(wh)
        try:
            after = dict(con.execute("SELECT file_name, status FROM core_reports__documents").fetchall())
            cells_after = con.execute("SELECT count(*) FROM core_reports__cells WHERE document_id <> ?", [protected]).fetchall()[0][0]
            outlay = con.execute("SELECT count(*) FROM core_reports__public_health_outlay").fetchall()[0][0]
        finally:
            con.close()
        assert after["health_protected.pdf"] == "landed" and after["eu-016.pdf"] == "landed"
        assert cells_after == cells and outlay == 23


@pytest.mark.slow
def test_observatory_ingest_lands_documents_and_publishes(warehouse_copy, monkeypatch):
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(warehouse_copy))
    files = [str(PDFS / "eu-016.pdf"), str(SEED), str(SEEDS / "002_7ce7f75d596f347a.txt"), str(PDFS / "image.pdf")]
    result = CliRunner().invoke(app, ["ingest", *files])
    assert result.exit_code == 0, result.output
    assert "landed" in result.output and "quarantined" in result.output
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        statuses = dict(con.execute("SELECT file_name, status FROM core_reports__documents").fetchall())
        tees = con.execute("SELECT value, unit, area_code FROM core_reports__claims WHERE figure = '£7,680,980'").fetchall()
        hle = con.execute("""SELECT value FROM core_reports__claims WHERE kind = 'figure_value' AND area_code = 'E08000016'
                             AND series = 'female' AND measure_hint = 'healthy life expectancy'""").fetchall()
        geo = con.execute("SELECT count(*) FROM core_geo__areas").fetchall()[0][0]
    finally:
        con.close()
    assert statuses == {"eu-016.pdf": "landed", SEED.name: "landed", "002_7ce7f75d596f347a.txt": "landed", "image.pdf": "quarantined"}
    assert tees == [(7680980.0, "GBP", "E47000006")] and hle == [(61.0,)] and geo > 300
    # idempotent: the same files again process nothing and change nothing
    again = CliRunner().invoke(app, ["ingest", *files])
    assert again.exit_code == 0, again.output
