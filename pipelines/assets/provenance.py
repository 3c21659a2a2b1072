"""Provenance: the table of input files is written by every raw asset; this module only declares it."""

from dagster import AssetKey, AssetSpec

from pipelines.assets._factory import column_schema
from warehouse.registry import REGISTRY

_t = REGISTRY["core_provenance__files"]

# Written row by row by each raw_* asset (see `_factory.raw_file_asset`), so it is an external-style
# spec in the graph rather than a computed asset.
assets = [
    AssetSpec(
        key=AssetKey(_t.name), description=_t.description, group_name="provenance", kinds={"duckdb"},
        metadata={"dagster/column_schema": column_schema(_t)},
    )
]
