"""OHID Fingertips: the indicator catalogue, the live API client and the parsers.

Three kinds of input arrive here, all turned into the same tidy frame (:data:`PARSED_COLUMNS`):

* the publisher's own CSV (``all_data/csv/by_indicator_id``, and the bundled export of indicator
  93356), read by :func:`parse_fingertips_csv`. Its quirks: CRLF line ends, a newline inside a quoted
  ``Indicator Name``, data rows shorter than the header (trailing empty columns dropped), a
  parent-comparison column whose name depends on the parent area type (found by pattern), England
  rows repeated once per parent, and category rows (deprivation deciles...) mixed with headline rows;
* Trafford Data Lab's re-shaped copies of Fingertips pulls (HLE, LE, preventable mortality), read by
  :func:`parse_trafford_themes` / :func:`parse_trafford_dashboard`. Values are mapped unchanged; the
  indicator id comes from the catalogue, checked against the indicator name the file carries.

:func:`parse` picks the parser by the file's header. Every row keeps its provenance: source id, file
SHA-256 and ``source_locator`` = the line it starts on.

:class:`FingertipsClient` speaks to the live API (base URL from ``OBSERVATORY_FINGERTIPS_URL``,
default https://fingertips.phe.org.uk/api/) through the shared `sources.http` session: data in
batches of at most 100 indicator ids, metadata, area types, indicator search and the cheap change
probe ``data_changes``. Every response is checked for what it claims to be before it is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import requests

from sources.catalogue import CATALOGUE_PATH as CATALOGUE_FILE
from sources.catalogue import live_sources
from sources.http import Fetched, FetchError, TruncatedBody, default_timeout, fetch, make_session
from sources.inputs import InputFile, SourceFormatError, map_distinct, numeric_or_original

CATALOGUE_PATH = Path(__file__).resolve().parent / "fingertips_indicators.toml"
DEFAULT_BASE_URL = "https://fingertips.phe.org.uk/api/"
BASE_URL_ENV = "OBSERVATORY_FINGERTIPS_URL"
MAX_IDS_PER_CALL = 100
ENGLAND = "E92000001"

# --- the indicator catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One catalogued indicator (see `sources/fingertips_indicators.toml`)."""

    id: str
    name: str
    short_name: str
    definition: str
    unit: str
    polarity: str
    value_type: str
    age: str
    year_type: str
    aggregation: str = ""  # from the [[aggregation_rule]] of `value_type` (never set per indicator)
    aliases: tuple[str, ...] = ()
    multiplier: float | None = None
    ci_method: str | None = None
    id_confidence: str = "confirmed"
    search_profile_id: int | None = None

    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def matches_name(self, name: str) -> bool:
        return _norm(name) in {_norm(n) for n in self.names()}


@dataclass(frozen=True)
class Source:
    """One raw asset: a bundled file offline, an API pull live."""

    asset: str
    source_id: str
    indicators: tuple[str, ...]
    child_area_type_id: int | None = None
    parent_area_type_id: int | None = None
    live_only: bool = False
    metadata: bool = False
    archive: bool = False  # an earlier vintage: bundled only, lands in the vintages table and the value history


@dataclass(frozen=True)
class AggregationRule:
    """How values of one value type may be combined across areas, and why."""

    value_type: str
    aggregation: str
    why: str


@dataclass(frozen=True)
class Catalogue:
    indicators: dict[str, Indicator]
    sources: tuple[Source, ...]
    rules: dict[str, AggregationRule] = field(default_factory=dict)

    def indicator(self, indicator_id: str) -> Indicator:
        try:
            return self.indicators[indicator_id]
        except KeyError:
            raise SourceFormatError(
                f"indicator {indicator_id} is not in {CATALOGUE_PATH.name}; add it (name, unit, polarity, aggregation) before landing it"
            ) from None

    def for_source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.source_id == source_id:
                return s
        raise KeyError(f"no Fingertips source {source_id!r} in {CATALOGUE_PATH.name}")

    def identify(self, indicator_id: str, name: str | None) -> Indicator:
        """The catalogue entry for data published under ``indicator_id`` (an uncertain id may resolve to another number)."""
        if indicator_id in self.indicators:
            return self.indicators[indicator_id]
        for ind in self.indicators.values():
            if ind.id_confidence == "uncertain" and name and _name_matches(name, ind.name):
                return _replace_id(ind, indicator_id)
        return self.indicator(indicator_id)


def _replace_id(ind: Indicator, new_id: str) -> Indicator:
    from dataclasses import replace

    return replace(ind, id=new_id)


POLARITIES = ("high_is_good", "low_is_good", "no_judgement")
AGGREGATIONS = ("counts_and_denominators", "population_weighted", "none")


