"""Reports through the warehouse: accumulating loads, the inbox sensor, the real ingest job, and `observatory ingest`."""

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sources.reports.claims import PlaceMatcher
from sources.reports.frames import process_document
from warehouse.engine import loader
from warehouse.engine.contracts import ContractViolation
from warehouse.engine.registry import REGISTRY

FIXTURES = Path(__file__).parents[1] / "fixtures" / "reports"
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
    assert landed.intake.landed and len(landed.frames["core_reports__tables"]) >= 1
    assert not any(name not in REGISTRY for name in landed.frames)  # test-corpus spec tables are not production tables


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
    from pipelines.resources import WarehouseResource

    return duckdb.connect(str(WarehouseResource(path=str(wh)).paths.working), read_only=True)


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
        with build_sensor_context(instance=instance, resources={"warehouse": warehouse}) as context:
            tick = reports_inbox_sensor(context)
        assert isinstance(tick, SensorResult)
        # one run for the tick's four new documents: a partition each, one partition range
        (request,) = tick.run_requests
        (added,) = tick.dynamic_partitions_requests
        assert len(added.partition_keys) == 4
        assert request.tags["dagster/asset_partition_range_start"] == added.partition_keys[0]
        assert request.tags["dagster/asset_partition_range_end"] == added.partition_keys[-1]
        instance.add_dynamic_partitions(PARTITIONS.name, list(added.partition_keys))

        job = defs.resolve_job_def(INGEST_JOB)
        result = job.execute_in_process(instance=instance, tags=request.tags)
        assert result.success
        # the UI keeps a materialization per document
        materialized = {e.partition for e in result.get_asset_materialization_events()
                        if e.asset_key.path[-1] == "core_reports__documents"}
        assert materialized == set(added.partition_keys)

        # the same bytes under another name, and a second tick: nothing new
        shutil.copy(PDFS / "eu-016.pdf", inbox / "copy-of-eu-016.pdf")
        with build_sensor_context(instance=instance, cursor=tick.cursor, resources={"warehouse": warehouse}) as context:
            again = reports_inbox_sensor(context)
        assert again.run_requests == [] and again.dynamic_partitions_requests == []

        con = _working(wh)
        try:
            docs = con.execute("SELECT file_name, status, reason, tables, claims FROM core_reports__documents ORDER BY 1").df()
            cells = con.execute("SELECT count(*) FROM core_reports__cells").fetchall()[0][0]
            uk = con.execute("SELECT c.text FROM core_reports__cells c JOIN core_reports__cells k USING (document_id, table_index, row_index) "
                             "WHERE k.col_index = 0 AND k.text = 'United Kingdom' AND c.col_index = 4").fetchall()
        finally:
            con.close()
        con = _working(wh)
        try:
            credited = dict(con.execute("SELECT file_name, mode FROM core_provenance__files WHERE source_id = 'report_inbox'").fetchall())
        finally:
            con.close()
        assert credited == {"eu-016.pdf": "inbox", SEED.name: "inbox", "health_protected.pdf": "inbox", "image.pdf": "inbox"}
        status = dict(zip(docs["file_name"], docs["status"]))
        assert status == {"eu-016.pdf": "landed", SEED.name: "landed", "health_protected.pdf": "quarantined", "image.pdf": "quarantined"}
        reasons = dict(zip(docs["file_name"], docs["reason"]))
        assert "needs a password" in reasons["health_protected.pdf"] and "OCR" in reasons["image.pdf"]
        assert cells > 100 and uk == [("13,802",)]

        # a password arrives: that document's run again lands it; the others' rows are untouched
        (inbox / ".passwords.toml").write_text('"health_protected.pdf" = "userpass"\n')
        from sources.catalogue import sha256_of
        protected = sha256_of(PDFS / "health_protected.pdf")
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
            outlay = con.execute("SELECT count(*) FROM core_reports__tables WHERE document_id = ?", [protected]).fetchall()[0][0]
        finally:
            con.close()
        assert after["health_protected.pdf"] == "landed" and after["eu-016.pdf"] == "landed"
        assert cells_after == cells and outlay >= 1


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
        reasons = dict(con.execute("SELECT file_name, reason FROM core_reports__documents").fetchall())
        tees = con.execute("SELECT value, unit, area_code FROM core_reports__claims WHERE figure = '£7,680,980'").fetchall()
        hle = con.execute("""SELECT value FROM core_reports__claims WHERE kind = 'figure_value' AND area_code = 'E08000016'
                             AND series = 'female' AND measure_hint = 'healthy life expectancy'""").fetchall()
        geo = con.execute("SELECT count(*) FROM core_geo__areas").fetchall()[0][0]
    finally:
        con.close()
    assert statuses == {"eu-016.pdf": "landed", SEED.name: "landed", "002_7ce7f75d596f347a.txt": "landed", "image.pdf": "quarantined"}, reasons
    assert tees == [(7680980.0, "GBP", "E47000006")] and hle == [(61.0,)] and geo > 300
    # idempotent: the same files again process nothing and change nothing
    again = CliRunner().invoke(app, ["ingest", *files])
    assert again.exit_code == 0, again.output


