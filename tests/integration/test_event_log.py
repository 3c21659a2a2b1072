"""The instance's event log storage (pipelines/event_log.py) records exactly what Dagster's own SQLite storage
records, and its files read back with Dagster's class (``dagster dev`` over a plain ``dagster.yaml``).

A real partitioned multi-asset runs over a range of dynamic partitions in one run (as ``observatory ingest``
runs ``core_reports``), once in an instance with Dagster's storage and once in one with ours, with event
batches on; then every way the UI asks about those assets must answer the same.
"""

from __future__ import annotations

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    DynamicPartitionsDefinition,
    EventRecordsFilter,
    MaterializeResult,
    define_asset_job,
    multi_asset,
)

PARTITIONS = DynamicPartitionsDefinition(name="documents")
KEYS = [f"doc{i:02d}" for i in range(12)]


@multi_asset(specs=[AssetSpec("pages"), AssetSpec("tables")], partitions_def=PARTITIONS,
             backfill_policy=BackfillPolicy.single_run(), check_specs=[AssetCheckSpec("counted", asset="pages")])
def documents(context):
    for key in ("pages", "tables"):
        yield MaterializeResult(asset_key=key, metadata={"dagster/row_count": len(context.partition_keys)})
    yield AssetCheckResult(asset_key="pages", check_name="counted", passed=True)


JOB = Definitions(assets=[documents], jobs=[define_asset_job("all_documents", partitions_def=PARTITIONS)]) \
    .resolve_job_def("all_documents")


def _run(instance: DagsterInstance) -> None:
    instance.add_dynamic_partitions(PARTITIONS.name, KEYS)
    result = JOB.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": KEYS[0],
                                                             "dagster/asset_partition_range_end": KEYS[-1]})
    assert result.success


def _what_the_ui_sees(instance: DagsterInstance) -> dict:
    run_id = instance.get_runs()[0].run_id
    seen: dict = {"run log": [e.dagster_event_type for e in instance.all_logs(run_id) if e.is_dagster_event]}
    for name in ("pages", "tables"):
        key = AssetKey(name)
        planned = instance.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=key))
        done = instance.fetch_materializations(key, limit=1000).records
        latest = instance.get_latest_materialization_event(key)
        seen[name] = {
            "materialized partitions": sorted(instance.get_materialized_partitions(key)),
            "planned partitions": sorted(r.event_log_entry.dagster_event.event_specific_data.partition for r in planned),
            "materialized events": sorted(r.partition_key for r in done),
            "row counts": sorted(r.asset_materialization.metadata["dagster/row_count"].value for r in done),
            "latest partition": latest.dagster_event.partition if latest else None,
            "run tags of latest": sorted(k for k in (latest.dagster_event.event_specific_data.materialization.tags or {})),
            "status cache": instance.get_asset_records([key])[0].asset_entry.last_materialization_record is not None,
        }
    return seen


@pytest.fixture
def batches_on(monkeypatch):
    from pipelines.instance import BATCH_SIZE, BATCH_SIZE_ENV

    monkeypatch.setenv(BATCH_SIZE_ENV, BATCH_SIZE)


