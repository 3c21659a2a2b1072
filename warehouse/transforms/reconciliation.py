"""Claims reconciliation: does a figure printed in a report stand against the data the observatory holds?

Every row of ``core_reports__claims`` gets one verdict from one vocabulary (the registry's
``mart_reconciliation__claims.status``):

* ``reproduced``: primary data we hold gives the published figure within half its last printed digit;
* ``consistent``: the figure follows arithmetically from other figures the document itself prints (e.g.
  its own funding total) and our denominators, but no primary data checks those inputs (the reason says so);
* ``revised``: the figure matches an earlier vintage we hold (named, with its publication date) and the
  current vintage differs;
* ``mismatch``: the data we hold for that measure, place and period disagree (the difference is given);
* ``unverifiable``: we hold nothing that settles it; the reason says exactly what data would.

Rules are per claim kind and measure, never per row:

* tolerance: half the last printed digit of the figure (``£42.10`` ± 0.005, ``5.4 million`` ± 0.05 million,
  ``1 year 10 months`` ± half a month); a qualifier widens it one way only (``over 5,000`` holds for any
  value from 5,000 - tolerance up);
* denominators: per-head research funding divides the total by **Census 2021** usual residents on the
  stated footprint (combined authorities as from 7 May 2024), with the mid-year estimate shown beside it;
  population counts use the mid-year estimate of the period (Census 2021 shown beside);
* period: as stated in the sentence; otherwise the document's data year (the year it calls its "latest
  available data", else the latest year its own figures refer to), said in the reason;
* place: as matched by the extractor (``place_basis``); a district or county with no figure for the
  measure is read as the smallest combined authority or region containing it when the document compares
  combined authorities ("Manchester" -> Greater Manchester), and an area's former or successor code is used
  when its own has no figure ("North Yorkshire" county in a 2015-17 vintage) - both recorded in the reason;
* sex: as stated (sentence, or a chart's legend); when an indicator is published by sex and the claim does
  not say which, every sex is checked and the verdict holds only if it holds for each.
"""

from __future__ import annotations

import functools
import re

import duckdb
import pandas as pd

from warehouse.engine.loader import table_exists
from warehouse.engine.queries import fetch_frame, sql_text

COLUMNS = ["claim_id", "document_id", "page", "line", "claim_text", "figure", "claim_kind", "measure", "area_code", "place_name",
           "sex", "period", "published_value", "unit", "warehouse_value", "earlier_value", "earlier_vintage", "tolerance",
           "difference", "status", "basis", "warehouse_source", "reason"]

_SEX_WORDS = {"male": "male", "males": "male", "men": "male", "man": "male", "boys": "male",
              "female": "female", "females": "female", "women": "female", "woman": "female", "girls": "female"}
# measure -> (indicator id, unit label)
_INDICATORS = {
    "healthy life expectancy": ("90362", "years"),
    "life expectancy": ("90366", "years"),
    "gross value added per head": ("gva_per_head_gbp", "GBP per head"),
    "productivity": ("gva_per_hour_worked_index", "index (UK=100)"),
    "population": ("total_resident_population", "persons"),
}
# what would settle a claim about a measure the observatory does not hold (or not for that place/period)
_SETTLE = {
    "research funding": "award-level research funding for that place and period (UKHRA, UKRI Gateway to Research, NIHR and Innovate UK award files, placed by postcode)",
    "research funding per head": "award-level research funding for that place and period, divided by its Census 2021 population",
    "funding": "the funder's award-level data for that place and period",
    "funding per head": "the funder's award-level data for that place and period, divided by its Census 2021 population",
    "infrastructure funding": "award-level research infrastructure funding (UKHRA 2022) for that place",
    "investment": "the investor's or company's own accounts (no public statistic is held)",
    "spending": "the spending body's published accounts or the IPA infrastructure pipeline for that place and period",
    "spending per head": "the spending body's published accounts by place, divided by population (e.g. the IPA National Infrastructure and Construction Pipeline by region)",
    "jobs": "ONS Business Register and Employment Survey (BRES) employment for that place and industry",
    "turnover": "company accounts or ONS business statistics for that place and industry",
    "mortality": "mortality for that place, cause, age band and period (e.g. Fingertips all-cause under-75 mortality, 108)",
    "life expectancy": "life expectancy for both places compared (e.g. ONS life expectancy by deprivation decile, or a 'South' footprint)",
    "healthy life expectancy": "healthy life expectancy by deprivation decile or for the footprint compared (ONS health state life expectancies)",
    "gross value added": "ONS regional GVA (balanced) in the prices the report used, for that place and period",
    "gross value added growth": "ONS regional GVA in chained volume measures for that place and the year before",
    "sickness absence": "ONS sickness absence in the labour market, by region",
    "productivity": "ONS subregional productivity for that place and period",
    "population": "ONS population estimates for that place and period",
}


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame | None:
    return fetch_frame(con, f'SELECT * FROM "{name}"') if table_exists(con, name) else None


