"""English Indices of Deprivation: local authority district summaries (IoD2019 and IoD2025).

* IoD2019 *File 10* workbook (MHCLG): one sheet per index/domain (``IMD``, ``Income`` …), each a
  table of the 317 LADs (2019 boundaries) with average rank, average score, proportion of LSOAs in
  the most deprived 10% nationally, and their ranks. Headers carry the domain name and trailing
  spaces (``IMD - Average score ``); columns are matched by what they say after the domain prefix,
  so a renamed or missing column fails with the headers that were seen.
* Tidy CSVs (Trafford Data Lab re-shapes of the same MHCLG files): IoD2019 (``lad19cd`` …) and
  IoD2025 (``area_code`` …, 2024 LAD boundaries), one row per LAD and domain.

All return the same long frame: edition, LAD, domain and the six summary measures.
"""

from __future__ import annotations

import re

import pandas as pd
from python_calamine import CalamineWorkbook

from sources.inputs import InputFile, SourceFormatError, numeric_or_original, require_columns

# Domain keys, with the File 10 sheet that holds each and the names the tidy files use for it.
DOMAINS = {
    "imd": ("IMD", ("Index of Multiple Deprivation",)),
    "income": ("Income", ("Income", "Income Deprivation")),
    "employment": ("Employment", ("Employment", "Employment Deprivation")),
    "education": ("Education", ("Education, Skills and Training", "Education, Skills and Training Deprivation")),
    "health": ("Health", ("Health and Disability", "Health Deprivation and Disability")),
    "crime": ("Crime", ("Crime",)),
    "barriers": ("Barriers", ("Barriers to Housing and Services",)),
    "living_environment": ("Living", ("Living Environment", "Living Environment Deprivation")),
    "idaci": ("IDACI", ("Income Deprivation Affecting Children", "Income Deprivation Affecting Children Index")),
    "idaopi": ("IDAOPI", ("Income Deprivation Affecting Older People", "Income Deprivation Affecting Older People Index")),
}
_DOMAIN_OF_NAME = {name: key for key, (_, names) in DOMAINS.items() for name in names}
MEASURES = ["average_rank", "rank_of_average_rank", "average_score", "rank_of_average_score",
            "proportion_most_deprived_10pct", "rank_of_proportion_most_deprived_10pct"]
# File 10 header (after the "<domain> - " prefix, lower case, spaces squeezed) → measure.
_FILE10_SUFFIXES = {
    "average rank": "average_rank",
    "rank of average rank": "rank_of_average_rank",
    "average score": "average_score",
    "rank of average score": "rank_of_average_score",
    "proportion of lsoas in most deprived 10% nationally": "proportion_most_deprived_10pct",
    "rank of proportion of lsoas in most deprived 10% nationally": "rank_of_proportion_most_deprived_10pct",
}
_SCALE_SUFFIXES = {"income scale": "scale", "employment scale": "scale"}
_HEADER_SEARCH_ROWS = 20
COLUMNS = ["edition", "lad_code", "lad_name", "geography_vintage", "domain", *MEASURES, "scale"]
_LAD = re.compile(r"^E0[6-9]\d{6}$")


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def _file10_sheet(workbook: CalamineWorkbook, domain: str, sheet: str, f: InputFile) -> pd.DataFrame:
    if sheet not in workbook.sheet_names:
        raise SourceFormatError(f"{f.label}: sheet {sheet!r} ({domain}) not found; the workbook has {workbook.sheet_names}")
    rows = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    for h, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):  # noqa: B007 - h is the header row after the loop
        if row and _squeeze(row[0]).startswith("local authority district code"):
            break
    else:
        raise SourceFormatError(f"{f.label}, sheet {sheet!r}: no header row starting 'Local Authority District code' in the first {_HEADER_SEARCH_ROWS} rows")
    header = [str(c) for c in rows[h]]
    vintage = re.search(r"\((\d{4})\)", header[0])
    columns: dict[str, int] = {}
    for j, text in enumerate(header[2:], start=2):
        suffix = _squeeze(text).split(" - ", 1)[-1]
        if suffix in _FILE10_SUFFIXES:
            columns[_FILE10_SUFFIXES[suffix]] = j
        elif suffix in _SCALE_SUFFIXES:
            columns["scale"] = j
    missing = [m for m in MEASURES if m not in columns]
    if missing:
        raise SourceFormatError(f"{f.label}, sheet {sheet!r}: column(s) for {missing} not found in header row {h + 1}: {header}")
    records = []
    for i in range(h + 1, len(rows)):
        row = rows[i]
        code = str(row[0]).strip() if row else ""
        if not code:
            continue
        if not _LAD.match(code):
            if len(code) > 12:  # a footnote below the table
                continue
            raise SourceFormatError(f"{f.label}, sheet {sheet!r}: row {i + 1} has {code!r} where a LAD code (E06/E07/E08/E09) was expected")
        record = {"lad_code": code, "lad_name": str(row[1]).strip(), "_locator": f"{sheet} row {i + 1}"}
        for measure, j in columns.items():
            record[measure] = row[j] if j < len(row) else None
        records.append(record)
    frame = pd.DataFrame(records)
    frame["domain"] = domain
    frame["geography_vintage"] = vintage.group(1) if vintage else None
    return frame


