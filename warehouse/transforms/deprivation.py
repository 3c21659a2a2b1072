"""Deprivation indicators from the IoD LAD summaries (pure pandas).

LAD values are landed as published, on each edition's own LAD boundaries. Regions, England,
combined authorities and the analysis groups get *population-weighted estimates* of the average
score and of the proportion of LSOAs in the most deprived 10% (Σ weight × LAD value ÷ Σ weight over
the LADs that made up the area on the edition's publication date). For the average score this is
exactly how MHCLG builds a LAD's own score from its LSOAs, so with MHCLG's weights it reproduces
the area score; the proportion of LSOAs is weighted by population rather than by LSOA count, an
approximation (LSOAs hold similar populations). Ranks are not aggregated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sources.deprivation import implied_population
from sources.geography import FootprintIndex

PUBLISHER = "Ministry of Housing, Communities and Local Government"
LICENCE = "OGL-UK-3.0"
AGGREGATED_TYPES = ("country", "region", "combined_authority", "group")


@dataclass(frozen=True)
class Edition:
    edition: str
    published: dt.date  # membership of larger areas is taken on this date
    url: str
    citation: str
    weights: str  # words for the value note of aggregated rows


EDITIONS = {
    "2019": Edition("2019", dt.date(2019, 9, 26), "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
                    "Ministry of Housing, Communities and Local Government, English Indices of Deprivation 2019, File 10 (OGL v3.0)",
                    "weights: MHCLG's own population denominators implied by the Income domain (scale ÷ average score)"),
    "2025": Edition("2025", dt.date(2025, 10, 30), "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
                    "Ministry of Housing, Communities and Local Government, English Indices of Deprivation 2025, LAD summaries (OGL v3.0); tidy file by Trafford Data Lab",
                    "weights: ONS mid-2022 population estimates (bundled mid-2023 release)"),
}


@dataclass(frozen=True)
class Measure:
    suffix: str
    column: str
    name: str
    short: str
    unit: str
    polarity: str
    aggregate: bool
    definition: str


MEASURES = (
    Measure("average_score", "average_score", "Index of Multiple Deprivation: average score", "IMD average score", "score", "low_is_good", True,
            "Population-weighted average of the IMD scores of the area's LSOAs (higher = more deprived). Scores combine seven weighted domains (income, employment, education, health, crime, barriers to housing and services, living environment)."),
    Measure("rank_of_average_score", "rank_of_average_score", "Index of Multiple Deprivation: rank of average score", "IMD rank of average score", "rank",
            "high_is_good", False, "Rank of the LAD among English LADs by IMD average score (1 = most deprived). Published for LADs only."),
    Measure("proportion_lsoas_most_deprived_10pct", "proportion_most_deprived_10pct",
            "Index of Multiple Deprivation: proportion of LSOAs in the most deprived 10% nationally", "Share of LSOAs in England's most deprived 10%",
            "proportion", "low_is_good", True,
            "Proportion (0-1) of the area's LSOAs that are among the 10% most deprived LSOAs in England on the IMD."),
)


def indicator_id(edition: str, measure: Measure) -> str:
    return f"imd{edition}_{measure.suffix}"


def _period(edition: str) -> dict:
    year = int(edition)
    return {"period_label": edition, "period_start": dt.date(year, 1, 1), "period_end": dt.date(year, 12, 31)}


def _weights(summaries: pd.DataFrame, population: pd.DataFrame) -> tuple[pd.Series, str]:
    """LAD weights for an edition: MHCLG's implied denominators where the file has them, else ONS mid-2022 estimates."""
    implied = implied_population(summaries).dropna()
    if not implied.empty:
        return implied, "implied"
    pop = population[(population["year"] == 2022) & (population["sex"] == "persons") & (population["age"] == "all")]
    return pop.set_index("area_code")["population"].astype(float), "ons"