def test_documents_over_their_budget_are_quarantined_not_hung():
    import time

    from sources.reports.batch import Budget, Job, process_documents

    slow = PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf"  # 16 pages: far over a 0.3 s budget
    started = time.monotonic()
    done = process_documents([Job(slow, slow.name), Job(SEED, SEED.name)], places=PlaceMatcher(),
                             budget=Budget(seconds=0.3, megabytes=4096), workers=1)
    assert time.monotonic() - started < 60
    by_name = {p.intake.file_name: p for p in done}
    assert by_name[slow.name].intake.status == "quarantined"
    assert "over the time budget" in by_name[slow.name].intake.reason
    assert len(by_name[slow.name].frames["core_reports__cells"]) == 0
    # the worker was replaced: the next document is still processed (a text document takes well under 0.3 s)
    assert by_name[SEED.name].intake.status in ("landed", "quarantined")
    for p in done:
        for name, frame in p.frames.items():
            loader.validate(REGISTRY[name], frame, [p.intake.file_name])


def test_a_document_over_the_memory_budget_is_quarantined():
    from sources.reports.batch import Budget, Job, process_documents

    big = PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf"
    (done,) = process_documents([Job(big, big.name)], places=PlaceMatcher(), budget=Budget(seconds=120, megabytes=1))
    assert done.intake.status == "quarantined" and "over the memory budget" in done.intake.reason


def test_the_memory_budget_counts_what_the_document_takes_not_what_a_forked_worker_shares():
    """A worker forked from a process with a big heap (a test runner, a notebook) shares that heap; only what the
    document's extraction allocates counts against its budget."""
    from sources.reports.batch import Budget, Job, process_documents

    heap = b"x" * (400 * 2**20)  # resident in this process, shared with the worker forked from it
    (done,) = process_documents([Job(SEED, SEED.name)], places=PlaceMatcher(), budget=Budget(seconds=120, megabytes=300))
    assert done.intake.status == "landed", done.intake.reason
    assert len(heap) == 400 * 2**20


def test_random_bytes_named_txt_are_quarantined_not_read_for_claims(tmp_path):
    import random

    rng = random.Random(11)
    junk = tmp_path / "notes.txt"
    junk.write_bytes(bytes(rng.getrandbits(8) for _ in range(50_000)))
    letters = tmp_path / "letters.txt"  # printable, but no words: still not text
    letters.write_text(" ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz0123456789") for _ in range(rng.randint(3, 9)))
                                for _ in range(3000)))
    for path in (junk, letters):
        processed = _frames(path)
        assert processed.intake.status == "quarantined", path.name
        assert len(processed.frames["core_reports__claims"]) == 0
    assert "not plausible text" in _frames(letters).intake.reason
    assert _frames(SEED).intake.status == "landed"  # a real report's text is untouched


