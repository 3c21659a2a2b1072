"""Tables out of PDF pages with pdfplumber: ruled and unruled, rotated, multi-line and multi-page.

How a page is read (:func:`extract_page`):

1. **Orientation.** The dominant writing direction of the page's characters decides whether the page is
   read as it is or turned a quarter (pages with ``/Rotate`` whose text is still sideways, and tables
   printed sideways on an upright page). The turned page is a pdfplumber ``FilteredPage`` whose chars and
   edges are rotated, so pdfplumber's own table finder works on it; bounding boxes are turned back to the
   page's own frame before they are stored.
2. **Regions.** Ruled regions come from pdfplumber's ``lines`` strategy. Unruled regions are runs of
   "tabular" text lines (three or more separated segments, or two with a figure) among the words outside
   the ruled ones; a justified line of prose (six or more evenly spaced words, few figures) is never
   tabular, so running text under a table ends it. Two pieces of a line are separate segments only when
   the gap is wider than the font's word space (a monospaced table's single spaces do not part columns).
   A page is split at a central gutter only when running text lies beside it (a table beside prose is not
   widened by it); a whitespace channel between columns of labels and figures is a wide table's own.
   A ruled box ruled only between its columns takes in the words beside it on its own text lines (its row
   labels on the left, its last column on the right); prose beside it, at its own line pitch, stays out.
   Leader dots and rules typed as text (``.....``, ``-----``) are no words. A symbol glyph whose box is
   taller than its font (a bullet's) gets a box of its font size on its baseline.
3. **Grid.** Columns are the whitespace channels of the lines carrying figures (the fullest lines when
   too few carry figures): x ranges free of ink in all but one line in ten of them, so one centred heading
   or over-long label does not merge two columns. Vertical rules that (almost) no word beside them crosses
   are column borders too (so decorative rules on a coloured fill make no columns; text clipped by its cell
   is cut at the rule); a rule parts a header phrase beside or below where it is drawn, not a heading above
   its top, which spans the columns it rules. Rows are text lines; inside a ruled band holding several
   lines, the lines become separate rows when most columns have a value on every line (rules only every
   few rows) and each line has a row label, rows start at the labelled lines when only some have one, and
   the band stays one multi-line cell otherwise (stacked text in a box); a band whose lines below the first
   hold only the row label is one row with a wrapped label; in a table ruled between its rows, a long band
   is one row split at its one-line labels. Bands are bounded by drawn rules, not by the sides of shaded
   areas (filled, unstroked paths). A line with no row label and no cell holding a figure, set close under
   a labelled row (a quarter of the lines or more carry labels) with no rule across its text between, and
   filling only columns that row fills, continues that row's cells; a wrapped cell's stray line joins its
   row; the text of a ruled cell spanning rows ruled beside it, when it is one block, goes to the first
   row it spans. Headings: in an unruled table a heading goes to the one column whose body text it
   overlaps; heading lines stacked close above the first row of figures are one heading row unless a drawn
   rule parts them or one holds a heading spanning columns (a group heading); a row label alone just above
   the figures heads a body section. A heading spanning columns goes to the first column it spans; a
   column holding only part of a two-level heading is folded into its neighbour; a column of bullets
   folds into the text beside it; empty rows and columns are dropped, and an "unruled table" that reads
   like columns of prose is rejected.
4. **Confidence** (:meth:`ExtractedTable.assess`): every table gets a quality score and fault flags
   (``merged columns``, ``merged rows``, ``sparse``) from its grid; ingest stores them with the table.
5. **Across pages** (:func:`merge_continuations`): a table that starts a page continues the last table of the
   previous page when both have the same column count and column positions; a repeated header is dropped.

Speed (see benchmarks/pdf_extraction.py): a cheap pypdfium2 pre-scan skips pages with no text layer or no
tabular text (fewer than three lines holding a label beside a value, list marks aside); the page's chars and ruling lines are read with pypdfium2 (C) and handed to pdfplumber as its
page objects (pypdfium2 loads each page once, for the pre-scan and the chars, reads each char's code once, and
its per-char functions are called without ctypes' argument checks; in ingest, :class:`PageReader` reads each page
while intake's text pass has it loaded), so pdfplumber's table finder runs without pdfminer's slow pure-Python parse
(``fast_text=False`` uses pdfplumber's own parse, trimmed to the keys table finding needs); cell text is
assigned by sorting, not per-cell filtering; ruled cells are found from the rule crossings as pdfplumber finds
them, without its quadratic search (:func:`find_tables`); :func:`extract_documents` spreads page chunks over processes.
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import os
import re
import statistics
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pdfplumber
from pdfplumber.page import FilteredPage

EXTRACTOR_VERSION = "reports-tables-2"  # issue 11 layout rules: documents read by -1 are read again
_NUMERIC = re.compile(r"^[\s(£$€+\-–—−]*\d[\d,.\s]*%?[)\s]*$")
_HAS_DIGIT = re.compile(r"\d")
_FILLER = re.compile(r"^(?:[.·…]{3,}|[-_=─━]{3,})$")  # leader dots and rules typed as text: no cell content
_FIGURE = re.compile(r"(?<![\w.,/:])[(£$€+\-–—−]?\d[\d,.]*%?\)?(?![\w/:])")  # a date or time is one value


def _is_numeric_single(text: str) -> bool:
    """One figure, possibly printed with a space as thousands separator (``98 452``)."""
    return bool(re.fullmatch(r"[(£$€+\-–—−]?\d{1,3}( \d{3})+([.,]\d+)?%?\)?", text.strip()))

RULED_SETTINGS = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "snap_tolerance": 3,
    "join_tolerance": 3,
    "intersection_tolerance": 3,
    "edge_min_length": 3,
}


@dataclass
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    chars: list = field(default_factory=list, repr=False)

    @property
    def xc(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def yc(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class Line:
    words: list[Word]

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    def segments(self, gap: float) -> list[list[Word]]:
        segs: list[list[Word]] = []
        for w in self.words:
            if segs and w.x0 - segs[-1][-1].x1 < gap:
                segs[-1].append(w)
            else:
                segs.append([w])
        return segs


@dataclass
class ExtractedCell:
    page: int
    row: int
    col: int
    text: str
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass
class ExtractedTable:
    """One table: cells with their page and bounding box in the page's frame (points, top-left origin)."""

    page: int
    method: str  # ruled | unruled | markdown
    rotation: int  # degrees the content was turned to read it: 0, 90 or 270
    cells: list[ExtractedCell]
    col_edges: list[float] = field(default_factory=list)  # column boundaries in the reading frame
    header_rows: int = 0
    last_page: int = 0
    page_width: float = 0.0

    def __post_init__(self) -> None:
        self.last_page = self.last_page or self.page

    @property
    def n_rows(self) -> int:
        return 1 + max((c.row for c in self.cells), default=-1)

    @property
    def n_cols(self) -> int:
        return 1 + max((c.col for c in self.cells), default=-1)

    def add_rows(self, cells: Sequence[ExtractedCell], skip: int, page: int) -> None:
        """Append a continuation's cells below this table (its first ``skip`` rows dropped)."""
        offset = self.n_rows - skip
        self.cells.extend(ExtractedCell(c.page, c.row + offset, c.col, c.text, c.x0, c.top, c.x1, c.bottom)
                          for c in cells if c.row >= skip)
        self.last_page = page

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        first = [c for c in self.cells if c.page == self.page] or self.cells
        return (min(c.x0 for c in first), min(c.top for c in first), max(c.x1 for c in first), max(c.bottom for c in first))

    def grid(self) -> list[list[str]]:
        width = self.n_cols
        rows = [[""] * width for _ in range(self.n_rows)]
        for c in self.cells:
            rows[c.row][c.col] = c.text
        return rows

    def assess(self) -> tuple[float, list[str]]:
        """A quality score (0..1) and the suspected faults of this table, from its grid alone.

        The score is the mean of three shares over the body rows (below the header): cells holding one value
        (not two figures run together, which is what a lost column separator leaves), rows filling as many
        columns as the fullest usual row (a merged or split row leaves a ragged one), and cells of one line
        or of text (stacked figures in one cell are rows merged). Faults: ``merged columns`` when more than
        one body row in ten has two figures in one cell, ``merged rows`` when a cell stacks figures on
        several lines, ``sparse`` when fewer than half the body cells hold anything.
        """
        grid = self.grid()
        body = [row for row in grid[self.header_rows:] if any(row)] or [row for row in grid if any(row)]
        cells = [t for row in body for t in row if t]
        if not body or not cells:
            return 0.0, ["empty"]
        pair = [t for t in cells if len(_FIGURE.findall(t)) >= 2 and not _is_numeric_single(t)]
        stacked = [t for t in cells if "\n" in t and all(_is_numeric(x) for x in t.split("\n"))]
        filled = sorted(sum(1 for t in row if t) for row in body)
        usual = filled[int(0.8 * (len(filled) - 1))]
        regular = sum(1 for n in filled if n >= usual or n == 1) / len(filled)  # one-cell rows: headings
        single = 1 - len(pair) / len(cells)
        one_line = 1 - len(stacked) / len(cells)
        faults = []
        rows_with_pair = sum(1 for row in body if any(t in pair for t in row if t))
        if rows_with_pair > max(1, 0.1 * len(body)):
            faults.append("merged columns")
        if stacked:
            faults.append("merged rows")
        if len(cells) < 0.5 * len(body) * max(1, self.n_cols):
            faults.append("sparse")
        return round((single + regular + one_line) / 3, 3), faults


# --- orientation --------------------------------------------------------------------------------

def _direction(char: dict) -> str:
    if char.get("upright", True):
        return "upright"
    a, b = char["matrix"][0], char["matrix"][1]
    if abs(b) > abs(a):
        return "down" if b < 0 else "up"  # screen advance (a, -b): b < 0 runs downwards
    return "upright" if a >= 0 else "inverted"


