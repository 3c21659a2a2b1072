"""Deprivation assets: the IoD LAD summary files landed raw, then LAD summaries and deprivation indicators."""

import pandas as pd
from dagster import AssetCheckResult, AssetExecutionContext, AssetIn

from pipelines.assets._factory import RawFile, blocking_check, load_tables, parse, raw_file_asset, table_asset, table_spec
from pipelines.resources import WarehouseResource
from sources import deprivation as iod
from sources.landing import LandedFile
from warehouse.transforms import deprivation

RAW = {  # raw asset: (source id, parser)
    "raw_mhclg__iod2019_file10": ("mhclg_iod2019_file10", iod.parse_file10),
    "raw_mhclg__iod2019_lad_tidy": ("mhclg_iod2019_lad_tidy", iod.parse_tidy),
    "raw_mhclg__iod2025_lad_tidy": ("mhclg_iod2025_lad_tidy", iod.parse_tidy),
}
TABLES = ["core_deprivation__lad_summaries", "core_deprivation__indicator_values", "core_deprivation__indicator_definitions"]
READS = ["core_geo__lad_footprints", "core_geo__areas", "core_population__estimates"]

raw_assets = [raw_file_asset("deprivation_files", "deprivation", [RawFile(name, source_id, parser=parser) for name, (source_id, parser) in RAW.items()])]


@blocking_check(asset="core_deprivation__lad_summaries",
             description="Each edition covers every LAD of its geography once per domain (IoD2019: 317 LADs, 2019 boundaries; IoD2025: 296 LADs, 2024 boundaries) and ranks run 1..N.")
def every_lad_once_per_domain(warehouse: WarehouseResource) -> AssetCheckResult:
    counts = warehouse.read(
        """SELECT edition, domain, count(*) AS n, count(DISTINCT lad_code) AS lads, max(rank_of_average_score) AS max_rank
           FROM core_deprivation__lad_summaries GROUP BY 1, 2""")
    expected = {"2019": 317, "2025": 296}
    bad = counts[(counts["n"] != counts["edition"].map(expected)) | (counts["lads"] != counts["n"]) | (counts["max_rank"] != counts["n"])]
    return AssetCheckResult(passed=bad.empty and len(counts) == 20, metadata={"problems": str(bad.to_dict("records"))})


@blocking_check(asset="core_deprivation__indicator_values",
             description="England's estimated proportion of LSOAs in the most deprived 10% is 10% (±1 point), and IMD average scores lie between 0 and 100.")
def england_has_a_tenth_of_lsoas_in_the_bottom_decile(warehouse: WarehouseResource) -> AssetCheckResult:
    england = warehouse.read(
        """SELECT indicator_id, value FROM core_deprivation__indicator_values
           WHERE area_code = 'E92000001' AND indicator_id LIKE '%proportion_lsoas_most_deprived_10pct'""")
    scores = warehouse.read("SELECT count(*) FROM core_deprivation__indicator_values WHERE indicator_id IN ('imd2019_average_score', 'imd2025_average_score') AND NOT value BETWEEN 0 AND 100")
    ok = len(england) == 2 and england["value"].between(0.09, 0.11).all() and int(scores.iloc[0, 0]) == 0
    return AssetCheckResult(passed=bool(ok), metadata={"england": str(england.to_dict("records")), "scores_out_of_range": int(scores.iloc[0, 0])})


@table_asset(
    specs=[table_spec(name, deps=[*RAW, *READS], group="deprivation") for name in TABLES],
    checks=[every_lad_once_per_domain, england_has_a_tenth_of_lsoas_in_the_bottom_decile],
    ins={name: AssetIn(name) for name in RAW},
)
def core_deprivation(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: LandedFile):
    """IoD2019 (File 10, cross-checked against the tidy re-shape) and IoD2025 LAD summaries, and IMD indicators."""
    inputs = list(landed.values())

    def build() -> dict[str, pd.DataFrame]:
        file10 = parse(landed["raw_mhclg__iod2019_file10"], warehouse)
        tidy19 = parse(landed["raw_mhclg__iod2019_lad_tidy"], warehouse)
        differ = deprivation.disagreements(file10, tidy19)
        if not differ.empty:
            raise ValueError(f"IoD2019: File 10 and the tidy CSV disagree on {len(differ)} LAD/domain rows, e.g. {differ.head(5).to_dict('records')}")
        summaries = pd.concat([file10, parse(landed["raw_mhclg__iod2025_lad_tidy"], warehouse)], ignore_index=True)
        footprints = warehouse.read("SELECT * FROM core_geo__lad_footprints")
        areas = warehouse.read("SELECT * FROM core_geo__areas")
        population = warehouse.read("SELECT * FROM core_population__estimates WHERE sex = 'persons' AND age = 'all' AND year = 2022")
        return {
            "core_deprivation__lad_summaries": summaries,
            "core_deprivation__indicator_values": deprivation.indicator_values(summaries, footprints, areas, population),
            "core_deprivation__indicator_definitions": deprivation.indicator_definitions(summaries),
        }

    yield from load_tables(context, warehouse, inputs, build, reads=READS)


assets = [*raw_assets, core_deprivation]
checks = [every_lad_once_per_domain, england_has_a_tenth_of_lsoas_in_the_bottom_decile]