def printed_tolerance(figure: str, scale: float = 1.0) -> float:
    """Half of the last printed digit: ``£42.10`` -> 0.005, ``61.7`` -> 0.05, ``£1.69bn`` -> 0.005e9; durations in years."""
    figure = figure or ""
    if re.search(r"\bmonths?\b", figure):
        return 0.5 / 12
    digits = re.search(r"\d[\d,]*(?:\.(\d+))?", figure)
    if not digits:
        return 0.0  # a figure in words ("half a million", "a fifth") is a bound or a round fraction: no printed digit to round
    decimals = len(digits.group(1) or "")
    if not decimals and re.search(r",000$", digits.group(0)):
        # "246,000": a round number; its last significant digit is the last non-zero one
        zeros = len(digits.group(0).replace(",", "")) - len(digits.group(0).replace(",", "").rstrip("0"))
        return 0.5 * 10 ** zeros * (scale or 1.0)
    return 0.5 * 10 ** (-decimals) * (scale or 1.0)


def within(published: float, value: float, tolerance: float, qualifier: str | None) -> bool:
    """The data value supports the printed figure, given its rounding and any qualifier ("over", "less than")."""
    q = qualifier.lower() if isinstance(qualifier, str) else ""
    eps = 1e-9 * max(1.0, abs(published))
    if q in ("over", "more than", "above", "at least", "just over"):
        return value >= published - tolerance - eps
    if q in ("less than", "fewer than", "under", "below"):
        return value <= published + tolerance + eps
    if q in ("nearly", "almost", "just under"):
        return published * 0.9 - tolerance <= value <= published + tolerance + eps
    return abs(value - published) <= tolerance + eps


def _sex(claim: pd.Series) -> str | None:
    for text in (claim.get("series"), claim.get("text")):
        if isinstance(text, str):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in _SEX_WORDS:
                    return _SEX_WORDS[word]
    return None


def fingertips_period(period: str | None) -> str | None:
    """``2015-2017`` / ``2015-17`` -> ``2015 - 17`` (Fingertips' label); a single year stays as it is."""
    period = _text(period)
    if period is None:
        return None
    m = re.fullmatch(r"\s*(\d{4})\s*[-–/]\s*(\d{2}|\d{4})\s*", period)
    if m:
        return f"{m.group(1)} - {m.group(2)[-2:]}"
    m = re.fullmatch(r"\s*(\d{4})\s*", period)
    return m.group(1) if m else None


def measure_of(claim: pd.Series) -> str | None:
    """The measure a claim is about, from its hint, unit and kind (``research funding per head``, ``population``...)."""
    hint = (_text(claim.get("measure_hint")) or "").lower()
    text = (_text(claim.get("text")) or "").lower()
    unit = str(claim.get("unit") or "")
    kind = claim.get("claim_kind") or ""
    if kind == "per_head" or unit.endswith("per head"):
        if "gross value added" in hint:
            return "gross value added per head"
        around = (_text(claim.get("context")) or "").lower()
        funding_words = re.compile(r"\bresearch\b|\bfund(?:ing|s|ed)?\b|\bstudentships?\b|\bawards?\b|\bawarded\b")
        if funding_words.search(hint) or funding_words.search(text) or (hint in ("", "spending per head") and funding_words.search(around)):
            return "research funding per head"
        return (hint or "spending") if hint.endswith("per head") else f"{hint or 'spending'} per head"
    job_words = re.compile(r"^\s*(?:[a-z-]+\s+){0,2}?(?:jobs|people|staff|employees|workers|posts)\b")
    if kind == "count" and (hint in ("research funding", "funding", "infrastructure funding", "spending", "investment", "turnover", "")
                            or (hint == "jobs" and not job_words.match(text[text.find(str(claim.get("figure") or "").lower())
                                                                                + len(str(claim.get("figure") or "")):]))):
        # "44 NHS organisations", "250 companies": a count of things, not the money the sentence also talks about
        figure = str(claim.get("figure") or "")
        at = text.find(figure.lower())
        noun = re.match(r"\s*((?:[a-z&'-]+\s*){1,3})", text[at + len(figure):] if at >= 0 else "")
        words = []
        for w in (noun.group(1).split() if noun else []):
            if w in ("of", "in", "and", "the", "a", "to", "are", "were", "is", "across", "each", "set", "who", "that"):
                break
            words.append(w)
        return f"count of {' '.join(words[:2])}" if words else "count"
    if hint in ("investment", "infrastructure funding") and unit == "GBP" and re.search(r"\bresearch\b|\bfunding\b", (_text(claim.get("context")) or "").lower()):
        return "research funding"  # "infrastructure investment on the level of London (£302,925,217)" in a research funding analysis
    if hint in ("research funding", "funding", "infrastructure funding") and unit == "GBP":
        return "research funding" if ("research" in text or "award" in text or "studentship" in text or hint != "funding") else "funding"
    return hint or None


def _read_on_first_use(table: str) -> functools.cached_property:
    """A :class:`Context` attribute holding ``table`` (None when the warehouse lacks it), read when first asked for."""
    return functools.cached_property(lambda ctx: _table(ctx.con, table))


