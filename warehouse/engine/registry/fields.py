"""Fields shared by many tables: declared here once and reused (``AREA_CODE.but(name=...)``)."""

from __future__ import annotations

from warehouse.engine.registry import Field

GSS_CODE_PATTERN = r"^[EKNSW]\d{8}$"
AREA_CODE_PATTERN = r"^([EKNSW]\d{8}|north|greater_south_east)$"

AREA_CODE = Field(
    "area_code", "text",
    "ONS GSS code of the area (e.g. `E06000010` Kingston upon Hull), or an analysis-group key (`north`, `greater_south_east`).",
    pattern=AREA_CODE_PATTERN,
)
AREA_NAME = Field("area_name", "text", "Name of the area as published by ONS (analysis groups: the observatory's own name).")
AREA_TYPE = Field(
    "area_type", "text", "Kind of area.",
    allowed=("country", "region", "combined_authority", "county", "lad", "group"),
)
YEAR = Field("year", "integer", "Reference year (mid-year estimates: 30 June of that year).", ge=1990, le=2100)
SEX = Field("sex", "text", "Sex the figure refers to.", allowed=("persons", "female", "male"))
AGE = Field("age", "text", "Age in completed years (`0`..`89`), `90+`, or `all` for all ages.", pattern=r"^(all|\d{1,2}|90\+)$")
VALID_FROM = Field("valid_from", "date", "First day the row holds (NULL: since before the bundled records begin).", nullable=True)
VALID_TO = Field("valid_to", "date", "Last day the row holds (NULL: still valid).", nullable=True)

# Provenance: every core row names the file it came from (join `core_provenance__files` on
# `source_sha256` for its origin URL, retrieval time and licence) and where in that file.
SOURCE_ID = Field("source_id", "text", "Catalogue id of the source the row came from (see `core_provenance__files`).")
SOURCE_SHA256 = Field(
    "source_sha256", "text", "SHA-256 of the input file the row came from; joins `core_provenance__files.sha256`.",
    pattern=r"^[0-9a-f]{64}$",
)
SOURCE_LOCATOR = Field(
    "source_locator", "text",
    "Where in the input file the row came from: sheet and row for workbooks, line for CSV, page and table for PDFs; for derived rows, how they were derived.",
)
PROVENANCE = (SOURCE_ID, SOURCE_SHA256, SOURCE_LOCATOR)
