"""What a parser is given: a file on disk with the source id and hash it will stamp on every row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


def require_columns(frame: pd.DataFrame, required: list[str], where: str) -> None:
    """Fail with a clear message when expected columns are absent (e.g. renamed by the publisher)."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SourceFormatError(f"{where}: expected column(s) {missing} not found; the file has {list(frame.columns)}")
