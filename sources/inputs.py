"""What a parser is given (a file on disk with the source id and hash it will stamp on every row), and the
column helpers every parser shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


class SourceFormatError(ValueError):
    """An input file is not in the shape its parser expects (moved header, renamed column, missing sheet)."""


@dataclass(frozen=True)
class InputFile:
    source_id: str
    path: Path
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.path.name} ({self.source_id}, sha256 {self.sha256[:12]})"

    def stamp(self, frame: pd.DataFrame, locator: str | pd.Series) -> pd.DataFrame:
        """``frame`` with the provenance columns added (``source_locator`` may vary by row)."""
        return frame.assign(source_id=self.source_id, source_sha256=self.sha256, source_locator=locator)


def numeric_or_original(values: pd.Series) -> pd.Series:
    """Numbers where the text is a number; the original value where it is not.

    The contract then coerces the column and reports the values that are not numbers, with their
    rows, instead of a parser silently turning them into NULLs.
    """
    as_text = values.astype("string").str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(as_text, errors="coerce")
    bad = numbers.isna() & as_text.notna() & (as_text != "")
    return numbers.astype(object).where(~bad, values)


@dataclass(frozen=True)
class _Null:
    """A null of one kind (None, NaN, NA, NaT) as a key of its own, which ``pd.factorize`` would merge."""

    kind: type


def map_distinct(values: pd.Series, fn: Callable) -> pd.Series:
    """``values.map(fn)``, with ``fn`` called once per distinct value instead of once per row.

    A published column repeats a few labels (periods, sexes, indicator names) over thousands of rows, so cleaning
    each distinct value once does the same work on a fraction of the values. The result is the same series, dtype
    included (``fn`` maps the first row holding each value, and that mapping is repeated to the other rows), for
    any ``fn`` that gives equal values equal results (as a dict would: ``1`` and ``1.0`` are one key); each kind
    of null is a value of its own.
    """
    keys = values.to_numpy(dtype=object)
    nulls = pd.isna(keys)
    if nulls.any():
        keys = keys.copy()
        keys[nulls] = [_Null(type(v)) for v in keys[nulls]]
    codes, _ = pd.factorize(keys)
    first = np.unique(codes, return_index=True)[1]  # the first row of each distinct value, in the codes' order
    mapped = values.iloc[first].map(fn)
    out = mapped.take(codes)
    out.index = values.index
    return out


def require_columns(frame: pd.DataFrame, required: list[str], where: str) -> None:
    """Fail with a clear message when expected columns are absent (e.g. renamed by the publisher)."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SourceFormatError(f"{where}: expected column(s) {missing} not found; the file has {list(frame.columns)}")
