"""ONS mid-year population estimates from the original workbooks (MYE2 single year of age; MYE4 series).

The workbooks open with notes, so the table header is found by looking for the row whose first
cell is ``Code`` rather than by a fixed row number. A missing sheet, a moved or renamed column, or
a header that cannot be found is a :class:`SourceFormatError` naming the sheet and what was seen.
Values are passed on as numbers where they are numbers and as the original text where not, so the
table's contract reports the bad cells (non-numeric, negative) with their rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from python_calamine import CalamineWorkbook

from sources.inputs import InputFile, SourceFormatError, numeric_or_original

MYE2_SHEETS = {"persons": "MYE2 - Persons", "female": "MYE2 - Females", "male": "MYE2 - Males"}
MYE4_SHEET = "MYE4"
AGE_COLUMNS = [str(a) for a in range(90)] + ["90+"]
_HEADER_SEARCH_ROWS = 40


@dataclass(frozen=True)
class Release:
    """One ONS release: its label (``mid-2023``), the year it is about, and its LAD boundary vintage."""

    label: str
    year: int
    geography_vintage: str


RELEASES = {
    "ons_mye2021": Release("mid-2021", 2021, "2021"),
    "ons_mye2023": Release("mid-2023", 2023, "2023"),
}


def _sheet_rows(workbook: CalamineWorkbook, sheet: str, f: InputFile) -> list[list]:
    if sheet not in workbook.sheet_names:
        raise SourceFormatError(f"{f.label}: sheet {sheet!r} not found; the workbook has {workbook.sheet_names}")
    return workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def _table(rows: list[list], sheet: str, f: InputFile, required: list[str]) -> tuple[pd.DataFrame, int]:
    """The sheet's table below its header row (found by its first cell ``Code``), and that row's number."""
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if row and str(row[0]).strip() == "Code":
            header = [str(c).strip() for c in row]
            body = pd.DataFrame(rows[i + 1:], columns=header)
            missing = [c for c in required if c not in header]
            if missing:
                raise SourceFormatError(f"{f.label}, sheet {sheet!r}: column(s) {missing} not found in the header row {i + 1}: {header[:8]}…")
            body = body[body["Code"].astype(str).str.strip() != ""]
            body["Code"] = body["Code"].astype(str).str.strip()
            body["_row"] = range(i + 2, i + 2 + len(body))
            return body, i + 1
    raise SourceFormatError(f"{f.label}, sheet {sheet!r}: no header row starting with 'Code' in the first {_HEADER_SEARCH_ROWS} rows")


def parse_mye2(f: InputFile) -> pd.DataFrame:
    """Single-year-of-age estimates for every area in the workbook, by sex, in long form."""
    release = RELEASES[f.source_id]
    workbook = CalamineWorkbook.from_path(str(f.path))
    frames = []
    for sex, sheet in MYE2_SHEETS.items():
        body, _ = _table(_sheet_rows(workbook, sheet, f), sheet, f, ["Code", "Name", "Geography", "All ages", *AGE_COLUMNS])
        long = body.melt(id_vars=["Code", "_row"], value_vars=["All ages", *AGE_COLUMNS], var_name="age", value_name="population")
        long["age"] = long["age"].where(long["age"] != "All ages", "all")
        long["sex"] = sex
        long["source_locator"] = sheet + " row " + long["_row"].astype(str)
        frames.append(long)
    data = pd.concat(frames, ignore_index=True)
    data["population"] = numeric_or_original(data["population"])
    out = pd.DataFrame({
        "area_code": data["Code"], "year": release.year, "sex": data["sex"], "age": data["age"],
        "population": data["population"], "release": release.label, "geography_vintage": release.geography_vintage,
        "method": "published",
    })
    return f.stamp(out, data["source_locator"].values)


def parse_mye4(f: InputFile) -> pd.DataFrame:
    """All-age, all-persons totals for every year in the MYE4 sheet (``Mid-2011`` … ``Mid-2023``)."""
    release = RELEASES[f.source_id]
    workbook = CalamineWorkbook.from_path(str(f.path))
    body, header_row = _table(_sheet_rows(workbook, MYE4_SHEET, f), MYE4_SHEET, f, ["Code", "Name", "Geography"])
    year_columns = [c for c in body.columns if re.fullmatch(r"Mid-\d{4}", c)]
    if not year_columns:
        raise SourceFormatError(f"{f.label}, sheet {MYE4_SHEET!r}: no 'Mid-YYYY' columns in header row {header_row}")
    long = body.melt(id_vars=["Code", "_row"], value_vars=year_columns, var_name="column", value_name="population")
    long["year"] = long["column"].str[4:].astype(int)
    out = pd.DataFrame({
        "area_code": long["Code"], "year": long["year"], "sex": "persons", "age": "all",
        "population": numeric_or_original(long["population"]), "release": release.label,
        "geography_vintage": release.geography_vintage, "method": "published",
    })
    return f.stamp(out, (MYE4_SHEET + " row " + long["_row"].astype(str) + ", column " + long["column"]).values)


def parse_release(f: InputFile) -> pd.DataFrame:
    """Everything one release publishes: MYE2 by age and sex, plus MYE4 totals for the years MYE2 does not cover."""
    mye2 = parse_mye2(f)
    mye4 = parse_mye4(f)
    mye4 = mye4[mye4["year"] != RELEASES[f.source_id].year]
    return pd.concat([mye2, mye4], ignore_index=True)


def england_lad_total(frame: pd.DataFrame, year: int) -> int:
    """Sum of English LADs' all-age persons population in ``frame`` for ``year``."""
    lads = frame[frame["area_code"].str.match(r"^E0[6-9]") & (frame["year"] == year) & (frame["sex"] == "persons") & (frame["age"] == "all")]
    return int(pd.to_numeric(lads["population"]).sum())