@lru_cache(maxsize=1)
def catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """The indicator catalogue, checked: known polarity and aggregation, no duplicate ids, sources name catalogued ids."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    rules: dict[str, AggregationRule] = {}
    for item in raw.get("aggregation_rule", []):
        rule = AggregationRule(**item)
        if rule.value_type in rules:
            raise ValueError(f"{path.name}: two aggregation rules for value type {rule.value_type!r}")
        rules[rule.value_type] = rule
    indicators: dict[str, Indicator] = {}
    for item in raw.get("indicator", []):
        item = dict(item)
        item["aliases"] = tuple(item.get("aliases", ()))
        if "aggregation" in item:
            raise ValueError(f"{path.name}: indicator {item.get('id')} sets `aggregation`; it follows from the [[aggregation_rule]] of its value type")
        rule = rules.get(item.get("value_type", ""))
        if rule is None:
            raise ValueError(f"{path.name}: indicator {item.get('id')} has value type {item.get('value_type')!r} with no [[aggregation_rule]]; known: {sorted(rules)}")
        item["aggregation"] = rule.aggregation
        ind = Indicator(**item)
        if ind.id in indicators:
            raise ValueError(f"{path.name}: indicator {ind.id} is listed twice")
        if ind.polarity not in POLARITIES:
            raise ValueError(f"{path.name}: indicator {ind.id} has polarity {ind.polarity!r}; expected one of {POLARITIES}")
        if ind.aggregation not in AGGREGATIONS:
            raise ValueError(f"{path.name}: indicator {ind.id} has aggregation {ind.aggregation!r}; expected one of {AGGREGATIONS}")
        if ind.aggregation == "counts_and_denominators" and not ind.multiplier:
            raise ValueError(f"{path.name}: indicator {ind.id} aggregates counts but has no multiplier")
        indicators[ind.id] = ind
    sources = []
    for item in raw.get("source", []):
        item = dict(item)
        item["indicators"] = tuple(item.get("indicators", ()))
        src = Source(**item)
        unknown = [i for i in src.indicators if i not in indicators]
        if unknown:
            raise ValueError(f"{path.name}: source {src.source_id} names uncatalogued indicator(s) {unknown}")
        if src.archive and (src.live_only or src.metadata):
            raise ValueError(f"{path.name}: archive source {src.source_id} must be a bundled data file")
        if src.live_only and src.source_id not in live_sources():
            raise ValueError(f"{path.name}: live-only source {src.source_id} is not credited in the catalogue ([[live]] in {CATALOGUE_FILE.name})")
        sources.append(src)
    return Catalogue(indicators, tuple(sources), rules)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def _name_matches(published: str, expected: str) -> bool:
    """Fingertips sometimes suffixes names (``(1 year range)``, ``(2019 definition)``): a prefix match counts."""
    p, e = _norm(published), _norm(expected)
    return p == e or p.startswith(e + " (")


# --- periods -------------------------------------------------------------------------------------

_Q_CAL = {1: (1, 3), 2: (4, 6), 3: (7, 9), 4: (10, 12)}
_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def _end_year(start: int, text: str) -> int:
    """``17`` after 2015 is 2017; ``01`` after 1999 is 2001; four digits stand as written."""
    if len(text) == 4:
        return int(text)
    candidate = start // 100 * 100 + int(text)
    return candidate if candidate >= start else candidate + 100


def _month_end(year: int, month: int) -> dt.date:
    return (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))


def parse_period(label: str, year_type: str = "calendar") -> tuple[dt.date, dt.date]:
    """First and last day of a Fingertips period label.

    ``2015 - 17`` / ``2001-03`` (calendar years), ``2014``, ``2022/23`` (financial: April-March;
    academic: September-August), ``2019/20 - 21/22``, ``2023/24 Q3`` (quarter of a financial year),
    ``2023 Q1`` (calendar quarter), ``Mar 2024`` (a month). Raises ``ValueError`` for anything else.
    """
    text = re.sub(r"\s+", " ", str(label)).strip()
    first_month = 9 if year_type == "academic" else 4
    if m := re.fullmatch(r"(\d{4})", text):
        y = int(m[1])
        return dt.date(y, 1, 1), dt.date(y, 12, 31)
    if m := re.fullmatch(r"(\d{4}) ?- ?(\d{2}|\d{4})", text):
        y1 = int(m[1])
        y2 = _end_year(y1, m[2])
        if y2 < y1:
            raise ValueError(f"period {label!r} ends before it starts")
        return dt.date(y1, 1, 1), dt.date(y2, 12, 31)
    if m := re.fullmatch(r"(\d{4})/(\d{2}|\d{4})", text):
        y1 = int(m[1])
        if _end_year(y1, m[2]) != y1 + 1:
            raise ValueError(f"period {label!r} is not one financial/academic year")
        return dt.date(y1, first_month, 1), _month_end(y1 + 1, first_month - 1)
    if m := re.fullmatch(r"(\d{4})/(\d{2}) ?- ?(\d{2}|\d{4})/(\d{2})", text):
        y1 = int(m[1])
        y3 = _end_year(y1, m[3])
        return dt.date(y1, first_month, 1), _month_end(y3 + 1, first_month - 1)
    if m := re.fullmatch(r"(\d{4})/(\d{2}) Q([1-4])", text):
        y1, q = int(m[1]), int(m[3])
        month = first_month + 3 * (q - 1)
        year = y1 + (month > 12)
        month = (month - 1) % 12 + 1
        return dt.date(year, month, 1), _month_end(year + (month + 2 > 12), (month + 1) % 12 + 1)
    if m := re.fullmatch(r"(\d{4}) Q([1-4])", text):
        y, (a, b) = int(m[1]), _Q_CAL[int(m[2])]
        return dt.date(y, a, 1), _month_end(y, b)
    if m := re.fullmatch(r"([A-Za-z]{3})[a-z]* (\d{4})", text):
        month = _MONTHS.get(m[1].lower())
        if month:
            y = int(m[2])
            return dt.date(y, month, 1), _month_end(y, month)
    raise ValueError(f"unrecognised period label {label!r}")


def canonical_period_label(label: str) -> str:
    """Fingertips' own spelling of a multi-year calendar period: ``2001-03`` -> ``2001 - 03``."""
    text = re.sub(r"\s+", " ", str(label)).strip()
    if m := re.fullmatch(r"(\d{4}) ?- ?(\d{2})", text):
        return f"{m[1]} - {m[2]}"
    return text


