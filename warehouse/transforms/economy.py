"""Economy indicators from the ONS ITL workbooks (pure pandas).

* ITL areas are matched to GSS areas: UK, England (``TLB``), the 9 English regions (each English
  ITL1 is the region its LADs belong to in the geography bridge: derived, not hard-coded) and LADs
  that are an ITL3 by themselves (the ITL3 has exactly one LAD and the LAD one ITL3).
* Combined authorities and the analysis groups get values only where their LAD footprint is a union
  of whole ITL areas (ITL1 for the groups, ITL3 for most combined authorities): additive totals
  (GVA, GDP, population, hours, jobs) are summed first, then ratios are recomputed
  (GVA per head = Σ GVA / Σ population; GVA per hour worked = Σ(£/hour × hours) / Σ hours, i.e.
  Σ GVA / Σ hours). Indices for them are the recomputed £ value over the UK's × 100. Smoothed and
  chained-volume series are never aggregated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from sources.geography import lads_in
from sources.ons_economy import SERIES

UK_CODE = "K02000001"
ENGLAND = "E92000001"
PUBLISHER = "Office for National Statistics"
LICENCE = "OGL-UK-3.0"
URLS = {
    "ons_productivity_itl": "https://www.ons.gov.uk/employmentandlabourmarket/peopleinwork/labourproductivity/datasets/subregionalproductivitylabourproductivitygvaperhourworkedandgvaperfilledjobindicesbyuknuts2andnuts3subregions",
    "ons_regional_gdp_itl": "https://www.ons.gov.uk/economy/grossdomesticproductgdp/datasets/regionalgrossdomesticproductallnutslevelregions",
}
CITATIONS = {
    "ons_productivity_itl": "Office for National Statistics, Subregional productivity: labour productivity indices by UK ITL2 and ITL3 subregions, June 2023 release (OGL v3.0)",
    "ons_regional_gdp_itl": "Office for National Statistics, Regional gross domestic product: all ITL regions, 25 April 2023 (OGL v3.0)",
}


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    measure: str  # the series it comes from, or "gva_per_head" (derived)
    name: str
    short_name: str
    unit: str
    polarity: str
    value_type: str
    aggregation: str
    combine: str  # how an area made of several ITL areas gets a value: sum, per_head, per_hour, per_job, index_hour, index_job, none
    definition: str


INDICATORS = (
    Indicator("gva_per_hour_worked_gbp", "gva_per_hour_worked_gbp", "GVA per hour worked (current prices, unsmoothed)", "Productivity (£ per hour)",
              "GBP per hour", "high_is_good", "ratio", "counts_and_denominators", "per_hour",
              "Gross value added (balanced) at current prices divided by total hours worked; ONS table A4 (unsmoothed)."),
    Indicator("gva_per_hour_worked_index", "gva_per_hour_worked_index", "GVA per hour worked index (current prices, unsmoothed), UK = 100", "Productivity index (UK=100)",
              "index (UK=100)", "high_is_good", "index", "none", "index_hour",
              "GVA per hour worked relative to the UK less Extra-Regio (= 100); ONS table A2. For aggregated areas: their recomputed £ per hour over the UK's × 100."),
    Indicator("gva_per_hour_worked_smoothed_gbp", "gva_per_hour_worked_smoothed_gbp", "GVA per hour worked (current prices, smoothed)", "Productivity, smoothed (£ per hour)",
              "GBP per hour", "high_is_good", "ratio", "none", "none",
              "Temporally smoothed current-price GVA per hour worked; ONS table A3. ONS smooths small-area series to damp sampling volatility."),
    Indicator("gva_per_hour_worked_cvm_index", "gva_per_hour_worked_cvm_index", "GVA per hour worked, chained volume index (2020 = 100)", "Real productivity index (2020=100)",
              "index (2020=100)", "high_is_good", "index", "none", "none",
              "Chained-volume GVA per hour worked against the area's own 2020 level; ONS table A5. Compare over time within an area, not across areas."),
    Indicator("gva_per_filled_job_gbp", "gva_per_filled_job_gbp", "GVA per filled job (current prices, unsmoothed)", "GVA per filled job (£)",
              "GBP per job", "high_is_good", "ratio", "counts_and_denominators", "per_job",
              "Gross value added (balanced) at current prices divided by filled jobs; ONS table B4 (unsmoothed)."),
    Indicator("gva_per_filled_job_index", "gva_per_filled_job_index", "GVA per filled job index (current prices, unsmoothed), UK = 100", "GVA per job index (UK=100)",
              "index (UK=100)", "high_is_good", "index", "none", "index_job",
              "GVA per filled job relative to the UK less Extra-Regio (= 100); ONS table B2. For aggregated areas: their recomputed £ per job over the UK's × 100."),
    Indicator("gva_per_filled_job_smoothed_gbp", "gva_per_filled_job_smoothed_gbp", "GVA per filled job (current prices, smoothed)", "GVA per job, smoothed (£)",
              "GBP per job", "high_is_good", "ratio", "none", "none", "Temporally smoothed current-price GVA per filled job; ONS table B3."),
    Indicator("gva_per_filled_job_cvm_index", "gva_per_filled_job_cvm_index", "GVA per filled job, chained volume index (2020 = 100)", "Real GVA per job index (2020=100)",
              "index (2020=100)", "high_is_good", "index", "none", "none",
              "Chained-volume GVA per filled job against the area's own 2020 level; ONS table B5. Compare over time within an area, not across areas."),
    Indicator("gva_current_prices_gbp_m", "gva_current_prices_gbp_m", "Gross value added (balanced) at current basic prices", "GVA (£m)",
              "GBP million", "no_judgement", "total", "additive", "sum", "Gross value added (balanced approach) at current basic prices; ONS regional GDP table 1."),
    Indicator("gdp_current_prices_gbp_m", "gdp_current_prices_gbp_m", "Gross domestic product at current market prices", "GDP (£m)",
              "GBP million", "no_judgement", "total", "additive", "sum", "Gross domestic product at current market prices; ONS regional GDP table 5."),
    Indicator("total_resident_population", "total_resident_population", "Total resident population (regional accounts)", "Resident population (regional accounts)",
              "persons", "no_judgement", "count", "additive", "sum",
              "Total resident population as used for the per-head figures in the regional accounts (ONS mid-year estimates as published with the accounts); ONS regional GDP table 6."),
    Indicator("gdp_per_head_gbp", "gdp_per_head_gbp", "GDP per head at current market prices", "GDP per head (£)",
              "GBP per head", "high_is_good", "ratio", "counts_and_denominators", "per_head_gdp",
              "Gross domestic product at current market prices divided by total resident population; ONS regional GDP table 7 (aggregated areas: Σ GDP ÷ Σ population)."),
    Indicator("gva_per_head_gbp", "gva_per_head", "GVA per head at current basic prices", "GVA per head (£)",
              "GBP per head", "high_is_good", "ratio", "counts_and_denominators", "per_head_gva",
              "Gross value added (balanced) at current basic prices (table 1) divided by total resident population (table 6) of the regional GDP workbook, × 1,000,000; ONS does not print it for every level, so it is derived for every area."),
    Indicator("gdp_per_head_cvm_gbp", "gdp_per_head_cvm_gbp", "GDP per head, chained volume measures in 2019 money value", "Real GDP per head (£, 2019 prices)",
              "GBP per head (chained volume)", "high_is_good", "ratio", "none", "none",
              "Gross domestic product per head in chained volume measures (2019 money value); ONS regional GDP table 11. Not aggregated: chained volumes are not additive."),
)


def itl1_regions(lookup: pd.DataFrame, membership: pd.DataFrame) -> dict[str, str]:
    """English ITL1 code → region code, through the LADs the lookup and the bridge's current LAD→region links share."""
    links = membership[(membership["parent_type"] == "region") & (membership["child_type"] == "lad")
                       & (membership["relationship"] == "within") & membership["valid_to"].isna()]
    pairs = lookup[["lad_code", "itl1_code"]].merge(links[["child_code", "parent_code"]], left_on="lad_code", right_on="child_code")
    pairs = pairs[["itl1_code", "parent_code"]].drop_duplicates()
    clashes = pairs[pairs.duplicated("itl1_code", keep=False) | pairs.duplicated("parent_code", keep=False)]
    if not clashes.empty:
        raise ValueError(f"ITL1 areas and regions are not one-to-one through the LAD lookup: {clashes.to_dict('records')[:4]}")
    return dict(zip(pairs["itl1_code"], pairs["parent_code"]))


