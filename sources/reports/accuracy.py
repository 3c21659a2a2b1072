"""Cell accuracy of extracted tables against independent truth tables, and the truth sets themselves.

Scoring (:func:`score_page`, the scorer of the team's table corpus, ``corpus/score.py``): each cell is
normalised (NFKC, dashes unified, ALL whitespace deleted); only non-empty truth cells count.

* strict = share of truth cells found in the best single extracted table of the page at the same (row, col)
  after one global (row, col) offset chosen by voting;
* row-tolerant = the same with rows aligned monotonically (inserted, blank or split rows not fatal), columns
  at a fixed offset;
* bag = multiset recall of truth cell strings over all tables of the page, position ignored.

Truth sets (:func:`truth_sets`, files under ``tests/fixtures/reports``):

* ``independent_truth/``: 16 tables of the corpus PDFs, from ICDAR 2013 annotations, camelot and tabula-java
  regression fixtures and a third parser (``INDEX.md`` says which is which);
* ``dev/truth/``: 63 ICDAR 2013 tables of 30 documents the extractor was not developed on, split by
  :func:`dev_part` into a part looked at while developing and a held-back part scored only to judge.

:func:`score` (older, hand-transcribed truth in ``truth/`` with ``truth.toml``) is kept for the spec tests.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_SPACE = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d)[,\s](?=\d{3}\b)")
_DASH = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")

Grid = Sequence[Sequence[str | None]]


def norm(text: str | None) -> str:
    """The corpus scorer's normal form: NFKC, dashes unified, every whitespace deleted."""
    if text is None:
        return ""
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(text)).translate(_DASH))


@dataclass(frozen=True)
class PageScore:
    strict: float
    row_tolerant: float
    bag: float
    cells: int


def score_page(truth: Grid, tables: Sequence[Grid]) -> PageScore:
    """Strict, row-tolerant and bag accuracy of one truth table against every table extracted on its page."""
    tcells = [(i, j, norm(v)) for i, r in enumerate(truth) for j, v in enumerate(r) if norm(v)]
    n = len(tcells)
    if not n:
        return PageScore(1.0, 1.0, 1.0, 0)
    best = 0.0
    bag_all: Counter = Counter()
    strict_dc: dict[int, set[int]] = {}
    for ti, tab in enumerate(tables):
        pos: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for k, r in enumerate(tab):
            for col, v in enumerate(r):
                v = norm(v)
                if v:
                    pos[v].append((k, col))
                    bag_all[v] += 1
        votes: Counter = Counter()
        for i, j, v in tcells:
            for k, col in pos.get(v, ()):
                votes[(k - i, col - j)] += 1
        if votes:
            _off, cnt = votes.most_common(1)[0]
            best = max(best, cnt / n)
            strict_dc.setdefault(ti, set()).update(o[1] for o, _ in votes.most_common(3))
    dp_best = 0
    for ti, tab in enumerate(tables):
        grid = [[norm(v) for v in r] for r in tab]
        if not grid:
            continue
        dcv: Counter = Counter()
        for _i, j, v in tcells:
            for r in grid:
                for col, x in enumerate(r):
                    if x == v:
                        dcv[col - j] += 1
        for dc in {d for d, _ in dcv.most_common(3)} | strict_dc.get(ti, set()):
            rows, k_rows = len(truth), len(grid)
            sim = [[0] * k_rows for _ in range(rows)]
            for i, j, v in tcells:
                col = j + dc
                for k in range(k_rows):
                    if 0 <= col < len(grid[k]) and grid[k][col] == v:
                        sim[i][k] += 1
            prev = [0] * (k_rows + 1)
            for i in range(rows):
                cur = [0] * (k_rows + 1)
                for k in range(k_rows):
                    cur[k + 1] = max(prev[k + 1], cur[k], prev[k] + sim[i][k])
                prev = cur
            dp_best = max(dp_best, prev[k_rows])
    wanted = Counter(v for _, _, v in tcells)
    bag = sum(min(c, bag_all[v]) for v, c in wanted.items()) / n
    return PageScore(best, dp_best / n, bag, n)


@dataclass(frozen=True)
class TruthTable:
    id: str
    file: str
    page: int
    what: str
    rows: list[list[str]]

    @property
    def cells(self) -> int:
        return sum(len(r) for r in self.rows)


_NAME = re.compile(r"^(?P<doc>.+)__p(?P<page>\d+)__t(?P<table>[\w]+)\.csv$")


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [row for row in csv.reader(fh)]


def load_named_truth(folder: Path) -> list[TruthTable]:
    """Truth CSVs named ``<pdf stem>__p<page>__t<table>.csv`` in ``folder``."""
    out = []
    for path in sorted(folder.glob("*.csv")):
        m = _NAME.match(path.name)
        if m:
            out.append(TruthTable(path.stem, m["doc"] + ".pdf", int(m["page"]), f"table {m['table']}", _read_csv(path)))
    return out


def dev_part(document: str) -> str:
    """``look`` or ``held-back``: a fixed split of the development set by the SHA-256 of the document's stem."""
    stem = Path(document).stem
    return "look" if hashlib.sha256(stem.encode()).digest()[0] % 2 == 0 else "held-back"


def truth_sets(fixtures: Path) -> dict[str, list[TruthTable]]:
    """The independent truth of the corpus PDFs and the two parts of the development set."""
    dev = load_named_truth(fixtures / "dev" / "truth")
    return {
        "corpus": load_named_truth(fixtures / "independent_truth"),
        "dev-look": [t for t in dev if dev_part(t.file) == "look"],
        "dev-held-back": [t for t in dev if dev_part(t.file) == "held-back"],
    }


# --- the older hand-transcribed truth (kept for the spec and layout tests) ---------------------

def normalise(text: str | None) -> str:
    text = (text or "").strip().lower()
    text = _THOUSANDS.sub("", text)
    return _SPACE.sub("", text)


def score(truth: Sequence[Sequence[str]], grids: Sequence[Grid]) -> float:
    """Best share of truth cells (empty ones included) reproduced by any grid at any alignment (0..1)."""
    t = [[normalise(c) for c in row] for row in truth]
    total = sum(len(row) for row in t)
    if not total:
        return 1.0
    best = 0
    for grid in grids:
        g = [[normalise(c) for c in row] for row in grid]
        if not g:
            continue
        width = max(len(row) for row in g)
        g = [row + [""] * (width - len(row)) for row in g]
        t_width = max(len(row) for row in t)
        for dr in range(-len(t) + 1, len(g)):
            for dc in range(-t_width + 1, width):
                hits = 0
                for i, row in enumerate(t):
                    gi = i + dr
                    if not 0 <= gi < len(g):
                        continue
                    grow = g[gi]
                    for j, cell in enumerate(row):
                        gj = j + dc
                        if 0 <= gj < width and grow[gj] == cell:
                            hits += 1
                best = max(best, hits)
    return best / total


def load_truth(folder: Path) -> list[TruthTable]:
    """The truth tables listed in ``folder/truth.toml`` with their CSVs."""
    with open(folder / "truth.toml", "rb") as fh:
        listed = tomllib.load(fh)["table"]
    return [TruthTable(item["id"], item["file"], int(item["page"]), item["what"], _read_csv(folder / f"{item['id']}.csv"))
            for item in listed]
