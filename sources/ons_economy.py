"""ONS regional economy from the original workbooks: subregional productivity and regional GDP.

Two workbooks, both laid out as one table per sheet with ITL areas down the side and years across:

* *Subregional productivity* (``itlproductivity.xlsx``): GVA per hour worked (A1-A5) and per
  filled job (B1-B5), smoothed and unsmoothed, in £ and as indices, plus the hours and jobs they
  are divided by. The header row starts ``ITL level``; the years sit in the row above it (the
  header row itself holds the units, ``£`` or ``index``).
* *Regional GDP: all ITL regions* (``regionalgrossdomesticproductgdpallitlregions.xlsx``): GVA and
  GDP in £ million, total resident population, GDP per head. The header row starts ``ITL`` and
  holds the years.

Sheets are found by name and confirmed by their title (or, if renamed, by title alone); the header
row is found by its first cell, data rows by their ITL level, and footnotes (``Note 1: ...``,
``Source: ...``) are recognised by their content and dropped. A missing sheet, a moved or renamed
header, a table without year columns or a row with an unknown ITL level is a
:class:`SourceFormatError` naming the file, the sheet and what was seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from python_calamine import CalamineWorkbook

from sources.inputs import InputFile, SourceFormatError, numeric_or_original

ITL_LEVELS = ("UK", "Other", "ITL1", "ITL2", "ITL3")
_HEADER_SEARCH_ROWS = 30
_YEAR = re.compile(r"^(19|20)\d{2}$")
# Footnote rows: notes, sources and the like (first cell text, no ITL code).
_FOOTNOTE = re.compile(r"^(note\b|notes\b|source\b|\[note|\*|these|figures|data )", re.IGNORECASE)


@dataclass(frozen=True)
class Series:
    """One published table: where it is, what it measures, and in which unit."""

    measure_id: str
    sheet: str
    title_words: tuple[str, ...]  # every word must appear in the sheet's title (first cell), case-insensitive
    unit: str
    description: str


PRODUCTIVITY = (
    Series("gva_per_hour_worked_smoothed_index", "A1", ("per hour worked", "current price", "(smoothed)", "indices"), "index (UK=100)",
           "Current price (smoothed) GVA(B) per hour worked index, UK less Extra-Regio = 100"),
    Series("gva_per_hour_worked_index", "A2", ("per hour worked", "current price", "(unsmoothed)", "indices"), "index (UK=100)",
           "Current price (unsmoothed) GVA(B) per hour worked index, UK less Extra-Regio = 100"),
    Series("gva_per_hour_worked_smoothed_gbp", "A3", ("per hour worked", "current price", "(smoothed)", "(£)"), "GBP per hour",
           "Current price (smoothed) GVA(B) per hour worked, £"),
    Series("gva_per_hour_worked_gbp", "A4", ("per hour worked", "current price", "(unsmoothed)", "(£)"), "GBP per hour",
           "Current price (unsmoothed) GVA(B) per hour worked, £"),
    Series("gva_per_hour_worked_cvm_index", "A5", ("per hour worked", "chained volume", "indices"), "index (2020=100)",
           "Chained volume (unsmoothed) GVA(B) per hour worked index, 2020 = 100"),
    Series("gva_per_filled_job_smoothed_index", "B1", ("per filled job", "current price", "(smoothed)", "indices"), "index (UK=100)",
           "Current price (smoothed) GVA(B) per filled job index, UK less Extra-Regio = 100"),
    Series("gva_per_filled_job_index", "B2", ("per filled job", "current price", "(unsmoothed)", "indices"), "index (UK=100)",
           "Current price (unsmoothed) GVA(B) per filled job index, UK less Extra-Regio = 100"),
    Series("gva_per_filled_job_smoothed_gbp", "B3", ("per filled job", "current price", "(smoothed)", "(£)"), "GBP per job",
           "Current price (smoothed) GVA(B) per filled job, £"),
    Series("gva_per_filled_job_gbp", "B4", ("per filled job", "current price", "(unsmoothed)", "(£)"), "GBP per job",
           "Current price (unsmoothed) GVA(B) per filled job, £"),
    Series("gva_per_filled_job_cvm_index", "B5", ("per filled job", "chained volume", "indices"), "index (2020=100)",
           "Chained volume (unsmoothed) GVA(B) per filled job index, 2020 = 100"),
    Series("hours_worked_per_week", "Productivity Hours", ("hours worked per week",), "hours per week",
           "Total hours worked per week (constrained to ITL1), the denominator of GVA per hour worked"),
    Series("filled_jobs", "Productivity Jobs", ("productivity jobs",), "jobs",
           "Filled jobs (constrained to ITL1), the denominator of GVA per filled job"),
)

REGIONAL_GDP = (
    Series("gva_current_prices_gbp_m", "Table 1", ("gross value added", "current basic prices", "pounds million"), "GBP million",
           "Gross value added (balanced) at current basic prices, £ million"),
    Series("gdp_current_prices_gbp_m", "Table 5", ("gross domestic product", "current market prices", "pounds million"), "GBP million",
           "Gross domestic product at current market prices, £ million"),
    Series("total_resident_population", "Table 6", ("total resident population",), "persons",
           "Total resident population (ONS mid-year estimates) as used in the regional accounts"),
    Series("gdp_per_head_gbp", "Table 7", ("gross domestic product", "per head", "current market prices", "pounds"), "GBP per head",
           "Gross domestic product per head at current market prices, £"),
    Series("gdp_cvm_gbp_m", "Table 10", ("gross domestic product", "chained volume", "pounds million"), "GBP million (chained volume)",
           "Gross domestic product, chained volume measures in 2019 money value, £ million"),
    Series("gdp_per_head_cvm_gbp", "Table 11", ("gross domestic product", "chained volume", "per head"), "GBP per head (chained volume)",
           "Gross domestic product per head, chained volume measures in 2019 money value, £"),
)

SERIES = {s.measure_id: s for s in (*PRODUCTIVITY, *REGIONAL_GDP)}
SOURCE_SERIES = {"ons_productivity_itl": PRODUCTIVITY, "ons_regional_gdp_itl": REGIONAL_GDP}

VALUE_COLUMNS = ["measure_id", "itl_code", "itl_level", "itl_name", "year", "value", "value_note", "unit"]


def _title(rows: list[list]) -> str:
    for row in rows[:3]:
        if row and str(row[0]).strip():
            return str(row[0]).strip()
    return ""


def _matches(title: str, series: Series) -> bool:
    lowered = title.lower()
    return all(w.lower() in lowered for w in series.title_words)


def _find_sheet(workbook: CalamineWorkbook, series: Series, f: InputFile) -> tuple[str, list[list]]:
    """The sheet holding ``series``: by name when its title agrees, else the one sheet whose title matches."""
    if series.sheet in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(series.sheet).to_python(skip_empty_area=False)
        if _matches(_title(rows), series):
            return series.sheet, rows
        named_title = _title(rows)
    else:
        named_title = None
    candidates = []
    for name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        if _matches(_title(rows), series):
            candidates.append((name, rows))
    if len(candidates) == 1:
        return candidates[0]
    seen = f"sheet {series.sheet!r} has title {named_title!r}" if named_title is not None else f"there is no sheet {series.sheet!r}"
    raise SourceFormatError(
        f"{f.label}: cannot find the table for {series.measure_id} (a title containing {list(series.title_words)}): "
        f"{seen}, and {len(candidates)} other sheet(s) match; the workbook has {workbook.sheet_names}"
    )


def _header_row(rows: list[list], sheet: str, f: InputFile) -> int:
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        first = str(row[0]).strip() if row else ""
        if first in ("ITL level", "ITL"):
            return i
    firsts = [str(r[0]).strip()[:30] for r in rows[:_HEADER_SEARCH_ROWS] if r and str(r[0]).strip()]
    raise SourceFormatError(
        f"{f.label}, sheet {sheet!r}: no header row starting with 'ITL level' or 'ITL' in the first {_HEADER_SEARCH_ROWS} rows "
        f"(first cells seen: {firsts[:8]})"
    )


def _year(value) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return int(text) if _YEAR.match(text) else None


def parse_table(rows: list[list], sheet: str, series: Series, f: InputFile) -> pd.DataFrame:
    """One sheet's table in long form (one row per area and year), footnotes dropped."""
    h = _header_row(rows, sheet, f)
    header = [str(c).strip() for c in rows[h]]
    expected = ["ITL code", "Region name"]
    if header[1:3] != expected:
        raise SourceFormatError(f"{f.label}, sheet {sheet!r}: header row {h + 1} should continue with {expected}, found {header[1:3]}")
    above = rows[h - 1] if h > 0 else []
    years: dict[int, int] = {}
    for j in range(3, len(header)):
        year = _year(rows[h][j]) or (_year(above[j]) if j < len(above) else None)
        if year is not None:
            years[j] = year
    if not years:
        raise SourceFormatError(f"{f.label}, sheet {sheet!r}: no year columns in header row {h + 1} or the row above it")
    records = []
    for i in range(h + 1, len(rows)):
        row = rows[i]
        level = str(row[0]).strip() if row else ""
        code = str(row[1]).strip() if len(row) > 1 else ""
        if level in ITL_LEVELS and code:
            for j, year in years.items():
                raw = row[j] if j < len(row) else ""
                records.append((level, code, str(row[2]).strip(), year, raw, f"{sheet} row {i + 1}, column {year}"))
        elif not code and (not level or _FOOTNOTE.match(level) or len(level) > 40):
            continue  # blank line or footnote
        else:
            raise SourceFormatError(
                f"{f.label}, sheet {sheet!r}: row {i + 1} has ITL level {level!r} and code {code!r}; expected one of {list(ITL_LEVELS)} "
                "with a code, or a footnote"
            )
    if not records:
        raise SourceFormatError(f"{f.label}, sheet {sheet!r}: no data rows below header row {h + 1}")
    frame = pd.DataFrame(records, columns=["itl_level", "itl_code", "itl_name", "year", "raw", "locator"])
    values = numeric_or_original(frame["raw"])
    is_number = pd.to_numeric(values, errors="coerce").notna()
    blank = frame["raw"].astype(str).str.strip() == ""
    # ONS marks unreliable or unavailable cells with a letter or symbol ('u', '[x]', '..'): no value, the marker kept as a note.
    marker = ~is_number & ~blank & frame["raw"].astype(str).str.strip().str.fullmatch(r"\[?[a-z]{1,2}\]?|\.\.|-|:", case=False)
    frame["value"] = values.where(~(marker | blank), None)
    frame["value_note"] = frame["raw"].astype(str).str.strip().where(marker, None)
    frame["measure_id"] = series.measure_id
    frame["unit"] = series.unit
    return f.stamp(frame[VALUE_COLUMNS], frame["locator"].values)


