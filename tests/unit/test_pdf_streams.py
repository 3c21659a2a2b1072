"""The decompression-bomb measure: how big a PDF's largest zlib stream inflates, found without holding it."""

from __future__ import annotations

import tracemalloc
import zlib
from pathlib import Path

from sources.reports.pdf_streams import PIECE, largest_inflated_stream

PDFS = Path(__file__).resolve().parents[1] / "fixtures" / "reports" / "pdfs"
MIB = 1 << 20


def _pdf(path: Path, streams: list[bytes]) -> Path:
    body = b"%PDF-1.4\n"
    for i, data in enumerate(streams, 1):
        body += f"{i} 0 obj\n<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream\nendobj\n"
    path.write_bytes(body + b"trailer\n<< >>\n%%EOF\n")
    return path


def _deflate_zeros(n: int) -> bytes:
    packer = zlib.compressobj(9)
    out = b"".join(packer.compress(b"\0" * MIB) for _ in range(n // MIB))
    return out + packer.flush()


def test_a_stream_is_measured_exactly_under_the_cap(tmp_path):
    pdf = _pdf(tmp_path / "plain.pdf", [zlib.compress(b"BT (x) Tj ET\n" * 1000), zlib.compress(b"y" * 5000)])
    assert largest_inflated_stream(pdf, 64 * MIB) == 13_000


def test_a_filter_chain_bomb_is_found_over_the_cap_holding_one_piece_at_a_time(tmp_path):
    bomb = zlib.compress(_deflate_zeros(128 * MIB), 9)  # zlib over zlib: a few KB that inflate to 128 MiB
    pdf = _pdf(tmp_path / "bomb.pdf", [zlib.compress(b"q Q\n"), bomb])
    assert pdf.stat().st_size < 8 * 1024
    tracemalloc.start()
    try:
        found = largest_inflated_stream(pdf, 16 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found > 16 * MIB
    assert peak < 8 * PIECE, f"held {peak / MIB:.0f} MiB while measuring"


def test_streams_that_are_not_zlib_are_not_measured(tmp_path):
    pdf = _pdf(tmp_path / "raw.pdf", [b"\xff\xd8\xff\xe0 a DCT image, not zlib", b"BT ET"])
    assert largest_inflated_stream(pdf, MIB) == 0


def test_every_real_pdf_of_the_corpus_is_far_under_a_worker_budget():
    sizes = {p.name: largest_inflated_stream(p, 768 * MIB) for p in sorted(PDFS.glob("*.pdf"))}
    assert len(sizes) >= 20
    assert max(sizes.values()) < 64 * MIB, sizes
