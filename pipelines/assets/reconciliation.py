"""Reconciliation: the claims found in reports, checked against the warehouse (runs on every build and after ingest)."""

from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult

from pipelines.assets._factory import blocking_check, table_asset, table_spec
from pipelines.resources import WarehouseResource
from warehouse.engine.loader import replace_table
from warehouse.engine.registry import REGISTRY
from warehouse.transforms import reconciliation

TABLE = "mart_reconciliation__claims"


@blocking_check(asset=TABLE, description="Every verdict says why, and every `revised` names the earlier vintage.")
def every_verdict_has_a_reason(warehouse: WarehouseResource) -> AssetCheckResult:
    missing = warehouse.read(f"SELECT count(*) AS n FROM {TABLE} WHERE coalesce(reason, '') = '' OR (status = 'revised' AND earlier_vintage IS NULL)")
    return AssetCheckResult(passed=int(missing["n"].iloc[0]) == 0, metadata={"without_reason": int(missing["n"].iloc[0])})


@table_asset(
    specs=[table_spec(TABLE, deps=["core_reports__claims", "mart_funding__per_head", "core_indicators__values", "core_indicators__value_history",
                                   "core_health__indicator_vintages", "core_population__estimates", "core_population__census2021"],
                      group="outputs")],
    checks=[every_verdict_has_a_reason],
)
def mart_reconciliation__claims(context: AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        frame = reconciliation.reconcile(con)
        rows = replace_table(con, REGISTRY[TABLE], frame, inputs=["core_reports__claims"])
    counts = frame["status"].value_counts().to_dict() if rows else {}
    context.log.info(f"{TABLE}: {rows:,} claims reconciled {counts}")
    yield MaterializeResult(asset_key=TABLE, metadata={"dagster/row_count": rows, **{f"status_{k}": int(v) for k, v in counts.items()}})


assets = [mart_reconciliation__claims]
checks = [every_verdict_has_a_reason]
