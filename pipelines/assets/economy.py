"""Economy assets: the ONS regional-economy workbooks landed raw, then ITL figures and economy indicators."""

import datetime as dt

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetIn,
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
)

from pipelines.assets._factory import RawFile, blocking_check, input_file, load_tables, parse, raw_file_asset, table_asset, table_spec
from pipelines.resources import WarehouseResource
from sources import ons_economy
from sources.landing import LandedFile
from warehouse.transforms import economy

RAW = {"raw_ons__productivity_itl": "ons_productivity_itl", "raw_ons__regional_gdp_itl": "ons_regional_gdp_itl"}
LOOKUP = "raw_ons__lad23_itl21"  # landed by the geography domain
TABLES = ["core_economy__itl_values", "core_economy__itl_areas", "core_economy__lad_itl3",
          "core_economy__indicator_values", "core_economy__indicator_definitions"]
GEO = ["core_geo__lad_footprints", "core_geo__area_membership", "core_geo__areas"]

raw_assets = [raw_file_asset("economy_files", "economy", [RawFile(name, source_id, parser=ons_economy.parse_workbook)
                                                        for name, source_id in RAW.items()])]


@blocking_check(asset="core_economy__itl_values",
             description="Additive measures (GVA, GDP, population, hours, filled jobs): the 12 ITL1 areas sum to the UK less Extra-Regio in every year (0.1% tolerance for rounding).")
def itl1_sum_to_uk(warehouse: WarehouseResource) -> AssetCheckResult:
    values = warehouse.read("SELECT measure_id, itl_code, itl_level, year, value FROM core_economy__itl_values")
    bad = economy.itl1_sum_mismatches(values)
    return AssetCheckResult(passed=bad.empty, metadata={"mismatches": len(bad), "first": str(bad.head(5).to_dict("records"))})


@blocking_check(asset="core_economy__itl_areas",
             description="Every English ITL1 maps to one of the 9 regions, TLB to England, and every LAD-equivalent ITL3 to a current LAD.")
def itl_areas_map_to_current_geography(warehouse: WarehouseResource) -> AssetCheckResult:
    counts = dict(warehouse.read("SELECT equivalence, count(*) FROM core_economy__itl_areas GROUP BY 1").itertuples(index=False))
    unknown = warehouse.read(
        """SELECT i.itl_code, i.area_code FROM core_economy__itl_areas i LEFT JOIN core_geo__areas a USING (area_code)
           WHERE i.equivalence IN ('region', 'lad', 'country') AND a.area_code IS NULL""")
    ok = counts.get("region") == 9 and counts.get("country") == 1 and counts.get("lad", 0) > 0 and unknown.empty
    return AssetCheckResult(passed=ok, metadata={"counts": str(counts), "unknown_area_codes": len(unknown)})


@blocking_check(asset="core_economy__indicator_values",
             description="Plausible ranges: GVA per hour worked £5-£200 and GDP/GVA per head £3,000-£500,000 for every area and year; North and Greater South East present for every aggregated indicator.")
def economy_values_plausible(warehouse: WarehouseResource) -> AssetCheckResult:
    bad = warehouse.read(
        """SELECT indicator_id, area_code, period_label, value FROM core_economy__indicator_values
           WHERE (indicator_id IN ('gva_per_hour_worked_gbp', 'gva_per_hour_worked_smoothed_gbp') AND NOT value BETWEEN 5 AND 200)
              OR (indicator_id IN ('gdp_per_head_gbp', 'gva_per_head_gbp') AND NOT value BETWEEN 3000 AND 500000)""")
    groups = warehouse.read(
        """SELECT count(DISTINCT indicator_id) AS n FROM core_economy__indicator_values WHERE area_code = 'north'
           INTERSECT SELECT count(DISTINCT indicator_id) FROM core_economy__indicator_values WHERE area_code = 'greater_south_east'""")
    ok = bad.empty and not groups.empty and int(groups.iloc[0, 0]) >= 8
    return AssetCheckResult(passed=ok, metadata={"out_of_range": len(bad), "first": str(bad.head(5).to_dict("records"))})


@table_asset(
    specs=[table_spec(name, deps=[*RAW, LOOKUP, *GEO], group="economy") for name in TABLES],
    checks=[itl1_sum_to_uk, itl_areas_map_to_current_geography, economy_values_plausible],
    ins={name: AssetIn(name) for name in [*RAW, LOOKUP]},
)
def core_economy(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: LandedFile):
    """ITL figures as published, their GSS equivalents, and economy indicators for regions, LADs, combined authorities and groups."""
    inputs = list(landed.values())
    workbooks = [landed[name] for name in RAW]

    def build() -> dict[str, pd.DataFrame]:
        values = pd.concat([parse(f, warehouse) for f in workbooks], ignore_index=True)
        lookup = ons_economy.parse_itl_lookup(input_file(landed[LOOKUP], warehouse))
        membership = warehouse.read("SELECT * FROM core_geo__area_membership")
        footprints = warehouse.read("SELECT * FROM core_geo__lad_footprints")
        geo_areas = warehouse.read("SELECT * FROM core_geo__areas")
        areas = economy.itl_areas(values, lookup, membership)
        return {
            "core_economy__itl_values": values,
            "core_economy__itl_areas": areas,
            "core_economy__lad_itl3": economy.lad_itl3(lookup),
            "core_economy__indicator_values": economy.indicator_values(values, areas, lookup, footprints, geo_areas, dt.date.today()),
            "core_economy__indicator_definitions": economy.indicator_definitions(values),
        }

    yield from load_tables(context, warehouse, inputs, build, reads=GEO)


# ONS publishes regional accounts and subregional productivity once a year; a monthly check picks a new release up.
economy_job = define_asset_job(
    "economy_refresh",
    selection=AssetSelection.assets(*RAW, LOOKUP, *TABLES).downstream(),
    description="Refresh the ONS regional economy workbooks and everything built from them (indicators, gaps), then publish.",
)
economy_schedule = ScheduleDefinition(
    name="economy_monthly_check", job=economy_job, cron_schedule="0 6 3 * *", execution_timezone="Europe/London",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Monthly check for a new ONS regional accounts / subregional productivity release (annual publications); unchanged files are not parsed again.",
)

assets = [*raw_assets, core_economy]
checks = [itl1_sum_to_uk, itl_areas_map_to_current_geography, economy_values_plausible]
jobs = [economy_job]
schedules = [economy_schedule]
