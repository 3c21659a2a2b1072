"""Research-funding assets: published totals (bundled), live award sources, per-head figures, and the North-South gaps mart.

The award sources (UKRI Gateway to Research, NIHR Open Data, Innovate UK and UKHRA award files, and
the ONS postcode lookup that places them) are *live-only*: nothing public could be bundled. Their raw
assets fetch only when ``SourcesResource.mode == "live"`` (``observatory build --live``, or the weekly
``funding_weekly`` schedule, which sets it); in the offline build they land nothing and
``core_funding__awards`` is empty. The bundled published totals still give the per-head mart, the
funding indicators and the gaps mart offline.
"""

import datetime as dt
import os

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetSelection,
    DefaultScheduleStatus,
    MetadataValue,
    ScheduleDefinition,
    define_asset_job,
)

from pipelines.assets._factory import RawFile, blocking_check, load_tables, parse, raw_file_asset, table_asset, table_spec, warning_check
from pipelines.resources import WarehouseResource
from sources import funding_live, gtr, nihr, postcodes, research_funding
from sources.http import make_session
from sources.landing import LandedFile
from warehouse.engine import queries
from warehouse.engine.registry import REGISTRY, indicators
from warehouse.transforms import funding

PUBLISHED_RAW = "raw_observatory__nhsa_published_funding"
LIVE_RAW = ["raw_ukri__gtr_projects", "raw_nihr__awards", "raw_innovate_uk__projects", "raw_ukhra__awards", "raw_ons__postcode_lookup"]
PER_HEAD_TABLES = ["mart_funding__per_head", "core_funding__indicator_values", "core_funding__indicator_definitions"]
GEO = ["core_geo__lad_footprints", "core_geo__area_membership", "core_geo__areas"]
GAPS = "mart_north_south__gaps"
# Award-level membership is taken on the day of the build unless this names a date (YYYY-MM-DD).
ANALYSIS_DATE_ENV = "OBSERVATORY_FUNDING_ANALYSIS_DATE"

published_raw = raw_file_asset("published_funding_files", "funding", [
    RawFile(PUBLISHED_RAW, "observatory_nhsa_published_funding", parser=research_funding.parse_published_totals)])


# --- live-only raw sources: each lands through the one raw-file factory, with its client as the live fetch --------------

def _fetch_gtr(context: AssetExecutionContext, warehouse: WarehouseResource) -> LandedFile:
    """GtR projects with their funds and lead organisations, crawled and landed as one JSON Lines recording."""
    max_pages = os.environ.get("OBSERVATORY_GTR_MAX_PAGES")
    client = gtr.GtrClient(max_pages=int(max_pages) if max_pages else None, query=os.environ.get("OBSERVATORY_GTR_QUERY") or None)
    return funding_live.land_bytes(client.crawl(), "ukri_gtr", client.base, warehouse.paths.landing, "gtr_projects.jsonl")


def _fetch_nihr(context: AssetExecutionContext, warehouse: WarehouseResource) -> LandedFile:
    """NIHR funded awards, paged from the Opendatasoft records API and landed as one JSON Lines recording."""
    client = nihr.NihrClient()
    return funding_live.land_bytes(client.crawl(), "nihr_open_data", client.url, warehouse.paths.landing, "nihr_awards.jsonl")


def _fetch_innovate_uk(context: AssetExecutionContext, warehouse: WarehouseResource) -> list[LandedFile]:
    """The workbook(s) $OBSERVATORY_INNOVATE_UK_FILE names, else those linked from the publication page."""
    named = funding_live.location("innovate_uk_projects")
    session = make_session()
    urls = [u.strip() for u in named.split(",") if u.strip()] if named else research_funding.discover_innovate_uk(session)
    return [funding_live.land_location("innovate_uk_projects", warehouse.paths.landing, location_override=u, session=session) for u in urls]


def _fetch_named(source_id: str, unset: str):
    """A file a live source's environment variable names (path or URL); says what follows when it names none."""
    def fetch(context: AssetExecutionContext, warehouse: WarehouseResource) -> LandedFile | None:
        landed = funding_live.land_location(source_id, warehouse.paths.landing)
        if landed is None:
            context.log.warning(f"{funding_live.LIVE_SOURCES[source_id].env_var} is not set: {unset}")
        return landed
    return fetch


live_raw = raw_file_asset("award_files", "funding", [
    RawFile("raw_ukri__gtr_projects", "ukri_gtr", live=_fetch_gtr, parser=gtr.parse),
    RawFile("raw_nihr__awards", "nihr_open_data", live=_fetch_nihr, parser=nihr.parse),
    RawFile("raw_innovate_uk__projects", "innovate_uk_projects", live=_fetch_innovate_uk, many=True, parser=research_funding.parse_innovate_uk),
    RawFile("raw_ukhra__awards", "ukhra_awards", live=_fetch_named("ukhra_awards", "no UKHRA award file this run"),
            parser=research_funding.parse_ukhra),
    RawFile("raw_ons__postcode_lookup", "ons_postcode_lookup",
            live=_fetch_named("ons_postcode_lookup", "awards will be listed as unplaced (no lookup)"), parser=postcodes.read_lookup),
])


