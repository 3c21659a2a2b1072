"""Report intake: identity by hash, metadata, and every bad-document case quarantined with a reason."""

import hashlib
import shutil
from pathlib import Path

import pytest

from sources.reports.intake import Limits, inspect_document

FIXTURES = Path(__file__).parents[1] / "fixtures" / "reports"
PDFS = FIXTURES / "pdfs"
SEEDS = FIXTURES / "seeds"


def test_pdf_intake_records_identity_and_metadata():
    intake = inspect_document(PDFS / "eu-016.pdf")
    assert intake.status == "landed" and intake.reason is None
    assert intake.document_id == hashlib.sha256((PDFS / "eu-016.pdf").read_bytes()).hexdigest()
    assert intake.kind == "pdf" and intake.pages == 3
    assert intake.has_text_layer is True and intake.pages_needing_ocr == []
    assert intake.producer and intake.title
    assert intake.encrypted is False


def test_text_document_pages_are_lines():
    seed = SEEDS / "000_da2ce94b81bae466.txt"
    intake = inspect_document(seed)
    assert intake.status == "landed" and intake.kind == "text"
    assert intake.pages == len(seed.read_text(encoding="utf-8").splitlines())
    assert intake.title.startswith("Utilising the Prevention Agenda")


def test_markdown_is_recognised(tmp_path):
    doc = tmp_path / "note.md"
    doc.write_text("# Funding note\n\n| area | £ per head |\n|---|---|\n| Tees Valley | 11.34 |\n")
    intake = inspect_document(doc)
    assert intake.kind == "markdown" and intake.title == "Funding note" and intake.landed


@pytest.mark.parametrize("name, password", [("password-example.pdf", "test"), ("health_protected.pdf", "userpass")])
def test_encrypted_pdf_opens_with_its_password(name, password):
    intake = inspect_document(PDFS / name, password=password)
    assert intake.status == "landed", intake.reason
    assert intake.encrypted is True and intake.pages >= 1


@pytest.mark.parametrize("name", ["password-example.pdf", "health_protected.pdf"])
def test_encrypted_pdf_without_password_is_quarantined(name):
    intake = inspect_document(PDFS / name)
    assert intake.status == "quarantined"
    assert intake.encrypted is True
    assert "needs a password" in intake.reason


def test_encrypted_pdf_with_wrong_password_is_quarantined():
    intake = inspect_document(PDFS / "health_protected.pdf", password="wrong")
    assert intake.status == "quarantined" and "does not open" in intake.reason


def test_image_only_pdf_is_quarantined_as_needing_ocr():
    if shutil.which("ocrmypdf"):
        pytest.skip("ocrmypdf is installed: the image-only PDF is OCR'd instead")
    intake = inspect_document(PDFS / "image.pdf")
    assert intake.status == "quarantined"
    assert "image-only" in intake.reason and "OCR" in intake.reason
    assert intake.pages_needing_ocr == [1] and intake.has_text_layer is False


def test_truncated_pdf_is_quarantined(tmp_path):
    data = (PDFS / "eu-016.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    intake = inspect_document(cut)
    assert intake.status == "quarantined" and intake.reason.startswith("truncated")


def test_corrupt_pdf_is_quarantined(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    intake = inspect_document(bad)
    assert intake.status == "quarantined" and intake.reason.startswith("corrupt")


def test_not_a_pdf_is_quarantined(tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"<html><body>Access denied</body></html>")
    intake = inspect_document(fake)
    assert intake.status == "quarantined" and "no %PDF- header" in intake.reason


def test_binary_junk_is_quarantined(tmp_path):
    junk = tmp_path / "report.bin"
    junk.write_bytes(b"\x00\x01\x02\xff" * 100)
    intake = inspect_document(junk)
    assert intake.status == "quarantined" and "unsupported" in intake.reason


def test_empty_file_is_quarantined(tmp_path):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert inspect_document(empty).reason.startswith("empty")


def test_oversized_by_bytes_and_by_pages():
    by_bytes = inspect_document(PDFS / "eu-016.pdf", limits=Limits(max_bytes=10_000))
    assert by_bytes.status == "quarantined" and "oversized" in by_bytes.reason and "bytes" in by_bytes.reason
    by_pages = inspect_document(PDFS / "eu-016.pdf", limits=Limits(max_pages=2))
    assert by_pages.status == "quarantined" and "3 pages" in by_pages.reason


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OBSERVATORY_REPORT_MAX_PAGES", "2")
    monkeypatch.setenv("OBSERVATORY_REPORT_MAX_BYTES", "5000000")
    assert Limits.from_env() == Limits(max_bytes=5_000_000, max_pages=2)


def _bomb_pdf(path: Path, inflated_mib: int) -> Path:
    """A valid one-page PDF whose content stream is zlib over zlib: a few KB that inflate to ``inflated_mib`` MiB."""
    import zlib

    packer = zlib.compressobj(9)
    inner = b"".join(packer.compress(b"\0" * 2**20) for _ in range(inflated_mib)) + packer.flush()
    content = zlib.compress(inner, 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n" % len(content) + content + b"\nendstream"]
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(body)
    return path


def test_a_decompression_bomb_is_quarantined_before_any_parser_runs(tmp_path, monkeypatch):
    bomb = _bomb_pdf(tmp_path / "bomb.pdf", 64)
    assert bomb.stat().st_size < 4096
    intake = inspect_document(bomb, limits=Limits(max_stream_mb=16))
    assert intake.status == "quarantined" and intake.pages is None  # refused before the page tree was read
    assert "inflates to more than 16 MiB" in intake.reason and "OBSERVATORY_REPORT_MEGABYTES" in intake.reason
    monkeypatch.setenv("OBSERVATORY_REPORT_MEGABYTES", "16")  # the same budget as the document's worker
    assert Limits.from_env().max_stream_mb == 16
    assert inspect_document(bomb).status == "quarantined"
    monkeypatch.setenv("OBSERVATORY_REPORT_MEGABYTES", "128")
    parsed = inspect_document(bomb)  # under the budget it is parsed: an ordinary page, blank, so it has no text layer
    assert parsed.pages == 1 and parsed.reason.startswith("image-only")