def parse_workbook(f: InputFile) -> pd.DataFrame:
    """Every series the workbook of ``f.source_id`` publishes, long form."""
    try:
        series_list = SOURCE_SERIES[f.source_id]
    except KeyError:
        raise SourceFormatError(f"{f.label}: no ONS economy series are defined for source {f.source_id!r}") from None
    workbook = CalamineWorkbook.from_path(str(f.path))
    frames = []
    for series in series_list:
        sheet, rows = _find_sheet(workbook, series, f)
        frames.append(parse_table(rows, sheet, series, f))
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype(int)
    return out


def parse_itl_lookup(f: InputFile) -> pd.DataFrame:
    """The LAD → ITL3 → ITL2 → ITL1 lookup (any vintage: columns found by pattern), English LADs, one row per LAD and ITL3."""
    frame = pd.read_csv(f.path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    found = {}
    for key, pattern in {"lad_code": r"LAD\d{2}CD", "itl3_code": r"ITL3\d{2}CD", "itl2_code": r"ITL2\d{2}CD", "itl1_code": r"ITL1\d{2}CD"}.items():
        matches = [c for c in frame.columns if re.fullmatch(pattern, c, flags=re.IGNORECASE)]
        if len(matches) != 1:
            raise SourceFormatError(f"{f.label}: expected one column matching {pattern!r}, found {matches or 'none'} among {list(frame.columns)}")
        found[key] = matches[0]
    out = frame.rename(columns={v: k for k, v in found.items()})
    out["_locator"] = [f"line {i + 2}" for i in range(len(out))]
    out = out[out["lad_code"].str.match(r"^E0[6-9]\d{6}$")]
    out = out.drop_duplicates(["lad_code", "itl3_code"])
    return f.stamp(out[list(found)].reset_index(drop=True), out["_locator"].values)
