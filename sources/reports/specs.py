"""Declarative extraction specs: a TOML file per known report table turns it into a typed warehouse table.

A spec lives in `sources/report_specs/<name>.toml` (the shipped example: ``nhs_spend_over_25k.toml``;
the test corpus's specs are fixtures in tests/fixtures/reports/specs)::

    name = "salmonellosis_origin"
    target = "core_reports__salmonellosis_origin"   # a spec_table(...) declared in warehouse/engine/registry/reports.py
    description = "..."

    [match]                       # which documents it applies to (any listed sha256, or the file-name glob)
    sha256 = ["..."]
    file_name = "eu-016*.pdf"

    [extract]
    pages = [3]                   # 1-based pages to read, or "all"
    continued = false             # true: the table continues over the pages (see below)
    crop = [50, 90, 560, 600]     # optional box (x0, top, x1, bottom, points) read on each page
    table = 0                     # which table found on the (cropped) page, in reading order
    header_rows = 1               # rows above the data (or "auto": the extractor's header detection)
    columns = 5                   # the table must have this many columns, else the spec fails loudly
    skip_blank_first = true       # skip rows whose first column is empty (section and unit rows)
    require = ["total_cases"]     # optional: rows with any of these columns empty are not data (notes, titles)
    [extract.table_settings]      # optional pdfplumber settings for the ruled strategy
    snap_tolerance = 3

    [[column]]                    # one per table column, in order
    name = "country"
    type = "text"                 # text | number | integer
    [[column]]
    name = "total_cases"
    type = "integer"
    missing = ["-", "*"]          # printed placeholders read as NULL

With ``continued = true`` the table is read on every listed page and the pieces are stacked in page order:
on each page the ``table``-th table with the spec's column count is taken, its leading header rows
(``header_rows`` of them) and any row repeating the first page's header are dropped on every page after the first, and a page with no such table is
skipped and named in the document's ``reason`` (never silently).

:func:`apply_spec` returns the typed frame (``document_id``, ``page``, ``row_index``, the columns and
provenance); the loader validates it against the registry contract, so a value that is not a number
fails with the row it is on instead of becoming NULL.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pdfplumber

from sources.inputs import SourceFormatError, numeric_or_original
from sources.reports.pdf_tables import ExtractedTable, PageResult, extract_page, extract_pages

SPEC_DIR = Path(__file__).resolve().parents[1] / "report_specs"
_TYPES = ("text", "number", "integer")


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"
    missing: tuple[str, ...] = ("", "-", "–", "*", "..", "n/a", "NA")


@dataclass(frozen=True)
class Spec:
    name: str
    target: str
    description: str
    path: Path
    sha256: tuple[str, ...] = ()
    file_name: str | None = None
    pages: tuple[int, ...] | str = (1,)
    continued: bool = False
    crop: tuple[float, float, float, float] | None = None
    table: int = 0
    header_rows: int | str = "auto"
    n_columns: int | None = None
    skip_blank_first: bool = True
    require: tuple[str, ...] = ()
    table_settings: dict = field(default_factory=dict)
    columns: tuple[Column, ...] = ()

    def matches(self, sha256: str, file_name: str) -> bool:
        return sha256 in self.sha256 or bool(self.file_name and fnmatch.fnmatch(file_name, self.file_name))


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _check_identifiers(raw: dict, where: str, known: Collection[str] | None) -> None:
    """A spec names a ``core_reports__*`` table (one of ``known`` when given: the registry's) and plain column
    names; nothing else reaches SQL."""
    target = str(raw["target"])
    if not target.startswith("core_reports__") or not _IDENTIFIER.match(target) or (known is not None and target not in known):
        raise SourceFormatError(f"{where}: target {target!r} is not a core_reports__* table declared in warehouse/engine/registry/reports.py")
    for c in raw["column"]:
        if not _IDENTIFIER.match(str(c.get("name", ""))):
            raise SourceFormatError(f"{where}: column name {c.get('name')!r} is not a plain identifier (lowercase letters, digits, _)")


def load_spec(path: Path, known: Collection[str] | None = None) -> Spec:
    """The spec in ``path``; ``known``: the table names a target may be (the caller passes the registry's)."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    where = f"report spec {path.name}"
    for key in ("name", "target", "column"):
        if key not in raw:
            raise SourceFormatError(f"{where}: missing {key!r}")
    _check_identifiers(raw, where, known)
    extract = raw.get("extract", {})
    match = raw.get("match", {})
    columns = []
    for c in raw["column"]:
        if c.get("type", "text") not in _TYPES:
            raise SourceFormatError(f"{where}: column {c.get('name')!r} has type {c.get('type')!r}; use one of {_TYPES}")
        columns.append(Column(c["name"], c.get("type", "text"), tuple(c.get("missing", Column.missing))))
    crop = extract.get("crop")
    return Spec(
        name=raw["name"], target=raw["target"], description=raw.get("description", ""), path=path,
        sha256=tuple(match.get("sha256", ())), file_name=match.get("file_name"),
        pages="all" if extract.get("pages") == "all" else tuple(int(p) for p in extract.get("pages", [1])),
        continued=bool(extract.get("continued", False)), crop=tuple(crop) if crop else None,
        table=int(extract.get("table", 0)), header_rows=extract.get("header_rows", "auto"),
        n_columns=extract.get("columns"), skip_blank_first=bool(extract.get("skip_blank_first", True)),
        require=tuple(extract.get("require", ())),
        table_settings=dict(extract.get("table_settings", {})), columns=tuple(columns),
    )


def all_specs(folder: Path = SPEC_DIR, known: Collection[str] | None = None) -> list[Spec]:
    return [load_spec(p, known) for p in sorted(folder.glob("*.toml"))]


def _tables(spec: Spec, pdf_path: Path, password: str | None) -> list[ExtractedTable]:
    found = []
    with pdfplumber.open(pdf_path, password=password or "") as pdf:
        for number in _pages(spec, len(pdf.pages)):
            if not 1 <= number <= len(pdf.pages):
                raise SourceFormatError(f"report spec {spec.name}: page {number} is not in {pdf_path.name} ({len(pdf.pages)} pages)")
            page = pdf.pages[number - 1]
            if spec.crop:
                page = page.crop(spec.crop)
            found += extract_page(page, number, spec.table_settings or None)
    return found


def _pages(spec: Spec, count: int) -> tuple[int, ...]:
    return tuple(range(1, count + 1)) if spec.pages == "all" else spec.pages  # type: ignore[return-value]


def reads_as_extracted(spec: Spec) -> bool:
    """Whether the spec reads its pages as :func:`extract_pages` reads a whole document (no crop, default
    settings), so the document's own page results can serve it instead of a second read."""
    return spec.crop is None and not spec.table_settings


def _page_tables(spec: Spec, pdf_path: Path, password: str | None,
                 extracted: Sequence[PageResult] | None) -> Iterator[tuple[int, list[ExtractedTable]]]:
    """(page, tables on it) for each of the spec's pages, from ``extracted`` (every page of the document, as
    :func:`extract_pages` read them) when the spec reads pages that way, else read here page by page."""
    if extracted is not None and reads_as_extracted(spec):
        by_page = {r.page: r.tables for r in extracted}
        for number in _pages(spec, len(extracted)):
            yield number, by_page[number] if number in by_page else extract_pages(pdf_path, [number], password)[0].tables
        return
    with pdfplumber.open(pdf_path, password=password or "") as pdf:
        numbers = _pages(spec, len(pdf.pages))
    for number in numbers:
        yield number, [t for r in extract_pages(pdf_path, [number], password) for t in r.tables]


def _continued(spec: Spec, pdf_path: Path, password: str | None,
               extracted: Sequence[PageResult] | None = None) -> tuple[list[tuple[int, list[str]]], list[str], int]:
    """(page, row) of a table continuing over the spec's pages, the pages skipped with why, the header rows."""
    rows: list[tuple[int, list[str]]] = []
    skipped: list[str] = []
    first_header = 0
    for number, tables in _page_tables(spec, pdf_path, password, extracted):
        fitting = [t for t in tables if spec.n_columns is None or t.n_cols == spec.n_columns]
        if len(fitting) <= spec.table:
            skipped.append(f"page {number} ({', '.join(f'{t.n_cols} columns' for t in tables) or 'no table'})")
            continue
        table = fitting[spec.table]
        header = table.header_rows if spec.header_rows == "auto" else int(spec.header_rows)
        grid = table.grid()
        if not rows:
            first_header = header
            rows += [(number, row) for row in grid[:header]]
        heading = [r for _, r in rows[:first_header]]
        rows += [(number, row) for row in grid[header:] if row not in heading]  # a header repeated on the page
    return rows, skipped, first_header


def _typed(values: pd.Series, column: Column) -> pd.Series:
    text = values.astype("string").str.replace("\n", " ", regex=False).str.strip()
    if column.type == "text":
        return text
    missing = text.isin(list(column.missing)) | text.isna()
    cleaned = text.str.replace(r"(?<=\d)[\s,](?=\d{3}\b)", "", regex=True).str.replace(r"[%£$€]", "", regex=True)
    return numeric_or_original(cleaned.mask(missing)).where(~missing, None)


def apply_spec(spec: Spec, pdf_path: Path, document_id: str, password: str | None = None,
               extracted: Sequence[PageResult] | None = None) -> pd.DataFrame:
    """The spec's typed table from the document (columns as the registry declares them, plus provenance).

    ``extracted``: every page of the document as :func:`extract_pages` read it (what ingest has already
    read); a continued spec that reads pages the same way takes its tables from there.
    """
    where = f"report spec {spec.name} on {pdf_path.name}"
    if spec.continued:
        rows, skipped, header = _continued(spec, pdf_path, password, extracted)
        if not rows:
            raise SourceFormatError(f"{where}: no table with {spec.n_columns} columns on page(s) {spec.pages}: {'; '.join(skipped)}")
        if len(spec.columns) != len(rows[0][1]):
            raise SourceFormatError(f"{where}: the spec names {len(spec.columns)} columns, the table has {len(rows[0][1])}")
        frame = _records(spec, [r for _, r in rows], {i: p for i, (p, _) in enumerate(rows)}, header, where)
        frame.attrs["skipped"] = skipped
        return _finish(spec, frame, document_id)
    tables = _tables(spec, pdf_path, password)
    if len(tables) <= spec.table:
        raise SourceFormatError(f"{where}: wanted table {spec.table} on page(s) {list(spec.pages)}, found {len(tables)}")
    table = tables[spec.table]
    if spec.n_columns is not None and table.n_cols != spec.n_columns:
        raise SourceFormatError(f"{where}: the table has {table.n_cols} columns, the spec expects {spec.n_columns}; "
                                f"first row seen: {table.grid()[0]}")
    if len(spec.columns) != table.n_cols:
        raise SourceFormatError(f"{where}: the spec names {len(spec.columns)} columns, the table has {table.n_cols}")
    header = table.header_rows if spec.header_rows == "auto" else int(spec.header_rows)
    return _finish(spec, _records(spec, table.grid(), {c.row: c.page for c in table.cells}, header, where), document_id)


def _records(spec: Spec, grid: list[list[str]], pages: dict[int, int], header, where: str) -> pd.DataFrame:
    header = 0 if header == "auto" else int(header)
    first_page = spec.pages[0] if isinstance(spec.pages, tuple) else 1
    records = []
    for r, row in enumerate(grid[header:], start=header):
        if spec.skip_blank_first and not row[0].strip():
            continue
        if not any(cell.strip() for cell in row):
            continue
        values = {col.name: value for col, value in zip(spec.columns, row)}
        if any(not values.get(name, "").strip() for name in spec.require):
            continue
        records.append({"page": pages.get(r, first_page), "row_index": r,
                        **{col.name: value for col, value in zip(spec.columns, row)}})
    return pd.DataFrame(records, columns=["page", "row_index", *[c.name for c in spec.columns]])


def _finish(spec: Spec, frame: pd.DataFrame, document_id: str) -> pd.DataFrame:
    for col in spec.columns:
        frame[col.name] = _typed(frame[col.name], col)
    frame.insert(0, "document_id", document_id)
    locator = frame.apply(lambda r: f"page {r['page']}, table {spec.table}, row {r['row_index']} (spec {spec.name})", axis=1) \
        if len(frame) else pd.Series([], dtype="string")
    from sources.reports import SOURCE_ID

    return frame.assign(source_id=SOURCE_ID, source_sha256=document_id, source_locator=locator)
