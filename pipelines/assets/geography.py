"""Geography assets: the bundled lookups landed raw, then the areas, membership and footprint tables."""


import pandas as pd
from dagster import AssetCheckResult, AssetExecutionContext, AssetIn

from pipelines.assets._factory import RawFile, blocking_check, input_file, load_tables, raw_file_asset, table_asset, table_spec
from pipelines.resources import WarehouseResource
from sources import geography
from sources.landing import LandedFile
from warehouse.engine import queries

RAW = {
    "raw_ons__lad23_itl21": "ons_geo_lad23_itl21",
    "raw_ons__wd19_hierarchy": "ons_geo_wd19_hierarchy",
    "raw_ons__lad18_rgn18": "ons_geo_lad18_rgn18",
    "raw_ons__lad19_cauth19": "ons_geo_lad19_cauth19",
    "raw_mysociety__local_authorities": "mysociety_local_authorities",
    "raw_observatory__ca_amendments": "observatory_geo_amendments",
    "raw_observatory__analysis_groups": "observatory_analysis_groups",
}
GEO_TABLES = ["core_geo__areas", "core_geo__former_areas", "core_geo__area_membership", "core_geo__lad_footprints"]

raw_assets = [raw_file_asset("geography_files", "geography", [RawFile(name, source_id) for name, source_id in RAW.items()])]


@blocking_check(asset="core_geo__areas", description="The current geography has 296 English LADs, 9 regions and England, and every current LAD is in exactly one region.")
def current_geography_is_complete(warehouse: WarehouseResource) -> AssetCheckResult:
    counts = dict(warehouse.read("SELECT area_type, count(*) FROM core_geo__areas GROUP BY 1").itertuples(index=False))
    regions_per_lad = warehouse.read(
        """SELECT a.area_code, count(m.parent_code) AS n FROM core_geo__areas a
           LEFT JOIN core_geo__area_membership m ON m.child_code = a.area_code AND m.parent_type = 'region' AND m.valid_to IS NULL
           WHERE a.area_type = 'lad' GROUP BY 1 HAVING n <> 1"""
    )
    ok = counts.get("lad") == 296 and counts.get("region") == 9 and counts.get("country") == 1 and regions_per_lad.empty
    return AssetCheckResult(passed=ok, metadata={"counts": str(counts), "lads_without_one_region": len(regions_per_lad)})


@table_asset(
    specs=[table_spec(name, deps=RAW, group="geography") for name in GEO_TABLES],
    checks=[current_geography_is_complete],
    ins={name: AssetIn(name) for name in RAW},
)
def core_geo(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: LandedFile):
    """Areas, dated membership and LAD footprints from the lookups."""
    inputs = list(landed.values())

    def build() -> dict[str, pd.DataFrame]:
        bridge = geography.build_bridge({f.source_id: input_file(f, warehouse) for f in inputs})
        all_areas = pd.concat([bridge.areas, bridge.former_areas], ignore_index=True)
        return {
            "core_geo__areas": bridge.areas,
            "core_geo__former_areas": bridge.former_areas,
            "core_geo__area_membership": bridge.membership,
            "core_geo__lad_footprints": geography.lad_footprints(bridge.membership, all_areas),
        }

    yield from load_tables(context, warehouse, inputs, build)
    with warehouse.connect() as con:
        queries.execute_script(con, "geo_views")


assets = [*raw_assets, core_geo]
checks = [current_geography_is_complete]
