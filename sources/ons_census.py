"""ONS Census 2021 first results (England and Wales), sheet P01: usual residents by sex, from the original workbook.

Belongs here: reading the published workbook into a tidy frame (one row per area and sex), nothing else;
aggregation to combined authorities and groups is in `warehouse.transforms.population`.

The sheet opens with a title block, so the table header is found by its first cell (``Area code``,
followed by a ``[note N]`` marker that ONS may renumber) rather than by a fixed row. Counts are
printed rounded to the nearest 100 and are passed on unchanged (numbers as numbers, anything else as
the original text so the contract names the cell). A missing sheet or column is a
:class:`SourceFormatError` naming what was seen.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
from python_calamine import CalamineWorkbook

from sources.inputs import InputFile, SourceFormatError, numeric_or_original

SHEET = "P01"
CENSUS_DAY = dt.date(2021, 3, 21)
SEX_COLUMNS = {"All persons": "persons", "Females": "female", "Males": "male"}
_HEADER_SEARCH_ROWS = 30
_CODE = re.compile(r"^Area code\b", re.IGNORECASE)


def parse_p01(f: InputFile) -> pd.DataFrame:
    """Usual residents on census day by area and sex (persons, female, male), as printed (rounded to 100)."""
    workbook = CalamineWorkbook.from_path(str(f.path))
    if SHEET not in workbook.sheet_names:
        raise SourceFormatError(f"{f.label}: sheet {SHEET!r} not found; the workbook has {workbook.sheet_names}")
    rows = workbook.get_sheet_by_name(SHEET).to_python(skip_empty_area=False)
    for i, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):  # noqa: B007 - i is the header row after the loop
        if row and _CODE.match(str(row[0]).strip()):
            header = [re.sub(r"\s*\[note \d+\]", "", str(c)).strip() for c in row]
            break
    else:
        raise SourceFormatError(f"{f.label}, sheet {SHEET!r}: no header row starting with 'Area code' in the first {_HEADER_SEARCH_ROWS} rows")
    missing = [c for c in ["Area code", "Area name", *SEX_COLUMNS] if c not in header]
    if missing:
        raise SourceFormatError(f"{f.label}, sheet {SHEET!r}: column(s) {missing} not found in the header row {i + 1}: {header}")
    body = pd.DataFrame(rows[i + 1:], columns=header)
    body["_row"] = range(i + 2, i + 2 + len(body))
    body["Area code"] = body["Area code"].astype(str).str.strip()
    body = body[body["Area code"] != ""]
    long = body.melt(id_vars=["Area code", "Area name", "_row"], value_vars=list(SEX_COLUMNS), var_name="column", value_name="population")
    out = pd.DataFrame({
        "area_code": long["Area code"].values,
        "area_name": long["Area name"].astype(str).str.strip().values,
        "sex": long["column"].map(SEX_COLUMNS).values,
        "age": "all",
        "population": numeric_or_original(long["population"]).values,
        "census_date": CENSUS_DAY,
        "method": "published",
    })
    return f.stamp(out, (f"{SHEET} row " + long["_row"].astype(str) + ", column " + long["column"]).values)