# --- checks -------------------------------------------------------------------------------------------

@blocking_check(asset="core_funding__awards",
             description="Every award is either placed in a LAD or listed as unplaced/excluded with its reason; none is dropped silently.")
def every_award_placed_or_listed(warehouse: WarehouseResource) -> AssetCheckResult:
    bad = warehouse.read(
        """SELECT dataset, award_id, status, lad_code, reason FROM core_funding__awards
           WHERE NOT ((status = 'placed' AND lad_code IS NOT NULL AND reason IS NULL)
                   OR (status = 'unplaced' AND lad_code IS NULL AND coalesce(trim(reason), '') <> '')
                   OR (status = 'excluded' AND coalesce(trim(reason), '') <> ''))""")
    counts = warehouse.read("SELECT status, count(*) AS n, sum(amount_gbp) AS gbp FROM core_funding__awards GROUP BY 1")
    return AssetCheckResult(passed=bad.empty, metadata={"bad_rows": len(bad), "by_status": str(counts.to_dict("records"))})


@blocking_check(asset="mart_funding__per_head",
                description="Per-head figures are plausible (£0-£5,000 a head) and are the total divided by the population, in every row.")
def per_head_plausible(warehouse: WarehouseResource) -> AssetCheckResult:
    bad = warehouse.read("""SELECT area_code, year, funding_type, basis, total_gbp, population, per_head_gbp FROM mart_funding__per_head
                            WHERE NOT per_head_gbp BETWEEN 0 AND 5000 OR population <= 0
                               OR abs(per_head_gbp - total_gbp / population) > 1e-9 * greatest(1, per_head_gbp)""")
    return AssetCheckResult(passed=bad.empty, metadata={"failing": len(bad), "first": str(bad.head(5).to_dict("records"))})


@warning_check(asset="mart_funding__per_head",
               description="A printed per-head figure differs by more than 1% from its printed total over our population: a statement "
                           "about the report's own arithmetic and denominator, judged in the claims ledger, never a reason to stop a publish.")
def published_per_head_follows_from_its_total(warehouse: WarehouseResource) -> AssetCheckResult:
    table = warehouse.read(
        """SELECT area_code, funding_type, total_gbp, population, population_year, round(per_head_gbp, 2) AS per_head,
                  published_per_head_gbp AS published, round(difference_pct, 2) AS diff_pct
           FROM mart_funding__per_head WHERE basis = 'published_total' ORDER BY funding_type, area_code""")
    off = table[table["diff_pct"].abs() > 1]
    return AssetCheckResult(passed=off.empty, severity=AssetCheckSeverity.WARN, metadata={
        "differing_by_more_than_1pct": str(off[["area_code", "funding_type", "published", "per_head", "diff_pct"]].to_dict("records")),
        "published_vs_computed": MetadataValue.md("\n".join(
            ["| area | type | total £ | population (mid-year) | per head £ | published £ | diff % |", "|---|---|---|---|---|---|---|"]
            + [f"| {r.area_code} | {r.funding_type} | {r.total_gbp:,.0f} | {r.population:,} ({r.population_year}) | {r.per_head} | "
               f"{r.published} | {r.diff_pct} |" for r in table.itertuples(index=False)])),
    })


@blocking_check(asset=GAPS,
             description="The gaps mart compares the North and the Greater South East on productivity, GVA and GDP per head, deprivation and research funding.")
def gaps_cover_each_domain(warehouse: WarehouseResource) -> AssetCheckResult:
    have = set(warehouse.read(f"SELECT DISTINCT indicator_id FROM {GAPS}")["indicator_id"])
    wanted = {"gva_per_hour_worked_gbp", "gva_per_head_gbp", "gdp_per_head_gbp", "imd2019_average_score", "imd2025_average_score",
              "health_research_funding_per_head_gbp"}
    return AssetCheckResult(passed=wanted <= have, metadata={"missing": ", ".join(sorted(wanted - have)) or "none", "indicators": len(have)})


# --- core tables -----------------------------------------------------------------------------------

@table_asset(specs=[table_spec("core_funding__published_totals", deps=[PUBLISHED_RAW], group="funding")],
             ins={PUBLISHED_RAW: AssetIn(PUBLISHED_RAW)})
def core_funding_published(context: AssetExecutionContext, warehouse: WarehouseResource, **landed: LandedFile):
    """Published funding totals and per-head figures, with quotes and document lines."""
    f = landed[PUBLISHED_RAW]
    yield from load_tables(context, warehouse, [f], lambda: {"core_funding__published_totals": parse(f, warehouse)})


def _empty_awards() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in REGISTRY["core_funding__awards"].column_names})


@table_asset(specs=[table_spec("core_funding__awards", deps=LIVE_RAW, group="funding")], checks=[every_award_placed_or_listed],
             ins={name: AssetIn(name) for name in LIVE_RAW})