# --- reading the publisher's CSV -------------------------------------------------------------------

# The frame every parser returns (the builder in `warehouse.transforms.health` adds vintage and method).
PARSED_COLUMNS = [
    "indicator_id", "indicator_name", "area_code", "area_name", "publisher_area_type", "parent_code",
    "sex", "age", "category_type", "category", "period_label", "period_start", "period_end",
    "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count", "denominator",
    "value_note", "recent_trend", "compared_to_england", "compared_to_parent", "period_sortable",
    "declared_vintage", "source_id", "source_sha256", "source_locator",
]
NUMERIC = ["value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "count", "denominator"]

# Exact Fingertips header names -> our columns. Absent optional columns become NULL.
_FT_COLUMNS = {
    "Indicator ID": "indicator_id", "Indicator Name": "indicator_name", "Parent Code": "parent_code",
    "Area Code": "area_code", "Area Name": "area_name", "Area Type": "publisher_area_type",
    "Sex": "sex", "Age": "age", "Category Type": "category_type", "Category": "category",
    "Time period": "period_label", "Value": "value",
    "Lower CI 95.0 limit": "lower_ci_95", "Upper CI 95.0 limit": "upper_ci_95",
    "Lower CI 99.8 limit": "lower_ci_99_8", "Upper CI 99.8 limit": "upper_ci_99_8",
    "Count": "count", "Denominator": "denominator", "Value note": "value_note", "Recent Trend": "recent_trend",
    "Compared to England value or percentiles": "compared_to_england", "Time period Sortable": "period_sortable",
}
FT_REQUIRED = ["Indicator ID", "Area Code", "Sex", "Age", "Time period", "Value"]
# Column 23's name depends on the parent area type ("Compared to Region value or percentiles",
# "Compared to Counties & UAs (from Apr 2021) value or percentiles", "Compared to percentiles");
# with England as parent it is "Column not used".
PARENT_COMPARISON = re.compile(r"^(Compared to (?!England\b|goal\b).+|Column not used)$")
_SEXES = {"persons": "persons", "male": "male", "female": "female", "not applicable": "persons"}


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's header and its records, each with the physical line it starts on."""

    header: list[str]
    header_line: int
    records: list[tuple[int, list[str]]] = field(repr=False)


def read_csv_table(data: bytes, label: str, header_has: Iterable[str], *, search_records: int = 10) -> CsvTable:
    """Records of a CSV whose header row is the first (of ``search_records``) holding ``header_has``.

    Quoted fields may span lines (the record's locator is the line it starts on); records shorter
    than the header are padded with empty fields (Fingertips drops trailing empty columns); a record
    longer than the header, a quote left open or a file cut off mid-record is a ``SourceFormatError``.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SourceFormatError(f"{label}: not UTF-8 text ({err}); is it the CSV expected?") from None
    unterminated = bool(text.strip()) and not text.endswith(("\n", "\r"))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    wanted = list(header_has)
    header: list[str] | None = None
    header_line = 0
    records: list[tuple[int, list[str]]] = []
    preamble: list[list[str]] = []
    widths: list[int] = []
    previous_end = 0
    try:
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if header is None:
                cells = [c.strip() for c in row]
                if all(w in cells for w in wanted):
                    header, header_line = cells, start
                    continue
                preamble.append(cells)
                if len(preamble) >= search_records:
                    break
                continue
            if len(row) > len(header):
                raise SourceFormatError(f"{label}, line {start}: {len(row)} fields but the header (line {header_line}) has {len(header)}")
            widths.append(len(row))
            records.append((start, row + [""] * (len(header) - len(row))))
    except csv.Error as err:
        raise SourceFormatError(f"{label}, line {reader.line_num}: malformed CSV ({err}); a quote left open usually means the file was cut off") from None
    if header is None:
        raise SourceFormatError(f"{label}: no header row with {wanted} in the first {search_records} records; first record seen: {preamble[0][:8] if preamble else 'none'}")
    if unterminated and len(widths) > 1:
        # No final line break is legal, but a last record with fewer fields than the others is a cut-off download.
        typical = max(set(widths[:-1]), key=widths[:-1].count)
        if widths[-1] < typical:
            raise SourceFormatError(f"{label}, line {records[-1][0]}: the last record stops after {widths[-1]} of {typical} fields with no final line break; the download looks truncated")
    return CsvTable(header, header_line, records)


def _declared_vintage(area_type: str | None) -> str | None:
    """The boundary vintage a Fingertips area type names: ``... (from Apr 2023)`` -> 2023, ``(pre 4/19)`` -> 2018."""
    if not area_type:
        return None
    if m := re.search(r"from Apr (\d{4})", area_type):
        return m[1]
    if m := re.search(r"\(pre 4/(\d{2})\)", area_type):
        return str(2000 + int(m[1]) - 1)
    if m := re.search(r"\(4/(\d{2}) ?- ?3/\d{2}\)", area_type):
        return str(2000 + int(m[1]))
    return None


def _blank_to_none(series: pd.Series) -> pd.Series:
    s = map_distinct(series.astype("object"), lambda v: v.strip() if isinstance(v, str) else v)
    return s.where(~s.isin(["", None]), None)


def _sex(series: pd.Series) -> pd.Series:
    """persons/male/female; anything else is passed on unchanged so the contract names it."""
    return map_distinct(series, lambda v: _SEXES.get(str(v).strip().lower(), v))


def _age(series: pd.Series) -> pd.Series:
    return map_distinct(series, lambda v: "all" if str(v).strip().lower() == "all ages" else str(v).strip())


def _periods(frame: pd.DataFrame, year_types: dict[str, str], label: str) -> pd.DataFrame:
    """Each row's first and last day, parsed once per distinct (indicator, period label); an unreadable label is
    reported at the first row of the file that holds one."""
    pairs = pd.Series(list(zip(frame["indicator_id"], frame["period_label"])), index=frame.index, dtype=object)
    try:
        spans = map_distinct(pairs, lambda pair: parse_period(pair[1], year_types.get(pair[0], "calendar"))).tolist()
    except ValueError:
        for (ind, period), locator in zip(pairs, frame["source_locator"]):  # name the first row that fails
            try:
                parse_period(period, year_types.get(ind, "calendar"))
            except ValueError as err:
                raise SourceFormatError(f"{label}, {locator}: {err}") from None
        raise
    return frame.assign(period_start=[start for start, _ in spans], period_end=[end for _, end in spans])


def _year_types() -> dict[str, str]:
    return {i: ind.year_type for i, ind in catalogue().indicators.items()}


def parse_fingertips_bytes(data: bytes, f: InputFile) -> pd.DataFrame:
    """The publisher's data CSV (see the module docstring for its quirks) as :data:`PARSED_COLUMNS`."""
    table = read_csv_table(data, f.label, ["Indicator ID", "Area Code"])
    missing = [c for c in FT_REQUIRED if c not in table.header]
    if missing:
        raise SourceFormatError(f"{f.label}: expected column(s) {missing} not found in the header (line {table.header_line}): {table.header}")
    dupes = {c for c in table.header if c and table.header.count(c) > 1}
    if dupes:
        raise SourceFormatError(f"{f.label}: header names {sorted(dupes)} more than once")
    parent_cols = [c for c in table.header if PARENT_COMPARISON.match(c)]
    if len(parent_cols) > 1:
        raise SourceFormatError(f"{f.label}: more than one parent-comparison column: {parent_cols}")
    raw = pd.DataFrame([r for _, r in table.records], columns=table.header, dtype="object")
    out = pd.DataFrame(index=raw.index)
    for source_col, col in _FT_COLUMNS.items():
        out[col] = _blank_to_none(raw[source_col]) if source_col in raw.columns else None
    out["compared_to_parent"] = _blank_to_none(raw[parent_cols[0]]) if parent_cols and parent_cols[0] != "Column not used" else None
    out["source_locator"] = [f"line {line}" for line, _ in table.records]
    if out.empty:
        return _finish(out, f)
    if out["indicator_id"].isna().any() or out["area_code"].isna().any() or out["period_label"].isna().any():
        bad = out[out["indicator_id"].isna() | out["area_code"].isna() | out["period_label"].isna()]
        raise SourceFormatError(f"{f.label}: {len(bad)} record(s) lack an indicator id, area code or time period, first at {bad['source_locator'].iloc[0]}")
    out["indicator_id"] = out["indicator_id"].astype(str).str.strip()
    out["indicator_name"] = map_distinct(out["indicator_name"], _one_spaced)
    out["declared_vintage"] = map_distinct(out["publisher_area_type"], _declared_vintage)
    out["sex"] = _sex(out["sex"])
    out["age"] = _age(out["age"].fillna("All ages"))
    out["period_sortable"] = pd.to_numeric(out["period_sortable"], errors="coerce")
    for col in NUMERIC:
        out[col] = numeric_or_original(out[col])
    # England (and any parent) listed as a child of itself, once per parent: keep one row per key.
    out = out[out["area_code"] != out["parent_code"].fillna("")]
    key = ["indicator_id", "area_code", "sex", "age", "category_type", "category", "period_label"]
    keyed = out.assign(**{c: out[c].fillna("") for c in ("category_type", "category")})
    dup = keyed.duplicated(key, keep=False)
    if dup.any():
        same = keyed[dup].groupby(key, dropna=False)[["value", "lower_ci_95", "upper_ci_95", "count", "denominator"]].nunique(dropna=False)
        if (same > 1).any(axis=None):
            first = same[(same > 1).any(axis=1)].index[0]
            raise SourceFormatError(f"{f.label}: {dict(zip(key, first))} appears more than once with different values")
        out = out[~keyed.duplicated(key, keep="first")]
        # a row repeated per parent has no single parent: its parent columns say nothing
        repeated = keyed.loc[out.index].set_index(key).index.isin(keyed[dup].set_index(key).index)
        out.loc[repeated, ["parent_code", "compared_to_parent"]] = None
    out = _periods(out, _year_types(), f.label)
    return _finish(out, f)


def parse_fingertips_csv(f: InputFile) -> pd.DataFrame:
    return parse_fingertips_bytes(f.path.read_bytes(), f)


def _finish(frame: pd.DataFrame, f: InputFile) -> pd.DataFrame:
    frame = frame.assign(source_id=f.source_id, source_sha256=f.sha256)
    for col in PARSED_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    return frame[PARSED_COLUMNS].reset_index(drop=True)


# --- Trafford Data Lab's re-shaped copies ---------------------------------------------------------------

THEMES_COLUMNS = ["area_code", "area_name", "area_type", "period", "indicator", "measure", "unit", "value", "compared_to_England", "inequality"]
DASHBOARD_COLUMNS = ["area_code", "area_name", "period", "value", "indicator", "measure", "unit", "significance"]
_NULL_TOKENS = {"", "NA", "N/A", "NaN"}


def _trafford_frame(f: InputFile, required: list[str]) -> pd.DataFrame:
    table = read_csv_table(f.path.read_bytes(), f.label, required)
    raw = pd.DataFrame([r for _, r in table.records], columns=table.header, dtype="object")
    raw["source_locator"] = [f"line {line}" for line, _ in table.records]
    return raw


def _one_spaced(name):
    """An indicator name as the catalogue spells it: runs of white space as one space, none at the ends."""
    return re.sub(r"\s+", " ", name).strip() if isinstance(name, str) else name


def _single_indicator(names: pd.Series, f: InputFile) -> Indicator:
    """The catalogue indicator of a one-indicator source, checked against the names (:func:`_one_spaced`) the file
    carries."""
    cat = catalogue()
    src = cat.for_source(f.source_id)
    if len(src.indicators) != 1:
        raise SourceFormatError(f"{f.label}: a re-shaped file maps to one indicator, but {CATALOGUE_PATH.name} lists {list(src.indicators)}")
    ind = cat.indicator(src.indicators[0])
    wrong = sorted(n for n in set(names) if not ind.matches_name(n))
    if wrong:
        raise SourceFormatError(f"{f.label}: holds indicator(s) {wrong}, but the catalogue maps {f.source_id} to {ind.id} {ind.name!r}")
    return ind


def _values(series: pd.Series) -> pd.Series:
    return numeric_or_original(map_distinct(series, lambda v: None if str(v).strip() in _NULL_TOKENS else v))


def _trafford_out(raw: pd.DataFrame, names: pd.Series, ind: Indicator, sex: pd.Series, compared: pd.Series, area_type,
                  f: InputFile) -> pd.DataFrame:
    out = pd.DataFrame({
        "indicator_id": ind.id,
        "indicator_name": names,
        "area_code": raw["area_code"].str.strip(),
        "area_name": raw["area_name"].str.strip(),
        "publisher_area_type": area_type,
        "sex": _sex(sex),
        "age": ind.age,
        "period_label": map_distinct(raw["period"], canonical_period_label),
        "value": _values(raw["value"]),
        "compared_to_england": _blank_to_none(compared),
        "source_locator": raw["source_locator"],
    })
    out = _periods(out, _year_types(), f.label)
    return _finish(out, f)


def parse_trafford_themes(f: InputFile) -> pd.DataFrame:
    """``trafford_themes`` layout: one indicator; sex in ``inequality`` (HLE, LE) or in ``unit`` (mortality)."""
    raw = _trafford_frame(f, THEMES_COLUMNS)
    missing = [c for c in THEMES_COLUMNS if c not in raw.columns]
    if missing:
        raise SourceFormatError(f"{f.label}: expected column(s) {missing} not found; the file has {list(raw.columns)}")
    names = map_distinct(raw["indicator"], _one_spaced)
    ind = _single_indicator(names, f)
    sex_col = _sex_column(raw, ("inequality", "unit"), f)
    return _trafford_out(raw, names, ind, raw[sex_col], raw["compared_to_England"], _blank_to_none(raw["area_type"]), f)


def _sex_column(raw: pd.DataFrame, candidates: tuple[str, ...], f: InputFile) -> str:
    """The column holding Male/Female/Persons: the candidate where most values are a sex (at least half)."""
    sexes = {"Male", "Female", "Persons"}
    present = [c for c in candidates if c in raw.columns]
    share = {c: raw[c].str.strip().isin(sexes).mean() if len(raw) else 0.0 for c in present}
    best = max(share, key=share.get) if share else None
    if best is None or share[best] < 0.5:
        seen = {c: sorted(set(raw[c]))[:4] for c in present}
        raise SourceFormatError(f"{f.label}: none of the columns {present} holds the sex (Male/Female/Persons): {seen}")
    return best


def parse_trafford_dashboard(f: InputFile) -> pd.DataFrame:
    """``dashboard`` layout (fingertipsR pull): one indicator, sex in ``unit`` (Persons) or ``group`` (Male/Female),
    ``significance`` = comparison with England."""
    raw = _trafford_frame(f, DASHBOARD_COLUMNS)
    missing = [c for c in DASHBOARD_COLUMNS if c not in raw.columns]
    if missing:
        raise SourceFormatError(f"{f.label}: expected column(s) {missing} not found; the file has {list(raw.columns)}")
    names = map_distinct(raw["indicator"], _one_spaced)
    ind = _single_indicator(names, f)
    return _trafford_out(raw, names, ind, raw[_sex_column(raw, ("group", "unit"), f)], raw["significance"], None, f)


def parse(f: InputFile) -> pd.DataFrame:
    """Any Fingertips input: the publisher's CSV, or one of the re-shaped layouts, told apart by the header (found in the first lines)."""
    head = f.path.read_bytes()[:8192].decode("utf-8-sig", "replace").splitlines()[:10]
    for line in head:
        cells = {c.strip().strip('"') for c in line.split(",")}
        if {"Indicator ID", "Area Code"} <= cells:
            return parse_fingertips_csv(f)
        if set(THEMES_COLUMNS) <= cells:
            return parse_trafford_themes(f)
        if set(DASHBOARD_COLUMNS) <= cells:
            return parse_trafford_dashboard(f)
    raise SourceFormatError(f"{f.label}: not a Fingertips CSV nor a known re-shaped layout; first line {head[0][:160] if head else ''!r}")


# --- indicator metadata CSV ----------------------------------------------------------------------------

METADATA_REQUIRED = ["Indicator ID", "Indicator", "Definition", "Unit", "Value type", "Polarity"]


def polarity_of(text: str | None) -> str:
    """Fingertips' polarity wording -> ``high_is_good`` / ``low_is_good`` / ``no_judgement``."""
    t = (text or "").lower()
    if "high is good" in t:
        return "high_is_good"
    if "low is good" in t:
        return "low_is_good"
    return "no_judgement"


def parse_metadata_bytes(data: bytes, f: InputFile) -> pd.DataFrame:
    """``indicator_metadata/csv/by_indicator_id`` rows: id, name, definition, unit, value type, polarity, year type, date updated."""
    table = read_csv_table(data, f.label, ["Indicator ID", "Indicator"])
    missing = [c for c in METADATA_REQUIRED if c not in table.header]
    if missing:
        raise SourceFormatError(f"{f.label}: expected metadata column(s) {missing} not found: {table.header}")
    raw = pd.DataFrame([r for _, r in table.records], columns=table.header, dtype="object")
    get = lambda col: _blank_to_none(raw[col]) if col in raw.columns else None  # noqa: E731
    out = pd.DataFrame({
        "indicator_id": raw["Indicator ID"].str.strip(),
        "name": get("Indicator"),
        "definition": get("Definition"),
        "unit": get("Unit"),
        "value_type": get("Value type"),
        "polarity": raw["Polarity"].map(polarity_of),
        "polarity_text": get("Polarity"),
        "year_type": get("Year type"),
        "date_updated": get("Date updated"),
        "source_id": f.source_id, "source_sha256": f.sha256,
        "source_locator": [f"line {line}" for line, _ in table.records],
    })
    return out


def parse_metadata(f: InputFile) -> pd.DataFrame:
    return parse_metadata_bytes(f.path.read_bytes(), f)


# --- the live API client ----------------------------------------------------------------------------------


def base_url() -> str:
    url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def batches(ids: Iterable[str], size: int = MAX_IDS_PER_CALL) -> Iterator[list[str]]:
    """Indicator ids in lists of at most ``size`` (the API refuses more than 100 per call)."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    if size < 1 or size > MAX_IDS_PER_CALL:
        raise ValueError(f"batch size must be 1..{MAX_IDS_PER_CALL}")
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


class FingertipsClient:
    """The Fingertips API through the observatory's one HTTP client (retries, caps, format checks).

    Transient faults (5xx, 429 with ``Retry-After``, connection resets, slow answers) are retried by
    the session; a body cut off mid-download is fetched again up to ``refetch`` times; an HTML page,
    a notice served with status 200, a CSV that is not the Fingertips layout, or JSON of the wrong
    shape fails at once with :class:`FetchError` saying what came back.
    """

    def __init__(self, url: str | None = None, *, session: requests.Session | None = None,
                 timeout: tuple[float, float] | None = None, refetch: int = 2, max_bytes: int | None = None) -> None:
        self.url = url if url else base_url()
        if not self.url.endswith("/"):
            self.url += "/"
        self.session = session or make_session()
        self.timeout = timeout or default_timeout((10, 120))
        self.refetch = refetch
        self.max_bytes = max_bytes
        self._area_types: dict[int, str] | None = None

    # -- plumbing
    def _get(self, path: str, params: dict | None, expect: str) -> Fetched:
        kwargs = {"params": params, "expect": expect, "timeout": self.timeout}
        if self.max_bytes:
            kwargs["max_bytes"] = self.max_bytes
        attempt = 0
        while True:
            try:
                return fetch(self.session, self.url + path, **kwargs)
            except FetchError as err:
                # urllib3 retries status codes and connection faults; a body cut off after the
                # headers is not covered there, so fetch it again a few times.
                if attempt < self.refetch and _is_cut_off(err):
                    attempt += 1
                    continue
                raise

    def _csv(self, path: str, params: dict, header_has: list[str]) -> Fetched:
        fetched = self._get(path, params, "csv")
        first = fetched.content[:4096].decode("utf-8-sig", "replace").splitlines()[0] if fetched.content else ""
        if not all(h in first for h in header_has):
            raise FetchError(f"{fetched.url}: returned a CSV without the Fingertips header ({', '.join(header_has)}); first line {first[:120]!r}")
        return fetched

    def _json(self, path: str, params: dict | None, shape: type) -> object:
        fetched = self._get(path, params, "json")
        data = fetched.json()
        if not isinstance(data, shape):
            raise FetchError(f"{fetched.url}: expected a JSON {shape.__name__}, got {type(data).__name__}: {str(data)[:120]}")
        return data

    # -- endpoints
    def all_data(self, indicator_ids: Iterable[str], child_area_type_id: int, parent_area_type_id: int,
                 parent_area_code: str | None = None, require_all: bool = True) -> list[Fetched]:
        """``all_data/csv/by_indicator_id`` for every id, at most 100 ids per call; one response per batch.

        Every requested id must come back with data: an id with no rows is retired or renamed, and
        is an error rather than a silently smaller warehouse. ``require_all=False`` (a whole profile,
        whose indicators need not all be published at this area type) accepts ids without rows.
        """
        out = []
        for batch in batches(indicator_ids):
            params = {
                "indicator_ids": ",".join(batch),
                "child_area_type_id": child_area_type_id,
                "parent_area_type_id": parent_area_type_id,
                "include_sortable_time_periods": "yes",
            }
            if parent_area_code:
                params["parent_area_code"] = parent_area_code
            fetched = self._csv("all_data/csv/by_indicator_id", params, ["Indicator ID", "Area Code"])
            table = read_csv_table(fetched.content, fetched.url, ["Indicator ID", "Area Code"])
            col = table.header.index("Indicator ID")
            returned = {r[col].strip() for _, r in table.records}
            absent = [i for i in batch if i not in returned]
            if absent and require_all:
                raise FetchError(f"{fetched.url}: no data for indicator(s) {absent} at area type {child_area_type_id}; retired or renumbered? Check sources/fingertips_indicators.toml")
            out.append(fetched)
        return out

    def indicator_metadata_csv(self, indicator_ids: Iterable[str]) -> list[Fetched]:
        """``indicator_metadata/csv/by_indicator_id`` (definition, unit, polarity...), batched."""
        return [
            self._csv("indicator_metadata/csv/by_indicator_id", {"indicator_ids": ",".join(batch)}, ["Indicator ID", "Indicator"])
            for batch in batches(indicator_ids)
        ]

    def profiles(self) -> list[dict]:
        """``profiles``: every profile (``Id``, ``Key``, ``Name``...)."""
        return self._json("profiles", None, list)

    def profile_metadata_csv(self, profile_id: int) -> Fetched:
        """``indicator_metadata/csv/by_profile_id``: the metadata of every indicator in one profile."""
        return self._csv("indicator_metadata/csv/by_profile_id", {"profile_id": profile_id}, ["Indicator ID", "Indicator"])

    def indicator_metadata_json(self, indicator_ids: Iterable[str]) -> dict[str, dict]:
        """``indicator_metadata/by_indicator_id`` (JSON: CI method, unit multiplier...), batched; id -> entry."""
        out: dict[str, dict] = {}
        for batch in batches(indicator_ids):
            out.update({str(k): v for k, v in self._json("indicator_metadata/by_indicator_id", {"indicator_ids": ",".join(batch)}, dict).items()})
        return out

    def area_types(self) -> dict[int, str]:
        """``area_types``: id -> name."""
        if self._area_types is None:
            data = self._json("area_types", None, list)
            try:
                self._area_types = {int(item["Id"]): str(item["Name"]) for item in data}
            except (KeyError, TypeError, ValueError):
                raise FetchError(f"{self.url}area_types: items lack Id/Name: {str(data)[:160]}") from None
        return self._area_types

    def check_area_types(self, expected: dict[int, str]) -> None:
        """Fail if an area type id is unknown or its name no longer matches (ids are reused across vintages)."""
        known = self.area_types()
        for type_id, pattern in expected.items():
            name = known.get(type_id)
            if name is None:
                raise FetchError(f"Fingertips has no area type {type_id}; known ids: {sorted(known)[:30]}")
            if not re.search(pattern, name, flags=re.IGNORECASE):
                raise FetchError(f"Fingertips area type {type_id} is now {name!r}, not {pattern!r}; update sources/fingertips_indicators.toml")

    def data_changes(self, indicator_id: str) -> str | None:
        """The change probe: ``data_changes?indicator_id=`` -> when the indicator's data last changed (text), or None."""
        data = self._json("data_changes", {"indicator_id": indicator_id}, dict)
        if "LastUploadedAt" not in data:
            raise FetchError(f"{self.url}data_changes?indicator_id={indicator_id}: no LastUploadedAt in {str(data)[:160]}")
        stamps = [data.get(k) for k in ("LastUploadedAt", "LastDeletedAt") if data.get(k)]
        return max(str(s) for s in stamps) if stamps else None

    def indicator_search(self, text: str, profile_ids: Iterable[int] = ()) -> list[str]:
        """``indicator_search``: ids whose metadata mention ``text`` (any area type), optionally within profiles."""
        params = {"search_text": text}
        profile_ids = list(profile_ids)
        if profile_ids:
            params["restrict_to_profile_ids"] = ",".join(str(p) for p in profile_ids)
        data = self._json("indicator_search", params, dict)
        ids = {str(i) for values in data.values() if isinstance(values, list) for i in values}
        return sorted(ids, key=lambda i: (len(i), i))

    def metadata_names(self, indicator_ids: Iterable[str]) -> dict[str, str]:
        """Id -> name from the metadata of the ids asked for (rows for other ids are ignored)."""
        wanted = [str(i) for i in indicator_ids]
        names = {}
        for fetched in self.indicator_metadata_csv(wanted):
            table = read_csv_table(fetched.content, fetched.url, ["Indicator ID", "Indicator"])
            i_id, i_name = table.header.index("Indicator ID"), table.header.index("Indicator")
            names.update({r[i_id].strip(): r[i_name].strip() for _, r in table.records if r[i_id].strip() in wanted})
        return names

    def resolve(self, indicators: Iterable[Indicator]) -> list[str]:
        """Ids to fetch: catalogued ids as they are; an uncertain id checked by its metadata name, else found by search."""
        indicators = list(indicators)
        uncertain = [i for i in indicators if i.id_confidence == "uncertain"]
        names = self.metadata_names([i.id for i in uncertain]) if uncertain else {}
        resolved = []
        for ind in indicators:
            if ind.id_confidence != "uncertain" or _name_matches(names.get(ind.id, ""), ind.name):
                resolved.append(ind.id)
                continue
            candidates = self.indicator_search(ind.name, [ind.search_profile_id] if ind.search_profile_id else [])
            found = self.metadata_names(candidates) if candidates else {}
            matches = [i for i, n in found.items() if _name_matches(n, ind.name)]
            if len(matches) != 1:
                raise FetchError(f"could not resolve {ind.name!r}: id {ind.id} is {names.get(ind.id) or 'unknown'}, and the search found {matches or 'no'} match(es) among {sorted(found.items())[:6]}")
            resolved.append(matches[0])
        return resolved


def _is_cut_off(err: FetchError) -> bool:
    """A download cut off part-way (worth fetching again), as opposed to a wrong answer."""
    return isinstance(err, TruncatedBody)