class Context:
    """The claims and the warehouse tables they are checked against. Each table is read on first use (most
    documents' claims name no place the warehouse holds, and then the big tables are never read)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, claims: pd.DataFrame):
        self.con, self.claims = con, claims

    values = _read_on_first_use("core_indicators__values")
    vintages = _read_on_first_use("core_health__indicator_vintages")
    history = _read_on_first_use("core_indicators__value_history")
    funding = _read_on_first_use("mart_funding__per_head")
    census = _read_on_first_use("core_population__census2021")
    estimates = _read_on_first_use("core_population__estimates")

    @functools.cached_property
    def areas(self) -> pd.DataFrame | None:
        if self.con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'core_geo__areas_all'").fetchall()[0][0]:
            return fetch_frame(self.con, "SELECT area_code, area_name FROM core_geo__areas_all")
        return _table(self.con, "core_geo__areas")

    def area_name(self, code: str | None) -> str | None:
        if not code or self.areas is None:
            return None
        rows = self.areas[self.areas["area_code"] == code]
        return str(rows["area_name"].iloc[0]) if len(rows) else None


# --- the document's data year ------------------------------------------------------------------------------

_LATEST = re.compile(r"\b((?:19|20)\d{2})\b[^.;]{0,12}\((?:the\s+)?latest(?:\s+available)?\s+(?:data|figures|year)\)|"
                     r"latest(?:\s+available)?\s+(?:data|figures)\s+(?:are\s+|is\s+)?(?:for|from)\s+((?:19|20)\d{2})", re.IGNORECASE)


def document_data_year(claims: pd.DataFrame) -> tuple[int | None, str]:
    """The year a document's undated figures refer to, and why: the year it calls its latest data, else the latest
    single year its own figures are dated (ranges and projections excluded)."""
    texts = " ".join(dict.fromkeys(str(t) for t in list(claims["text"]) + list(claims["context"])))
    m = _LATEST.search(texts)
    if m:
        year = int(m.group(1) or m.group(2))
        return year, f"the document's data year {year} (it calls {year} its latest available data)"
    years = [int(p) for p in claims["period"].dropna() if re.fullmatch(r"(?:19|20)\d{2}", str(p))]
    if years:
        return max(years), f"the document's data year {max(years)} (the latest single year its figures are dated)"
    return None, "the document states no period"


# --- places ------------------------------------------------------------------------------------------------

def _codes_for(ctx: Context, code: str) -> list[tuple[str, str]]:
    """The area itself, then areas with the same name (former or successor codes), with why."""
    out = [(code, "")]
    if ctx.areas is not None:
        name = ctx.area_name(code)
        if name:
            same = ctx.areas[(ctx.areas["area_name"] == name) & (ctx.areas["area_code"] != code)]
            out += [(c, f" '{name}' {code} has no figure; used {c}, the area of the same name in another vintage.") for c in same["area_code"]]
    return out


def _enclosing(ctx: Context, code: str) -> list[str]:
    try:
        return [c for (c,) in ctx.con.execute(sql_text("reconciliation_enclosing_areas"), {"area": code}).fetchall()]
    except duckdb.Error:
        return []


def _doc_compares_cas(claims: pd.DataFrame) -> bool:
    texts = " ".join(str(t) for t in list(claims["text"]) + list(claims["context"])).lower()
    return "combined authorit" in texts


# --- verdict helpers ---------------------------------------------------------------------------------------

def _row(claim: pd.Series, measure: str | None, ctx: Context) -> dict:
    area = _text(claim.get("area_code"))
    return {"claim_id": claim["claim_id"], "document_id": claim["document_id"], "page": int(claim["page"]), "line": int(claim["line"]),
            "claim_text": str(claim["text"])[:500], "figure": claim["figure"], "claim_kind": claim.get("claim_kind") or claim.get("kind"),
            "measure": measure, "area_code": area, "place_name": ctx.area_name(area) or _text(claim.get("place")), "sex": None,
            "period": _text(claim.get("period")), "published_value": float(claim["value"]), "unit": claim["unit"],
            "warehouse_value": None, "earlier_value": None, "earlier_vintage": None,
            "tolerance": printed_tolerance(claim["figure"], float(claim.get("scale") or 1.0)), "difference": None,
            "status": "unverifiable", "basis": None, "warehouse_source": None, "reason": ""}


def _unverifiable(row: dict, why: str, measure: str | None) -> dict:
    settle = _SETTLE.get(measure or "", "the publisher's own records (this is not a public statistic the observatory holds)")
    row.update(status="unverifiable", reason=f"{why} Would settle it: {settle}.")
    return row


def _fmt(value: float, unit: str) -> str:
    if unit and unit.startswith("GBP"):
        return f"£{value:,.2f}" if abs(value) < 1000 else f"£{value:,.0f}"
    if unit == "persons" or unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


# --- indicator claims (levels, counts, shares against an index, differences) -------------------------------

def _indicator_rows(ctx: Context, indicator: str, code: str, sex: str | None, period: str | None) -> pd.DataFrame:
    v = ctx.values
    if v is None:
        return pd.DataFrame()
    rows = v[(v["indicator_id"] == indicator) & (v["area_code"] == code)]
    if "age" in rows and (rows["age"].isin(["all", "All ages"]).any()):
        rows = rows[rows["age"].isin(["all", "All ages"])] if indicator in ("total_resident_population",) else rows
    if period is not None:
        rows = rows[rows["period_label"] == period]
    if sex is not None:
        rows = rows[rows["sex"] == sex]
    return rows


def _earlier(ctx: Context, indicator: str, code: str, sex: str, period: str) -> list[tuple[float, str, str]]:
    """(value, vintage label, published date) of every earlier vintage we hold for that key."""
    out = []
    if ctx.vintages is not None:
        v = ctx.vintages
        rows = v[(v["indicator_id"] == indicator) & (v["area_code"] == code) & (v["sex"] == sex) & (v["period_label"] == period)]
        for _, r in rows.iterrows():
            if pd.notna(r["value"]):
                out.append((float(r["value"]), str(r.get("vintage_label") or r.get("source_id")), str(pd.Timestamp(r["published_at"]).date()) if pd.notna(r.get("published_at")) else "date unknown"))
    if not out and ctx.history is not None and "published_at" in ctx.history:
        h = ctx.history
        rows = h[(h["indicator_id"] == indicator) & (h["area_code"] == code) & (h["sex"] == sex) & (h["period_label"] == period)]
        for _, r in rows.iterrows():
            if pd.notna(r["value"]):
                out.append((float(r["value"]), f"{r['source_id']} version {r.get('version')}", str(pd.Timestamp(r["published_at"]).date()) if pd.notna(r.get("published_at")) else "date unknown"))
    return out


def _check_indicator(claim: pd.Series, row: dict, ctx: Context, measure: str, data_year: tuple[int | None, str]) -> dict:
    indicator, unit = _INDICATORS[measure]
    code = row["area_code"]
    fingertips = indicator.isdigit()
    stated = _text(claim.get("period"))
    period_note = ""
    if stated is None and data_year[0] is not None:
        year = data_year[0]
        stated = f"{year - 2}-{year}" if fingertips else str(year)
        period_note = f" Period not stated: {data_year[1]}" + (f", so the 3-year period {year - 2}-{str(year)[-2:]}." if fingertips else ".")
    period = fingertips_period(stated) if fingertips else (stated[:4] if stated else None)
    if period is None:
        return _unverifiable(row, f"No period is stated or implied for this {measure} figure.", measure)
    row["period"] = period
    sex = _sex(claim) if fingertips else None
    codes = _codes_for(ctx, code)
    if _doc_compares_cas(ctx.claims[ctx.claims["document_id"] == claim["document_id"]]):
        codes += [(c, f" '{row['place_name']}' has no figure; read as {ctx.area_name(c)} ({c}), the smallest combined authority or region containing it.") for c in _enclosing(ctx, code)]
    found, place_note = pd.DataFrame(), ""
    for c, note in codes:
        found = _indicator_rows(ctx, indicator, c, sex, period)
        if len(found):
            code, place_note = c, note
            break
    if found.empty:
        held = ctx.values is not None and (ctx.values["indicator_id"] == indicator).any()
        if not held:
            return _unverifiable(row, f"The observatory does not hold {measure} ({indicator}).", measure)
        return _unverifiable(row, f"We hold {measure} ({indicator}) but no {sex or 'persons'} value for {row['place_name'] or code} in {period}.{period_note}", measure)
    row.update(area_code=code, place_name=ctx.area_name(code) or row["place_name"], unit=unit)
    published, tol, q = row["published_value"], row["tolerance"], _text(claim.get("qualifier"))
    kind = row["claim_kind"]
    if kind == "share" and indicator.endswith("_index"):
        # "20 percent below the UK average" -> index 80 (UK = 100)
        after = str(claim["text"])[str(claim["text"]).find(str(claim["figure"])) + len(str(claim["figure"])):][:60]
        relation = re.match(r"\s*(below|above|lower than|higher than)\s+(?:the\s+)?(?:UK|national|British)\s+average", after, re.I)
        if not relation:
            return _unverifiable(row, f"A share of {measure} that is not a level against the UK average (the index we hold is UK=100).", measure)
        published = 100 - published if relation.group(1).lower().startswith(("below", "lower")) else 100 + published
        row["basis"] = f"'{claim['figure']} {relation.group(0).strip()}' read as the UK=100 index {published:g}"
        # "Some areas - Hull, Barnsley, Doncaster and Rotherham, and North Yorkshire - have productivity 20 percent below":
        # the share is claimed for every district the sentence lists; each is checked
        listed = [c for c in str(claim.get("area_codes") or "").split("; ") if c and not c.startswith(("E12", "E92", "K0"))]
        if len(listed) > 1:
            return _check_each(claim, row, ctx, indicator, listed, period, published, period_note)
    sexes = sorted(found["sex"].unique())
    verdicts = []
    for s in sexes:
        r = found[found["sex"] == s].iloc[0]
        current = float(r["value"])
        ok = within(published, current, tol, q)
        vintages = [(v, lab, d, c) for c, _ in _codes_for(ctx, code) for v, lab, d in _earlier(ctx, indicator, c, s, period)] if fingertips else []
        earlier = [] if ok else [e for e in vintages if within(published, e[0], tol, q)]
        verdicts.append((s, current, ok, earlier, r))
    s, current, ok, earlier, r = verdicts[0]
    row.update(sex=sexes[0] if len(sexes) == 1 else None, warehouse_value=current, difference=current - published,
               warehouse_source=f"core_indicators__values[{indicator}, {code}, {', '.join(sexes)}, {period}] ({r['method']}, {r['source_id']})")
    method_note = "" if r["method"] == "published" else f" Our figure is the observatory's {str(r['method']).replace('_', ' ')}."
    shown = f" (index {published:g})" if row["basis"] else ""
    base = (f"{measure.capitalize()} {period}{' ' + sexes[0] if len(sexes) == 1 and sexes[0] != 'persons' else ''} for {row['place_name']}: "
            f"published {claim['figure']}{shown}, ours {_fmt(current, unit)}; tolerance ±{tol:g} (half the last printed digit)"
            f"{', qualifier ' + repr(q) if q else ''}.{period_note}{place_note}{method_note}")
    if len(sexes) > 1:
        per_sex = "; ".join(f"{x[0]} {_fmt(x[1], unit)}" for x in verdicts)
        base += f" Sex not stated: checked each sex ({per_sex})."
    if all(v[2] for v in verdicts):
        row.update(status="reproduced", reason=base)
    elif all(v[3] for v in verdicts) and not any(v[2] for v in verdicts):
        value, label, date, vcode = verdicts[0][3][0]
        short = label.split(":")[0]
        where = "" if vcode == code else f" (for {vcode}, the area of the same name on that vintage's boundaries)"
        row.update(status="revised", earlier_value=value, earlier_vintage=short if date in short else f"{short} (published {date})",
                   reason=f"{base} Matches an earlier vintage: {short}{where} gave {_fmt(value, unit)}; the current vintage differs by {current - value:+.2f}.")
    else:
        held = "; ".join(f"{lab} ({d}): {_fmt(v, unit)}" for c, _ in _codes_for(ctx, code)
                         for v, lab, d in _earlier(ctx, indicator, c, verdicts[0][0], period)) if fingertips else ""
        row.update(status="mismatch", reason=f"{base} Difference {current - published:+,.2f}." + (f" Earlier vintages held: {held}." if held else ""))
    return row


# --- population counts ------------------------------------------------------------------------------------

def _check_population(claim: pd.Series, row: dict, ctx: Context, data_year: tuple[int | None, str]) -> dict:
    code = row["area_code"]
    stated = _text(claim.get("period"))
    year, note = (int(stated[:4]), "") if stated and re.match(r"\d{4}", stated) else (data_year[0], f" Period not stated: {data_year[1]}.")
    if year is None or ctx.estimates is None:
        return _unverifiable(row, "No period is stated or implied for this population figure.", "population")
    e = ctx.estimates
    rows = e[(e["area_code"] == code) & (e["year"] == year) & (e["sex"] == "persons") & (e["age"] == "all")]
    if rows.empty:
        return _unverifiable(row, f"No mid-year estimate for {row['place_name'] or code} in {year}.{note}", "population")
    current = float(rows["population"].iloc[0])
    census = ""
    if ctx.census is not None:
        c = ctx.census[(ctx.census["area_code"] == code) & (ctx.census["sex"] == "persons")]
        if len(c):
            census = f" Census 2021 (beside it): {int(c.sort_values('footprint_date')['population'].iloc[-1]):,}."
    q, tol = _text(claim.get("qualifier")), row["tolerance"]
    row.update(period=str(year), unit="persons", warehouse_value=current, difference=current - row["published_value"],
               basis="ONS mid-year estimate of the period", warehouse_source=f"core_population__estimates[{code}, {year}, persons, all]")
    reason = (f"Population of {row['place_name']} mid-{year}: published {claim['figure']}, ONS mid-year estimate {current:,.0f}; "
              f"tolerance ±{tol:,.0f} (half the last printed digit){', qualifier ' + repr(q) if q else ''}.{note}{census}")
    row.update(status="reproduced" if within(row["published_value"], current, tol, q) else "mismatch",
               reason=reason if within(row["published_value"], current, tol, q) else f"{reason} Difference {current - row['published_value']:+,.0f}.")
    return row


# --- research funding -------------------------------------------------------------------------------------

def _funding_rows(ctx: Context, claim: pd.Series, code: str) -> tuple[pd.DataFrame, str, str]:
    f = ctx.funding
    rows = f[f["area_code"] == code]
    note = ""
    if rows.empty:
        for c in _enclosing(ctx, code):
            rows = f[f["area_code"] == c]
            if len(rows):
                note = (f" '{claim.get('place')}' ({code}) read as {ctx.area_name(c)} ({c}), the smallest combined authority or region "
                        "containing it: the document compares combined authorities.")
                code = c
                break
    wanted = []
    for words in (str(claim.get("text") or "").lower(), str(claim.get("context") or "").lower()):  # the sentence, else around it
        wanted = [t for t in ("infrastructure", "studentship") if t in words]
        if wanted:
            break
    wanted += ["direct_award", "all"]
    for w in wanted:
        if (rows["funding_type"] == w).any():
            return rows[rows["funding_type"] == w], code, note
    return rows, code, note


def _census_population(ctx: Context, code: str, on: pd.Timestamp) -> tuple[int, int] | None:
    """Census 2021 usual residents on the footprint in force on ``on``, and half the rounding of the printed counts
    (ONS prints P01 to the nearest 100: ±50 for a published count, ±50 per member for a sum of members)."""
    if ctx.census is None:
        return None
    c = ctx.census[(ctx.census["area_code"] == code) & (ctx.census["sex"] == "persons") & (pd.to_datetime(ctx.census["footprint_date"]) <= on)]
    if c.empty:
        return None
    row = c.sort_values("footprint_date").iloc[-1]
    members = row.get("member_count") if "member_count" in row and pd.notna(row.get("member_count")) else 1
    return int(row["population"]), 50 * int(members)


def _check_funding_per_head(claim: pd.Series, row: dict, ctx: Context, data_year: tuple[int | None, str]) -> dict:
    measure = "research funding per head"
    row["basis"] = "Census 2021 usual residents on the stated footprint (combined authorities as from 7 May 2024)"
    if ctx.funding is None or ctx.funding.empty:
        return _unverifiable(row, "No research funding totals are held (mart_funding__per_head is empty).", measure)
    rows, code, note = _funding_rows(ctx, claim, row["area_code"])
    if rows.empty:
        return _unverifiable(row, f"We hold no research funding total for {row['place_name'] or row['area_code']} (or an area containing it).", measure)
    stated = _text(claim.get("period"))
    wanted_year = int(stated[:4]) if stated and re.match(r"\d{4}", stated) else data_year[0]
    if wanted_year is not None and not (rows["year"] == wanted_year).any():
        held = ", ".join(str(int(y)) for y in sorted(rows["year"].unique()))
        return _unverifiable(row, f"We hold research funding totals for {ctx.area_name(code)} only for {held}; the claim refers to "
                                  f"{wanted_year} ({'stated' if stated else data_year[1]}).", measure)
    if wanted_year is not None:
        rows = rows[rows["year"] == wanted_year]
    best = rows.sort_values("year").iloc[-1]
    footprint = pd.Timestamp(best["membership_date"]) if pd.notna(best.get("membership_date")) else pd.Timestamp("2024-05-07")
    counted = _census_population(ctx, code, footprint)
    if counted is None:
        return _unverifiable(row, f"No Census 2021 count for {ctx.area_name(code)} on the {footprint.date()} footprint.", measure)
    census, census_tol = counted
    total = float(best["total_gbp"])
    per_head = total / census
    mye = float(best["per_head_gbp"]) if pd.notna(best.get("per_head_gbp")) else None
    published, tol, q = row["published_value"], row["tolerance"], _text(claim.get("qualifier"))
    # the total as printed carries its own rounding: "£405 million" is ± £0.5 million
    total_claims = ctx.claims[(ctx.claims["document_id"] == claim["document_id"]) & (ctx.claims["unit"] == "GBP")
                              & ((ctx.claims["value"] - total).abs() < 1.0)]
    total_tol = 0.0
    same_doc = ""
    if len(total_claims):
        t = total_claims.iloc[0]
        total_tol = printed_tolerance(t["figure"], float(t.get("scale") or 1.0))
        same_doc = f" the document's own total {t['figure']} (line {int(t['line'])})"
    else:
        same_doc = f" the published total £{total:,.0f} ({best['basis']})"
    low, high = (total - total_tol) / (census + census_tol), (total + total_tol) / (census - census_tol)
    agrees = (low - tol - 1e-9 <= published <= high + tol + 1e-9) if not q else within(published, per_head, tol + (high - per_head), q)
    row.update(area_code=code, place_name=ctx.area_name(code), period=str(int(best["year"])), unit="GBP per head", warehouse_value=per_head,
               difference=per_head - published,
               warehouse_source=f"{same_doc.strip()} ÷ core_population__census2021[{code}, persons, footprint {footprint.date()}] = {census:,}")
    mye_note = f" Beside it, the mid-{int(best['population_year'])} estimate ({int(best['population']):,}) gives £{mye:,.2f}." if mye is not None and pd.notna(best.get("population")) else ""
    why = (f"{_fmt(total, 'GBP')} ({str(best['funding_type']).replace('_', ' ')}, {int(best['year'])}) ÷ Census 2021 {census:,} on the "
           f"{footprint.date()} footprint = £{per_head:,.4f}; published {claim['figure']}, tolerance ±{tol:g} (half the last printed digit)"
           f"{' and the total ±' + format(total_tol, ',.0f') if total_tol else ''}, Census count ±{census_tol:,} (printed to the nearest 100).{mye_note}{note}")
    if str(best["basis"]) == "published_total":
        if agrees:
            row.update(status="consistent", reason=f"Follows from{same_doc}: {why} No primary data checks the total: award-level data (UKHRA 2022) would.")
        else:
            row.update(status="mismatch", reason=f"Does not follow from{same_doc} on the Census 2021 denominator: {why} Difference {per_head - published:+.2f}.")
    else:
        row.update(status="reproduced" if agrees else "mismatch", reason=f"Award-level total: {why}")
    return row


def _check_funding_total(claim: pd.Series, row: dict, ctx: Context) -> dict:
    held = ""
    if ctx.funding is not None and row["area_code"]:
        rows, code, note = _funding_rows(ctx, claim, row["area_code"])
        rows = rows[(rows["total_gbp"] - row["published_value"]).abs() < 1.0]
        if len(rows):
            row.update(area_code=code, place_name=ctx.area_name(code))
            held = (f" The observatory's only copy of this total is the report's own figure ({rows['basis'].iloc[0]}: "
                    f"core_funding__published_totals), so comparing it would be circular.")
    return _unverifiable(row, f"A research funding total.{held}", "research funding")


# --- ratios from the document's own figures ----------------------------------------------------------------

def _check_ratio(claim: pd.Series, row: dict, ctx: Context) -> dict:
    """A ratio whose two terms the same sentence prints (\"£68.58 compared to £25.72\"): consistent if they give it."""
    same = ctx.claims[(ctx.claims["document_id"] == claim["document_id"]) & (ctx.claims["text"] == claim["text"])
                      & (ctx.claims["claim_kind"].isin(["per_head", "amount", "level", "count"]))]
    terms = [float(v) for v in same["value"]]
    if len(terms) == 2 and min(terms) > 0:
        ratio = terms[0] / terms[1] if (terms[0] / terms[1] >= 1) == (row["published_value"] >= 1) else terms[1] / terms[0]
        q, tol = _text(claim.get("qualifier")), row["tolerance"] or 0.05
        published = row["published_value"]
        ok = within(published, ratio, tol, q)
        figures = " and ".join(same["figure"])
        row.update(warehouse_value=ratio, difference=ratio - published, basis="the two figures the sentence prints",
                   warehouse_source=f"{figures} (same sentence)")
        if ok:
            row.update(status="consistent", reason=f"Follows from the document's own {figures}: ratio {ratio:.3f}"
                       f"{', qualifier ' + repr(q) if q else ''}. No primary data checks those figures.")
        else:
            row.update(status="mismatch", reason=f"The document's own {figures} give {ratio:.3f}, not {claim['figure']}.")
        return row
    return _unverifiable(row, "A ratio between places whose terms the document does not print together.", measure_of(claim))


# --- the whole mart ---------------------------------------------------------------------------------------

def _reconcile_one(claim: pd.Series, ctx: Context, data_years: dict) -> dict:
    measure = measure_of(claim)
    row = _row(claim, measure, ctx)
    kind = row["claim_kind"]
    area = row["area_code"]
    data_year = data_years[claim["document_id"]]
    if kind == "ratio":
        return _check_ratio(claim, row, ctx)
    if kind == "ranking":
        return _unverifiable(row, f"A ranking ({claim['figure']}) of {row['place_name'] or 'a place'} among its peers on {measure or 'a measure'}: "
                                  "every peer's figure is needed and the observatory does not rank this measure.", measure)
    if area is None:
        return _unverifiable(row, "The sentence names no place the observatory knows.", measure)
    if area == "golden_triangle":
        row.update(area_code=None, place_name="London, Oxford and Cambridge (the 'golden triangle')")
        return _unverifiable(row, "About the 'golden triangle' (London, Oxford and Cambridge), which is not the Greater South East and is "
                                  "not an area the observatory holds.", measure)
    if measure == "research funding per head" and kind == "per_head":
        return _check_funding_per_head(claim, row, ctx, data_year)
    if measure in ("research funding", "infrastructure funding", "funding") and kind in ("amount",):
        return _check_funding_total(claim, row, ctx)
    if kind == "amount" and ctx.funding is not None and len(ctx.funding):
        rows, _, _ = _funding_rows(ctx, claim, area)
        if len(rows) and ((ctx.funding["total_gbp"] - row["published_value"]).abs() < 1.0).any():
            row["measure"] = "research funding"  # the figure is a research funding total we hold for that place
            return _check_funding_total(claim, row, ctx)
    if measure == "population" and kind == "count" and re.search(r"\b(?:residents|population|people|inhabitants)\b", str(claim["text"]), re.I):
        return _check_population(claim, row, ctx, data_year)
    if measure in _INDICATORS and kind in ("level", "count", "per_head", "share", "amount") and not (measure == "population"):
        if kind in ("count", "amount") and measure not in ("gross value added per head",):
            return _unverifiable(row, f"A {kind} about {measure} that is not a level of the indicator we hold.", measure)
        return _check_indicator(claim, row, ctx, measure, data_year)
    if measure == "gross value added growth" and kind == "change":
        return _check_growth(claim, row, ctx)
    if kind == "difference" and measure in ("life expectancy", "healthy life expectancy"):
        return _check_difference(claim, row, ctx, measure, data_year)
    return _unverifiable(row, f"The observatory holds no {measure or 'matching measure'} for {row['place_name'] or area}.", measure)


def _check_each(claim: pd.Series, row: dict, ctx: Context, indicator: str, codes: list[str], period: str, published: float,
                period_note: str) -> dict:
    """One share claimed for several listed areas: reproduced only if it holds for each (the reason lists every value)."""
    tol, q = row["tolerance"], _text(claim.get("qualifier"))
    values = []
    for code in codes:
        rows = pd.DataFrame()
        for c, _ in _codes_for(ctx, code):
            rows = _indicator_rows(ctx, indicator, c, None, period)
            if len(rows):
                break
        values.append((code, float(rows["value"].iloc[0]) if len(rows) else None))
    # a district without a figure of its own: its ITL3 area's figure, when the sentence lists every district of that area
    notes, merged, names = [], set(), {}
    for _i, (code, value) in enumerate(values):
        if value is not None or code in merged:
            continue
        try:
            found = ctx.con.execute(sql_text("reconciliation_itl3_value"), {"lad": code, "measure": indicator, "year": int(period[:4])}).fetchall()
        except (duckdb.Error, ValueError):
            found = []
        if found and set(found[0][3]) <= set(codes):
            itl_code, itl_name, itl_value, members = found[0]
            merged.update(members)
            names[itl_code] = itl_name
            values = [(c, v) if c not in members else (c, None) for c, v in values]
            values = [cv for cv in values if cv[0] not in members] + [(itl_code, float(itl_value))]
            notes.append(f"{itl_name} ({itl_code}) is one ITL3 area and the sentence lists all {len(members)} of its districts, so its figure is used")
    held = [(c, v) for c, v in values if v is not None]
    if not held:
        return _unverifiable(row, f"No {indicator} values for the listed areas in {period}.{period_note}", "productivity")
    label = lambda c: names.get(c) or ctx.area_name(c) or c  # noqa: E731
    detail = "; ".join(f"{label(c)} {v:.1f}" if v is not None else f"{label(c)} not held" for c, v in values)
    detail += "".join(f" ({n})" for n in notes)
    ok = [within(published, v, tol, q) for _, v in held]
    worst = max(held, key=lambda cv: abs(cv[1] - published))
    row.update(warehouse_value=worst[1], difference=worst[1] - published, period=period, unit="index (UK=100)",
               warehouse_source=f"core_indicators__values[{indicator}, {', '.join(codes)}, {period}]")
    reason = (f"Claimed for each listed area ({row['basis']}), {period}: {detail}; tolerance ±{tol:g} (half the last printed digit)."
              f"{period_note} {sum(ok)} of {len(held)} within tolerance; furthest {label(worst[0])} ({worst[1] - published:+.1f}).")
    row.update(status="reproduced" if all(ok) and len(held) == len(values) else "mismatch", reason=reason)
    return row


def _check_growth(claim: pd.Series, row: dict, ctx: Context) -> dict:
    """GVA growth: ONS growth rates are real (chained volume); we hold GVA at current prices only, so we show the nominal rate."""
    period = _text(claim.get("period"))
    nominal = ""
    if period and re.fullmatch(r"\d{4}", period) and ctx.values is not None:
        v = ctx.values[(ctx.values["indicator_id"] == "gva_current_prices_gbp_m") & (ctx.values["area_code"] == row["area_code"])]
        now, before = v[v["period_label"] == period], v[v["period_label"] == str(int(period) - 1)]
        if len(now) and len(before):
            rate = 100 * (float(now["value"].iloc[0]) / float(before["value"].iloc[0]) - 1)
            nominal = f" We hold GVA at current prices: nominal growth {int(period) - 1}-{period[-2:]} for {row['place_name']} was {rate:.1f}%, not comparable with a real rate."
    return _unverifiable(row, f"A growth rate of regional GVA in real terms (ONS headline growth is in chained volume measures).{nominal}", "gross value added growth")


def _check_difference(claim: pd.Series, row: dict, ctx: Context, measure: str, data_year: tuple[int | None, str]) -> dict:
    """'1 year 10 months lower than the average in England': the place's value against the comparator's, each sex."""
    text = str(claim["text"])
    places = [p for p in str(claim.get("area_codes") or "").split("; ") if p]
    others = [p for p in places if p != row["area_code"]]
    if not others or re.search(r"deprived", text, re.I) or not re.search(r"\bthan\b|compared (?:to|with)", text, re.I):
        return _unverifiable(row, f"A difference in {measure} between groups we do not hold (e.g. deprivation deciles or 'the south').", measure)
    indicator, unit = _INDICATORS[measure]
    stated = _text(claim.get("period"))
    note = ""
    if stated is None and data_year[0] is not None:
        stated, note = f"{data_year[0] - 2}-{data_year[0]}", f" Period not stated: {data_year[1]}, so {data_year[0] - 2}-{str(data_year[0])[-2:]}."
    period = fingertips_period(stated)
    if period is None:
        return _unverifiable(row, "No period is stated or implied.", measure)
    a = _indicator_rows(ctx, indicator, row["area_code"], None, period)
    b = _indicator_rows(ctx, indicator, others[0], None, period)
    if a.empty or b.empty:
        return _unverifiable(row, f"We hold {measure} but not for both {row['area_code']} and {others[0]} in {period}.{note}", measure)
    diffs = []
    for s in sorted(set(a["sex"]) & set(b["sex"])):
        diffs.append((s, float(b[b["sex"] == s]["value"].iloc[0]) - float(a[a["sex"] == s]["value"].iloc[0])))
    published, tol, q = row["published_value"], row["tolerance"], _text(claim.get("qualifier"))
    oks = [within(published, d, tol, q) for _, d in diffs]
    row.update(period=period, unit="years", warehouse_value=diffs[0][1], difference=diffs[0][1] - published,
               basis=f"{others[0]} minus {row['area_code']}, each sex",
               warehouse_source=f"core_indicators__values[{indicator}, {row['area_code']} and {others[0]}, {period}]")
    detail = "; ".join(f"{s} {d:.2f} years" for s, d in diffs)
    reason = f"Gap in {measure} {period} between {row['place_name']} and {ctx.area_name(others[0])}: {detail}; published {claim['figure']} ({published:.2f} years), tolerance ±{tol:.3f}.{note}"
    row.update(status="reproduced" if all(oks) else "mismatch", reason=reason)
    return row


def reconcile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The reconciliation mart for every claim in the warehouse."""
    claims = _table(con, "core_reports__claims")
    if claims is None or claims.empty:
        return pd.DataFrame(columns=COLUMNS)
    for col in ("claim_kind", "qualifier", "place_basis"):
        if col not in claims:
            claims[col] = None
    claims = claims[claims["kind"] != "year"].reset_index(drop=True)  # rows from an older extractor: years are never claims
    claims["claim_kind"] = claims["claim_kind"].fillna(claims["kind"].map({"money": "amount", "per_head": "per_head", "percent": "share",
                                                                               "count": "count", "ratio": "ratio", "figure_value": "level"}))
    ctx = Context(con, claims)
    data_years = {doc: document_data_year(group) for doc, group in claims.groupby("document_id")}
    out = [_reconcile_one(claim, ctx, data_years) for _, claim in claims.iterrows()]
    return pd.DataFrame(out, columns=COLUMNS)