def core_funding_awards(context: AssetExecutionContext, warehouse: WarehouseResource, **landed):
    """Awards from every live source, classified and placed in LADs by postcode (unplaced ones listed with the reason)."""
    iuk = landed.pop("raw_innovate_uk__projects") or []
    lookup_file = landed.pop("raw_ons__postcode_lookup")
    award_files = [f for f in (*landed.values(), *iuk) if f is not None]
    inputs = [*award_files, *([lookup_file] if lookup_file else [])]

    def build() -> dict[str, pd.DataFrame]:
        if not award_files:
            return {"core_funding__awards": _empty_awards()}
        lookup = parse(lookup_file, warehouse) if lookup_file else None
        label = f"the postcode lookup {lookup_file.file_name}" if lookup_file else "the postcode lookup"
        placed = [research_funding.place(parse(f, warehouse), lookup, label) for f in award_files]
        awards = funding.combine_awards(placed)
        return {"core_funding__awards": awards.reindex(columns=REGISTRY["core_funding__awards"].column_names)}

    yield from load_tables(context, warehouse, inputs, build)


def _analysis_date() -> dt.date:
    named = os.environ.get(ANALYSIS_DATE_ENV)
    return dt.date.fromisoformat(named) if named else dt.date.today()


@table_asset(
    specs=[table_spec(name, deps=["core_funding__published_totals", "core_funding__awards", "core_population__estimates", *GEO], group="funding")
           for name in PER_HEAD_TABLES],
    checks=[per_head_plausible, published_per_head_follows_from_its_total],
)
def funding_per_head(context: AssetExecutionContext, warehouse: WarehouseResource):
    """Per-head funding from published totals and from award-level data, and the funding indicators."""
    reads = ["core_funding__published_totals", "core_funding__awards", "core_population__estimates", *GEO]

    def build() -> dict[str, pd.DataFrame]:
        published = warehouse.read("SELECT * FROM core_funding__published_totals")
        awards = warehouse.read("SELECT * FROM core_funding__awards")
        footprints = warehouse.read("SELECT * FROM core_geo__lad_footprints")
        membership = warehouse.read("SELECT * FROM core_geo__area_membership")
        areas = warehouse.read("SELECT * FROM core_geo__areas")
        for frame in (published, awards):
            for col in ("membership_date", "start_date", "end_date"):
                if col in frame.columns:
                    frame[col] = pd.to_datetime(frame[col]).dt.date
        population = warehouse.read("SELECT area_code, year, sex, age, population FROM core_population__estimates WHERE sex = 'persons' AND age = 'all'")
        pops = funding.Populations(population, membership)
        mart = pd.concat([funding.published_per_head(published, footprints, areas, pops),
                          funding.award_per_head(awards, footprints, areas, pops, _analysis_date())], ignore_index=True)
        return {
            "mart_funding__per_head": mart,
            "core_funding__indicator_values": funding.indicator_values(published, mart),
            "core_funding__indicator_definitions": funding.indicator_definitions(published, awards),
        }

    yield from load_tables(context, warehouse, [], build, reads=reads)


@table_asset(specs=[table_spec(GAPS, deps=[indicators.VALUES_TABLE, indicators.DEFINITIONS_TABLE], group="north_south")],
             checks=[gaps_cover_each_domain])
def north_south_gaps(context: AssetExecutionContext, warehouse: WarehouseResource):
    """North vs Greater South East for every indicator with both values: gaps, trend, and for funding a closing-year projection."""
    yield from load_tables(context, warehouse, [], lambda: {GAPS: warehouse.read(queries.sql_text("north_south_gaps"))},
                           reads=[indicators.VALUES_TABLE, indicators.DEFINITIONS_TABLE])


# --- jobs and schedules ----------------------------------------------------------------------------------

# GtR and NIHR update continuously; a weekly live run picks up new awards. The run config switches the
# sources resource to live for this job only, so the rest of the deployment can stay offline.
funding_job = define_asset_job(
    "funding_weekly_refresh",
    selection=AssetSelection.assets(*LIVE_RAW, "core_funding__awards").downstream(),
    description="Fetch GtR, NIHR, Innovate UK (and UKHRA, if named) awards live, place them by postcode, recompute per-head figures, gaps, and publish.",
    config={"resources": {"sources": {"config": {"mode": "live"}}}},
)
funding_schedule = ScheduleDefinition(
    name="funding_weekly", job=funding_job, cron_schedule="0 4 * * 1", execution_timezone="Europe/London",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Weekly live refresh of the research-funding award sources (Mondays 04:00).",
)

assets = [published_raw, live_raw,
          core_funding_published, core_funding_awards, funding_per_head, north_south_gaps]
checks = [every_award_placed_or_listed, per_head_plausible, published_per_head_follows_from_its_total, gaps_cover_each_domain]
jobs = [funding_job]
schedules = [funding_schedule]