class _Frame:
    """A quarter turn of the page frame: ``to_view`` turns boxes so the text reads left to right."""

    def __init__(self, turn: str, width: float, height: float):
        self.turn, self.w, self.h = turn, width, height

    @property
    def degrees(self) -> int:
        return {"upright": 0, "down": 90, "up": 270}[self.turn]

    @property
    def size(self) -> tuple[float, float]:
        return (self.w, self.h) if self.turn == "upright" else (self.h, self.w)

    def to_view(self, x0: float, top: float, x1: float, bottom: float) -> tuple[float, float, float, float]:
        if self.turn == "down":
            return top, self.w - x1, bottom, self.w - x0
        if self.turn == "up":
            return self.h - bottom, x0, self.h - top, x1
        return x0, top, x1, bottom

    def to_page(self, x0: float, top: float, x1: float, bottom: float) -> tuple[float, float, float, float]:
        if self.turn == "down":
            return self.w - bottom, x0, self.w - top, x1
        if self.turn == "up":
            return top, self.h - x1, bottom, self.h - x0
        return x0, top, x1, bottom


def _oriented(page) -> tuple[Any, _Frame, list[dict]]:
    """The page as read (turned when its text runs sideways), its frame, and its upright chars."""
    chars = list(page.chars)
    frame = _Frame("upright", float(page.width), float(page.height))
    counts: dict[str, int] = {}
    for c in chars:
        if c["text"].strip():
            d = _direction(c)
            counts[d] = counts.get(d, 0) + 1
    turn = max(counts, key=counts.get) if counts else "upright"
    if turn not in ("down", "up") or counts.get("upright", 0) >= counts[turn]:
        return page, frame, [c for c in chars if _direction(c) == "upright"]
    frame = _Frame(turn, float(page.width), float(page.height))
    x_off, y_off = float(page.bbox[0]), float(page.bbox[1])
    new_chars = []
    for c in chars:
        if _direction(c) != turn:
            continue
        x0, top, x1, bottom = frame.to_view(c["x0"] - x_off, c["top"] - y_off, c["x1"] - x_off, c["bottom"] - y_off)
        new_chars.append({**c, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
                          "upright": True, "width": x1 - x0, "height": bottom - top})
    new_lines = []
    for e in page.edges:
        x0, top, x1, bottom = frame.to_view(e["x0"] - x_off, e["top"] - y_off, e["x1"] - x_off, e["bottom"] - y_off)
        if e["orientation"] == "v":  # becomes horizontal
            mid = (top + bottom) / 2
            top = bottom = mid
        elif e["orientation"] == "h":
            mid = (x0 + x1) / 2
            x0 = x1 = mid
        else:
            continue
        new_lines.append({"object_type": "line", "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
                          "width": x1 - x0, "height": bottom - top, "y0": 0, "y1": 0, "pts": [], "linewidth": 1})
    view = FilteredPage(page, lambda _obj: True)
    view._objects = {"char": new_chars, "line": new_lines, "rect": [], "curve": [], "image": []}
    width, height = frame.size
    view.bbox = (0, 0, width, height)
    return view, frame, new_chars


# --- words and lines ----------------------------------------------------------------------------

def _words(chars: list[dict]) -> list[Word]:
    """Chars joined into words (a space, or a gap wider than ~a quarter of the glyph height, splits), in line order."""
    if not chars:
        return []
    words: list[Word] = []
    for line in _cluster_chars(chars):
        line.sort(key=lambda c: c["x0"])
        cur: list[dict] = []
        for c in line:
            if not c["text"].strip():
                if cur:
                    words.append(_word(cur))
                    cur = []
                continue
            if cur:
                prev = cur[-1]
                h = max(prev["bottom"] - prev["top"], 1.0)
                if c["x0"] - prev["x1"] > 0.22 * h or c["x0"] < prev["x0"] - 0.5:
                    words.append(_word(cur))
                    cur = []
            cur.append(c)
        if cur:
            words.append(_word(cur))
    return words


def _word(chars: list[dict]) -> Word:
    return Word("".join(c["text"] for c in chars), min(c["x0"] for c in chars), max(c["x1"] for c in chars),
                min(c["top"] for c in chars), max(c["bottom"] for c in chars), chars)


def _split_at(words: Sequence[Word], rules: dict[float, list[tuple[float, float]]]) -> list[Word]:
    """Words cut at vertical rules they run over, where the rule is drawn (text clipped by its cell runs into the next)."""
    out = []
    for w in words:
        cuts = [x for x, spans in rules.items() if w.x0 < x - 0.8 and w.x1 > x + 0.8
                and any(t - 1 <= w.yc <= b + 1 for t, b in spans)]
        if not cuts or not w.chars:
            out.append(w)
            continue
        bounds = [float("-inf"), *sorted(cuts), float("inf")]
        for a, b in zip(bounds, bounds[1:]):
            part = [c for c in w.chars if a <= (c["x0"] + c["x1"]) / 2 < b]
            if part:
                out.append(_word(part))
    return out


def _cluster_chars(chars: list[dict]) -> list[list[dict]]:
    """Chars grouped into baselines: a char joins a line when its vertical middle lies within it."""
    ordered = sorted(chars, key=lambda c: ((c["top"] + c["bottom"]) / 2, c["x0"]))
    lines: list[list[dict]] = []
    band_top = band_bottom = None
    for c in ordered:
        mid = (c["top"] + c["bottom"]) / 2
        if lines and band_top is not None and band_top - 0.5 <= mid <= band_bottom + 0.5 and abs(mid - (band_top + band_bottom) / 2) < 0.4 * max(band_bottom - band_top, c["bottom"] - c["top"]):
            lines[-1].append(c)
        else:
            lines.append([c])
            band_top, band_bottom = c["top"], c["bottom"]
    return lines


def _lines(words: Sequence[Word]) -> list[Line]:
    """Words grouped into text lines by vertical overlap, each sorted left to right."""
    lines: list[list[Word]] = []
    centre = height = 0.0
    for w in sorted(words, key=lambda w: (w.yc, w.x0)):
        # same line when the middles are close (0.4 of the taller word): lines set with tight leading stay
        # apart, a raised footnote mark stays on its line
        if lines and abs(w.yc - centre) < 0.4 * max(height, w.height):
            lines[-1].append(w)
            n = len(lines[-1])
            centre += (w.yc - centre) / n
            height = max(height, w.height)
            continue
        lines.append([w])
        centre, height = w.yc, w.height
    return [Line(sorted(ws, key=lambda w: w.x0)) for ws in lines]


def _seg_gap(lines: Sequence[Line], space: float = 0.0) -> float:
    """The least gap between two columns: wider than half a glyph height and than a word space of the font.

    A monospaced font's word space is as wide as a glyph, so a single space must not part columns there.
    """
    heights = [w.height for line in lines for w in line.words]
    return max(2.5, 0.5 * statistics.median(heights) if heights else 3.0, 1.3 * space)


