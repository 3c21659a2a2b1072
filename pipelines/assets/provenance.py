"""Bookkeeping tables written as side effects: input files (by every raw asset) and build history (by publishing).

They appear in the asset graph as specs so the UI shows their column schemas; nothing materialises them directly.
"""

from dagster import AssetKey, AssetSpec

from pipelines.assets._factory import column_schema
from warehouse.engine.registry import REGISTRY

_WRITTEN_BY = {
    "core_provenance__files": ("provenance", "each raw_* asset (see `_factory.raw_file_asset`)"),
    "core_build__publishes": ("publish", "the observatory_warehouse asset on each publish"),
    "core_build__changes": ("publish", "the observatory_warehouse asset on each publish"),
    "core_indicators__value_history": ("indicators", "the core_indicators asset after each load of core_indicators__values"),
}

assets = [
    AssetSpec(
        key=AssetKey(name), description=f"{REGISTRY[name].description} Written by {writer}.", group_name=group, kinds={"duckdb"},
        metadata={"dagster/column_schema": column_schema(REGISTRY[name])},
    )
    for name, (group, writer) in _WRITTEN_BY.items()
]
