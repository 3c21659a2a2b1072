"""The indicator union: `core_indicators__values` and `__definitions`, views of every domain's feed tables."""

from dagster import AssetCheckResult, AssetExecutionContext, AssetSpec

from pipelines.assets._factory import blocking_check, load_tables, table_asset, table_spec
from pipelines.resources import WarehouseResource
from warehouse.engine.registry import indicators

TABLES = [indicators.VALUES_TABLE, indicators.DEFINITIONS_TABLE]


def _produced_tables() -> set[str]:
    """Table names materialised by the other domain modules' assets."""
    import importlib

    from pipelines.assets import DOMAINS

    names: set[str] = set()
    for domain in DOMAINS:
        if domain == __name__.rsplit(".", 1)[-1]:
            continue
        for item in getattr(importlib.import_module(f"pipelines.assets.{domain}"), "assets", []):
            keys = [item.key] if isinstance(item, AssetSpec) else list(item.keys)
            names |= {k.path[-1] for k in keys}
    return names


# The feeds of each union the code location's domains produce, and so the tables each view unions: all of them,
# unless the code location is limited to some domains (tests/integration/test_pipeline.py: each union follows its feeds).
_PRODUCED = _produced_tables()
FEEDS = {target: [t.name for t in indicators.feeds(target) if t.name in _PRODUCED] for target in TABLES}


@blocking_check(asset=indicators.VALUES_TABLE, description="Every indicator with values has a definition.")
def every_indicator_is_defined(warehouse: WarehouseResource) -> AssetCheckResult:
    orphans = warehouse.read(
        f"SELECT DISTINCT indicator_id FROM {indicators.VALUES_TABLE} EXCEPT SELECT indicator_id FROM {indicators.DEFINITIONS_TABLE}"
    )
    return AssetCheckResult(passed=orphans.empty, metadata={"undefined": ", ".join(orphans["indicator_id"].astype(str)) or "none"})


@table_asset(
    specs=[table_spec(name, deps=FEEDS[name], group="indicators") for name in TABLES],
    checks=[every_indicator_is_defined],
)
def core_indicators(context: AssetExecutionContext, warehouse: WarehouseResource):
    """The union of the domain feeds: views (the registry's ``union_of``), whose keys are checked across the feeds when
    they are made, so an indicator id used by two domains fails; then the value history is brought up to date."""
    feeds = sorted({f for names in FEEDS.values() for f in names})
    yield from load_tables(context, warehouse, [], lambda: FEEDS, reads=feeds)
    added = warehouse.append_history()
    context.log.info(f"{indicators.HISTORY_TABLE}: {added:,} new value version(s) recorded")


assets = [core_indicators]
checks = [every_indicator_is_defined]
