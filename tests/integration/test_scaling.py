"""Beyond one machine: the PostgreSQL instance variant, the multiprocess code location, a real PostgreSQL run.

Offline, with no server: the variant is resolved the way Dagster resolves an instance
(``InstanceRef.from_dir``) and each configured class's config is checked against that class's own
schema, without constructing it (constructing the storage would connect); deploy/multiprocess.py is the
same code location with another executor. The Parquet export, the hand-off to other engines, is read back
by a separate DuckDB as Spark or Trino would read it.

Against a real server (slow; ``.ci/run`` starts one with ``source .ci/start_postgres``, which exports the
``DAGSTER_PG_*`` variables the variant reads): ``observatory build`` with deploy/dagster.postgres.yaml as
its instance runs ``refresh_all`` and records the run and every materialisation in PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
VARIANT = "dagster.postgres.yaml"
PG_VARIABLES = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
PG_ENV = {"DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_PORT": "5433", "DAGSTER_PG_USERNAME": "observatory",
          "DAGSTER_PG_PASSWORD": "not-a-real-password", "DAGSTER_PG_DB": "dagster"}


def test_variant_passes_dagsters_instance_config_schema():
    from dagster._core.instance.config import dagster_instance_config

    config, custom_class = dagster_instance_config(str(DEPLOY), config_filename=VARIANT)
    assert custom_class is None
    assert set(config["storage"]) == {"postgres"}
    assert config["run_launcher"]["class"] == "DefaultRunLauncher"
    assert config["telemetry"] == {"enabled": False}


def test_variant_keeps_the_single_writer_warehouse_pool_of_the_local_instance():
    local = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    variant = yaml.safe_load((DEPLOY / VARIANT).read_text())
    assert variant["concurrency"]["pools"] == local["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}
    connection = variant["storage"]["postgres"]["postgres_db"]
    assert all(set(value) == {"env"} for key, value in connection.items() if key not in ("params", "scheme")), \
        "host, port, user, password and database come from the environment, never from the file"


def test_every_configured_class_accepts_its_config_without_a_live_server(tmp_path, monkeypatch):
    pytest.importorskip("dagster_postgres", reason="the `scale` extra (dagster-postgres) is not installed")
    from dagster._config import process_config
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import class_from_code_pointer
    from dagster_postgres.utils import pg_url_from_config

    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    ref = InstanceRef.from_dir(str(tmp_path), config_dir=str(DEPLOY), config_filename=VARIANT)
    resolved = {}
    for attribute in ("storage_data", "run_storage_data", "event_storage_data", "schedule_storage_data",
                      "run_launcher_data", "run_coordinator_data", "scheduler_data"):
        data = getattr(ref, attribute)
        cls = class_from_code_pointer(data.module_name, data.class_name)
        result = process_config(cls.config_type(), data.config_dict)
        assert result.success, (attribute, [e.message for e in result.errors])
        resolved[attribute] = (data.class_name, result.value)
    assert resolved["storage_data"][0] == "DagsterPostgresStorage"
    assert resolved["run_coordinator_data"][0] == "QueuedRunCoordinator"
    url = pg_url_from_config(resolved["storage_data"][1])
    assert url == "postgresql+psycopg2://observatory:not-a-real-password@db.internal:5433/dagster?sslmode=require"
    assert ref.settings["concurrency"]["runs"]["tag_concurrency_limits"][0]["value"] == "refresh_all"


def test_refresh_all_runs_in_one_process_by_default_and_in_many_with_the_deploy_variant():
    import runpy

    from dagster import validate_run_config

    from pipelines.definitions import defs

    assert {job.executor_def.name for job in defs.resolve_all_job_defs()} == {"in_process"}
    variant = runpy.run_path(str(DEPLOY / "multiprocess.py"))["defs"]
    job = variant.resolve_job_def("refresh_all")
    assert job.executor_def.name == "multiprocess"
    assert set(variant.resolve_asset_graph().get_all_asset_keys()) == set(defs.resolve_asset_graph().get_all_asset_keys())
    assert {j.name for j in variant.resolve_all_job_defs()} == {j.name for j in defs.resolve_all_job_defs()}
    run_config = yaml.safe_load((DEPLOY / "refresh_all.run_config.yaml").read_text())
    validated = validate_run_config(job, run_config)
    assert validated["execution"]["multiprocess"]["max_concurrent"] == 4


def test_parquet_exports_are_read_by_another_engine_as_the_same_tables(built_warehouse, tmp_path):
    from warehouse.outputs.export import export

    report = export(built_warehouse, tmp_path / "exports", "parquet")
    published = duckdb.connect(str(built_warehouse), read_only=True)
    engine = duckdb.connect()  # a separate engine that knows nothing of the warehouse file
    try:
        for table in ("core_geo__areas", "core_population__estimates", "core_indicators__values"):
            path = tmp_path / "exports" / f"{table}.parquet"
            assert engine.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall() == \
                published.execute(f'SELECT count(*) FROM "{table}"').fetchall()
            assert report.tables[table] == published.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
        # The join an analyst would run on the exports gives the published answer.
        joined = engine.execute(
            "SELECT sum(p.population) FROM read_parquet(?) p JOIN read_parquet(?) a USING (area_code) "
            "WHERE a.area_type = 'region' AND p.year = 2023 AND p.sex = 'persons' AND p.age = 'all'",
            [str(tmp_path / "exports" / "core_population__estimates.parquet"), str(tmp_path / "exports" / "core_geo__areas.parquet")],
        ).fetchall()
        direct = published.execute(
            "SELECT sum(p.population) FROM core_population__estimates p JOIN core_geo__areas a USING (area_code) "
            "WHERE a.area_type = 'region' AND p.year = 2023 AND p.sex = 'persons' AND p.age = 'all'").fetchall()
        assert joined == direct and joined[0][0] > 50_000_000
    finally:
        engine.close()
        published.close()


@pytest.mark.slow
def test_refresh_all_on_a_real_postgresql_instance(tmp_path):
    missing = [name for name in PG_VARIABLES if not os.environ.get(name)]
    if missing:
        pytest.skip(f"no PostgreSQL server to run against ({', '.join(missing)} unset); "
                    "`source .ci/start_postgres` starts a throwaway one, as .ci/run does")
    pytest.importorskip("dagster_postgres", reason="the `scale` extra (dagster-postgres) is not installed")
    import psycopg2
    from dagster import AssetKey, DagsterInstance, RunsFilter

    from pipelines.definitions import defs

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / VARIANT, home / "dagster.yaml")
    warehouse = tmp_path / "wh" / "observatory.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env["DAGSTER_HOME"] = str(home)  # the instance the CLI uses when DAGSTER_HOME is set (pipelines/instance.py)
    started = time.time()
    build = subprocess.run([str(Path(sys.executable).parent / "observatory"), "build", "--warehouse", str(warehouse)],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert warehouse.exists()

    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        runs = instance.get_runs(filters=RunsFilter(job_name="refresh_all", created_after=_utc(started - 5)))
        assert len(runs) == 1 and runs[0].is_success, runs
        keys = defs.resolve_job_def("refresh_all").asset_layer.selected_asset_keys
        not_recorded = {k.to_user_string() for k in keys
                        if (event := instance.get_latest_materialization_event(AssetKey(k.path))) is None
                        or event.run_id != runs[0].run_id}
    assert not_recorded == set()

    with psycopg2.connect(host=os.environ["DAGSTER_PG_HOST"], port=os.environ["DAGSTER_PG_PORT"],
                          user=os.environ["DAGSTER_PG_USERNAME"], password=os.environ["DAGSTER_PG_PASSWORD"],
                          dbname=os.environ["DAGSTER_PG_DB"], sslmode="require") as con, con.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", [runs[0].run_id])
        assert cur.fetchall() == [("SUCCESS",)]
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
                    [runs[0].run_id])
        assert cur.fetchone()[0] >= len(keys)


def _utc(timestamp: float):
    from datetime import datetime

    return datetime.fromtimestamp(timestamp, tz=UTC)
