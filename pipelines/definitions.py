"""The one ``Definitions`` of the observatory's code location (``dagster dev`` loads this module)."""

from __future__ import annotations

import importlib

from dagster import AssetKey, AssetSelection, AssetSpec, Definitions, ScheduleDefinition, colored_console_logger, define_asset_job, in_process_executor

from pipelines.assets import DOMAINS
from pipelines.assets.outputs import outputs_asset
from pipelines.assets.publish import publish_asset
from pipelines.progress import progress_logger
from pipelines.resources import sources_from_env, warehouse_from_env

_modules = [importlib.import_module(f"pipelines.assets.{domain}") for domain in DOMAINS]
domain_assets = [a for m in _modules for a in getattr(m, "assets", [])]
# each table's checks run in the step that lands it (``_factory.table_asset``); listed here for tools that run them on
# a published file (tests/stress/integrity.py)
domain_checks = [c for m in _modules for c in getattr(m, "checks", [])]
extra_jobs = [j for m in _modules for j in getattr(m, "jobs", [])]
extra_schedules = [s for m in _modules for s in getattr(m, "schedules", [])]
sensors = [s for m in _modules for s in getattr(m, "sensors", [])]


def asset_keys(items) -> list[AssetKey]:
    keys = []
    for item in items:
        keys += [item.key] if isinstance(item, AssetSpec) else list(item.keys)
    return keys


# Assets in these groups run on demand (a sensor, `observatory ingest`), not in the full refresh.
ON_DEMAND_GROUPS = ("reports",)


def group_of(item) -> str | None:
    if isinstance(item, AssetSpec):
        return item.group_name
    return next(iter(item.group_names_by_key.values()), None)


publish = publish_asset(
    asset_keys(domain_assets),
    # Build-history tables are written by publishing itself, so they cannot be required beforehand.
    required=asset_keys([a for a in domain_assets if group_of(a) not in (*ON_DEMAND_GROUPS, "publish")]),
    recorded=[a.key for a in domain_assets if isinstance(a, AssetSpec)],  # tables no asset of their own materialises
)

refresh_job = define_asset_job(
    "refresh_all",
    selection=AssetSelection.all() - AssetSelection.groups(*ON_DEMAND_GROUPS),
    description="Refresh every source (bundled snapshot by default; OBSERVATORY_MODE=live for the publishers), validate, land and publish.",
)

monthly_refresh = ScheduleDefinition(
    name="monthly_refresh",
    job=refresh_job,
    cron_schedule="0 5 2 * *",  # 05:00 on the 2nd of each month: after ONS's monthly release days
    execution_timezone="Europe/London",
    description="Monthly full refresh; unchanged inputs are not parsed again.",
)

defs = Definitions(
    assets=[*domain_assets, publish, outputs_asset()],
    jobs=[refresh_job, *extra_jobs],
    schedules=[monthly_refresh, *extra_schedules],
    sensors=sensors,
    resources={"warehouse": warehouse_from_env(), "sources": sources_from_env()},
    loggers={"console": colored_console_logger, "progress": progress_logger},
    # Every run (refresh_all, the other jobs, a selection materialised from the UI) runs its steps in one process:
    # they all write the one DuckDB file through the "warehouse" pool of 1, so a process per step only adds
    # start-up time (8 min against 43 s for refresh_all). docs/scaling.md: other executors, same assets.
    executor=in_process_executor,
)
