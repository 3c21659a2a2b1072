"""How big a PDF's compressed streams inflate, measured before any parser touches it (a decompression-bomb cap).

A PDF's content, images and object streams are mostly Flate (zlib) streams. A few kilobytes of one can inflate to
gigabytes, which a parser then holds in memory at once. :func:`largest_inflated_stream` walks the file's
``stream … endstream`` segments and inflates each through zlib in bounded pieces that are counted and thrown away
(memory stays at one piece per level), following a stream that inflates to another zlib stream (a filter chain), and
stops as soon as one passes the cap. Streams that are not zlib (DCT images, encrypted streams) are not measured
here; the worker's memory budget (:mod:`sources.reports.batch`) still bounds whatever gets past this.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

PIECE = 1 << 20  # bytes inflated per step: what this check holds in memory at most, per level
MAX_LEVELS = 4  # a filter chain deeper than this is not followed further
_STREAM = re.compile(rb"stream\r?\n")


def _zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0


class _Inflater:
    """One zlib stream inflated as its bytes arrive, counting what it yields; if that is itself a zlib stream
    (a filter chain), it is passed to a deeper inflater and *its* output is what counts."""

    def __init__(self, budget: int, depth: int = 0) -> None:
        self.zlib, self.budget, self.depth = zlib.decompressobj(), budget, depth
        self.total, self.head, self.inner = 0, b"", None

    def feed(self, data: bytes) -> int:
        pending = data
        while pending and self.total <= self.budget:
            try:
                piece = self.zlib.decompress(pending, PIECE)
            except zlib.error:
                break
            pending = self.zlib.unconsumed_tail
            if not piece:
                break
            if self.inner is None and len(self.head) < 2 and self.depth + 1 < MAX_LEVELS:
                self.head += piece[: 2 - len(self.head)]
                if len(self.head) == 2 and _zlib_header(self.head):
                    self.inner = _Inflater(self.budget, self.depth + 1)
            if self.inner is not None:
                self.total = self.inner.feed(piece)
            else:
                self.total += len(piece)
        return self.total


def largest_inflated_stream(path: Path, cap: int) -> int:
    """Bytes the largest zlib stream of the PDF at ``path`` inflates to: exact up to ``cap``; past it, the first
    stream found over ``cap`` stops the walk and some value above ``cap`` is returned."""
    data = Path(path).read_bytes()
    largest = 0
    for match in _STREAM.finditer(data):
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            break
        if _zlib_header(data[start:start + 2]):
            largest = max(largest, _Inflater(cap).feed(data[start:end]))
            if largest > cap:
                break
    return largest