def test_a_batch_started_early_keeps_its_budget_and_is_handed_to_the_step_that_asks():
    import time

    from sources.reports.batch import Budget, Job, cancel_started, start_documents, take_started

    slow = PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf"  # 16 pages: far over a 0.3 s budget
    jobs = [Job(slow, slow.name), Job(SEED, SEED.name), Job(PDFS / "eu-016.pdf", "eu-016.pdf")]
    began = time.monotonic()
    batch = start_documents(jobs, places=PlaceMatcher(), budget=Budget(seconds=0.3, megabytes=4096), workers=1)
    assert time.monotonic() - began < 5  # started, not waited for
    try:
        assert take_started(jobs[1:]) is batch and take_started([Job(SEED, "other-name.txt")]) is None
        done = batch.result(jobs[::-1])  # in the order asked
        assert [p.intake.file_name for p in done] == ["eu-016.pdf", SEED.name, slow.name]
        assert done[2].intake.status == "quarantined" and "over the time budget" in done[2].intake.reason
        assert done[1].intake.status == "landed"
        assert batch.seconds is not None and batch.seconds < 60
    finally:
        cancel_started()
    assert take_started(jobs) is None


def test_cancelling_a_started_batch_ends_its_workers():
    import multiprocessing

    from sources.reports.batch import Job, cancel_started, start_documents

    slow = PDFS / "WARN-Report-for-7-1-2015-to-03-25-2016.pdf"
    before = set(multiprocessing.active_children())
    start_documents([Job(slow, slow.name)], places=PlaceMatcher())
    workers = set(multiprocessing.active_children()) - before
    cancel_started()
    assert workers and not any(w.is_alive() for w in workers)


def test_ingest_into_a_warehouse_missing_a_table_builds_first_then_lands_the_documents(warehouse_copy, monkeypatch):
    """Extraction starts before Dagster is imported when the geography is there; a missing table found after
    that start ends the started batch, runs the full build, and the documents are processed after it."""
    from typer.testing import CliRunner

    from pipelines.cli import app
    from warehouse.engine.paths import warehouse_paths

    con = duckdb.connect(str(warehouse_paths(warehouse_copy).working))
    try:
        con.execute("DROP TABLE mart_north_south__gaps")
    finally:
        con.close()
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(warehouse_copy))
    result = CliRunner().invoke(app, ["ingest", str(PDFS / "eu-016.pdf")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "running the full build first" in said and "mart_north_south__gaps" in said
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        statuses = con.execute("SELECT file_name, status FROM core_reports__documents").fetchall()
        gaps = con.execute("SELECT count(*) FROM mart_north_south__gaps").fetchall()[0][0]
    finally:
        con.close()
    assert statuses == [("eu-016.pdf", "landed")] and gaps > 0


def test_a_document_whose_rows_break_a_contract_is_quarantined_and_the_others_validated_once():
    """The batch is validated once per table and those validated frames are what the loader writes; when one
    document's rows break a contract, that document alone is quarantined (with the violation) and the tables
    handed on hold only the rows of the documents that passed."""
    from pipelines.assets.reports import REPORT_TABLES, _within_contracts
    from sources.reports.batch import Job

    paths = [SEED, SEEDS / "002_7ce7f75d596f347a.txt"]
    good = [_frames(p) for p in paths]
    processed, validated = _within_contracts(good, [Job(p, p.name) for p in paths])
    assert processed == good and set(validated) == set(REPORT_TABLES)
    claims = pd.concat([p.frames["core_reports__claims"] for p in good], ignore_index=True)
    assert len(validated["core_reports__claims"]) == len(claims) > 0

    broken = [_frames(p) for p in paths]
    broken[1].frames["core_reports__claims"].loc[0, "kind"] = "not a kind of claim"
    processed, validated = _within_contracts(broken, [Job(p, p.name) for p in paths])
    assert [p.intake.status for p in processed] == ["landed", "quarantined"]
    assert "rows break the warehouse contract" in processed[1].intake.reason and "kind" in processed[1].intake.reason
    # what is written: the first document's claims only, and both documents' rows of core_reports__documents
    assert set(validated["core_reports__claims"]["document_id"]) == {broken[0].document_id}
    assert len(validated["core_reports__claims"]) == len(broken[0].frames["core_reports__claims"])
    assert set(validated["core_reports__documents"]["status"]) == {"landed", "quarantined"}
