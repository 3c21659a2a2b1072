"""Population assets: the ONS workbooks landed raw, then estimates by area, year, sex and age."""


import pandas as pd
from dagster import AssetCheckResult, AssetExecutionContext, AssetIn

from pipelines.assets._factory import RawFile, blocking_check, load_tables, parse, raw_file_asset, table_asset, table_spec
from pipelines.resources import WarehouseResource
from sources import ons_census, ons_population
from sources.landing import LandedFile
from warehouse.engine import queries
from warehouse.transforms import population

RAW = {"raw_ons__mye2021": "ons_mye2021", "raw_ons__mye2023": "ons_mye2023"}
TABLES = ["core_population__estimates", "core_population__estimates_by_release"]
# The England totals ONS publishes in each workbook, which the English LADs must sum to.
PUBLISHED_ENGLAND = {"mid-2021": 56_536_419, "mid-2023": 57_690_323}

raw_assets = [raw_file_asset("population_files", "population", [RawFile(name, source_id, parser=ons_population.parse_release)
                                                              for name, source_id in RAW.items()])]


@blocking_check(asset="core_population__estimates_by_release", description="In each release the English LADs sum to the England total ONS publishes (56,536,419 for mid-2021; 57,690,323 for mid-2023), and every region's published total equals the sum of its LADs.")
def lads_sum_to_published_totals(warehouse: WarehouseResource) -> AssetCheckResult:
    sums = warehouse.read(
        """SELECT release, year, sum(population) AS lad_sum FROM core_population__estimates_by_release
           WHERE regexp_matches(area_code, '^E0[6-9]') AND sex = 'persons' AND age = 'all' AND method = 'published'
             AND release = 'mid-' || year GROUP BY 1, 2"""
    )
    found = {r.release: int(r.lad_sum) for r in sums.itertuples()}
    regions = warehouse.read(
        """WITH lads AS (
             SELECT p.release, p.year, m.parent_code AS region, sum(p.population) AS lad_sum
             FROM core_population__estimates_by_release p
             JOIN core_geo__area_membership m ON m.child_code = p.area_code AND m.parent_type = 'region'
             WHERE p.sex = 'persons' AND p.age = 'all' AND p.method = 'published' AND p.release = 'mid-' || p.year
             GROUP BY 1, 2, 3)
           SELECT l.*, p.population AS published FROM lads l
           JOIN core_population__estimates_by_release p ON p.area_code = l.region AND p.year = l.year AND p.release = l.release
             AND p.sex = 'persons' AND p.age = 'all'
           WHERE l.lad_sum <> p.population"""
    )
    ok = found == PUBLISHED_ENGLAND and regions.empty
    return AssetCheckResult(passed=ok, metadata={"england_lad_sums": str(found), "expected": str(PUBLISHED_ENGLAND),
                                                 "regions_not_matching": len(regions)})


@table_asset(
    specs=[table_spec(name, deps=[*RAW, "core_geo__lad_footprints", "core_geo__area_membership", "core_geo__areas"], group="population") for name in TABLES],
    checks=[lads_sum_to_published_totals],
    ins={name: AssetIn(name) for name in RAW},
)
def core_population(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: LandedFile):
    """Mid-year estimates: every release as published, plus combined authorities and groups summed through the bridge;
    and one value per key chosen from them (a view)."""
    inputs = list(landed.values())

    def build() -> dict[str, pd.DataFrame]:
        releases = [parse(f, warehouse) for f in inputs]
        footprints = warehouse.read("SELECT * FROM core_geo__lad_footprints")
        membership = warehouse.read("SELECT * FROM core_geo__area_membership")
        areas = warehouse.read("SELECT * FROM core_geo__areas_all")
        # core_population__estimates is a view of these rows (the registry's view_of), made in the same transaction
        return {"core_population__estimates_by_release": population.build_population(releases, footprints, membership, areas)}

    geo = ["core_geo__lad_footprints", "core_geo__area_membership", "core_geo__areas", "core_geo__former_areas"]
    yield from load_tables(context, warehouse, inputs, build, reads=geo)


CENSUS_RAW = "raw_ons__census2021_p01"
census_raw = raw_file_asset("census_files", "population", [RawFile(CENSUS_RAW, "ons_census2021_p01", parser=ons_census.parse_p01)])
CENSUS_GEO = ["core_geo__lad_footprints", "core_geo__area_membership", "core_geo__areas", "core_geo__former_areas"]


@blocking_check(asset="core_population__census2021",
             description="The English LADs sum to the England total ONS published for Census 2021 (56,489,800), and every region's published total "
                         "to the sum of its LADs within rounding (each figure is rounded to the nearest 100: at most 50 per member LAD, plus 50 for the region).")
def census_lads_sum_to_published_totals(warehouse: WarehouseResource) -> AssetCheckResult:
    bad = warehouse.read(queries.sql_text("census_lads_vs_published"))
    return AssetCheckResult(passed=bad.empty, metadata={"not_matching": bad.to_string(index=False) if len(bad) else "none"})


@table_asset(
    specs=[table_spec("core_population__census2021", deps=[CENSUS_RAW, *CENSUS_GEO], group="population")],
    checks=[census_lads_sum_to_published_totals],
    ins={CENSUS_RAW: AssetIn(CENSUS_RAW)},
)
def core_population_census(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: LandedFile):
    """Census 2021 usual residents by sex as published, plus combined authorities and groups summed through the bridge."""
    inputs = list(landed.values())

    def build() -> dict[str, pd.DataFrame]:
        published = pd.concat([parse(f, warehouse) for f in inputs], ignore_index=True)
        frame = population.build_census(
            published,
            warehouse.read("SELECT * FROM core_geo__lad_footprints"),
            warehouse.read("SELECT * FROM core_geo__area_membership"),
            warehouse.read("SELECT * FROM core_geo__areas_all"),
        )
        return {"core_population__census2021": frame}

    yield from load_tables(context, warehouse, inputs, build, reads=CENSUS_GEO)


assets = [*raw_assets, core_population, census_raw, core_population_census]
checks = [lads_sum_to_published_totals, census_lads_sum_to_published_totals]