def indicator_values(summaries: pd.DataFrame, footprints: pd.DataFrame, areas: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    rows = []
    index = FootprintIndex(footprints)
    imd = summaries[summaries["domain"] == "imd"]
    for edition, data in imd.groupby("edition"):
        ed = EDITIONS[edition]
        weights, _ = _weights(summaries[summaries["edition"] == edition], population)
        by_lad = data.set_index("lad_code")
        weight_of = weights.to_dict()
        for measure in MEASURES:
            ind = indicator_id(edition, measure)
            for lad, value, vintage, source_id, sha, locator in zip(
                    by_lad.index, by_lad[measure.column], by_lad["geography_vintage"], by_lad["source_id"], by_lad["source_sha256"],
                    by_lad["source_locator"]):
                rows.append({
                    "indicator_id": ind, "area_code": lad, "value": value, "count": None, "denominator": None,
                    "value_note": None, "geography_vintage": vintage, "method": "published",
                    "source_id": source_id, "source_sha256": sha, "source_locator": locator, **_period(edition),
                })
            if not measure.aggregate:
                continue
            first = data.iloc[0]
            value_of = pd.to_numeric(by_lad[measure.column]).to_dict()
            for area in areas[areas["area_type"].isin(AGGREGATED_TYPES)].itertuples(index=False):
                members = index.lads_in(area.area_code, ed.published)
                if not members or not all(m in value_of and m in weight_of for m in members):
                    continue  # the area did not exist then, or a member LAD has no value or weight
                w = np.array([weight_of[m] for m in members], dtype=float)
                v = np.array([value_of[m] for m in members], dtype=float)
                rows.append({
                    "indicator_id": ind, "area_code": area.area_code, "value": float((w * v).sum() / w.sum()), "count": None,
                    "denominator": float(w.sum()),
                    "value_note": f"estimate: population-weighted mean of {len(members)} LAD values ({ed.weights})",
                    "geography_vintage": first["geography_vintage"], "method": "population_weighted_estimate",
                    "source_id": first["source_id"], "source_sha256": first["source_sha256"],
                    "source_locator": f"LADs of {area.area_code} on {ed.published.isoformat()} (core_geo__lad_footprints), weighted",
                    **_period(edition),
                })
    out = pd.DataFrame(rows)
    out["sex"], out["age"] = "persons", "all"
    out["lower_ci_95"] = out["upper_ci_95"] = None
    out["compared_to_england"] = None
    return out


def indicator_definitions(summaries: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for edition, data in summaries[summaries["domain"] == "imd"].groupby("edition"):
        ed, first = EDITIONS[edition], data.iloc[0]
        for measure in MEASURES:
            rows.append({
                "indicator_id": indicator_id(edition, measure), "name": f"{measure.name} (IoD{edition})",
                "short_name": f"{measure.short} (IoD{edition})",
                "definition": measure.definition + f" English Indices of Deprivation {edition}, on {first['geography_vintage']} LAD boundaries; not comparable with other editions.",
                "unit": measure.unit, "polarity": measure.polarity, "domain": "deprivation",
                "value_type": "rank" if measure.unit == "rank" else "score" if measure.unit == "score" else "proportion",
                "aggregation": "population_weighted" if measure.aggregate else "none", "publisher": PUBLISHER, "url": ed.url,
                "licence": LICENCE, "citation": ed.citation, "source_id": first["source_id"], "source_sha256": first["source_sha256"],
                "source_locator": "IMD sheet" if first["source_id"].endswith("file10") else "index_domain = Index of Multiple Deprivation",
            })
    return pd.DataFrame(rows)


def disagreements(a: pd.DataFrame, b: pd.DataFrame, tolerance: float = 1e-6) -> pd.DataFrame:
    """Rows where two parses of the same edition (File 10 and the tidy CSV) differ, or exist in only one."""
    from sources.deprivation import MEASURES as COLS

    joined = a.merge(b, on=["edition", "lad_code", "domain"], how="outer", suffixes=("_a", "_b"), indicator=True)
    bad = joined["_merge"] != "both"
    for col in COLS:
        x, y = pd.to_numeric(joined[f"{col}_a"], errors="coerce"), pd.to_numeric(joined[f"{col}_b"], errors="coerce")
        bad |= ((x - y).abs() > tolerance) | (x.isna() != y.isna())
    return joined.loc[bad, ["edition", "lad_code", "domain", "_merge"]]
