"""Postcode → LAD lookups in ONS NSPL / ONSPD format (CSV, or a zip holding one).

NSPL names the LAD column ``laua``; newer ONSPD releases use vintaged names (``lad25cd``); older
ones ``oslaua``. The postcode column may be ``pcds`` (with a space), ``pcd``/``pcd7``/``pcd8``
(fixed width) or ``pcd2``. Columns are found by pattern, so any release loads; a file without a
recognisable postcode or LAD column is a :class:`SourceFormatError` listing what it has.
Postcodes are compared in a normal form: upper case, no spaces.
"""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd

from sources.inputs import InputFile, SourceFormatError

POSTCODE_PATTERNS = (r"pcds", r"pcd", r"pcd7", r"pcd8", r"pcd2", r"postcode")
LAD_PATTERN = r"(laua|oslaua|lad\d{2}cd)"
TERMINATED_PATTERN = r"doterm"
_POSTCODE_SHAPE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")


def normalise(postcode) -> str | None:
    """``'m13 9pl'`` → ``'M139PL'``; None for blanks."""
    if postcode is None or (isinstance(postcode, float) and pd.isna(postcode)):
        return None
    text = re.sub(r"[^A-Za-z0-9]", "", str(postcode)).upper()
    return text or None


def looks_like_postcode(key: str | None) -> bool:
    return bool(key) and bool(_POSTCODE_SHAPE.match(key))


def _open_csv(f: InputFile) -> io.BufferedIOBase | str:
    if zipfile.is_zipfile(f.path):
        archive = zipfile.ZipFile(f.path)
        csvs = [i for i in archive.infolist() if i.filename.lower().endswith(".csv")]
        # The lookup itself is the biggest CSV (NSPL zips also hold small code-name tables).
        if not csvs:
            raise SourceFormatError(f"{f.label}: the zip holds no CSV file")
        biggest = max(csvs, key=lambda i: i.file_size)
        return archive.open(biggest)
    return str(f.path)


def _pick(columns: list[str], patterns, what: str, f: InputFile, required: bool = True) -> str | None:
    lowered = {c.lower().strip(): c for c in columns}
    for pattern in patterns if isinstance(patterns, tuple) else (patterns,):
        matches = [orig for low, orig in lowered.items() if re.fullmatch(pattern, low)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise SourceFormatError(f"{f.label}: several {what} columns match {pattern!r}: {matches}")
    if required:
        raise SourceFormatError(f"{f.label}: no {what} column (looked for {patterns}) among {columns[:40]}")
    return None


def read_lookup(f: InputFile) -> pd.DataFrame:
    """``postcode_key`` (normalised), ``lad_code`` (may be blank in the source: NaN) and ``terminated`` (bool)."""
    source = _open_csv(f)
    header = pd.read_csv(source, nrows=0, encoding="utf-8-sig").columns.tolist()
    pc = _pick(header, POSTCODE_PATTERNS, "postcode", f)
    lad = _pick(header, LAD_PATTERN, "LAD (laua / ladNNcd)", f)
    term = _pick(header, TERMINATED_PATTERN, "termination date", f, required=False)
    source = _open_csv(f)
    frame = pd.read_csv(source, usecols=[c for c in (pc, lad, term) if c], dtype=str, encoding="utf-8-sig", keep_default_na=False)
    out = pd.DataFrame({
        "postcode_key": frame[pc].map(normalise),
        "lad_code": frame[lad].str.strip().replace("", None),
        "terminated": frame[term].str.strip().ne("") if term else False,
    })
    out = out[out["postcode_key"].notna()]
    # A postcode listed twice keeps its live record.
    out = out.sort_values("terminated").drop_duplicates("postcode_key")
    return out.set_index("postcode_key")
