"""Plain-text and Markdown documents: their lines (page = line number) and their pipe tables.

A Markdown pipe table (``| a | b |`` lines, with an optional ``|---|---|`` rule under the header)
becomes an :class:`~sources.reports.pdf_tables.ExtractedTable` whose cells carry the line number as
their page and no bounding box.
"""

from __future__ import annotations

import re

from sources.reports.pdf_tables import ExtractedCell, ExtractedTable

_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def lines_of(text: str) -> list[tuple[int, int, str]]:
    """(page, line, text) rows: for a text document the page is the line number."""
    return [(i, i, line) for i, line in enumerate(text.splitlines(), start=1)]


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def pipe_tables(text: str) -> list[ExtractedTable]:
    """The pipe tables in a Markdown or text document, each at least two rows and two columns."""
    tables: list[ExtractedTable] = []
    block: list[tuple[int, str]] = []

    def flush() -> None:
        rows = [(n, line) for n, line in block if not _RULE.match(line)]
        has_rule = len(rows) < len(block)
        if len(rows) >= 2 and max(len(_cells(line)) for _, line in rows) >= 2:
            cells = [ExtractedCell(n, r, c, text, None, None, None, None)
                     for r, (n, line) in enumerate(rows) for c, text in enumerate(_cells(line))]
            width = max(len(_cells(line)) for _, line in rows)
            for r, (n, line) in enumerate(rows):  # ragged rows: pad with empty cells
                cells += [ExtractedCell(n, r, c, "", None, None, None, None) for c in range(len(_cells(line)), width)]
            tables.append(ExtractedTable(rows[0][0], "markdown", 0, cells, header_rows=1 if has_rule else 0,
                                         last_page=rows[-1][0]))
        block.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if line.count("|") >= 2 or (block and _RULE.match(line)):
            block.append((number, line))
        else:
            flush()
    flush()
    return tables