def itl_areas(values: pd.DataFrame, lookup: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """One row per ITL code in ``values`` with its GSS equivalent (core_economy__itl_areas)."""
    regions = itl1_regions(lookup, membership)
    lads_per_itl: dict[str, set[str]] = {}
    for level in ("itl1_code", "itl2_code", "itl3_code"):
        for code, group in lookup.groupby(level):
            lads_per_itl[code] = set(group["lad_code"])
    itl3_per_lad = lookup.groupby("lad_code")["itl3_code"].nunique()
    firsts = values.sort_values("source_locator").drop_duplicates("itl_code")
    rows = []
    for r in firsts.itertuples(index=False):
        lads = lads_per_itl.get(r.itl_code)
        area, how = None, "none"
        if r.itl_code == "UK" or r.itl_code == "UKX":
            area, how = UK_CODE, "uk"
        elif r.itl_code == "TLB":
            area, how = ENGLAND, "country"
        elif r.itl_level == "ITL1" and r.itl_code in regions:
            area, how = regions[r.itl_code], "region"
        elif r.itl_level == "ITL3" and lads and len(lads) == 1 and itl3_per_lad.get(next(iter(lads))) == 1:
            area, how = next(iter(lads)), "lad"
        rows.append({
            "itl_code": r.itl_code, "itl_level": r.itl_level, "itl_name": r.itl_name, "area_code": area, "equivalence": how,
            "member_lads": len(lads) if lads else None,
            "source_id": r.source_id, "source_sha256": r.source_sha256,
            "source_locator": r.source_locator.split(",")[0] + ("; LADs from the LAD23-ITL lookup" if lads else ""),
        })
    return pd.DataFrame(rows)


def lad_itl3(lookup: pd.DataFrame) -> pd.DataFrame:
    """core_economy__lad_itl3 from the parsed lookup."""
    lads_per_itl3 = lookup.groupby("itl3_code")["lad_code"].nunique()
    itl3_per_lad = lookup.groupby("lad_code")["itl3_code"].nunique()
    out = lookup.copy()
    out["lad_is_whole_itl3"] = out["itl3_code"].map(lads_per_itl3).eq(1) & out["lad_code"].map(itl3_per_lad).eq(1)
    out["lad_in_several_itl3"] = out["lad_code"].map(itl3_per_lad).gt(1)
    return out[["lad_code", "itl3_code", "itl2_code", "itl1_code", "lad_is_whole_itl3", "lad_in_several_itl3",
                "source_id", "source_sha256", "source_locator"]]


def _components(lad_set: set[str], lookup: pd.DataFrame) -> tuple[str, list[str]] | None:
    """The whole ITL1 or ITL3 areas whose LADs are exactly ``lad_set`` (coarsest level first), or None."""
    for level in ("itl1_code", "itl3_code"):
        touched = lookup[lookup["lad_code"].isin(lad_set)][level].unique()
        covered = set(lookup[lookup[level].isin(touched)]["lad_code"])
        if covered == lad_set and len(touched):
            return level[:4].upper(), sorted(touched)
    return None


def _wide(values: pd.DataFrame) -> pd.DataFrame:
    return values.pivot_table(index=["itl_code", "year"], columns="measure_id", values="value", aggfunc="first")


def _uk_series(wide: pd.DataFrame, measure: str) -> pd.Series:
    """The UK value of ``measure`` by year (``UK`` where printed, else ``UKX``, UK less Extra-Regio)."""
    out = pd.Series(dtype=float)
    for code in ("UKX", "UK"):
        if code in wide.index.get_level_values(0) and measure in wide.columns:
            series = wide.loc[code][measure].dropna()
            out = series.combine_first(out) if not out.empty else series
    return out


# The £ ratio each weighted combination is recomputed from, and its weight (Σ(ratio × weight) ÷ Σ weight); an index is
# that ratio over the UK's × 100.
_WEIGHTED = {"per_hour": ("gva_per_hour_worked_gbp", "hours_worked_per_week"),
             "per_job": ("gva_per_filled_job_gbp", "filled_jobs"),
             "index_hour": ("gva_per_hour_worked_gbp", "hours_worked_per_week"),
             "index_job": ("gva_per_filled_job_gbp", "filled_jobs")}
_INDICES = ("index_hour", "index_job")


def _area_sums(wide: pd.DataFrame, targets: list[tuple[str, str, list[str]]]) -> pd.DataFrame:
    """For every aggregated area (``targets``: area code, ITL level, its ITL codes) and year: each measure's sum over
    the area's ITL codes, and each weighted ratio's Σ(ratio × weight), indexed by (area_code, year). A sum is kept only
    where every one of the area's codes has a value that year (else NaN): an area is never summed from part of it."""
    members = pd.DataFrame([(area, code, len(codes)) for area, _, codes in targets for code in codes],
                           columns=["area_code", "itl_code", "members"])
    block = members.merge(wide.reset_index(), on="itl_code").sort_values(["area_code", "year", "itl_code"], kind="stable")
    for ratio, weight in set(_WEIGHTED.values()):
        if ratio in block.columns and weight in block.columns:
            block[f"{ratio}*{weight}"] = block[ratio] * block[weight]
    measures = [c for c in block.columns if c not in ("area_code", "itl_code", "members", "year")]
    groups = block.groupby(["area_code", "year"], sort=True)
    every = groups[measures].count().eq(groups["members"].first(), axis=0)  # every member has the value that year
    return groups[measures].sum().where(every)


def _combined(ind: Indicator, sums: pd.DataFrame, wide: pd.DataFrame) -> pd.DataFrame:
    """Columns value, count, denominator of ``ind`` for the aggregated areas of ``sums`` (see :func:`_area_sums`), by
    (area_code, year): totals summed; per-head figures Σ money ÷ Σ population; £ ratios Σ(ratio × weight) ÷ Σ weight;
    indices the recomputed £ ratio over the UK's × 100."""

    def column(name: str) -> pd.Series:
        return sums[name] if name in sums.columns else pd.Series(float("nan"), index=sums.index)

    frame = pd.DataFrame(index=sums.index, columns=["value", "count", "denominator"], dtype=float)
    if ind.combine == "sum":
        frame["value"] = column(ind.measure)
    elif ind.combine in ("per_head_gva", "per_head_gdp"):
        money = column("gva_current_prices_gbp_m" if ind.combine == "per_head_gva" else "gdp_current_prices_gbp_m") * 1e6
        people = column("total_resident_population").where(lambda p: p > 0)
        frame["value"], frame["count"], frame["denominator"] = money / people, money, people
    elif ind.combine in _WEIGHTED:
        ratio, weight = _WEIGHTED[ind.combine]
        value = column(f"{ratio}*{weight}") / column(weight)
        if ind.combine in _INDICES:
            uk = _uk_series(wide, ratio)
            frame["value"] = value / sums.index.get_level_values("year").map(uk[uk > 0]).to_numpy(dtype=float) * 100
        else:
            frame["value"], frame["denominator"] = value, column(weight)
    return frame.dropna(subset=["value"])  # a year any part of the figure lacks has no value


_COMBINE_WORDS = {
    "sum": "sum of {n} {level} areas ({codes})",
    "per_head_gva": "Σ GVA (table 1) ÷ Σ population (table 6) over {n} {level} areas ({codes})",
    "per_head_gdp": "Σ GDP (table 5) ÷ Σ population (table 6) over {n} {level} areas ({codes})",
    "per_hour": "Σ(£ per hour (A4) × weekly hours) ÷ Σ weekly hours over {n} {level} areas ({codes})",
    "per_job": "Σ(£ per job (B4) × filled jobs) ÷ Σ filled jobs over {n} {level} areas ({codes})",
    "index_hour": "recomputed £ per hour over {n} {level} areas ({codes}) ÷ UK less Extra-Regio £ per hour (A4) × 100",
    "index_job": "recomputed £ per job over {n} {level} areas ({codes}) ÷ UK less Extra-Regio £ per job (B4) × 100",
}


def indicator_values(values: pd.DataFrame, areas: pd.DataFrame, lookup: pd.DataFrame, footprints: pd.DataFrame,
                     geo_areas: pd.DataFrame, on: dt.date) -> pd.DataFrame:
    """core_economy__indicator_values: published/derived values for mapped ITL areas, plus aggregated areas."""
    frames, aggregated = [], []
    by_measure = {m: g for m, g in values.groupby("measure_id")}
    mapped = areas[areas["area_code"].notna()].set_index("itl_code")[["area_code", "equivalence"]]
    wide = _wide(values)
    sha_of = values.drop_duplicates("source_id").set_index("source_id")["source_sha256"].to_dict()
    source_of = {m: g["source_id"].iloc[0] for m, g in by_measure.items()}

    targets = []
    for t in geo_areas[geo_areas["area_type"].isin(["combined_authority", "group"])].itertuples(index=False):
        lad_set = set(lads_in(footprints, t.area_code, on))
        comp = _components(lad_set, lookup) if lad_set else None
        if comp is not None:
            targets.append((t.area_code, *comp))
    sums = _area_sums(wide, targets)  # every aggregated area's component sums, shared by the indicators
    target_order = {area: n for n, (area, _, _) in enumerate(targets)}
    codes_of = {area: (level, codes) for area, level, codes in targets}
    for ind in INDICATORS:
        # 1. ITL areas equivalent to a GSS area: the published (or, for GVA per head, derived) figure.
        if ind.measure == "gva_per_head":
            gva = by_measure["gva_current_prices_gbp_m"]
            pop = by_measure["total_resident_population"][["itl_code", "year", "value", "source_locator"]]
            part = gva.merge(pop, on=["itl_code", "year"], suffixes=("", "_pop"))
            part = part[part["value"].notna() & (part["value_pop"] > 0)]
            part = part.assign(
                count=part["value"] * 1e6, denominator=part["value_pop"], value=part["value"] * 1e6 / part["value_pop"],
                method="derived", source_locator=part["source_locator"] + " ÷ " + part["source_locator_pop"] + " × 1,000,000")
        else:
            part = by_measure[ind.measure].assign(count=None, denominator=None, method="published")
        part = part.merge(mapped, left_on="itl_code", right_index=True, suffixes=("", "_map"))
        uk_rows = part["itl_code"] == "UKX"
        if (part["itl_code"] == "UK").any():
            part = part[~uk_rows]
        elif uk_rows.any():
            part.loc[uk_rows, "value_note"] = part.loc[uk_rows, "value_note"].map(
                lambda n: "UK less Extra-Regio" if n is None or pd.isna(n) else f"{n}; UK less Extra-Regio")
        lad_rows = part["equivalence"] == "lad"
        part.loc[lad_rows, "value_note"] = ("ITL3 " + part.loc[lad_rows, "itl_code"] + " " + part.loc[lad_rows, "itl_name"]
                                            + " (same footprint as the LAD)")
        part["geography_vintage"] = lad_rows.map({True: "2023", False: None})
        frames.append(pd.DataFrame({
            "indicator_id": ind.indicator_id, "area_code": part["area_code"], "sex": "persons", "age": "all",
            "period_label": part["year"].astype(str), "period_start": [dt.date(y, 1, 1) for y in part["year"]],
            "period_end": [dt.date(y, 12, 31) for y in part["year"]], "value": part["value"], "lower_ci_95": None,
            "upper_ci_95": None, "count": part["count"], "denominator": part["denominator"], "value_note": part["value_note"],
            "compared_to_england": None, "geography_vintage": part["geography_vintage"], "method": part["method"],
            "source_id": part["source_id"], "source_sha256": part["source_sha256"], "source_locator": part["source_locator"],
        }))
        if ind.combine == "none":
            continue
        # 2. Combined authorities and analysis groups that are unions of whole ITL areas.
        src = source_of.get(ind.measure, source_of.get("gva_current_prices_gbp_m"))
        method = {"sum": "derived", "index_hour": "derived", "index_job": "derived"}.get(ind.combine, "recomputed_from_counts")
        combined = _combined(ind, sums, wide).reset_index()
        combined = combined.iloc[combined["area_code"].map(target_order).argsort(kind="stable")]
        years = combined["year"].astype(int).tolist()
        aggregated.append(pd.DataFrame({
            "indicator_id": ind.indicator_id, "area_code": combined["area_code"].to_numpy(), "sex": "persons", "age": "all",
            "period_label": [str(y) for y in years], "period_start": [dt.date(y, 1, 1) for y in years],
            "period_end": [dt.date(y, 12, 31) for y in years], "value": combined["value"].to_numpy(), "lower_ci_95": None,
            "upper_ci_95": None, "count": combined["count"].to_numpy(), "denominator": combined["denominator"].to_numpy(),
            "value_note": None, "compared_to_england": None, "geography_vintage": None, "method": method,
            "source_id": src, "source_sha256": sha_of[src],
            "source_locator": [f"{_COMBINE_WORDS[ind.combine].format(n=len(codes_of[a][1]), level=codes_of[a][0], codes=', '.join(codes_of[a][1]))}; "
                               f"LAD footprint of {a} on {on.isoformat()} (core_geo__lad_footprints)" for a in combined["area_code"]],
        }))
    return pd.concat(frames + aggregated, ignore_index=True)


def indicator_definitions(values: pd.DataFrame) -> pd.DataFrame:
    sha_of = values.drop_duplicates("source_id").set_index("source_id")["source_sha256"].to_dict()
    source_of = values.drop_duplicates("measure_id").set_index("measure_id")["source_id"].to_dict()
    sheet_of = values.drop_duplicates("measure_id").set_index("measure_id")["source_locator"].str.split(" row ").str[0].to_dict()
    rows = []
    for ind in INDICATORS:
        measure = ind.measure if ind.measure in SERIES else "gva_current_prices_gbp_m"
        source_id = source_of[measure]
        rows.append({
            "indicator_id": ind.indicator_id, "name": ind.name, "short_name": ind.short_name, "definition": ind.definition,
            "unit": ind.unit, "polarity": ind.polarity, "domain": "economy", "value_type": ind.value_type,
            "aggregation": ind.aggregation, "publisher": PUBLISHER, "url": URLS[source_id], "licence": LICENCE,
            "citation": CITATIONS[source_id], "source_id": source_id, "source_sha256": sha_of[source_id],
            "source_locator": f"sheet {sheet_of[measure]}" + (" and Table 6" if ind.measure == "gva_per_head" else ""),
        })
    return pd.DataFrame(rows)


def itl1_sum_mismatches(values: pd.DataFrame, measures=("gva_current_prices_gbp_m", "gdp_current_prices_gbp_m", "total_resident_population",
                                                     "hours_worked_per_week", "filled_jobs"), tolerance: float = 0.001) -> pd.DataFrame:
    """Years where the 12 ITL1 areas do not sum to the UK less Extra-Regio (relative tolerance) for additive measures."""
    out = []
    for measure in measures:
        m = values[values["measure_id"] == measure]
        itl1 = m[m["itl_level"] == "ITL1"].groupby("year")["value"].agg(["sum", "count"])
        uk = m[m["itl_code"] == "UKX"].set_index("year")["value"]
        for year, r in itl1.iterrows():
            total = uk.get(year)
            if total is None or r["count"] != 12 or abs(r["sum"] - total) > tolerance * abs(total):
                out.append({"measure_id": measure, "year": year, "itl1_sum": r["sum"], "itl1_count": r["count"], "uk": total})
    return pd.DataFrame(out, columns=["measure_id", "year", "itl1_sum", "itl1_count", "uk"])