def parse_file10(f: InputFile) -> pd.DataFrame:
    """IoD2019 File 10: every domain sheet, long form."""
    workbook = CalamineWorkbook.from_path(str(f.path))
    frames = [_file10_sheet(workbook, domain, sheet, f) for domain, (sheet, _) in DOMAINS.items()]
    data = pd.concat(frames, ignore_index=True)
    if data["geography_vintage"].isna().any():
        raise SourceFormatError(f"{f.label}: the LAD code header does not name its boundary year, e.g. 'Local Authority District code (2019)'")
    return _finish(data, "2019", f)


_TIDY_SHAPES = {
    # columns that identify the shape → (code, name, edition column or fixed, vintage)
    "lad19cd": ("lad19cd", "lad19nm", "year", "2019"),
    "area_code": ("area_code", "area_name", "deprivation_data_year", None),
}
_TIDY_MEASURES = {
    "average_rank": "average_rank", "rank_average_rank": "rank_of_average_rank", "average_score": "average_score",
    "rank_average_score": "rank_of_average_score", "proportion_bottom_decile": "proportion_most_deprived_10pct",
    "rank_proportion_bottom_decile": "rank_of_proportion_most_deprived_10pct",
}


def parse_tidy(f: InputFile) -> pd.DataFrame:
    """A tidy LAD summary CSV (IoD2019 ``lad19cd`` shape or IoD2025 ``area_code`` shape)."""
    frame = pd.read_csv(f.path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    shape = next((key for key in _TIDY_SHAPES if key in frame.columns), None)
    if shape is None:
        raise SourceFormatError(f"{f.label}: not a known IoD LAD summary shape (no 'lad19cd' or 'area_code' column); columns {list(frame.columns)}")
    code, name, edition_col, vintage = _TIDY_SHAPES[shape]
    require_columns(frame, [code, name, edition_col, "index_domain", *_TIDY_MEASURES], f.label)
    editions = frame[edition_col].unique()
    if len(editions) != 1 or not re.fullmatch(r"20\d{2}", str(editions[0])):
        raise SourceFormatError(f"{f.label}: column {edition_col!r} should hold one edition year, found {list(editions)[:5]}")
    if vintage is None:
        require_columns(frame, ["area_type"], f.label)
        found = frame["area_type"].str.extract(r"\((\d{4})\)")[0].unique()
        if len(found) != 1 or pd.isna(found[0]):
            raise SourceFormatError(f"{f.label}: 'area_type' should name one LAD boundary year, e.g. 'Local Authority District (2024)'; found {list(frame['area_type'].unique())[:3]}")
        vintage = found[0]
    unknown = sorted(set(frame["index_domain"]) - set(_DOMAIN_OF_NAME))
    if unknown:
        raise SourceFormatError(f"{f.label}: unknown domain(s) {unknown}; expected one of {sorted(_DOMAIN_OF_NAME)}")
    data = frame.rename(columns={code: "lad_code", name: "lad_name", **_TIDY_MEASURES})
    data["domain"] = data["index_domain"].map(_DOMAIN_OF_NAME)
    data["geography_vintage"] = vintage
    data["scale"] = None
    data["_locator"] = [f"line {i + 2}" for i in range(len(data))]
    return _finish(data, str(editions[0]), f)


def _finish(data: pd.DataFrame, edition: str, f: InputFile) -> pd.DataFrame:
    data = data.copy()
    if "scale" not in data.columns:
        data["scale"] = None
    data["edition"] = edition
    for measure in [*MEASURES, "scale"]:
        data[measure] = numeric_or_original(data[measure].astype(object))
    return f.stamp(data[COLUMNS], data["_locator"].values)


def implied_population(summaries: pd.DataFrame) -> pd.Series:
    """MHCLG's own population denominator per LAD, implied by the Income domain: scale ÷ average score.

    The Income domain's LAD average score is the share of the population that is income deprived
    and its *scale* is the number of people, so scale ÷ score recovers the population MHCLG used
    (to the rounding of the 3-decimal score). Indexed by LAD code; NaN where the file has no scale.
    """
    income = summaries[summaries["domain"] == "income"].set_index("lad_code")
    return pd.to_numeric(income["scale"], errors="coerce") / pd.to_numeric(income["average_score"], errors="coerce")