def test_our_storage_records_what_dagsters_records(tmp_path, monkeypatch, batches_on):
    from pipelines.event_log import ObservatoryEventLogStorage
    from pipelines.instance import shared_instance
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("OBSERVATORY_DATA", raising=False)
    plain_home = tmp_path / "plain"
    plain_home.mkdir()
    (plain_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(plain_home)) as plain:
        assert type(plain.event_log_storage).__name__ == "SqliteEventLogStorage"
        _run(plain)
        expected = _what_the_ui_sees(plain)
    paths = warehouse_paths(tmp_path / "ours" / "observatory.duckdb")
    batches = []
    original = ObservatoryEventLogStorage.store_event_batch

    def spy(self, events):
        batches.append(len(events))
        return original(self, events)

    monkeypatch.setattr(ObservatoryEventLogStorage, "store_event_batch", spy)
    with shared_instance(paths) as ours:
        assert isinstance(ours.event_log_storage, ObservatoryEventLogStorage)
        _run(ours)
        assert _what_the_ui_sees(ours) == expected
    # the planned and the materialisation events of the 12 partitions reached the storage as batches
    assert sum(batches) >= 4 * len(KEYS) and max(batches) >= len(KEYS), batches
    assert expected["pages"]["materialized partitions"] == KEYS
    assert expected["tables"]["planned partitions"] == KEYS

    # the same folder read by Dagster's own class: what `dagster dev` over a plain dagster.yaml shows
    home = paths.dagster_home
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(home)) as reread:
        assert type(reread.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert _what_the_ui_sees(reread) == expected


def test_a_mixed_batch_is_stored_in_its_order(tmp_path, monkeypatch, batches_on):
    """A batch mixing asset events with others (a run's planned events mix assets and checks) is stored in its order."""
    from pipelines.instance import shared_instance
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = warehouse_paths(tmp_path / "wh" / "observatory.duckdb")
    with shared_instance(paths) as instance:
        _run(instance)
        run = instance.get_runs()[0]
        entries = [e for e in instance.all_logs(run.run_id)]
        storage = instance.event_log_storage
        before = len(instance.all_logs(run.run_id))
        mixed = [e for e in entries if e.dagster_event and e.dagster_event.event_type_value in ("STEP_START", "ASSET_MATERIALIZATION")][:3]
        assert {e.dagster_event.event_type_value for e in mixed} == {"STEP_START", "ASSET_MATERIALIZATION"}
        storage.store_event_batch(mixed)
        added = instance.all_logs(run.run_id)[before:]
        assert [e.dagster_event.event_type_value for e in added] == [e.dagster_event.event_type_value for e in mixed]


def _open_databases_under(folder) -> int:
    """SQLite databases under ``folder`` this process has open (a database in WAL mode holds three files)."""
    import os
    from pathlib import Path

    found = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)) and target.endswith((".db", ".db-wal", ".db-shm")):
            found.add(target.removesuffix("-wal").removesuffix("-shm"))
    return len(found)


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/fd"), reason="counts open files through /proc")
def test_connections_stay_open_for_the_databases_used_last_only_and_a_wipe_starts_clean(tmp_path, monkeypatch):
    """Connections are kept open between writes, but only for the OPEN_SHARDS databases used last (a UI reading many
    runs gathers no open files), and a wipe closes them before the run databases are deleted (nothing is then
    written into a deleted file)."""
    from pipelines.event_log import OPEN_SHARDS
    from pipelines.instance import shared_instance
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = warehouse_paths(tmp_path / "wh" / "observatory.duckdb")
    with shared_instance(paths) as instance:
        instance.add_dynamic_partitions(PARTITIONS.name, KEYS)
        for _ in range(OPEN_SHARDS + 3):  # one database per run
            assert JOB.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": KEYS[0],
                                                                   "dagster/asset_partition_range_end": KEYS[0]}).success
        runs = instance.get_runs()
        assert len(runs) == OPEN_SHARDS + 3
        for run in runs:  # every run's log read back, as the UI's run list does
            assert instance.all_logs(run.run_id)
        assert 0 < _open_databases_under(paths.dagster_home) <= OPEN_SHARDS
        instance.wipe()
        assert _open_databases_under(paths.dagster_home) <= 1  # at most the index, opened again by the wipe itself
        _run(instance)
        [run] = instance.get_runs()
        assert any(e.dagster_event_type == DagsterEventType.RUN_SUCCESS for e in instance.all_logs(run.run_id) if e.is_dagster_event)


def test_every_database_it_writes_commits_to_a_write_ahead_log_without_waiting_for_the_disk(tmp_path, monkeypatch):
    """The run's and the index's databases are in WAL mode, and the storage's connections commit with
    ``synchronous=NORMAL`` (1): consistent whatever happens, no disk wait per commit. What a run committed is there
    when the instance is opened again by a new process's class (Dagster's own), with no checkpoint in between."""
    from pipelines.instance import shared_instance
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = warehouse_paths(tmp_path / "wh" / "observatory.duckdb")
    with shared_instance(paths) as instance:
        _run(instance)
        storage = instance.event_log_storage
        run_id = instance.get_runs()[0].run_id
        for shard in ("index", run_id):
            with storage._engine(shard).connect() as conn:  # noqa: SLF001 - the storage's own connections
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        expected = _what_the_ui_sees(instance)
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    plain = SqliteEventLogStorage(str(paths.dagster_home / "history" / "runs"))  # Dagster's class over the same files
    assert {e.dagster_event_type for e in plain.get_logs_for_run(run_id) if e.is_dagster_event} == set(expected["run log"])
    plain.dispose()


def test_schema_facts_are_asked_until_true_and_forgotten_by_a_wipe(tmp_path, monkeypatch):
    """What the storage keeps of its schema (tables, asset_keys columns, completed data migrations) is what the database
    says: a fact that was false is asked again (here it becomes true), and a wipe, which empties the migration table,
    forgets them; the answers always equal those of Dagster's own class on the same files."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from pipelines.instance import shared_instance
    from warehouse.engine.paths import warehouse_paths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    paths = warehouse_paths(tmp_path / "wh" / "observatory.duckdb")
    with shared_instance(paths) as instance:
        ours = instance.event_log_storage
        dagsters = SqliteEventLogStorage(ours._base_dir)  # noqa: SLF001 - the same files, Dagster's class

        def facts(storage) -> tuple:
            return (storage.has_table("asset_check_executions"), storage.has_table("no_such_table"),
                    storage.has_asset_key_col("cached_status_data"), storage.has_secondary_index("observatory_test_index"))

        assert facts(ours) == facts(dagsters) == (True, False, True, False)
        ours.enable_secondary_index("observatory_test_index")
        assert facts(ours) == facts(dagsters) == (True, False, True, True)
        ours.wipe()
        assert facts(ours) == facts(dagsters)
        dagsters.dispose()