def _space_width(chars: Sequence[dict]) -> float:
    """The median width of the page's space characters (0 when the text layer has none)."""
    widths = sorted(c["x1"] - c["x0"] for c in chars if c["text"] == " " and c["x1"] > c["x0"])
    return widths[len(widths) // 2] if len(widths) >= 10 else 0.0


def _is_numeric(text: str) -> bool:
    return bool(_NUMERIC.match(text.strip())) if text.strip() else False


def _running_text(line: Line) -> bool:
    """A justified line of prose: six or more words, few figures, and the gaps between them all about equal."""
    words = line.words
    if len(words) < 6 or sum(1 for w in words if _HAS_DIGIT.search(w.text)) >= 0.3 * len(words):
        return False
    gaps = [b.x0 - a.x1 for a, b in zip(words, words[1:])]
    return max(gaps) - min(gaps) < 0.5 * max(w.height for w in words)


def _tabular(line: Line, gap: float) -> bool:
    if _running_text(line):
        return False
    segs = line.segments(gap)
    if len(segs) >= 3:
        return True
    if len(segs) == 2:
        return any(_HAS_DIGIT.search(" ".join(w.text for w in s)) for s in segs)
    return False


# --- pre-scan -----------------------------------------------------------------------------------

def _tabular_line_count(boxes: list[tuple[float, float, float, float, bool, float, float]], axis: int) -> int:
    """Lines with three or more separated runs, or two of which the first is more than a list mark.

    A line is chars whose baselines lie within ~half a glyph height (a label set in a larger font than its
    value sits a little higher or lower in the same row); a single-char first run is a list mark (a bullet,
    "o", "a") beside its item, unless the line carries a figure.
    """
    if not boxes:
        return 0
    items = sorted(((oy, x0, x1, y1 - y0, digit) if axis == 0 else (ox, y0, y1, x1 - x0, digit)
                    for x0, x1, y0, y1, digit, ox, oy in boxes))
    heights = sorted(i[3] for i in items)
    tolerance = 0.45 * heights[len(heights) // 2]
    rows: list[list[tuple[float, float, float, bool]]] = []
    base = None
    for key, a, b, h, digit in items:
        if base is None or key - base > tolerance:
            rows.append([])
            base = key
        rows[-1].append((a, b, h, digit))
    count = 0
    for runs in rows:
        if len(runs) < 3:
            continue
        runs.sort()
        gap = max(2.5, 1.0 * sorted(r[2] for r in runs)[len(runs) // 2])  # tight glyph boxes: a word space is narrower
        n, reach, first = 1, runs[0][1], 1
        for a, b, _h, _d in runs[1:]:
            if a - reach > gap:
                n += 1
            elif n == 1:
                first += 1
            reach = max(reach, b)
        if n >= 3 or (n == 2 and (first > 1 or any(r[3] for r in runs))):
            count += 1
    return count


_NO_INK = frozenset((32, 10, 13, 9, 0xA0, 0xFFFE, 0))  # codes the pre-scan does not count as text


_TEXT_CALLS = {  # pdfium's per-char text functions and what they return
    "FPDFText_GetUnicode": ctypes.c_uint, "FPDFText_GetCharBox": ctypes.c_int, "FPDFText_GetCharOrigin": ctypes.c_int,
    "FPDFText_GetLooseCharBox": ctypes.c_int, "FPDFText_GetMatrix": ctypes.c_int, "FPDFText_GetFontSize": ctypes.c_double,
    "FPDFText_IsGenerated": ctypes.c_int,
}


@functools.cache
def _text_calls() -> dict[str, Any]:
    """pdfium's per-char text functions, called without ctypes' argument conversion when the library is at hand.

    A page of a table has thousands of chars and each takes several calls; ctypes' checking of each argument
    is half a call's cost. Unchecked, every argument must be a C value: the text page handle (a ctypes
    pointer), ints, and ``ctypes.byref`` of the out values. Falls back to pypdfium2's checked functions.
    """
    import pypdfium2.raw as raw

    try:
        from pypdfium2_raw.bindings import _libs

        calls = {name: _unchecked(_libs["pdfium"], name, restype) for name, restype in _TEXT_CALLS.items()}
    except (ImportError, KeyError, AttributeError, TypeError):
        return {name: getattr(raw, name) for name in _TEXT_CALLS}
    return calls


def _unchecked(library, name: str, restype):
    function = library[name]  # a fresh function object: pypdfium2's own keeps its checks
    function.restype = restype
    return function


def char_codes(textpage) -> list[int]:
    """The unicode of each char of a pypdfium2 text page, by index (read once for the pre-scan and the chars)."""
    get_code, handle = _text_calls()["FPDFText_GetUnicode"], textpage.raw
    return [get_code(handle, i) for i in range(textpage.count_chars())]


def scan_textpage(textpage) -> tuple[dict, list[int]]:
    """The pre-scan of one page (``chars``: its text chars, ``tabular_lines``), and its :func:`char_codes`."""
    calls = _text_calls()
    codes = char_codes(textpage)
    get_box, get_origin, handle = calls["FPDFText_GetCharBox"], calls["FPDFText_GetCharOrigin"], textpage.raw
    l, r, b, t, ox, oy = (ctypes.c_double() for _ in range(6))
    l_out, r_out, b_out, t_out, ox_out, oy_out = (ctypes.byref(v) for v in (l, r, b, t, ox, oy))
    boxes = []
    for j, code in enumerate(codes):
        if code in _NO_INK or not get_box(handle, j, l_out, r_out, b_out, t_out):
            continue
        get_origin(handle, j, ox_out, oy_out)
        boxes.append((l.value, r.value, b.value, t.value, 48 <= code <= 57, ox.value, oy.value))
    # text on a /Rotate page, or a sideways table, runs along y in pdfium's frame: read along the axis
    # that consecutive chars share
    along_x = sum(1 for a, b in zip(boxes, boxes[1:]) if abs(a[6] - b[6]) < 1)
    along_y = sum(1 for a, b in zip(boxes, boxes[1:]) if abs(a[5] - b[5]) < 1)
    tabular = _tabular_line_count(boxes, 0 if along_x >= along_y else 1) if boxes else 0
    return {"chars": len(boxes), "tabular_lines": tabular}, codes


# --- regions ------------------------------------------------------------------------------------

@dataclass
class _Region:
    bbox: tuple[float, float, float, float]
    method: str
    v_rules: list[float] = field(default_factory=list)
    h_rules: list[float] = field(default_factory=list)
    cells: list[tuple[float, float, float, float]] = field(default_factory=list)  # ruled cells (pdfplumber)


def _inside(w: Word, bbox: tuple[float, float, float, float], pad: float = 1.0) -> bool:
    x0, top, x1, bottom = bbox
    return x0 - pad <= w.xc <= x1 + pad and top - pad <= w.yc <= bottom + pad


def intersections_to_cells(intersections: dict) -> list[tuple] | None:
    """pdfplumber's ``table.intersections_to_cells`` (each rule crossing's smallest enclosing cell, in the same
    order), without its quadratic search: the crossings below and right of each are read from its column and
    row, and each crossing's rules are made sets once. None when a coordinate is not a number (NaN), whose
    comparisons only pdfplumber's own search reproduces.
    """
    from pdfplumber.utils import obj_to_bbox

    points = sorted(intersections)
    if any(v != v for p in points for v in p):
        return None
    vs = {p: {obj_to_bbox(e) for e in d["v"]} for p, d in intersections.items()}
    hs = {p: {obj_to_bbox(e) for e in d["h"]} for p, d in intersections.items()}
    columns: dict[float, list[tuple]] = {}
    rows: dict[float, list[tuple]] = {}
    for p in points:
        columns.setdefault(p[0], []).append(p)
        rows.setdefault(p[1], []).append(p)
    in_column = {p: k for column in columns.values() for k, p in enumerate(column)}
    in_row = {p: k for row in rows.values() for k, p in enumerate(row)}
    cells = []
    for p in points:
        below = columns[p[0]][in_column[p] + 1:]  # the later points of its column (sorted: below it)
        right = rows[p[1]][in_row[p] + 1:]  # the later points of its row (right of it)
        cell = _smallest_cell(p, below, right, vs, hs)
        if cell is not None:
            cells.append(cell)
    return cells


def _smallest_cell(p: tuple, below: list, right: list, vs: dict, hs: dict) -> tuple | None:
    """The first cell (in pdfplumber's order) with ``p`` its top-left corner, all four sides on shared rules."""
    for b in below:
        if vs[p].isdisjoint(vs[b]):
            continue
        for r in right:
            if hs[p].isdisjoint(hs[r]):
                continue
            corner = (r[0], b[1])
            if corner in vs and not vs[corner].isdisjoint(vs[r]) and not hs[corner].isdisjoint(hs[b]):
                return (p[0], p[1], corner[0], corner[1])
    return None


def find_tables(view, settings: dict) -> list:
    """``view.find_tables(settings)``, with the cells found by :func:`intersections_to_cells`.

    Follows pdfplumber's ``TableFinder`` step by step (edges, crossings, cells, tables); falls back to
    ``view.find_tables`` when pdfplumber's table module no longer has those steps.
    """
    try:
        from pdfplumber.table import Table, TableFinder, TableSettings, cells_to_tables, edges_to_intersections
    except ImportError:
        return view.find_tables(settings)
    if not hasattr(TableFinder, "get_edges"):
        return view.find_tables(settings)
    finder = TableFinder.__new__(TableFinder)
    finder.page, finder.settings = view, TableSettings.resolve(settings)
    finder.edges = finder.get_edges()
    finder.intersections = edges_to_intersections(finder.edges, finder.settings.intersection_x_tolerance,
                                                  finder.settings.intersection_y_tolerance)
    finder.cells = intersections_to_cells(finder.intersections)
    if finder.cells is None:
        return view.find_tables(settings)
    return [Table(view, group) for group in cells_to_tables(finder.cells)]


def _ruled_regions(view, settings: dict | None = None) -> list[_Region]:
    regions: list[_Region] = []
    try:
        found = find_tables(view, {**RULED_SETTINGS, **(settings or {})})
    except Exception:  # noqa: BLE001 - a malformed drawing must not stop the text strategy
        return regions
    for t in found:
        if len(t.cells) < 2:
            continue
        xs = sorted({round(v, 1) for c in t.cells for v in (c[0], c[2])})
        ys = sorted({round(v, 1) for c in t.cells for v in (c[1], c[3])})
        regions.append(_Region(tuple(t.bbox), "ruled", xs, ys, list(t.cells)))
    return regions


def _gutter(words: Sequence[Word], width: float, space: float = 0.0) -> float | None:
    """The x of a gutter between two columns of text: a channel near the middle that almost no line crosses."""
    if len(words) < 40:
        return None
    lines = _lines(words)
    bins = [0] * (int(width // 2) + 2)
    for line in lines:
        covered = set()
        for w in line.words:
            covered.update(range(max(0, int(w.x0 // 2)), min(len(bins), int(w.x1 // 2) + 1)))
        for b in covered:
            bins[b] += 1
    allowed = max(2, int(0.05 * len(lines)))
    best, run_start = None, None
    lo, hi = int(0.3 * width // 2), int(0.7 * width // 2)
    for b in range(lo, hi + 2):
        free = b <= hi and bins[b] <= allowed
        if free and run_start is None:
            run_start = b
        elif not free and run_start is not None:
            if b - run_start >= 3 and (best is None or b - run_start > best[1] - best[0]):
                best = (run_start, b)
            run_start = None
    if best is None:
        return None
    mid = (best[0] + best[1])  # bins are 2 pt wide: (a + b) / 2 * 2
    left = sum(1 for w in words if w.xc < mid)
    right = len(words) - left
    if left < 15 or right < 15:
        return None
    # a gutter is a page layout only beside running text: a channel between columns of labels and figures
    # is a wide table's own whitespace
    gap = _seg_gap(lines, space)
    prose = sum(1 for line in lines if (line.x1 < mid or line.x0 > mid) and _prose_line(line, gap))
    return mid if prose >= 5 else None


def _prose_line(line: Line, gap: float) -> bool:
    """A line of running text: one run of five or more words, mostly not figures."""
    if len(line.segments(gap)) != 1 or len(line.words) < 5:
        return False
    return sum(1 for w in line.words if _HAS_DIGIT.search(w.text)) < 0.3 * len(line.words)


def _unruled_regions(words: Sequence[Word], width: float, space: float = 0.0) -> list[_Region]:
    mid = _gutter(words, width, space)
    groups = [list(words)] if mid is None else [[w for w in words if w.xc < mid], [w for w in words if w.xc >= mid]]
    regions = []
    for group in groups:
        lines = _lines(group)
        if not lines:
            continue
        gap = _seg_gap(lines, space)
        heights = [line.bottom - line.top for line in lines]
        pitch = statistics.median(heights) if heights else 10
        flags = [_tabular(line, gap) for line in lines]
        i = 0
        while i < len(lines):
            if not flags[i]:
                i += 1
                continue
            start = end = i
            j = i + 1
            while j < len(lines):
                if lines[j].top - lines[j - 1].bottom > 2.5 * pitch:
                    break
                if flags[j]:
                    end = j
                elif not any(flags[j + 1:j + 4]):  # up to three lines of headings or wrapped labels inside a table
                    break
                j += 1
            if sum(flags[start:end + 1]) >= 3:
                # header lines just above: two or more segments, close to the region; or the top line of a
                # wrapped column heading (one short piece set with no more than normal leading)
                width = max(line.x1 for line in lines[start:end + 1]) - min(line.x0 for line in lines[start:end + 1])
                k = start - 1
                while k >= 0 and start - k <= 5 and lines[k + 1].top - lines[k].bottom < 1.5 * pitch \
                        and (len(lines[k].segments(gap)) >= 2 or (
                            lines[k + 1].top - lines[k].bottom < 0.5 * pitch and k + 1 < start
                            and lines[k].x1 - lines[k].x0 < 0.3 * width)):
                    k -= 1
                chosen = lines[k + 1:end + 1]
                regions.append(_Region((min(line.x0 for line in chosen), min(line.top for line in chosen),
                                        max(line.x1 for line in chosen), max(line.bottom for line in chosen)), "unruled"))
            i = end + 1
    return regions


# --- grid ---------------------------------------------------------------------------------------

def _body_lines(lines: Sequence[Line], gap: float) -> list[Line]:
    """The lines that define the columns: the fullest ones, preferring those carrying figures."""
    segs = [line.segments(gap) for line in lines]
    counts = [len(s) for s in segs]
    multi = [c for c in counts if c >= 2]
    if not multi:
        return []
    # lines carrying figures define the columns (a header set justified in its cells can have more
    # separated pieces than any body line); the fullest lines when there are too few of them
    with_figures = [i for i, c in enumerate(counts)
                    if c >= 2 and sum(_is_numeric(" ".join(w.text for w in sg)) for sg in segs[i]) >= c / 3]
    if len(with_figures) >= 3:
        threshold = max(2, int(0.6 * max(counts[i] for i in with_figures)))
        return [lines[i] for i in with_figures if counts[i] >= threshold]
    threshold = max(2, int(0.6 * max(multi)))
    full = [i for i, c in enumerate(counts) if c >= threshold]
    numeric = [i for i in full if sum(_is_numeric(" ".join(w.text for w in sg)) for sg in segs[i]) >= len(segs[i]) / 3]
    chosen = numeric if len(numeric) >= 3 else full
    return [lines[i] for i in chosen]


def _column_edges(lines: Sequence[Line], gap: float, v_rules: Sequence[float], bbox,
                  cells: Sequence[tuple[float, float, float, float]] = ()) -> list[float]:
    """Column separators: whitespace channels of the fullest lines, and vertical rules that cross no word.

    A rule is tested only against words beside it (within the rows its segments span), so a title above
    the ruled grid does not cancel the grid's column rules.
    """
    body = _body_lines(lines, gap)
    separators: list[float] = []
    channels: list[tuple[float, float]] = []
    if body:
        # a channel is whitespace in (almost) every body line: one line in ten may cross it (a centred
        # heading over a column of figures, an over-long label), so one stray line does not merge columns
        min_channel = 0.25 * statistics.median(w.height for line in body for w in line.words)
        lo = int(min(line.x0 for line in body)) - 1
        hi = int(max(line.x1 for line in body)) + 2
        ink = [0] * (hi - lo + 1)
        for line in body:
            covered = [False] * len(ink)
            for w in line.words:
                for k in range(int(w.x0) - lo, int(w.x1) - lo + 1):
                    covered[k] = True
            for k, c in enumerate(covered):
                ink[k] += c
        allowed = len(body) // 10
        start = None
        for k, n in enumerate(ink):
            if n <= allowed and start is None:
                start = k
            elif n > allowed and start is not None:
                if start > 0 and k - start >= min_channel:
                    channels.append((start + lo, k + lo))
                start = None
    all_words = [w for line in lines for w in line.words]
    rules = []
    for x in v_rules:
        if x <= bbox[0] + 1 or x >= bbox[2] - 1:
            continue
        spans = _merged_spans([(c[1] - 1, c[3] + 1) for c in cells if abs(c[0] - x) < 0.6 or abs(c[2] - x) < 0.6])
        beside = [w for w in all_words if not spans or _in_spans(spans, w.yc)]
        crossing = sum(1 for w in beside if w.x0 < x - 0.8 and w.x1 > x + 0.8)
        if crossing > max(3, 0.1 * len(beside)):
            continue  # a rule through text is decoration (white rules on a fill), not a column border
        if not any(w.x1 <= x + 0.8 for w in all_words) or not any(w.x0 >= x - 0.8 for w in all_words):
            continue
        rules.append(x)
    separators = list(rules)
    heights = [w.height for w in all_words]
    # in a box with its own column rules, a whitespace channel must be wide to make a column of its own
    # (a wrapped cell's last word can leave a narrow, accidental one)
    min_width = 1.5 * statistics.median(heights) if len(rules) >= 2 and heights else 0.0
    for a, b in channels:
        if not any(a - 1 <= x <= b + 1 for x in rules) and b - a >= min_width:
            separators.append((a + b) / 2)
    separators = sorted(separators)
    merged: list[float] = []
    for x in separators:
        if merged and x - merged[-1] < 1.0:
            continue
        merged.append(x)
    return merged


def _merged_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping intervals joined, sorted by start."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _in_spans(spans: Sequence[tuple[float, float]], y: float) -> bool:
    """Whether ``y`` lies in one of the sorted, disjoint intervals ``spans``."""
    i = bisect.bisect_right(spans, (y, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= y <= spans[i][1]


def _merge_wrapped(rows: list[list[Line]], h_rules: Sequence[float], col_of) -> list[list[Line]]:
    """Join a wrapped cell's stray line to the row it belongs to.

    A line with text in only one or two columns, no figures, closer to a neighbouring row than rows are to
    each other, with no rule between them, and whose columns that row also fills (a supplier name wrapped
    onto two lines beside single-line cells), joins that row; section headings (further away, or ruled
    off) stay rows of their own.
    """
    if len(rows) < 4:
        return rows
    centres = [(g[0].top + g[-1].bottom) / 2 for g in rows]
    filled = [{col_of(w) for line in g for w in line.words} for g in rows]
    typical = sorted(len(f) for f in filled)[len(filled) // 2]
    full = [len(f) * 2 >= typical for f in filled]
    # the pitch of rows proper: between neighbouring rows that are both well filled
    pitches = sorted(centres[k + 1] - centres[k] for k in range(len(rows) - 1) if full[k] and full[k + 1])
    if not pitches:
        return rows
    pitch = pitches[len(pitches) // 2]
    rules = sorted(h_rules)

    def ruled_apart(a: int, b: int) -> bool:
        lo, hi = sorted((centres[a], centres[b]))
        return any(lo < y < hi for y in rules)

    merged: list[list[Line]] = []
    target_of: dict[int, int] = {}
    for i, group in enumerate(rows):
        words = [w for line in group for w in line.words]
        sparse = len(group) == 1 and 1 <= len(filled[i]) <= 2 and len(filled[i]) * 2 < typical \
            and not any(_is_numeric(w.text) for w in words)
        choice = None
        if sparse:
            # a fragment in the first column may be a section heading: only a close one joins a row;
            # one in a later column is a wrapped cell (wrapped text starts above a row: ties go below)
            reach = 0.8 * pitch if 0 in filled[i] else 1.2 * pitch
            candidates = [j for j in (i + 1, i - 1) if 0 <= j < len(rows) and full[j] and not ruled_apart(i, j)
                          and filled[i] <= filled[j] and abs(centres[j] - centres[i]) < reach]
            if candidates:
                choice = min(candidates, key=lambda j: abs(centres[j] - centres[i]) - (0.1 * pitch if j > i else 0))
        target_of[i] = choice if choice is not None else i
    for i, group in enumerate(rows):
        if target_of[i] == i:
            merged.append([*[ln for k in range(len(rows)) if target_of[k] == i and k < i for ln in rows[k]], *group,
                           *[ln for k in range(len(rows)) if target_of[k] == i and k > i for ln in rows[k]]])
    return merged


def _continue_rows(rows: list[list[Line]], h_rules: Sequence[float], col_of,
                   cells: Sequence[tuple[float, float, float, float]] = ()) -> list[list[Line]]:
    """Join the continuation lines of multi-line cells to the row they continue.

    In a table whose rows start with a row label (a quarter of its lines or more: a label's row may wrap
    over several lines), a line with no label and no cell holding a figure, set close under the row above
    (no wider than a line space, no rule across its text between) and filling only columns that row fills,
    is the wrapped text of that row's cells. Header rows (above the first row with a figure) are left alone.
    """
    if len(rows) < 3:
        return rows
    filled = [{col_of(w) for line in g for w in line.words} for g in rows]
    numeric = [_has_figure_cell(g, col_of) for g in rows]
    first_body = next((i for i, g in enumerate(rows) if any(_is_numeric(w.text) for line in g for w in line.words
                                                            if col_of(w) > 0)), 1)
    first_body = max(first_body, 1)
    labelled = sum(1 for f in filled[first_body:] if 0 in f)
    if labelled < 0.25 * len(rows[first_body:]):
        return rows
    heights = sorted(line.bottom - line.top for g in rows for line in g)
    pitch = heights[len(heights) // 2]
    rules = sorted(h_rules)
    out: list[list[Line]] = []
    out_filled: list[set[int]] = []
    for i, group in enumerate(rows):
        if out and i > first_body and 0 not in filled[i] and not numeric[i] and filled[i] \
                and len(out_filled[-1]) >= 2 and 0 in out_filled[-1] and filled[i] <= out_filled[-1]:
            above = out[-1][-1].bottom
            below = group[0].top
            x0, x1 = min(w.x0 for line in group for w in line.words), max(w.x1 for line in group for w in line.words)
            if below - above < 1.0 * pitch and not any(above - 1 < y < below + 1 and _rule_spans(cells, y, x0, x1)
                                                       for y in rules):
                out[-1] = [*out[-1], *group]
                continue
        out.append(list(group))
        out_filled.append(set(filled[i]))
    return out


def _rule_spans(cells: Sequence[tuple[float, float, float, float]], y: float, x0: float, x1: float) -> bool:
    """Whether the horizontal rule at ``y`` runs over the text between ``x0`` and ``x1`` (True without cells).

    A rule drawn under one column only (the edge of a shaded label column) does not part the lines of the
    columns beside it.
    """
    if not cells:
        return True
    return any((abs(c[1] - y) < 0.6 or abs(c[3] - y) < 0.6) and c[0] < x1 - 1 and c[2] > x0 + 1 for c in cells)


def _has_figure_cell(group: Sequence[Line], col_of) -> bool:
    """Whether a line (or row of lines) has a cell holding a figure alone (a number inside a phrase is text)."""
    for line in group:
        cells: dict[int, list[str]] = {}
        for w in line.words:
            cells.setdefault(col_of(w), []).append(w.text)
        if any(_is_numeric(" ".join(t)) for t in cells.values()):
            return True
    return False


def _row_groups(lines: Sequence[Line], h_rules: Sequence[float], col_of) -> list[list[Line]]:
    """Rows: each line, except lines sharing a ruled band that reads as one multi-line cell."""
    if not h_rules:
        return [[line] for line in lines]
    rules = sorted(h_rules)
    bands: dict[int, list[Line]] = {}
    for line in lines:
        mid = (line.top + line.bottom) / 2
        bands.setdefault(bisect.bisect_left(rules, mid), []).append(line)
    rows: list[list[Line]] = []
    for key in sorted(bands):
        band = bands[key]
        beyond_label = [i for i, line in enumerate(band) if any(col_of(w) > 0 for w in line.words)]
        if len(band) > 1 and len(beyond_label) == 1 and beyond_label[0] == 0:
            rows.append(band)  # one ruled row whose label wraps over several lines under its values
            continue
        if len(band) == 1 or (len(band) > 6 and len(bands) < 4):  # a long band: a table ruled only at its header
            rows += [[line] for line in band]
            continue
        per_col: dict[int, set[int]] = {}
        for i, line in enumerate(band):
            for w in line.words:
                per_col.setdefault(col_of(w), set()).add(i)
        full = sum(1 for s in per_col.values() if len(s) == len(band))
        labelled = sorted(per_col.get(0, set()))
        if full >= max(2, 0.5 * len(per_col)) and len(labelled) == len(band):
            rows += [[line] for line in band]
        elif full >= max(2, 0.5 * len(per_col)) and labelled and labelled[0] == 0 and len(labelled) > 1:
            # rows start at the lines carrying a row label; a line without one continues the row above
            starts = [*labelled, len(band)]
            rows += [band[a:b] for a, b in zip(starts, starts[1:])]
        elif len(labelled) > 1 and labelled[0] == 0 and all(k - 1 not in labelled or k - 1 not in beyond_label
                                                             for k in labelled[1:]):
            # labels each on one line, the lines under a label (no label of their own) carrying its row's
            # wrapped cells: a row starts at each label (a label line with nothing beside it is a heading row)
            starts = [*labelled, len(band)]
            rows += [band[a:b] for a, b in zip(starts, starts[1:])]
        else:
            rows.append(band)
    return rows


def _grid_cells(page_number: int, region: _Region, words: Sequence[Word], frame: _Frame, space: float = 0.0,
                drawn: Sequence[tuple[float, float, float]] | None = None):
    lines = _lines([w for w in words if _inside(w, region.bbox)])
    if len(lines) < 2:
        return None
    gap = _seg_gap(lines, space)
    edges = _column_edges(lines, gap, region.v_rules, region.bbox, region.cells)
    rule_spans = {x: [(c[1], c[3]) for c in region.cells if abs(c[0] - x) < 0.6 or abs(c[2] - x) < 0.6] for x in edges}
    rule_spans = {x: spans for x, spans in rule_spans.items() if spans}
    if rule_spans:
        before = [w for line in lines for w in line.words]
        after = _split_at(before, rule_spans)
        if len(after) != len(before):
            lines = _lines(after)

    body = {id(line) for line in _body_lines(lines, gap)}
    rules = sorted(region.v_rules)
    assigned: dict[int, int] = {}
    phrases: list[tuple[Line, list[Word]]] = []
    for line in lines:
        if id(line) in body:
            continue
        # headers, section rows and sparse rows: a phrase (words a space apart) stays in the column it
        # starts in, so a heading spanning columns is not cut into pieces; it never crosses a rule
        phrase_start = None
        prev = None
        for w in line.words:
            # a rule parts a phrase beside it or below where it is drawn (header rules carry on down the body),
            # not a heading above the rule's top, which spans the columns it rules
            new_phrase = prev is None or w.x0 - prev.x1 > 0.45 * max(w.height, 1.0) or any(
                prev.x1 <= x <= w.x0 and _drawn_above(region.cells, x, w.yc) for x in rules)
            if new_phrase:
                phrase_start = bisect.bisect_left(edges, w.xc)
                phrase: list[Word] = []
                phrases.append((line, phrase))
            phrase.append(w)
            if len(phrase) > 1 and bisect.bisect_left(edges, w.xc) != phrase_start:
                # a phrase running over a separator: a heading spanning columns. In a ruled cell, it belongs to
                # the first column the cell spans; otherwise to the column it starts in
                enclosing = [c for c in region.cells if c[0] <= phrase[0].xc <= c[2] and c[1] <= phrase[0].yc <= c[3]]
                if enclosing:
                    smallest = min(enclosing, key=lambda c: (c[2] - c[0]) * (c[3] - c[1]))
                    start = bisect.bisect_left(edges, smallest[0] + 1.0)
                    for pw in phrase:
                        assigned[id(pw)] = start
                    phrase_start = start
            assigned[id(w)] = phrase_start
            prev = w

    spanning: set[int] = set()
    if body:
        spanning = _place_headings(lines, body, phrases, edges, assigned, place=region.method == "unruled")

    def col_of(w: Word) -> int:
        return assigned.get(id(w), bisect.bisect_left(edges, w.xc)) if assigned else bisect.bisect_left(edges, w.xc)

    h_rules = region.h_rules
    if drawn is not None:  # rows are parted by drawn rules, not by the sides of shaded areas
        h_rules = [y for y in h_rules if any(abs(y - dy) < 1.5 for dy, _a, _b in drawn)]
    rows = _merge_wrapped(_row_groups(lines, h_rules, col_of), h_rules, col_of)
    rows = _continue_rows(rows, region.h_rules, col_of, region.cells)
    rows = _stack_headings(rows, spanning, col_of, region.h_rules, region.cells, drawn)
    n_cols = len(edges) + 1
    texts: list[list[list[Word]]] = [[[] for _ in range(n_cols)] for _ in rows]
    for r, group in enumerate(rows):
        for line in group:
            for w in line.words:
                texts[r][col_of(w)].append(w)
    if region.cells:
        _lift_spanning_cells(texts, rows, region.cells)
    _fold_spanning_headings(texts)
    _fold_list_marks(texts)
    keep_cols = [c for c in range(n_cols) if any(texts[r][c] for r in range(len(rows)))]
    keep_rows = [r for r in range(len(rows)) if any(texts[r][c] for c in keep_cols)]
    if len(keep_cols) < 2 or len(keep_rows) < 2:
        return None
    bounds = [region.bbox[0], *edges, region.bbox[2]]
    cells = []
    for ri, r in enumerate(keep_rows):
        row_top = min(line.top for line in rows[r])
        row_bottom = max(line.bottom for line in rows[r])
        for ci, c in enumerate(keep_cols):
            ws = texts[r][c]
            if ws:
                by_line: list[str] = []
                members = {id(w) for w in ws}
                for line in rows[r]:
                    part = " ".join(w.text for w in line.words if id(w) in members)
                    if part:
                        by_line.append(part)
                if sum(len(part.split(" ")) for part in by_line) < len(ws):  # words lifted from rows below
                    by_line = [" ".join(w.text for w in line.words) for line in _lines(ws)]
                text = "\n".join(by_line)
                box = (min(w.x0 for w in ws), min(w.top for w in ws), max(w.x1 for w in ws), max(w.bottom for w in ws))
            else:
                text = ""
                box = (bounds[c], row_top, bounds[c + 1], row_bottom)
            x0, top, x1, bottom = frame.to_page(*box)
            cells.append(ExtractedCell(page_number, ri, ci, text, round(x0, 2), round(top, 2), round(x1, 2), round(bottom, 2)))
    col_edges = [edges[c] for c in keep_cols[:-1] if c < len(edges)]
    table = ExtractedTable(page_number, region.method, frame.degrees, cells, col_edges, page_width=frame.size[0])
    filled = sum(1 for c in cells if c.text)
    if filled < 0.3 * len(cells):
        return None
    if region.method == "unruled" and _reads_like_prose([c.text for c in cells if c.text]):
        return None
    table.header_rows = _header_rows(table.grid())
    return table


def _lift_spanning_cells(texts: list[list[list[Word]]], rows: Sequence[Sequence[Line]],
                         cells: Sequence[tuple[float, float, float, float]]) -> None:
    """The text of a ruled cell spanning several rows goes to the first row it spans.

    A label in a cell merged over two rows (a "Count" and a "Percentage" line beside it) is centred or
    wrapped over both; it labels the rows from the first. Only a cell whose text is one block (lines at
    normal leading) is lifted: blocks parted by a blank line are rows of their own in a section's cell.
    """
    centres = [(min(line.top for line in g) + max(line.bottom for line in g)) / 2 for g in rows]
    bounds = sorted({round(y, 1) for k in cells for y in (k[1], k[3])})

    def spans_rules(k) -> bool:  # other cells are ruled between the rows this one spans
        i = bisect.bisect_right(bounds, k[1] + 1)
        return i < len(bounds) and bounds[i] < k[3] - 1

    def encloses(k, w: Word) -> bool:
        return k[0] - 1 <= w.xc <= k[2] + 1 and k[1] - 1 <= w.yc <= k[3] + 1

    tall = [k for k in cells if spans_rules(k)]
    if not tall:
        return

    def smallest(w: Word):
        if not any(encloses(k, w) for k in tall):
            return None
        return min((k for k in cells if encloses(k, w)), key=lambda k: (k[2] - k[0]) * (k[3] - k[1]))

    for c in range(len(texts[0]) if texts else 0):
        by_cell: dict[tuple, list[tuple[int, Word]]] = {}
        for r in range(len(texts)):
            for w in texts[r][c]:
                k = smallest(w)
                if k is not None and spans_rules(k):
                    by_cell.setdefault(k, []).append((r, w))
        for k, members in by_cell.items():
            lines = _lines([w for _, w in members])
            if any(b.top - a.bottom > 0.5 * (a.bottom - a.top) for a, b in zip(lines, lines[1:])):
                continue  # separate blocks of text: rows of their own inside a section's cell
            first = next((i for i, y in enumerate(centres) if k[1] <= y <= k[3]), None)
            if first is None:
                continue
            for r, w in members:
                if r > first:
                    texts[r][c].remove(w)
                    texts[first][c].append(w)


def _place_headings(lines: Sequence[Line], body: set[int], phrases: Sequence[tuple[Line, list[Word]]],
                    edges: Sequence[float], assigned: dict[int, int], place: bool = True) -> set[int]:
    """Column headings above an unruled body go to the one column whose body text they overlap.

    A heading is set over its column's figures (right-aligned over right-aligned figures, centred over
    centred ones), often wider than they are, so its start can lie left of the channel's middle. A heading
    overlapping the text of two or more columns spans them and keeps its place. Returns the ids of the
    heading lines holding such a spanning heading.
    """
    first_top = min(line.top for line in lines if id(line) in body)
    extents: dict[int, tuple[float, float]] = {}
    for line in lines:
        if id(line) in body:
            for w in line.words:
                c = bisect.bisect_left(edges, w.xc)
                a, b = extents.get(c, (w.x0, w.x1))
                extents[c] = (min(a, w.x0), max(b, w.x1))
    spanning: set[int] = set()
    for line, phrase in phrases:
        if line.bottom > first_top:
            continue
        x0, x1 = phrase[0].x0, phrase[-1].x1
        over = [c for c, (a, b) in extents.items() if min(x1, b) - max(x0, a) > 0]
        if len(over) == 1 and place:
            for w in phrase:
                assigned[id(w)] = over[0]
        elif len(over) > 1:
            spanning.add(id(line))
    return spanning


def _stack_headings(rows: list[list[Line]], spanning: set[int], col_of, h_rules: Sequence[float] = (),
                    cells: Sequence[tuple[float, float, float, float]] = (),
                    drawn: Sequence[tuple[float, float, float]] | None = None) -> list[list[Line]]:
    """Heading lines stacked close above the first row of figures are one heading row (wrapped headings).

    Column headings wrap over two or more lines, bottom-aligned over their columns; the lines are set with
    no more than normal leading between them. A line holding a heading that spans columns (a group heading
    over its sub-headings) or parted from the next by a rule across them stays a row of its own, and so does
    a row label alone just above the figures (a section heading of the body).
    """
    first_body = next((i for i, g in enumerate(rows)
                       if any(_is_numeric(w.text) for line in g for w in line.words if col_of(w) > 0)), 0)
    while first_body > 1 and all(col_of(w) == 0 for line in rows[first_body - 1] for w in line.words):
        first_body -= 1  # a row label alone just above the figures heads a section of the body
    if first_body < 2:
        return rows
    out = [rows[0]]
    for i in range(1, first_body):
        upper, lower = out[-1], rows[i]
        pitch = max(line.bottom - line.top for line in (*upper, *lower))
        x0 = min(w.x0 for line in (*upper, *lower) for w in line.words)
        x1 = max(w.x1 for line in (*upper, *lower) for w in line.words)
        above, below = (upper[-1].top + upper[-1].bottom) / 2, (lower[0].top + lower[0].bottom) / 2
        if drawn is None:
            ruled = any(above < y < below and _rule_spans(cells, y, x0, x1) for y in h_rules)
        else:
            ruled = any(above < y < below and a < x1 - 1 and b > x0 + 1 for y, a, b in drawn)
        if lower[0].top - upper[-1].bottom < 0.6 * pitch and not ruled \
                and not any(id(line) in spanning for line in (*upper, *lower)):
            out[-1] = [*upper, *lower]
        else:
            out.append(rows[i])
    return out + rows[first_body:]


def _drawn_above(cells: Sequence[tuple[float, float, float, float]], x: float, y: float) -> bool:
    """Whether a vertical rule at ``x`` is drawn at or above height ``y`` (an edge of a ruled cell); True without cells."""
    if not cells:
        return True
    return any((abs(c[0] - x) < 0.6 or abs(c[2] - x) < 0.6) and c[1] - 1 <= y for c in cells)


def _reads_like_prose(texts: Sequence[str]) -> bool:
    """Columns of running text (a page set in several columns), not a table: long cells, few figures."""
    words = sorted(len(t.split()) for t in texts)
    numeric = sum(1 for t in texts if _is_numeric(t))
    return words[len(words) // 2] >= 4 and numeric < 0.25 * len(texts)


def _fold_spanning_headings(texts: list[list[list[Word]]]) -> None:
    """Fold a column that holds nothing but a heading spanning it and its left neighbour into that neighbour.

    A rule or channel inside a two-level header ("Revenue" over two columns) can leave a column with no
    body text at all; its heading belongs to the first column of the span.
    """
    nonempty = [r for r in range(len(texts)) if any(texts[r])]
    grid = [[" ".join(w.text for w in cell) for cell in texts[r]] for r in nonempty]
    head = nonempty[:_header_rows(grid)] if grid else []
    body = [r for r in nonempty if r not in head]
    if len(body) < 3:
        return
    for c in range(len(texts[0]) - 1, 0, -1):
        if any(texts[r][c] for r in body) or not any(texts[r][c] for r in head):
            continue
        if any(texts[r][c] and texts[r][c - 1] for r in head):
            continue
        for r in head:
            texts[r][c - 1].extend(texts[r][c])
            texts[r][c] = []


_LIST_MARK = re.compile(r"^[•◦▪▫‣∙·►▸]$")  # bullets; ticks, crosses and dashes are values of a table of marks


def _fold_list_marks(texts: list[list[list[Word]]]) -> None:
    """Fold a column holding nothing but list marks (bullets) into the column of text to its right.

    A bulleted list inside a cell leaves a whitespace channel between the marks and their text; the marks
    start the items of the next column's cells (each set within two glyph heights of its item), they are no
    column of their own.
    """
    n_cols = len(texts[0]) if texts else 0
    for c in range(n_cols - 2, -1, -1):
        words = [w for row in texts for w in row[c]]
        if not words or not all(_LIST_MARK.match(w.text) for w in words):
            continue
        if not all(row[c + 1] for row in texts if row[c]):
            continue
        if not all(min(w.x0 for w in row[c + 1]) - max(w.x1 for w in row[c]) < 2.5 * max(w.height for w in row[c + 1])
                   for row in texts if row[c]):
            continue
        for row in texts:
            row[c + 1][:0] = row[c]
            row[c] = []


def _header_rows(grid: list[list[str]]) -> int:
    """Leading rows with no figure in any column after the first (at most three; at least one if none has figures)."""
    n = 0
    for row in grid[:3]:
        if any(_is_numeric(t) for t in row[1:]):
            break
        n += 1
    if n == len(grid[:3]) and n == len(grid):
        return 1
    if n >= len(grid):
        n = 1
    return n if any(_is_numeric(t) for row in grid for t in row) else min(1, len(grid))


def lean_objects(page) -> dict[str, list[dict]]:
    """The page's chars and drawing objects with only the keys table finding needs.

    pdfplumber's own ``Page.objects`` resolves every attribute of every object (fonts, colour spaces,
    marked content): about half of a page's parse time. The geometry here is computed exactly as
    pdfplumber computes it, so its table finder works on these objects unchanged.
    """
    from pdfminer.layout import LTChar, LTContainer, LTCurve, LTLine, LTRect

    height = page.height
    mb_x0, mb_top = page.mediabox[:2]
    doctop0 = page.initial_doctop
    out: dict[str, list[dict]] = {"char": [], "line": [], "rect": [], "curve": []}
    point2coord = page.point2coord

    def walk(objs) -> None:
        for o in objs:
            if isinstance(o, LTChar):
                top = height - o.y1 + mb_top
                out["char"].append({
                    "object_type": "char", "text": o.get_text(), "x0": o.x0 + mb_x0, "x1": o.x1 + mb_x0,
                    "top": top, "bottom": height - o.y0 + mb_top, "doctop": doctop0 + top, "y0": o.y0, "y1": o.y1,
                    "width": o.width, "height": o.height, "upright": o.upright, "matrix": o.matrix, "size": o.size,
                })
            elif isinstance(o, LTContainer):
                walk(o._objs)
            elif isinstance(o, LTCurve):
                kind = "rect" if isinstance(o, LTRect) else "line" if isinstance(o, LTLine) else "curve"
                top = height - o.y1 + mb_top
                out[kind].append({
                    "object_type": kind, "x0": o.x0 + mb_x0, "x1": o.x1 + mb_x0, "top": top,
                    "bottom": height - o.y0 + mb_top, "doctop": doctop0 + top, "y0": o.y0, "y1": o.y1,
                    "width": o.width, "height": o.height, "pts": [point2coord(pt) for pt in o.pts],
                    "linewidth": o.linewidth, "stroke": o.stroke, "fill": o.fill,
                })

    walk(page.layout._objs)
    return out


_NO_CHAR = frozenset((0, 0xFFFE, 0xFFFF, 10, 13))  # codes that are no char of pdfplumber's


def _page_ctm(page) -> tuple[float, float, float, float, float, float]:
    """The matrix pdfminer applies to a page (its /Rotate and MediaBox origin): user space -> pdfplumber's frame."""
    x0, y0, x1, y1 = page.page_obj.mediabox
    rotate = page.page_obj.rotate
    if rotate == 90:
        return (0, -1, 1, 0, -y0, x1)
    if rotate == 180:
        return (-1, 0, 0, -1, x1, y1)
    if rotate == 270:
        return (0, 1, -1, 0, y1, -x0)
    return (1, 0, 0, 1, -x0, -y0)


def pdfium_chars(pdfium_page, page, textpage=None, codes: Sequence[int] | None = None) -> list[dict]:
    """The page's chars from pypdfium2's text layer, in pdfplumber's frame and with pdfplumber's keys.

    pdfium reads the text layer in C, ~25x faster than pdfminer; boxes are pdfium's font-height ("loose")
    boxes, the matrix is the char's matrix composed with the page's rotation, as pdfminer composes it.
    pdfium reports a hyphen that ends a line as U+0002: it is the hyphen it is. ``textpage`` and ``codes``:
    the page's text page and :func:`char_codes` when the pre-scan has them already.
    """
    import pypdfium2.raw as raw

    a0, b0, c0, d0, e0, f0 = _page_ctm(page)
    height = page.height
    mb_x0, mb_top = page.mediabox[:2]
    doctop0 = page.initial_doctop
    tp = textpage if textpage is not None else pdfium_page.get_textpage()
    codes = codes if codes is not None else char_codes(tp)
    handle, calls = tp.raw, _text_calls()
    get_box, get_matrix, get_size = calls["FPDFText_GetLooseCharBox"], calls["FPDFText_GetMatrix"], calls["FPDFText_GetFontSize"]
    is_generated, get_origin = calls["FPDFText_IsGenerated"], calls["FPDFText_GetCharOrigin"]
    rect, matrix = raw.FS_RECTF(), raw.FS_MATRIX()
    rect_out, matrix_out = ctypes.byref(rect), ctypes.byref(matrix)
    ox, oy = ctypes.c_double(), ctypes.c_double()
    ox_out, oy_out = ctypes.byref(ox), ctypes.byref(oy)
    unturned = (a0, b0, c0, d0) == (1, 0, 0, 1)
    out = []
    try:
        for i, code in enumerate(codes):
            if code in _NO_CHAR or not get_box(handle, i, rect_out):
                continue
            if code == 32 and is_generated(handle, i) == 1:
                continue  # a space pdfium inferred from a gap: words are split by geometry instead
            get_matrix(handle, i, matrix_out)
            a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
            if abs(b) < 1e-3 and abs(c) < 1e-3 and d > 0:
                size = get_size(handle, i) * d
                if size > 0 and rect.top - rect.bottom > 1.8 * size:
                    # a symbol font's box (a bullet's) can be several lines tall: it would swallow the lines
                    # around it, so the glyph gets a box of its font size on its own baseline
                    get_origin(handle, i, ox_out, oy_out)
                    rect.bottom, rect.top = oy.value - 0.25 * size, oy.value + 0.85 * size
            if unturned:
                x0, x1, y0, y1 = rect.left + e0, rect.right + e0, rect.bottom + f0, rect.top + f0
                m = (a, b, c, d)
            else:
                xs, ys = (rect.left, rect.right), (rect.bottom, rect.top)
                px = [a0 * x + c0 * y + e0 for x in xs for y in ys]
                py = [b0 * x + d0 * y + f0 for x in xs for y in ys]
                x0, x1, y0, y1 = min(px), max(px), min(py), max(py)
                m = (a * a0 + b * c0, a * b0 + b * d0, c * a0 + d * c0, c * b0 + d * d0)
            top = height - y1 + mb_top
            out.append({
                "object_type": "char", "text": "-" if code == 2 else chr(code) if code < 0x110000 else "?",
                "x0": x0 + mb_x0, "x1": x1 + mb_x0, "top": top, "bottom": height - y0 + mb_top,
                "doctop": doctop0 + top, "width": x1 - x0, "height": y1 - y0,
                "upright": m[0] * m[3] > 0 and m[1] * m[2] <= 0, "matrix": (*m, 0, 0),
            })
    finally:
        if textpage is None:
            tp.close()
    return out


def _compose(m, n):
    """Matrix product m x n of PDF matrices (a, b, c, d, e, f): apply m, then n."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def pdfium_edges(pdfium_page, page) -> list[dict]:
    """Straight, axis-aligned path segments (rules, rect sides) from pypdfium2, as pdfplumber ``line`` objects.

    Painted paths only (stroked or filled, as pdfminer reports them); curves' straight pieces are kept,
    Bézier pieces dropped. Coordinates go through each object's matrix, enclosing forms' matrices and
    the page's rotation, exactly like chars.
    """
    import pypdfium2.raw as raw

    ctm = _page_ctm(page)
    height = page.height
    mb_x0, mb_top = page.mediabox[:2]
    doctop0 = page.initial_doctop
    out: list[dict] = []
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    x, y = ctypes.c_float(), ctypes.c_float()
    fsm = raw.FS_MATRIX()

    def add(p0, p1, fill_edge: bool = False) -> None:
        (x0, y0), (x1, y1) = p0, p1
        if abs(x0 - x1) > 0.5 and abs(y0 - y1) > 0.5:
            return  # diagonal: never a table rule
        left, right = min(x0, x1) + mb_x0, max(x0, x1) + mb_x0
        top, bottom = height - max(y0, y1) + mb_top, height - min(y0, y1) + mb_top
        if abs(y0 - y1) <= 0.5:
            top = bottom = (top + bottom) / 2
        else:
            left = right = (left + right) / 2
        out.append({"object_type": "line", "x0": left, "x1": right, "top": top, "bottom": bottom,
                    "doctop": doctop0 + top, "width": right - left, "height": bottom - top, "linewidth": 1,
                    "fill_edge": fill_edge})

    def walk(count, get, matrix) -> None:
        for i in range(count):
            obj = get(i)
            kind = raw.FPDFPageObj_GetType(obj)
            if kind not in (raw.FPDF_PAGEOBJ_PATH, raw.FPDF_PAGEOBJ_FORM):
                continue
            raw.FPDFPageObj_GetMatrix(obj, fsm)
            m = _compose((fsm.a, fsm.b, fsm.c, fsm.d, fsm.e, fsm.f), matrix)
            if kind == raw.FPDF_PAGEOBJ_FORM:
                walk(raw.FPDFFormObj_CountObjects(obj), lambda j, o=obj: raw.FPDFFormObj_GetObject(o, j), m)
                continue
            raw.FPDFPath_GetDrawMode(obj, fill, stroke)
            if not fill.value and not stroke.value:
                continue  # a clipping or invisible path: pdfminer reports none either
            a, b, c, d, e, f = m
            start = prev = None
            pieces = []
            for k in range(raw.FPDFPath_CountSegments(obj)):
                seg = raw.FPDFPath_GetPathSegment(obj, k)
                raw.FPDFPathSegment_GetPoint(seg, x, y)
                pt = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
                kind_seg = raw.FPDFPathSegment_GetType(seg)
                if kind_seg == raw.FPDF_SEGMENT_MOVETO:
                    start = prev = pt
                    continue
                if kind_seg == raw.FPDF_SEGMENT_LINETO and prev is not None:
                    pieces.append((prev, pt))
                prev = pt
                if raw.FPDFPathSegment_GetClose(seg) and start is not None:
                    pieces.append((pt, start))
                    prev = start
            # the sides of a filled, unstroked area (a shaded cell) are no drawn rule: a neighbouring fill of
            # the same colour leaves them invisible (a rule drawn as a thin filled bar is one)
            fill_edge = False
            if pieces and not stroke.value:
                xs = [p[0] for piece in pieces for p in piece]
                ys = [p[1] for piece in pieces for p in piece]
                fill_edge = max(xs) - min(xs) > 2.5 and max(ys) - min(ys) > 2.5
            for p0, p1 in pieces:
                add(p0, p1, fill_edge)

    walk(raw.FPDFPage_CountObjects(pdfium_page), lambda j: raw.FPDFPage_GetObject(pdfium_page, j), ctm)
    return out


def extract_page(page, page_number: int, ruled_settings: dict | None = None) -> list[ExtractedTable]:
    """The tables on one pdfplumber page, top to bottom (``ruled_settings``: pdfplumber table settings for ruled regions)."""
    view, frame, chars = _oriented(page)
    if not chars:
        return []
    words = [w for w in _words(chars) if not _FILLER.match(w.text)]
    ruled = _ruled_regions(view, ruled_settings)
    accepted: list[_Region] = []
    for region in sorted(ruled, key=lambda r: (r.bbox[2] - r.bbox[0]) * (r.bbox[3] - r.bbox[1]), reverse=True):
        if any(_contains(a.bbox, region.bbox) for a in accepted):
            continue
        if sum(1 for w in words if _inside(w, region.bbox)) >= 4:
            accepted.append(region)
    accepted = [_widen(r, words, [o for o in accepted if o is not r]) for r in accepted]
    rest = [w for w in words if not any(_inside(w, r.bbox, pad=2) for r in accepted)]
    space = _space_width(chars)
    regions = accepted + _unruled_regions(rest, frame.size[0], space)
    drawn = None  # horizontal rules drawn as such (not the sides of shaded areas), when the text layer says
    lines = page.objects.get("line", []) if frame.turn == "upright" else []
    if lines and all("fill_edge" in e for e in lines):
        drawn = [(e["top"], e["x0"], e["x1"]) for e in lines if e["top"] == e["bottom"] and not e["fill_edge"]]
    tables = []
    for region in sorted(regions, key=lambda r: (r.bbox[1], r.bbox[0])):
        pool = words if region.method == "ruled" else rest
        table = _grid_cells(page_number, region, pool, frame, space, drawn)
        if table is not None:
            tables.append(table)
    return tables


def _widen(region: _Region, words: Sequence[Word], others: Sequence[_Region] = ()) -> _Region:
    """A ruled box whose first or last column is printed outside it widened to take the column in.

    Tables ruled only between their columns have no rule left of the row labels or right of the last column:
    pdfplumber's box ends at the outermost rules. Words beside the box on its rows (as many text lines as half
    the box's, most of them on a line of the box: prose beside a table runs at its own pitch), not in another
    ruled box, are the row labels (left, within half the box's width) or the last column (right, no further
    away than the widest ruled column).
    """
    x0, top, x1, bottom = region.bbox
    inside_lines = _lines([w for w in words if _inside(w, region.bbox)])
    if not inside_lines:
        return region
    centres = [(line.top + line.bottom) / 2 for line in inside_lines]

    def rows_of_the_box(side: list[Word]) -> bool:
        """Text lines as many as half the box's, most of them on a line of the box (not prose beside it)."""
        side_lines = _lines(side)
        aligned = sum(1 for line in side_lines
                      if any(abs((line.top + line.bottom) / 2 - c) < 0.4 * (line.bottom - line.top) for c in centres))
        return len(side_lines) >= 0.5 * len(inside_lines) and aligned >= 0.7 * len(side_lines)

    new_x0, new_x1, v_rules = x0, x1, list(region.v_rules)
    left = [w for w in words if w.x1 < x0 - 0.5 and top <= w.yc <= bottom and x0 - w.x1 < 0.5 * (x1 - x0)
            and not any(_inside(w, o.bbox) for o in others)]
    if left and rows_of_the_box(left):
        new_x0 = min(w.x0 for w in left)
        v_rules.append(x0)
    xs = sorted(region.v_rules)
    widest = max((b - a for a, b in zip(xs, xs[1:])), default=0.0)
    right = [w for w in words if w.x0 > x1 + 0.5 and top <= w.yc <= bottom and w.x1 - x1 < 1.5 * widest
             and not any(_inside(w, o.bbox) for o in others)]
    if right and rows_of_the_box(right):
        new_x1 = max(w.x1 for w in right)
        v_rules.append(x1)
    if (new_x0, new_x1) == (x0, x1):
        return region
    return _Region((new_x0, top, new_x1, bottom), region.method, v_rules, region.h_rules, region.cells)


def _contains(outer, inner, pad: float = 2.0) -> bool:
    return outer[0] - pad <= inner[0] and outer[1] - pad <= inner[1] and outer[2] + pad >= inner[2] and outer[3] + pad >= inner[3]


# --- documents ----------------------------------------------------------------------------------

@dataclass
class PageResult:
    page: int
    tables: list[ExtractedTable]
    chars: int
    skipped: str | None = None  # why the page was not parsed (no text layer, no tabular text)


def extract_pages(path: str | Path, pages: Iterable[int] | None = None, password: str | None = None,
                  prescan_pages: bool = True, fast_text: bool = True) -> list[PageResult]:
    """Tables on the given 1-based pages (default all), page by page.

    ``fast_text``: chars from pypdfium2's text layer and drawings from pdfminer with text rendering
    skipped (about 3x faster); otherwise both from pdfminer as pdfplumber reads them. The document is opened
    once with each library, and pypdfium2 loads each page once for the pre-scan and the chars.
    """
    import pypdfium2 as pdfium

    path = Path(path)
    pages = list(pages) if pages is not None else None
    fast = pdfium.PdfDocument(str(path), password=password) if prescan_pages or fast_text else None
    try:
        with pdfplumber.open(path, password=password) as pdf:
            numbers = list(pages) if pages is not None else list(range(1, len(pdf.pages) + 1))
            scanned = len(fast) if prescan_pages else 0
            return [_read_page(fast, pdf, number, number <= scanned, fast_text) for number in numbers]
    finally:
        if fast is not None:
            fast.close()


def _read_page(fast, pdf, number: int, scan: bool, fast_text: bool) -> PageResult:
    """One page's tables (``scan``: pre-scan it first, and skip it when it has no tabular text)."""
    fast_page = fast[number - 1] if scan or fast_text else None
    textpage = fast_page.get_textpage() if fast_page is not None else None
    try:
        return read_loaded_page(pdf, number, fast_page, textpage, scan, fast_text)
    finally:
        if textpage is not None:
            textpage.close()
            fast_page.close()


def read_loaded_page(pdf, number: int, fast_page, textpage, scan: bool = True, fast_text: bool = True) -> PageResult:
    """One page's tables from its pypdfium2 page and text page, loaded by the caller (who closes them)."""
    info, codes = scan_textpage(textpage) if scan else (None, None)
    if info is not None and info["chars"] == 0:
        return PageResult(number, [], 0, "no text layer")
    if info is not None and info["tabular_lines"] < 3:
        return PageResult(number, [], info["chars"], "no tabular text")
    page = pdf.pages[number - 1]
    try:
        if fast_text:
            page._objects = {"char": pdfium_chars(fast_page, page, textpage, codes),
                             "line": pdfium_edges(fast_page, page), "rect": [], "curve": []}
        else:
            page._objects = lean_objects(page)
        tables = extract_page(page, number)
    finally:
        page.close()
    return PageResult(number, tables, info["chars"] if info else -1)


class PageReader:
    """Reads each page's tables while another pass over the document has the page loaded (intake's text pass).

    Called with ``(number, pypdfium2 page, text page)`` for every page in order, it reads each as
    :func:`extract_pages` does (pre-scan, pypdfium2 chars), so no page is loaded twice. A failure is kept,
    not raised (the text pass goes on), and :meth:`pages` raises it, as :func:`extract_pages` would have.
    """

    def __init__(self, path: str | Path, password: str | None = None):
        self.path, self.password = Path(path), password
        self.calls = 0
        self.results: list[PageResult] = []
        self.error: Exception | None = None
        self._pdf = None

    def __call__(self, number: int, fast_page, textpage) -> None:
        self.calls += 1
        if self.error is not None:
            return
        try:
            if self._pdf is None:
                self._pdf = pdfplumber.open(self.path, password=self.password)
            self.results.append(read_loaded_page(self._pdf, number, fast_page, textpage))
        except Exception as err:  # noqa: BLE001 - raised by pages(), where extraction's failures are handled
            self.error = err

    def pages(self, count: int | None) -> list[PageResult] | None:
        """Each page's result, when every one of the document's ``count`` pages was read in order; else None."""
        if count is None or self.calls != count:
            return None
        if self.error is not None:
            raise self.error
        return self.results

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


def _same_columns(a: ExtractedTable, b: ExtractedTable) -> bool:
    if a.n_cols != b.n_cols or a.rotation != b.rotation or len(a.col_edges) != len(b.col_edges):
        return False
    tolerance = 0.03 * max(a.page_width, b.page_width, 1.0)
    return all(abs(x - y) <= tolerance for x, y in zip(a.col_edges, b.col_edges))


def merge_continuations(results: Sequence[PageResult]) -> list[ExtractedTable]:
    """All tables of a document in order, a table continuing on the next page merged into its start.

    The merged tables are copies: ``results`` keep each page's own tables (an extraction spec reads them).
    """
    merged: list[ExtractedTable] = []
    previous_page_tables: list[ExtractedTable] = []
    for result in sorted(results, key=lambda r: r.page):
        for i, table in enumerate(result.tables):
            head = merged[-1] if merged else None
            if (i == 0 and head is not None and previous_page_tables and head.last_page == result.page - 1
                    and _same_columns(head, table)):
                skip = 0
                if head.header_rows:
                    first = [[c.text for c in sorted(t.cells, key=lambda c: (c.row, c.col)) if c.row < head.header_rows]
                             for t in (head, table)]
                    skip = head.header_rows if first[0] == first[1] else 0
                head.add_rows(table.cells, skip, result.page)
                continue
            merged.append(replace(table, cells=list(table.cells)))
        previous_page_tables = result.tables
    return merged


def _extract_job(args: tuple[str, tuple[int, ...] | None, str | None]) -> tuple[str, list[PageResult] | str]:
    path, pages, password = args
    try:
        return path, extract_pages(path, pages, password)
    except Exception as err:  # noqa: BLE001 - reported per document
        return path, f"{type(err).__name__}: {err}"


def _page_count(path: str, password: str | None) -> int:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(path, password=password)
    except Exception:  # noqa: BLE001 - the job itself reports the error
        return 0
    try:
        return len(doc)
    finally:
        doc.close()


def extract_documents(paths: Sequence[str | Path], passwords: dict[str, str] | None = None,
                      workers: int | None = None, chunk: int = 6) -> dict[str, list[ExtractedTable] | str]:
    """Tables of many PDFs (continuations merged), or an error string per document that could not be read.

    Work is spread over ``workers`` processes (default: CPU count) in chunks of at most ``chunk`` pages,
    largest first, so one long document does not leave the other workers idle.
    """
    passwords = passwords or {}
    jobs: list[tuple[str, tuple[int, ...] | None, str | None]] = []
    for p in paths:
        password = passwords.get(Path(p).name)
        n = _page_count(str(p), password)
        if n <= chunk:
            jobs.append((str(p), None, password))
        else:
            jobs += [(str(p), tuple(range(a, min(n, a + chunk - 1) + 1)), password) for a in range(1, n + 1, chunk)]
    jobs.sort(key=lambda j: -(len(j[1]) if j[1] else _page_count(j[0], j[2]) or 1) * os.path.getsize(j[0]))
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        done = [_extract_job(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(_extract_job, jobs))
    pages: dict[str, list[PageResult] | str] = {}
    for path, result in done:
        if isinstance(result, str) or isinstance(pages.get(path), str):
            pages[path] = result if isinstance(result, str) else pages[path]
            continue
        pages.setdefault(path, []).extend(result)  # type: ignore[union-attr]
    return {path: r if isinstance(r, str) else merge_continuations(r) for path, r in pages.items()}
