"""One document in, the registry's `core_reports__*` frames out (documents, tables, cells, claims, spec tables).

:func:`process_document` never raises for a bad document: intake decides landed or quarantined, and a
failure while reading a landed document's tables or claims quarantines it with the error as the reason,
so the other documents of a run still land.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sources.catalogue import sha256_of
from sources.reports import SOURCE_ID
from sources.reports.claims import Claim, PlaceMatcher, extract_claims
from sources.reports.intake import TEXT_SUFFIXES, Intake, Limits, inspect_document, page_texts, read_text
from sources.reports.pdf_tables import EXTRACTOR_VERSION, ExtractedTable, PageReader, PageResult, extract_pages, merge_continuations
from sources.reports.specs import Spec, all_specs, apply_spec
from sources.reports.text_tables import lines_of, pipe_tables

CORE_TABLES = ("core_reports__documents", "core_reports__tables", "core_reports__cells", "core_reports__claims")


class _Implausible(ValueError):
    pass


@dataclass
class Processed:
    intake: Intake
    frames: dict[str, pd.DataFrame]
    spec_errors: list[str] = field(default_factory=list)

    @property
    def document_id(self) -> str:
        return self.intake.document_id


def pdf_lines(path: Path, password: str | None = None, texts: list[str] | None = None) -> list[tuple[int, int, str]]:
    """(page, line, text) for every text line of a PDF, from pypdfium2's text layer (``texts``: each page's
    text when intake has read it already)."""
    out = []
    for i, text in enumerate(page_texts(path, password) if texts is None else texts):
        for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
            out.append((i + 1, n, line))
        out.append((i + 1, 10**6, ""))  # a page break ends a paragraph
    return out


_TOKEN = re.compile(r"\S+")
_WORDLIKE = re.compile(r"^[\"'(\[]*([A-Za-z][a-z]*(?:[-'][A-Za-z]+)*|\d[\d,.]*%?|[£$€]\d[\d,.]*[mkbn]?)[)\]\"'.,;:!?%]*$")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")


def implausible_text(text: str) -> str | None:
    """Why a text document does not read as language (random bytes, binary data named .txt), else None.

    Running text is mostly word-like tokens (letters with a vowel, or figures) and has almost no control
    characters; a file failing either test is quarantined rather than read for tables and claims.
    """
    if not text.strip():
        return None
    control = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\n\r\t\f") or 0x7F <= ord(ch) < 0xA0 or ch == "\ufffd")
    if control > max(2, 0.01 * len(text)):
        return f"not plausible text: {control} control or undecodable characters in {len(text)}"
    tokens = _TOKEN.findall(text[:200_000])
    wordlike = sum(1 for t in tokens if _WORDLIKE.match(t) and (_VOWEL.search(t) or t[0].isdigit() or t[0] in "£$€"))
    if tokens and wordlike < 0.5 * len(tokens):
        return f"not plausible text: only {wordlike} of {len(tokens)} tokens look like words or figures"
    return None


def failed_document(path: Path, reason: str, *, file_name: str | None = None, password: str | None = None) -> Processed:
    """A document quarantined before its extraction finished (over its budget, or its worker died)."""
    name = file_name or path.name
    kind = TEXT_SUFFIXES.get(Path(name).suffix.lower(), "pdf")
    sha = sha256_of(path)
    intake = Intake(path, sha, name, path.stat().st_size, kind=kind, password=password).quarantine(reason)
    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    tables_frame, cells_frame = tables_frames(sha, [])
    return Processed(intake, {
        "core_reports__documents": _document_frame(intake, 0, 0, ingested_at),
        "core_reports__tables": tables_frame,
        "core_reports__cells": cells_frame,
        "core_reports__claims": claims_frame(sha, [], kind),
    })


def _stamp(frame: pd.DataFrame, document_id: str, locator) -> pd.DataFrame:
    return frame.assign(source_id=SOURCE_ID, source_sha256=document_id, source_locator=locator)


def tables_frames(document_id: str, tables: list[ExtractedTable]) -> tuple[pd.DataFrame, pd.DataFrame]:
    table_rows, cell_rows = [], []
    for index, t in enumerate(tables):
        grid = t.grid()
        boxed = [c for c in t.cells if c.page == t.page and c.x0 is not None]
        box = (min(c.x0 for c in boxed), min(c.top for c in boxed), max(c.x1 for c in boxed), max(c.bottom for c in boxed)) \
            if boxed else (None, None, None, None)
        header = " / ".join(" | ".join(x.replace("\n", " ") for x in row) for row in grid[:t.header_rows]) or None
        quality, faults = t.assess()
        table_rows.append({
            "document_id": document_id, "table_index": index, "page": t.page, "last_page": t.last_page,
            "n_rows": t.n_rows, "n_cols": t.n_cols, "header_rows": t.header_rows, "method": t.method,
            "rotation": t.rotation, "x0": box[0], "top": box[1], "x1": box[2], "bottom": box[3], "header_text": header,
            "quality": quality, "quality_flags": "; ".join(faults) or None,
            "source_locator": f"page {t.page}" + (f"-{t.last_page}" if t.last_page != t.page else "") + f", table {index}",
        })
        for c in t.cells:
            cell_rows.append({
                "document_id": document_id, "page": c.page, "table_index": index, "row_index": c.row, "col_index": c.col,
                "text": c.text, "x0": c.x0, "top": c.top, "x1": c.x1, "bottom": c.bottom, "is_header": c.row < t.header_rows,
                "source_locator": f"page {c.page}, table {index}, row {c.row}, column {c.col}",
            })
    tables_frame = pd.DataFrame(table_rows, columns=[
        "document_id", "table_index", "page", "last_page", "n_rows", "n_cols", "header_rows", "method", "rotation",
        "x0", "top", "x1", "bottom", "header_text", "quality", "quality_flags", "source_locator"])
    cells_frame = pd.DataFrame(cell_rows, columns=[
        "document_id", "page", "table_index", "row_index", "col_index", "text", "x0", "top", "x1", "bottom", "is_header",
        "source_locator"])
    return (_stamp(tables_frame, document_id, tables_frame["source_locator"]),
            _stamp(cells_frame, document_id, cells_frame["source_locator"]))


def claims_frame(document_id: str, claims: list[Claim], kind: str) -> pd.DataFrame:
    rows = []
    for c in claims:
        where = f"line {c.line}" if kind != "pdf" else f"page {c.page}, line {c.line}"
        rows.append({
            "claim_id": f"{document_id[:12]}-p{c.page}-l{c.line}-c{c.col}",
            "document_id": document_id, "page": c.page, "line": c.line, "text": c.text, "context": c.context,
            "figure": c.figure, "value": c.value, "unit": c.unit, "scale": c.scale, "kind": c.kind,
            "places": "; ".join(dict.fromkeys(p.name for p in c.places)) or None,
            "area_codes": "; ".join(dict.fromkeys(p.code for p in c.places if p.code)) or None,
            "place": c.place.name if c.place else None, "area_code": c.place.code if c.place else None,
            "period": c.period, "measure_hint": c.measure_hint, "series": c.series,
            "claim_kind": c.claim_kind, "qualifier": c.qualifier, "place_basis": c.place_basis,
            "source_locator": f"{where}, column {c.col}",
        })
    frame = pd.DataFrame(rows, columns=[
        "claim_id", "document_id", "page", "line", "text", "context", "figure", "value", "unit", "scale", "kind", "places",
        "area_codes", "place", "area_code", "period", "measure_hint", "series", "claim_kind", "qualifier", "place_basis",
        "source_locator"])
    return _stamp(frame, document_id, frame["source_locator"])


def _document_frame(intake: Intake, n_tables: int, n_claims: int, ingested_at: dt.datetime) -> pd.DataFrame:
    return _stamp(pd.DataFrame([{
        "document_id": intake.document_id, "sha256": intake.sha256, "file_name": intake.file_name, "kind": intake.kind,
        "title": intake.title or intake.file_name, "pages": intake.pages, "bytes": intake.bytes, "producer": intake.producer,
        "has_text_layer": intake.has_text_layer,
        "pages_needing_ocr": ", ".join(map(str, intake.pages_needing_ocr)) or None,
        "encrypted": intake.encrypted, "status": intake.status, "reason": intake.reason,
        "tables": n_tables, "claims": n_claims, "extractor_version": EXTRACTOR_VERSION, "ingested_at": ingested_at,
    }]), intake.document_id, f"document {intake.file_name}")


def process_document(
    path: Path,
    *,
    places: PlaceMatcher,
    password: str | None = None,
    limits: Limits | None = None,
    specs: list[Spec] | None = None,
    file_name: str | None = None,
) -> Processed:
    """Intake, tables, claims and spec tables of one document, as registry-shaped frames.

    A PDF's tables are read in intake's pass over its pages (each page is loaded once), unless extraction
    reads another file (an OCR'd copy) or the two libraries disagree on the page count.
    """
    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    reader = PageReader(path, password)
    try:
        intake = inspect_document(path, password=password, limits=limits, file_name=file_name, on_page=reader)
        return _process(intake, reader, places, specs, ingested_at)
    finally:
        reader.close()


def _process(intake: Intake, reader: PageReader, places: PlaceMatcher, specs: list[Spec] | None,
             ingested_at: dt.datetime) -> Processed:
    specs = all_specs() if specs is None else specs
    doc_id = intake.document_id
    tables: list[ExtractedTable] = []
    pages: list[PageResult] | None = None  # a PDF's pages as read once, for the specs too
    claims: list[Claim] = []
    spec_frames: dict[str, pd.DataFrame] = {}
    errors: list[str] = []
    if intake.landed:
        try:
            if intake.kind == "pdf":
                pages = reader.pages(intake.pages) if intake.read_path == intake.path else None
                if pages is None:
                    pages = extract_pages(intake.read_path, password=intake.password)
                tables = merge_continuations(pages)
                claims = extract_claims(pdf_lines(intake.read_path, intake.password, intake.texts_of_read_path()), places)
            else:
                text = read_text(intake.path)
                junk = implausible_text(text)
                if junk:
                    raise _Implausible(junk)
                tables = pipe_tables(text) if intake.kind in ("markdown", "text") else []
                claims = extract_claims(lines_of(text), places)
        except _Implausible as err:
            intake.quarantine(str(err))
            tables, claims = [], []
        except Exception as err:  # noqa: BLE001 - one bad document must not break the run
            intake.quarantine(f"extraction failed: {type(err).__name__}: {str(err)[:200]}")
            tables, claims = [], []
        if intake.landed and intake.kind == "pdf":
            for spec in specs:
                if spec.matches(intake.sha256, intake.file_name):
                    try:
                        spec_frames[spec.target] = apply_spec(spec, intake.read_path, doc_id, intake.password, pages)
                        if spec_frames[spec.target].attrs.get("skipped"):
                            errors.append(f"spec {spec.name}: skipped {', '.join(spec_frames[spec.target].attrs['skipped'])}")
                    except Exception as err:  # noqa: BLE001 - reported on the document, the rest still lands
                        errors.append(f"spec {spec.name}: {err}")
    intake.page_texts = None  # read for the claims: not sent back with the frames
    if errors:
        intake.reason = "; ".join(filter(None, [intake.reason, *errors]))[:2000]
    tables_frame, cells_frame = tables_frames(doc_id, tables)
    frames = {
        "core_reports__documents": _document_frame(intake, len(tables), len(claims), ingested_at),
        "core_reports__tables": tables_frame,
        "core_reports__cells": cells_frame,
        "core_reports__claims": claims_frame(doc_id, claims, intake.kind),
        **spec_frames,
    }
    return Processed(intake, frames, errors)
