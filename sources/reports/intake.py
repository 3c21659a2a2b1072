"""Document intake: identify a report by its SHA-256 and decide whether it lands or is quarantined.

A document is never an error: :func:`inspect_document` always returns an :class:`Intake`, whose
``status`` is ``landed`` or ``quarantined`` with a ``reason`` a person can act on:

* oversized (bytes or pages over :class:`Limits`, configurable by ``OBSERVATORY_REPORT_MAX_BYTES`` /
  ``OBSERVATORY_REPORT_MAX_PAGES``), or a compressed stream that inflates past the worker's memory budget
  (``OBSERVATORY_REPORT_MEGABYTES``), measured before any parser runs (:mod:`sources.reports.pdf_streams`);
* not a PDF / empty / unsupported type;
* corrupt or truncated (no ``%%EOF``, or the parser cannot open it);
* encrypted without a password, or with a wrong one (a right one opens it: ``encrypted`` is recorded);
* image-only (no text layer on any page): quarantined as needing OCR, unless ``ocrmypdf`` is installed,
  in which case an OCR'd copy is made and read instead. Some image-only pages in a document with text
  are flagged (``pages_needing_ocr``) and the rest lands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sources.catalogue import sha256_of
from sources.inputs import SourceFormatError
from sources.reports.pdf_streams import largest_inflated_stream

TEXT_SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}
MAX_BYTES_ENV = "OBSERVATORY_REPORT_MAX_BYTES"
MAX_PAGES_ENV = "OBSERVATORY_REPORT_MAX_PAGES"
MEGABYTES_ENV = "OBSERVATORY_REPORT_MEGABYTES"  # a document's memory budget: its worker's (batch.Budget), and its largest stream's
MEGABYTES = 768  # that budget's default
OnPage = Callable[[int, Any, Any], None]  # (page number, pypdfium2 page, its text page), while the page is loaded


@dataclass(frozen=True)
class Limits:
    """Largest document intake accepts (defaults generous for reports; configurable by environment)."""

    max_bytes: int = 100 * 1024 * 1024
    max_pages: int = 1000
    max_stream_mb: int = MEGABYTES  # no single compressed stream may inflate past the memory budget of the document's worker

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_bytes=int(os.environ.get(MAX_BYTES_ENV, cls.max_bytes)),
            max_pages=int(os.environ.get(MAX_PAGES_ENV, cls.max_pages)),
            max_stream_mb=int(os.environ.get(MEGABYTES_ENV, cls.max_stream_mb)),
        )


@dataclass
class Intake:
    path: Path
    sha256: str
    file_name: str
    bytes: int
    kind: str = "pdf"
    title: str = ""
    pages: int | None = None
    producer: str | None = None
    has_text_layer: bool | None = None
    pages_needing_ocr: list[int] = field(default_factory=list)
    encrypted: bool = False
    password: str | None = None
    status: str = "landed"
    reason: str | None = None
    read_path: Path | None = None  # what extraction reads (an OCR'd copy when one was made)
    page_texts: list[str] | None = field(default=None, repr=False, compare=False)  # each page's text layer, as intake read it

    def texts_of_read_path(self) -> list[str] | None:
        """The page texts intake read, when extraction reads the same file (no OCR'd copy)."""
        return self.page_texts if self.read_path == self.path else None

    @property
    def document_id(self) -> str:
        return self.sha256

    @property
    def landed(self) -> bool:
        return self.status == "landed"

    def quarantine(self, reason: str) -> Intake:
        self.status, self.reason = "quarantined", reason
        return self


def load_passwords(path: Path) -> dict[str, str]:
    """Passwords by file name or SHA-256 from a TOML file (``"name.pdf" = "secret"``); empty if absent."""
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as fh:
            return {str(k): str(v) for k, v in tomllib.load(fh).items()}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SourceFormatError(f"{path}: the inbox's passwords file is not valid TOML ({err}); fix it or delete it "
                                "(passwords are written there by `observatory ingest --password`)") from None


def _kind(path: Path, head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "pdf"
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return TEXT_SUFFIXES[suffix]
    if suffix == ".pdf":
        return "pdf"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError:
            return None
    return None


def read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def inspect_document(path: Path, *, password: str | None = None, limits: Limits | None = None,
                     file_name: str | None = None, on_page: OnPage | None = None) -> Intake:
    """What the document is and whether it lands; never raises for a bad document.

    ``on_page``: called with each PDF page while its text is read (see :func:`page_texts`).
    """
    limits = limits or Limits.from_env()
    path = Path(path)
    size = path.stat().st_size
    intake = Intake(path=path, sha256=sha256_of(path), file_name=file_name or path.name, bytes=size,
                    title=file_name or path.name, read_path=path)
    if size == 0:
        return intake.quarantine("empty file (0 bytes)")
    if size > limits.max_bytes:
        return intake.quarantine(f"oversized: {size:,} bytes is over the limit of {limits.max_bytes:,} ({MAX_BYTES_ENV})")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    kind = _kind(path, head)
    if kind is None:
        return intake.quarantine("unsupported file type: neither a PDF (no %PDF- header) nor UTF-8 text")
    intake.kind = kind
    if kind != "pdf":
        return _inspect_text(intake, limits)
    if not head.startswith(b"%PDF-"):
        return intake.quarantine("corrupt: named .pdf but has no %PDF- header")
    return _inspect_pdf(intake, password, limits, on_page)


def _inspect_text(intake: Intake, limits: Limits) -> Intake:
    text = read_text(intake.path)
    lines = text.splitlines()
    intake.pages = len(lines)
    intake.has_text_layer = bool(text.strip())
    first = next((ln.strip().strip("#*_ ").strip() for ln in lines if ln.strip().strip("#*_ ").strip()), "")
    intake.title = first[:200] or intake.file_name
    if not text.strip():
        return intake.quarantine("empty text document")
    if len(lines) > limits.max_pages * 100:
        return intake.quarantine(f"oversized: {len(lines):,} lines is over the limit of {limits.max_pages * 100:,} ({MAX_PAGES_ENV} x 100)")
    return intake


def _truncated(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 2048))
        return b"%%EOF" not in fh.read()


def _decode(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        for encoding in ("utf-16", "utf-8", "latin-1"):
            try:
                return value.decode(encoding).strip("\x00 ")
            except UnicodeDecodeError:
                continue
    return str(value).strip() or None


def _inspect_pdf(intake: Intake, password: str | None, limits: Limits, on_page: OnPage | None = None) -> Intake:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    if _truncated(intake.path):
        return intake.quarantine("truncated: the file ends without a %%EOF marker (incomplete download or copy?)")
    cap = limits.max_stream_mb * 2**20
    if largest_inflated_stream(intake.path, cap) > cap:
        return intake.quarantine(f"oversized: a compressed stream inflates to more than {limits.max_stream_mb:,} MiB, the memory "
                                 f"budget of a document ({MEGABYTES_ENV}); a decompression bomb? Nothing was parsed")
    try:
        pdf = pdfplumber.open(intake.path, password=password or "")
    except Exception as err:  # noqa: BLE001 - classified below
        cause = err.args[0] if err.args and isinstance(err.args[0], Exception) else err
        if isinstance(cause, PDFPasswordIncorrect) or "PasswordIncorrect" in repr(err):
            intake.encrypted = True
            if password:
                return intake.quarantine("encrypted: the supplied password does not open it")
            return intake.quarantine("encrypted: needs a password (observatory ingest --password, or the inbox's .passwords.toml)")
        return intake.quarantine(f"corrupt: cannot be opened as a PDF ({type(cause).__name__}: {str(cause)[:160]})")
    try:
        intake.encrypted = bool(getattr(pdf.doc, "encryption", None))
        intake.password = password if intake.encrypted else None
        try:
            pages = len(pdf.pages)
        except Exception as err:  # noqa: BLE001
            return intake.quarantine(f"corrupt: its page tree cannot be read ({type(err).__name__}: {str(err)[:160]})")
        intake.pages = pages
        meta = pdf.metadata or {}
        intake.producer = _decode(meta.get("Producer")) or _decode(meta.get("Creator"))
        title = _decode(meta.get("Title"))
        if pages == 0:
            return intake.quarantine("corrupt: the PDF has no pages")
        if pages > limits.max_pages:
            return intake.quarantine(f"oversized: {pages:,} pages is over the limit of {limits.max_pages:,} ({MAX_PAGES_ENV})")
    finally:
        pdf.close()
    try:
        intake.page_texts = page_texts(intake.path, password, on_page)
    except Exception as err:  # noqa: BLE001
        return intake.quarantine(f"corrupt: pages cannot be rendered ({type(err).__name__}: {str(err)[:160]})")
    text_pages, first = _text_layer(intake.page_texts)
    intake.pages_needing_ocr = [number for number, has_text in enumerate(text_pages, start=1) if not has_text]
    intake.has_text_layer = len(intake.pages_needing_ocr) < len(text_pages)
    intake.title = title or first or intake.file_name
    if not intake.has_text_layer:
        ocr = _ocr_copy(intake.path, password)
        if ocr is None:
            return intake.quarantine(
                f"image-only: none of its {pages} page(s) has a text layer; needs OCR (install ocrmypdf and tesseract to read it)")
        intake.read_path = ocr
        intake.reason = "read from an OCR'd copy (ocrmypdf)"
        intake.has_text_layer = True
    elif intake.pages_needing_ocr:
        listed = ", ".join(map(str, intake.pages_needing_ocr))
        intake.reason = f"page(s) {listed} have no text layer and need OCR; their tables are not extracted"
    return intake


def page_texts(path: Path, password: str | None = None, on_page: OnPage | None = None) -> list[str]:
    """Each page's text from pypdfium2's C text layer: read once, for intake's checks and for the claims.

    ``on_page(number, page, textpage)`` is called with each page (1-based) while it is loaded, so table
    extraction reads it in the same pass (:class:`sources.reports.pdf_tables.PageReader`); it must not raise.
    """
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path), password=password)
    texts: list[str] = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            try:
                texts.append(textpage.get_text_range())
                if on_page is not None:
                    on_page(i + 1, page, textpage)
            finally:
                textpage.close()
                page.close()
    finally:
        doc.close()
    return texts


def _text_layer(texts: list[str]) -> tuple[list[bool], str | None]:
    """Per page, whether it has a text layer (any character that is not white space), and the first page's first line.

    Cheap next to table extraction, whose own pre-scan (which also measures how tabular each page's text
    is) is then the only per-character scan of the document.
    """
    has_text = [any(not ch.isspace() and ch not in "\x00\ufffe" for ch in text) for text in texts]
    first = next((line.strip()[:200] for line in texts[0].splitlines() if line.strip()), None) if texts else None
    return has_text, first


def _ocr_copy(path: Path, password: str | None) -> Path | None:
    """An OCR'd copy of the PDF if ocrmypdf is installed (optional extra), else None."""
    exe = shutil.which("ocrmypdf")
    if exe is None or password:
        return None
    out = Path(tempfile.mkdtemp(prefix="observatory-ocr-")) / path.name
    try:
        subprocess.run([exe, "--skip-text", "--quiet", str(path), str(out)], check=True, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (subprocess.SubprocessError, OSError):
        return None
    return out if out.exists() else None
