"""Cell accuracy of an extracted table against a hand-transcribed truth block.

A truth block is a contiguous run of rows of one printed table. Its accuracy against a set of extracted
grids is the best, over grids and over every row/column offset, of the share of truth cells (empty ones
included) whose text equals the aligned extracted cell, compared ignoring case, whitespace and thousands
separators. Both extractors in the benchmark are scored with this one function.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_SPACE = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d)[,\s](?=\d{3}\b)")


def normalise(text: str | None) -> str:
    text = (text or "").strip().lower()
    text = _THOUSANDS.sub("", text)
    return _SPACE.sub("", text)


def score(truth: Sequence[Sequence[str]], grids: Sequence[Sequence[Sequence[str | None]]]) -> float:
    """Best share of truth cells reproduced by any grid at any alignment (0..1)."""
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


def load_truth(folder: Path) -> list[TruthTable]:
    """The truth tables listed in ``folder/truth.toml`` with their CSVs."""
    with open(folder / "truth.toml", "rb") as fh:
        listed = tomllib.load(fh)["table"]
    out = []
    for item in listed:
        with open(folder / f"{item['id']}.csv", newline="", encoding="utf-8") as fh:
            rows = [row for row in csv.reader(fh)]
        out.append(TruthTable(item["id"], item["file"], int(item["page"]), item["what"], rows))
    return out
