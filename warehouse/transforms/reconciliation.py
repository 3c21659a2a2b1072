"""Claims reconciliation: does a figure printed in a report still stand against the warehouse?

For each claim in ``core_reports__claims`` the measure is recognised from the report's hint, unit
and text (research funding per head or total, healthy life expectancy, life expectancy,
productivity), the place and period are taken from the claim, and the warehouse figure that
should reproduce it is looked up:

* funding per head → ``mart_funding__per_head`` (totals ÷ the population of the same year and
  footprint, computed by the observatory);
* healthy life expectancy / life expectancy / productivity → ``core_indicators__values`` for the
  area, sex and period, with ``core_indicators__value_history`` for earlier vintages.

The tolerance respects the published rounding (half the last printed digit), widened only where
the method says so (per-head figures: 1%, because reports divide by Census counts and the
observatory by mid-year estimates). Every verdict carries its reason.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from warehouse.engine.queries import sql_text

PER_HEAD_RELATIVE_TOLERANCE = 0.01
_SEX_WORDS = {"male": "male", "men": "male", "man": "male", "female": "female", "women": "female", "woman": "female"}
_INDICATOR_OF = {
    "healthy life expectancy": ("90362", "years"),
    "life expectancy": ("90366", "years"),
    "productivity": ("gva_per_hour_worked_index", "index (UK=100)"),
}


def _text(value) -> str | None:
    """A string, or None for NULL/NaN/empty."""
    return value if isinstance(value, str) and value.strip() else None


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame | None:
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0]
    return con.execute(f'SELECT * FROM "{name}"').df() if exists else None


def printed_tolerance(figure: str, scale: float = 1.0) -> float:
    """Half of the last printed digit: ``£42.10`` → 0.005, ``61.7`` → 0.05, ``£1.69bn`` → 0.005e9."""
    digits = re.search(r"\d[\d,]*(?:\.(\d+))?", figure or "")
    if not digits:
        return 0.0
    decimals = len(digits.group(1) or "")
    return 0.5 * 10 ** (-decimals) * (scale or 1.0)


def _sex(claim: pd.Series) -> str | None:
    for text in (claim.get("series"), claim.get("text"), claim.get("context")):
        if isinstance(text, str):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in _SEX_WORDS:
                    return _SEX_WORDS[word]
    return None


def fingertips_period(period: str | None) -> str | None:
    """``2015-2017`` / ``2015-17`` → ``2015 - 17`` (Fingertips' label); a single year stays as it is."""
    period = _text(period)
    if period is None:
        return None
    m = re.fullmatch(r"\s*(\d{4})\s*[-–/]\s*(\d{2}|\d{4})\s*", period)
    if m:
        return f"{m.group(1)} - {m.group(2)[-2:]}"
    m = re.fullmatch(r"\s*(\d{4})\s*", period)
    return m.group(1) if m else None


def measure_of(claim: pd.Series) -> str | None:
    hint = str(claim.get("measure_hint") or "").lower()
    text = (str(claim.get("text") or "") + " " + str(claim.get("context") or "")).lower()
    unit = claim.get("unit")
    if unit == "GBP per head" and ("fund" in hint or "research" in hint or "fund" in text or "research" in text):
        return "research funding per head"
    if unit == "GBP" and ("fund" in hint or "fund" in text or "award" in text):
        return "research funding total"
    for key in _INDICATOR_OF:
        if key in hint:
            return key
    if "healthy life expectancy" in text and unit in ("years", "count", None) and claim.get("kind") in ("figure_value", "count"):
        return "healthy life expectancy"
    return None


def _verdict(row: dict, published: float, current: float | None, tolerance: float, earlier: list[float]) -> dict:
    row.update(published_value=published, warehouse_value=current, tolerance=tolerance)
    if current is None:
        row.update(status="unverifiable")
        return row
    row["difference"] = current - published
    if abs(current - published) <= tolerance + 1e-9:
        row["status"] = "reproduced"
        return row
    match = next((v for v in earlier if abs(v - published) <= tolerance + 1e-9), None)
    if match is not None:
        row.update(status="revised", earlier_value=match)
        row["reason"] += f" The claim matches an earlier vintage ({match:g}); the source now gives {current:g}."
    else:
        row["status"] = "mismatch"
    return row


def _enclosing_with_funding(con: duckdb.DuckDBPyConnection, area: str, funding: pd.DataFrame) -> str | None:
    """The combined authority or region with funding figures whose current footprint covers ``area``'s LADs.

    Reports say "Cambridge" or "Manchester" for the combined authority; the place matcher finds the
    district or county of that name, so the funding figure is looked for one level up.
    """
    rows = con.execute(sql_text("reconciliation_enclosing_areas"), {"area": area}).fetchall()
    with_funding = set(funding["area_code"])
    return next((code for (code,) in rows if code in with_funding), None)


def _funding_per_head(claim: pd.Series, base: dict, funding: pd.DataFrame | None, con: duckdb.DuckDBPyConnection) -> dict:
    if funding is None or funding.empty:
        return base | {"status": "unverifiable", "reason": "mart_funding__per_head is not in the warehouse"}
    rows = funding[funding["area_code"] == claim["area_code"]]
    place_note = ""
    if rows.empty:
        enclosing = _enclosing_with_funding(con, claim["area_code"], funding)
        if enclosing is None:
            return base | {"status": "unverifiable", "reason": f"no funding total for {claim['area_code']} (or an area enclosing it) in mart_funding__per_head"}
        rows = funding[funding["area_code"] == enclosing]
        place_note = f" '{claim.get('place')}' ({claim['area_code']}) read as {enclosing}, the combined authority or region that contains it, as funding analyses do."
        base["area_code"] = enclosing
    year = pd.to_numeric(_text(claim.get("period")), errors="coerce")
    if pd.notna(year) and (rows["year"] == int(year)).any():
        rows, period_note = rows[rows["year"] == int(year)], ""
    else:
        rows = rows[rows["year"] == rows["year"].max()]
        period_note = f" Period not stated; used {int(rows['year'].iloc[0])}, the year of the totals."
    named = ()
    for words in (str(claim.get("text") or "").lower(), str(claim.get("context") or "").lower()):  # the sentence first, then around it
        named = tuple(t for t in ("infrastructure", "studentship") if t in words)
        if named:
            break
    for wanted in named + ("direct_award", "all"):
        if (rows["funding_type"] == wanted).any():
            rows = rows[rows["funding_type"] == wanted]
            break
    best = rows.iloc[0]
    printed = printed_tolerance(claim.get("figure"), 1.0)
    tolerance = max(printed, PER_HEAD_RELATIVE_TOLERANCE * abs(claim["value"]))
    base["period"] = str(int(best["year"]))
    base["warehouse_source"] = (f"mart_funding__per_head[{best['area_code']}, {int(best['year'])}, {best['funding_type']}]: "
                                f"£{best['total_gbp']:,.0f} ÷ population {int(best['population']):,} ({best['basis']})")
    base["reason"] = (f"Total ÷ mid-year population of {int(best['population_year']) if 'population_year' in best else best['year']} on the footprint as of "
                      f"{pd.Timestamp(best['membership_date']).date() if 'membership_date' in best else 'the analysis date'}; tolerance 1% because reports divide by Census counts, the observatory by ONS mid-year estimates.{period_note}{place_note}")
    return _verdict(base, float(claim["value"]), float(best["per_head_gbp"]), tolerance, [])


def _indicator(claim: pd.Series, base: dict, measure: str, values: pd.DataFrame | None, history: pd.DataFrame | None) -> dict:
    indicator_id, unit = _INDICATOR_OF[measure]
    base["unit"] = unit
    if values is None:
        return base | {"status": "unverifiable", "reason": "core_indicators__values is not in the warehouse"}
    rows = values[(values["indicator_id"] == indicator_id) & (values["area_code"] == claim["area_code"])]
    if rows.empty:
        return base | {"status": "unverifiable", "reason": f"indicator {indicator_id} has no value for {claim['area_code']} in the warehouse"}
    sex = _sex(claim)
    base["sex"] = sex
    if sex is None and rows["sex"].nunique() > 1 and not (rows["sex"] == "persons").any():
        return base | {"status": "unverifiable", "reason": "the claim does not say which sex, and the indicator is published by sex"}
    rows = rows[rows["sex"] == (sex or "persons")] if sex or (rows["sex"] == "persons").any() else rows
    period = fingertips_period(claim.get("period"))
    base["period"] = period
    if period is None:
        return base | {"status": "unverifiable", "reason": "the claim states no period, so the figure cannot be matched to one"}
    rows = rows[rows["period_label"] == period]
    if rows.empty:
        return base | {"status": "unverifiable", "reason": f"indicator {indicator_id} has no {sex or 'persons'} value for {claim['area_code']} in {period}"}
    row = rows.iloc[0]
    earlier = []
    if history is not None:
        keyed = history[(history["indicator_id"] == indicator_id) & (history["area_code"] == row["area_code"]) & (history["sex"] == row["sex"])
                        & (history["period_label"] == period) & (history["source_sha256"] != row["source_sha256"])]
        earlier = [float(v) for v in keyed["value"].dropna()]
    tolerance = printed_tolerance(claim.get("figure"), 1.0)
    base["warehouse_source"] = f"core_indicators__values[{indicator_id}, {row['area_code']}, {row['sex']}, {period}] ({row['method']})"
    base["reason"] = f"Tolerance is half the last printed digit. Warehouse value is {row['method'].replace('_', ' ')}."
    if row["method"] != "published":
        base["reason"] += " It is the observatory's own aggregate, not a figure the publisher printed, so small differences are expected."
    return _verdict(base, float(claim["value"]), float(row["value"]), tolerance, earlier)


def reconcile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The reconciliation mart for every claim in the warehouse."""
    claims = _table(con, "core_reports__claims")
    columns = ["claim_id", "document_id", "page", "claim_text", "measure", "area_code", "sex", "period", "published_value", "unit",
               "warehouse_value", "earlier_value", "tolerance", "difference", "status", "warehouse_source", "reason"]
    if claims is None or claims.empty:
        return pd.DataFrame(columns=columns)
    funding = _table(con, "mart_funding__per_head")
    values = _table(con, "core_indicators__values")
    history = _table(con, "core_indicators__value_history")
    out = []
    for _, claim in claims.iterrows():
        measure = measure_of(claim)
        area = _text(claim.get("area_code"))
        base = {"claim_id": claim["claim_id"], "document_id": claim["document_id"], "page": int(claim["page"]),
                "claim_text": str(claim["text"])[:500], "measure": measure or claim.get("measure_hint"), "area_code": area,
                "sex": None, "period": _text(claim.get("period")), "published_value": float(claim["value"]), "unit": claim["unit"],
                "warehouse_value": None, "earlier_value": None, "tolerance": None, "difference": None,
                "warehouse_source": None, "reason": ""}
        if measure is None:
            row = base | {"status": "unverifiable", "reason": f"no warehouse measure matches this figure (hint: {claim.get('measure_hint') or 'none'}, unit {claim['unit']})"}
        elif area is None:
            row = base | {"status": "unverifiable", "reason": "the claim names no place the observatory knows"}
        elif measure == "research funding per head":
            row = _funding_per_head(claim, base, funding, con)
        elif measure == "research funding total":
            row = base | {"status": "unverifiable", "reason": "the only source for this total is the report itself (bundled as a published total); award-level data (UKHRA 2022) is needed to check it and is live-only"}
        else:
            row = _indicator(claim, base, measure, values, history)
        out.append(row)
    return pd.DataFrame(out, columns=columns)
