"""Research funding per head (pure pandas): published totals and award-level data, over the geography bridge.

Per head = total ÷ population of the same geography: the area's LADs as of ``membership_date``
(combined authorities as from May 2024 for the NHSA figures), translated onto the LAD geography of
the population year through predecessor/successor links, and summed from
``core_population__estimates``. The population year is the funding year unless the published
figure's basis says otherwise (the NHSA combined-authority figures use Census-2021-like
denominators, so their rows name 2021); for award years outside the bundled estimates the nearest
year is used and named.

Award-level totals count only ``placed`` awards. ``total_award`` values are spread over the award's
calendar years pro rata by days (``annualised_spend`` values already belong to one year), so a
three-year grant adds a third (by days) to each year.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sources.geography import lads_in, succession
from warehouse.transforms.aggregation import translate_codes  # noqa: PLC2701 (the bridge's one translation rule, reused)

FUNDING_TYPES = ("direct_award", "infrastructure", "studentship")
AREA_TYPES = ("lad", "county", "combined_authority", "region", "country", "group")
MART_COLUMNS = ["area_code", "area_name", "area_type", "year", "funding_type", "basis", "basis_detail", "total_gbp", "population",
                "population_year", "membership_date", "member_lads", "per_head_gbp", "published_per_head_gbp", "difference_pct",
                "award_count", "source_id", "source_sha256", "source_locator"]
PUBLISHED_INDICATOR = {"all": "health_research_funding_per_head_gbp", **{t: f"health_research_{t}_per_head_gbp" for t in FUNDING_TYPES}}
AWARD_INDICATOR = {"all": "research_awards_per_head_gbp", **{t: f"research_awards_{t}_per_head_gbp" for t in FUNDING_TYPES}}


class Populations:
    """All-age, all-persons population of any set of LADs in any bundled year, through the bridge."""

    def __init__(self, population: pd.DataFrame, membership: pd.DataFrame) -> None:
        lads = population[population["area_code"].str.match(r"^E0[6-9]\d{6}$") & (population["sex"] == "persons") & (population["age"] == "all")]
        self.value = {(a, int(y)): int(p) for a, y, p in zip(lads["area_code"], lads["year"], lads["population"])}
        self.present = {int(y): set(g["area_code"]) for y, g in lads.groupby("year")}
        self.successors, self.predecessors = succession(membership)

    def nearest_year(self, year: int) -> int | None:
        return min(self.present, key=lambda y: (abs(y - year), -y)) if self.present else None

    def of(self, lads: list[str], year: int) -> tuple[int, int] | None:
        """(population, member LADs on that year's geography), or None if the LADs cannot be mapped onto it."""
        translated = translate_codes(lads, self.present.get(year, set()), self.successors, self.predecessors) if lads else None
        if not translated:
            return None
        return sum(self.value[(lad, year)] for lad in translated), len(translated)

    def to_current(self, lads: set[str], current: set[str]) -> dict[str, set[str]]:
        """Each LAD code mapped onto the current LAD set (older codes from a postcode lookup follow their successors)."""
        return {lad: (translate_codes([lad], current, self.successors, self.predecessors) or set()) for lad in lads}


def _row(area, year, funding_type, basis, detail, total, pop, pop_year, membership_date, n_lads, published, count, provenance) -> dict:
    per_head = total / pop
    return {
        "area_code": area.area_code, "area_name": area.area_name, "area_type": area.area_type, "year": int(year),
        "funding_type": funding_type, "basis": basis, "basis_detail": detail, "total_gbp": float(total), "population": int(pop),
        "population_year": int(pop_year), "membership_date": membership_date, "member_lads": int(n_lads), "per_head_gbp": per_head,
        "published_per_head_gbp": published,
        "difference_pct": (per_head - published) / published * 100 if published else None,
        "award_count": count, **provenance,
    }


def published_per_head(published: pd.DataFrame, footprints: pd.DataFrame, areas: pd.DataFrame, pops: Populations) -> pd.DataFrame:
    """Mart rows (basis ``published_total``) for every published figure that prints a total."""
    by_code = areas.set_index("area_code")
    rows = []
    for r in published[published["total_gbp"].notna()].itertuples(index=False):
        if r.area_code not in by_code.index:
            raise ValueError(f"published total for {r.area_code} ({r.area_name_published}): no such area in core_geo__areas")
        area = by_code.loc[r.area_code]
        area = pd.Series({"area_code": r.area_code, "area_name": area["area_name"], "area_type": area["area_type"]})
        lads = lads_in(footprints, r.area_code, r.membership_date)
        got = pops.of(lads, int(r.population_year))
        if got is None:
            raise ValueError(f"published total for {r.area_code} ({r.area_name_published}): its LADs on {r.membership_date} "
                             f"cannot be mapped onto the mid-{r.population_year} population geography")
        pop, n = got
        detail = (f"published total: {r.publisher}, {r.document} (sha256 {r.document_sha256[:12]}…, line(s) {r.document_lines}); "
                  f"{r.area_name_published} as {r.area_code} with its LADs on {r.membership_date}")
        rows.append(_row(area, r.year, r.funding_type, "published_total", detail, r.total_gbp, pop, r.population_year, r.membership_date,
                         n, r.published_per_head_gbp if pd.notna(r.published_per_head_gbp) else None, None,
                         {"source_id": r.source_id, "source_sha256": r.source_sha256, "source_locator": r.source_locator}))
    return pd.DataFrame(rows, columns=MART_COLUMNS)


def annualise(awards: pd.DataFrame) -> pd.DataFrame:
    """Placed awards spread over calendar years: columns award_id, dataset, lad_code, funding_type, year, amount."""
    rows = []
    for r in awards[awards["status"] == "placed"].itertuples(index=False):
        amount = float(r.amount_gbp)
        start, end = r.start_date, r.end_date
        if r.value_basis == "annualised_spend" or pd.isna(start) or pd.isna(end) or end < start:
            rows.append((r.award_id, r.dataset, r.lad_code, r.funding_type, int(r.award_year), amount))
            continue
        days = (end - start).days + 1
        for year in range(start.year, end.year + 1):
            lo, hi = max(start, dt.date(year, 1, 1)), min(end, dt.date(year, 12, 31))
            rows.append((r.award_id, r.dataset, r.lad_code, r.funding_type, year, amount * ((hi - lo).days + 1) / days))
    return pd.DataFrame(rows, columns=["award_id", "dataset", "lad_code", "funding_type", "year", "amount"])


def award_per_head(awards: pd.DataFrame, footprints: pd.DataFrame, areas: pd.DataFrame, pops: Populations,
                   membership_date: dt.date) -> pd.DataFrame:
    """Mart rows (basis ``award_level``) for every current area and every year with placed awards."""
    spread = annualise(awards)
    spread = spread[spread["year"] <= membership_date.year]  # future years of running awards are commitments, not spend yet
    if spread.empty:
        return pd.DataFrame(columns=MART_COLUMNS)
    current = set(areas.loc[areas["area_type"] == "lad", "area_code"])
    mapping = pops.to_current(set(spread["lad_code"]), current)
    spread["current_lad"] = spread["lad_code"].map(lambda c: sorted(mapping.get(c) or [None])[0] if len(mapping.get(c) or []) <= 1 else None)
    spread = spread[spread["current_lad"].notna()]  # Welsh, Scottish, NI LADs, or LADs split since: in no English area
    by_lad = spread.groupby(["current_lad", "year", "funding_type"]).agg(amount=("amount", "sum"), awards=("award_id", "nunique")).reset_index()
    datasets = ", ".join(sorted(spread["dataset"].unique()))
    first = awards.iloc[0]
    provenance = {"source_id": first["source_id"], "source_sha256": first["source_sha256"],
                  "source_locator": "sum of placed awards in core_funding__awards (see basis_detail)"}
    rows = []
    for area in areas[areas["area_type"].isin(AREA_TYPES)].itertuples(index=False):
        lads = lads_in(footprints, area.area_code, membership_date)
        if not lads:
            continue
        mine = by_lad[by_lad["current_lad"].isin(lads)]
        for year, year_rows in mine.groupby("year"):
            pop_year = int(year) if int(year) in pops.present else pops.nearest_year(int(year))
            got = pops.of(lads, pop_year)
            if got is None:
                continue
            pop, n = got
            totals = year_rows.groupby("funding_type").agg(amount=("amount", "sum"), awards=("awards", "sum"))
            for funding_type in (*FUNDING_TYPES, "all"):
                total = totals["amount"].sum() if funding_type == "all" else (totals["amount"].get(funding_type, 0.0))
                count = int(totals["awards"].sum() if funding_type == "all" else totals["awards"].get(funding_type, 0))
                detail = (f"award level: {count} placed award(s) from {datasets}, located by organisation postcode; "
                          f"total_award values spread over their years pro rata by days; LADs of {area.area_code} on {membership_date}")
                rows.append(_row(area, year, funding_type, "award_level", detail, total, pop, pop_year, membership_date, n, None, count, provenance))
    return pd.DataFrame(rows, columns=MART_COLUMNS)


def combine_awards(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Placed award frames from several datasets as one: GtR copies of Innovate UK projects excluded, undated awards unplaced."""
    frames = [f for f in frames if f is not None and not f.empty]
    if not frames:
        return pd.DataFrame()
    awards = pd.concat(frames, ignore_index=True)
    # Innovate UK projects appear in GtR too: keep the Innovate UK spreadsheet's participant rows (they carry each participant's postcode).
    iuk_projects = set(awards.loc[awards["dataset"] == "innovate_uk", "award_id"].str.split(":").str[0])
    dup = (awards["dataset"] == "gtr") & awards["award_id"].isin(iuk_projects) & (awards["status"] != "excluded")
    awards.loc[dup, "status"] = "excluded"
    awards.loc[dup, "reason"] = "duplicate of the Innovate UK spreadsheet's rows for this project number"
    undated = (awards["status"] == "placed") & awards["award_year"].isna()
    awards.loc[undated, "status"] = "unplaced"
    awards.loc[undated, "reason"] = "no start date or year, so the award cannot be put in a year"
    # Two awards with one reference within a dataset (e.g. a split GtR grant) stay distinct rows.
    repeat = awards.groupby(["dataset", "award_id"]).cumcount()
    awards.loc[repeat > 0, "award_id"] = awards.loc[repeat > 0, "award_id"] + " #" + (repeat[repeat > 0] + 1).astype(str)
    return awards


def _period(year: int) -> dict:
    return {"period_label": str(year), "period_start": dt.date(year, 1, 1), "period_end": dt.date(year, 12, 31)}


def indicator_values(published: pd.DataFrame, mart: pd.DataFrame) -> pd.DataFrame:
    """Funding-per-head indicators: the published per-head figure where printed, else the mart's recomputed one."""
    rows = []
    computed = mart[mart["basis"] == "published_total"].set_index(["area_code", "year", "funding_type"])
    for r in published.itertuples(index=False):
        key = (r.area_code, int(r.year), r.funding_type)
        have = computed.loc[key] if key in computed.index else None
        notes = [r.comparator_note] if r.comparator_note and ("NOT" in r.comparator_note or "rounded" in r.comparator_note) else []
        if pd.notna(r.published_per_head_gbp):
            value, method, denominator = float(r.published_per_head_gbp), "published", None
            if have is not None:
                notes.insert(0, f"as published; recomputed {have['per_head_gbp']:.2f} from the published total ÷ ONS mid-{have['population_year']} "
                                f"population {have['population']:,} ({have['difference_pct']:+.2f}%)")
        else:
            value, method, denominator = float(have["per_head_gbp"]), "derived", float(have["population"])
            notes.insert(0, f"recomputed: published total ÷ ONS mid-{have['population_year']} population (no per-head figure printed)")
        rows.append({
            "indicator_id": PUBLISHED_INDICATOR[r.funding_type], "area_code": r.area_code, **_period(int(r.year)), "value": value,
            "count": float(r.total_gbp) if pd.notna(r.total_gbp) else None, "denominator": denominator, "value_note": "; ".join(notes) or None,
            "geography_vintage": None, "method": method, "source_id": r.source_id, "source_sha256": r.source_sha256,
            "source_locator": f"{r.source_locator} (document line(s) {r.document_lines})",
        })
    for r in mart[mart["basis"] == "award_level"].itertuples(index=False):
        rows.append({
            "indicator_id": AWARD_INDICATOR[r.funding_type], "area_code": r.area_code, **_period(int(r.year)), "value": r.per_head_gbp,
            "count": r.total_gbp, "denominator": float(r.population),
            "value_note": f"{r.award_count} placed award(s); population mid-{r.population_year}", "geography_vintage": None,
            "method": "derived", "source_id": r.source_id, "source_sha256": r.source_sha256, "source_locator": r.source_locator,
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["sex"], out["age"] = "persons", "all"
    out["lower_ci_95"] = out["upper_ci_95"] = None
    out["compared_to_england"] = None
    return out


_TYPE_WORDS = {"all": "all types", "direct_award": "direct awards (specific projects)", "infrastructure": "infrastructure",
               "studentship": "studentships"}


def indicator_definitions(published: pd.DataFrame, awards: pd.DataFrame) -> pd.DataFrame:
    rows = []
    first = published.iloc[0]
    for funding_type, indicator in PUBLISHED_INDICATOR.items():
        rows.append({
            "indicator_id": indicator, "name": f"Health research funding per head: {_TYPE_WORDS[funding_type]} (UK Health Research Analysis basis)",
            "short_name": f"Health research £ per head ({_TYPE_WORDS[funding_type]})",
            "definition": ("Public and charity health-research spend in the year located to the area (by the research location the UK Health Research "
                           "Analysis records), divided by the area's population; as published by the NHSA where it printed a per-head figure, "
                           "otherwise the published total ÷ the ONS mid-year population of the area's LADs (see mart_funding__per_head). "
                           "Spend is attributed to the host institution's place, not to the population served."),
            "unit": "GBP per head", "polarity": "high_is_good", "domain": "funding", "value_type": "ratio", "aggregation": "counts_and_denominators",
            "publisher": "Northern Health Science Alliance, from the UK Health Research Analysis (UK Clinical Research Collaboration)",
            "url": "https://www.thenhsa.co.uk/2024/02/north-south-health-research-funding-gap-exposed/", "licence": "CC-BY-4.0",
            "citation": "UK Health Research Analysis 2022 (UK Clinical Research Collaboration, 2023); analysis by the Northern Health Science Alliance (2024)",
            "source_id": first["source_id"], "source_sha256": first["source_sha256"], "source_locator": "whole file",
        })
    if not awards.empty:
        first = awards.iloc[0]
        for funding_type, indicator in AWARD_INDICATOR.items():
            rows.append({
                "indicator_id": indicator, "name": f"Research awards per head: {_TYPE_WORDS[funding_type]} (GtR, NIHR, Innovate UK award level)",
                "short_name": f"Research awards £ per head ({_TYPE_WORDS[funding_type]})",
                "definition": ("Sum of award values (spread over each award's years pro rata by days) placed in the area by the postcode of the lead or "
                               "contracted organisation, divided by the area's mid-year population. Unplaced awards count in no area."),
                "unit": "GBP per head", "polarity": "high_is_good", "domain": "funding", "value_type": "ratio", "aggregation": "counts_and_denominators",
                "publisher": "UK Research and Innovation; National Institute for Health and Care Research; Innovate UK",
                "url": "https://gtr.ukri.org/", "licence": "OGL-UK-3.0", "citation": None,
                "source_id": first["source_id"], "source_sha256": first["source_sha256"], "source_locator": "core_funding__awards",
            })
    return pd.DataFrame(rows)
