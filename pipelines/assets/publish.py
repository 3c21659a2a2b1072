"""The last step of every refresh: publish the working database atomically over the warehouse file."""


from collections.abc import Iterable

from dagster import AssetExecutionContext, AssetKey, AssetMaterialization, MaterializeResult, MetadataValue, asset

from pipelines.resources import POOL, WarehouseResource
from warehouse.engine.publish import publish
from warehouse.engine.registry import REGISTRY

PUBLISH_ASSET = "observatory_warehouse"


def publish_asset(upstream: Iterable[AssetKey], required: Iterable[AssetKey], recorded: Iterable[AssetKey] = ()):
    """The publish asset, depending on every other asset so it runs last.

    ``required`` are the assets whose tables every published warehouse must hold (a build that lacks
    one is refused); assets outside it (e.g. report documents, added by `observatory ingest`) may be absent.
    ``recorded`` are tables with no asset of their own (written by other steps or by publishing itself): each
    publish records a materialisation for them with the published row count, so the UI shows them too.
    """
    recorded = sorted({k.path[-1] for k in recorded} & set(REGISTRY))
    upstream = sorted(set(upstream), key=lambda k: k.to_user_string())
    expected = sorted(k.path[-1] for k in required if k.path[-1] in REGISTRY)

    @asset(
        name=PUBLISH_ASSET,
        group_name="publish",
        deps=upstream,
        pool=POOL,
        kinds={"duckdb"},
        description="The published warehouse file (warehouse/observatory.duckdb or $OBSERVATORY_WAREHOUSE): "
                    "the working database checkpointed, copied and renamed into place in one atomic step.",
    )
    def observatory_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        report = publish(warehouse.paths, expected)
        if not report.published:
            context.log.info(f"nothing changed since the last publish; {report.path} left as it is")
        else:
            context.log.info(f"published {report.path} ({report.bytes:,} bytes, {len(report.tables)} tables, {len(report.changes)} changed)")
        for table in recorded:
            if table in report.tables:
                context.log_event(AssetMaterialization(asset_key=table, description="as published",
                                                       metadata={"dagster/row_count": report.tables[table]}))
        changes = "\n".join(f"- {c.line()}" for c in report.changes) or "no changes: nothing published"
        return MaterializeResult(metadata={
            "path": str(report.path),
            "bytes": report.bytes,
            "published": report.published,
            "tables_changed": len(report.changes),
            "changes": MetadataValue.md(changes),
            "tables": MetadataValue.md("\n".join(f"| {t} | {n:,} |" for t, n in report.tables.items()).join(
                ["| table | rows |\n|---|---|\n", ""])),
        })

    return observatory_warehouse
