"""Beyond one machine: the PostgreSQL/multi-process instance variant and run config load and validate, offline.

No PostgreSQL server is needed: the variant is resolved the way Dagster resolves an instance
(``InstanceRef.from_dir``) and each configured class's config is checked against that class's own
schema, without constructing it (constructing the storage would connect). The Parquet export, the
hand-off to other engines, is read back by a separate DuckDB as Spark or Trino would read it.
"""

from __future__ import annotations

import duckdb
import pytest
import yaml

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
VARIANT = "dagster.postgres.yaml"
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
    assert all(set(value) == {"env"} for key, value in connection.items() if key != "params"), \
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
    assert url == "postgresql://observatory:not-a-real-password@db.internal:5433/dagster?sslmode=require"
    assert ref.settings["concurrency"]["runs"]["tag_concurrency_limits"][0]["value"] == "refresh_all"


def test_multiprocess_run_config_validates_against_refresh_all():
    from dagster import validate_run_config

    from pipelines.definitions import defs

    run_config = yaml.safe_load((DEPLOY / "refresh_all.run_config.yaml").read_text())
    validated = validate_run_config(defs.resolve_job_def("refresh_all"), run_config)
    assert next(iter(validated["execution"].values()))["multiprocess"]["max_concurrent"] == 4


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
