"""How numbers and names read on every page and in the CLI: one formatter per unit, human column headers.

Units are the registry's / indicator definitions' ``unit`` strings ("years", "per 100,000", "GBP per head",
"GBP million", "proportion", "rank", "index (UK=100)", "persons", ...). A unit nobody declared falls back to
three significant figures, never to raw float noise.
"""

from __future__ import annotations

import math

HEADERS = {
    "label": "Measure", "name": "Indicator", "indicator": "Indicator", "area_name": "Area", "area_code": "Code",
    "area_type": "Type", "year": "Year", "period_label": "Period", "latest_period": "Latest period",
    "funding_type": "Funding type", "total_gbp": "Total (£)", "population": "Population", "per_head_gbp": "£ per head",
    "basis": "Basis", "north_value": "The North", "gse_value": "Greater South East", "england_value": "England",
    "relative_gap": "North vs GSE", "absolute_gap": "Gap (North − GSE)", "unit": "Unit", "verdict": "Verdict",
    "value": "Value", "region_value": "Region", "sex": "Sex", "age": "Age", "status": "Verdict",
}


def header(column: str) -> str:
    """A column name as a person reads it: a known label, else the words of the name, capitalised."""
    return HEADERS.get(column, column.replace("_", " ").capitalize())


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value, unit: str | None = None, short: bool = False) -> str:
    """``value`` with its unit, rounded as the publisher would print it (e.g. 231.3 per 100,000, £25.72, 45.2%).

    ``short`` keeps only the symbol (£, %) and leaves the words of the unit to a column header or label.
    """
    if _missing(value):
        return "–"
    if short:
        full = format_value(value, unit)
        head = full.split(" ", 1)[0]
        return head
    unit = (unit or "").strip()
    u = unit.lower()
    v = float(value)
    if u in ("proportion",):
        return f"{v * 100:.1f}%"
    if u in ("percent", "%", "percentage"):
        return f"{v:.1f}%"
    if u == "rank":
        return f"{v:,.0f}"
    if u in ("persons", "people", "count"):
        return f"{v:,.0f}"
    if u.startswith("gbp million"):
        return f"£{v / 1000:,.1f}bn" if abs(v) >= 100_000 else f"£{v:,.0f}m"
    if u.startswith("gbp"):
        rest = unit[3:].strip()
        digits = 2 if abs(v) < 1000 else 0
        return f"£{v:,.{digits}f}" + (f" {rest}" if rest else "")
    if u == "years":
        return f"{v:.1f} years"
    if u.startswith("per "):
        return f"{v:,.1f} {unit}"
    if u.startswith("index") or u == "score":
        return f"{v:,.1f}"
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def format_number(value, digits: int = 1) -> str:
    """A bare number with thousands separators, or an en dash for missing."""
    return "–" if _missing(value) else f"{float(value):,.{digits}f}"


def format_percent(value, signed: bool = True, digits: int = 0) -> str:
    """A ratio (0.25) as a percentage (+25%)."""
    if _missing(value):
        return "–"
    return f"{float(value) * 100:{'+' if signed else ''},.{digits}f}%"


def format_ci(lower, upper, unit: str | None = None, short: bool = False) -> str:
    """A 95% confidence interval, or empty when the publisher gave none."""
    if _missing(lower) or _missing(upper):
        return ""
    return f"{format_value(lower, unit, short)} to {format_value(upper, unit, short)}"
