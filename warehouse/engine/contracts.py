"""Pandera contracts generated from the registry, and readable reports of what failed.

``validate(table, frame, inputs)`` coerces a frame to the table's types and checks every
constraint lazily, so one run reports every failing column at once. A failure raises
:class:`ContractViolation`, whose message names the table, the source files, each failing column
and check, and the first failing values.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.errors import SchemaErrors

from warehouse.engine.registry import Field, Table, plausibility


@dataclasses.dataclass(frozen=True)
class _Text(pandas_engine.STRING):
    """Pandera's ``string`` type, whose dtype check answers once for a column already of that type.

    Pandera's own answers with one ``True`` per value, and then builds a failure-case frame and its printed form
    for every passing text column (most of the cost of validating a table); any other column's dtype is still
    checked value by value, as Pandera does.
    """

    def check(self, pandera_dtype, data_container=None):
        try:
            if pandas_engine.Engine.dtype(pandera_dtype).type == self.type:
                return True
        except TypeError:
            return False
        return super().check(pandera_dtype, data_container)


_PANDAS_DTYPE = {
    "text": _Text(),
    "integer": "Int64",
    "bigint": "Int64",
    "double": "Float64",
    "date": "datetime64[ns]",
    "timestamp": "datetime64[ns]",
    "boolean": "boolean",
}
_FIRST_VALUES = 5


class ContractViolation(ValueError):
    """A frame broke its table's contract. ``str()`` is a report a person can act on."""

    def __init__(self, table: str, inputs: list[str], problems: list[str], failure_cases: pd.DataFrame | None = None):
        self.table = table
        self.inputs = inputs
        self.problems = problems
        self.failure_cases = failure_cases
        source = ", ".join(inputs) if inputs else "(no input file named)"
        lines = [f"{table}: {len(problems)} problem(s) in data from {source}; nothing was loaded."]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def _is_finite(values: pd.Series) -> pd.Series:
    """Element-wise: not ±inf (nulls pass: nullability is checked separately)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return ~numbers.isin([math.inf, -math.inf])


def _implausible_rows(frame: pd.DataFrame, column: str, id_column: str) -> pd.Series:
    """True for rows whose ``column`` lies outside the physical range of the unit of their indicator."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    units = plausibility.indicator_units()
    codes, ids = pd.factorize(frame[id_column].astype("string"))  # a range per distinct indicator, then by row
    ranges = [plausibility.unit_range(*units.get(str(i), (None, None))) for i in ids]
    lo = np.append(np.array([-np.inf if r[0] is None else r[0] for r in ranges], dtype="float64"), -np.inf)[codes]
    hi = np.append(np.array([np.inf if r[1] is None else r[1] for r in ranges], dtype="float64"), np.inf)[codes]
    return pd.Series(~np.isnan(values) & ((values < lo) | (values > hi)), index=frame.index)


def _checks(f: Field) -> list[pa.Check]:
    checks = []
    if f.allowed is not None:
        checks.append(pa.Check.isin(list(f.allowed)))
    ge, le = plausibility.bounds(f)  # the field's own bounds and its unit's physical range
    if ge is not None:
        checks.append(pa.Check.ge(ge))
    if le is not None:
        checks.append(pa.Check.le(le))
    if plausibility.must_be_finite(f):
        checks.append(pa.Check(_is_finite, name="finite (not inf)"))
    if f.pattern is not None:
        checks.append(pa.Check.str_matches(f.pattern))
    return checks


_SCHEMAS: dict[str, pa.DataFrameSchema] = {}


def schema_for(table: Table) -> pa.DataFrameSchema:
    """The Pandera schema of a table (cached by name: registry tables are immutable)."""
    cached = _SCHEMAS.get(table.name)
    if cached is not None and cached.description == table.description and list(cached.columns) == table.column_names:
        return cached
    _SCHEMAS[table.name] = _build_schema(table)
    return _SCHEMAS[table.name]


def _unit_checks(table: Table) -> list[pa.Check]:
    """Row-wise range checks for fields whose unit is their indicator's (``Field.unit_from``)."""
    checks = []
    for f in table.fields:
        if f.unit_from and f.unit_from in table.column_names:
            def cells_ok(frame: pd.DataFrame, column=f.name, id_column=f.unit_from) -> pd.DataFrame:
                ok = pd.DataFrame(True, index=frame.index, columns=frame.columns)
                ok[column] = ~_implausible_rows(frame, column, id_column)
                return ok
            checks.append(pa.Check(cells_ok, name=f"within the physical range of its {f.unit_from}'s unit (years 0-120, % 0-100, rates >= 0)"))
    return checks


def _column(f: Field, *, unique: bool, coerce: bool = True) -> pa.Column:
    return pa.Column(_PANDAS_DTYPE[f.dtype], checks=_checks(f), nullable=f.nullable, unique=unique, coerce=coerce,
                     description=f.description, title=f.name)


def _build_schema(table: Table) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {f.name: _column(f, unique=f.unique) for f in table.fields},
        checks=_unit_checks(table),
        name=table.name,
        unique=list(table.primary_key) if table.primary_key else None,
        strict="filter",
        ordered=False,
        report_duplicates="all",
        description=table.description,
    )


def _describe_duplicates(cases: pd.DataFrame, key: list[str]) -> str:
    rows = sorted({int(i) for i in cases["index"].dropna()})
    examples = (
        cases.dropna(subset=["index"]).pivot_table(index="index", columns="column", values="failure_case", aggfunc="first")
        .reindex(columns=key).drop_duplicates().head(3).to_dict("records")
    )
    return f"duplicate primary key ({', '.join(key)}): {len(rows)} row(s) share a key, e.g. {examples} at row(s) {rows[:_FIRST_VALUES]}"


def _describe_failures(cases: pd.DataFrame, key: list[str]) -> list[str]:
    problems = []
    cases = cases.copy()
    duplicates = cases["check"] == "multiple_fields_uniqueness"
    if duplicates.any():
        problems.append(_describe_duplicates(cases[duplicates], key))
        cases = cases[~duplicates]
    wide = cases["failure_case"].map(lambda v: isinstance(v, dict) and len(v) == 1)  # a row-wise check of one column
    if wide.any():
        cases.loc[wide, "column"] = cases.loc[wide, "failure_case"].map(lambda v: next(iter(v)))
        cases.loc[wide, "failure_case"] = cases.loc[wide, "failure_case"].map(lambda v: next(iter(v.values())))
    cases["column"] = cases["column"].fillna("(table)")
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        values = group["failure_case"].drop_duplicates().head(_FIRST_VALUES).tolist()
        rows = group["index"].dropna().head(_FIRST_VALUES).tolist()
        where = f" at row(s) {rows}" if rows else ""
        problems.append(f"column {column!r} failed {check}: {len(group)} value(s), first {values!r}{where}")
    return problems


def _coerce(dtype, values: pd.Series) -> pd.Series:
    """Pandera's coercion of ``values`` to ``dtype``; text parsed as dates once per distinct value, not once per row."""
    if len(values) < 10_000 or not pd.api.types.is_datetime64_dtype(dtype.type) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        return dtype.try_coerce(values)
    codes, distinct = pd.factorize(values, use_na_sentinel=True)  # in order of first appearance: same format guess
    parsed = dtype.try_coerce(pd.Series(distinct, dtype=values.dtype, name=values.name)).to_numpy()
    rows = parsed.take(codes)
    rows[codes == -1] = np.datetime64("NaT")
    return pd.Series(rows, index=values.index, name=values.name, dtype=parsed.dtype)


def _null_witnesses(values: pd.Series) -> pd.Series:
    """What decides a column checked for nothing but its type and nulls: its first value and its first null (of those
    it has). Any other value gets the same verdict as one of them, so a free-text column (a source locator, a note),
    whose distinct values are about as many as its rows, is not reduced to them."""
    nulls = values.isna().to_numpy()
    return values.iloc[sorted({int(nulls.argmin()), int(nulls.argmax())})] if len(values) else values


def _distinct_frames(columns: dict[str, pd.Series]) -> list[pd.DataFrame]:
    """The columns' distinct values (nulls kept once), side by side in a few frames: columns whose counts of distinct
    values are within a factor of two share a frame, the shorter padded with their own first value. Every value of
    every column appears, and no other value, so checks decided by each value alone answer as on the whole column,
    with a handful of Pandera calls per table and no column checked on more than twice its distinct values."""
    distinct = {name: pd.unique(values) for name, values in columns.items()}
    groups: list[list[str]] = []
    for name in sorted(distinct, key=lambda n: len(distinct[n]), reverse=True):
        if groups and 2 * len(distinct[name]) >= len(distinct[groups[-1][0]]):
            groups[-1].append(name)
        else:
            groups.append([name])

    def padded(v, longest: int):
        if len(v) in (0, longest):
            return v
        return v.take(np.concatenate([np.arange(len(v)), np.zeros(longest - len(v), dtype=np.intp)]))

    return [pd.DataFrame({n: pd.Series(padded(distinct[n], len(distinct[group[0]])), dtype=columns[n].dtype, name=n) for n in group})
            for group in groups]


_VALUE_SCHEMAS: dict[tuple[str, tuple[str, ...]], tuple[Table, pa.DataFrameSchema]] = {}


def _values_schema(table: Table, columns: tuple[str, ...]) -> pa.DataFrameSchema:
    """The schemas of ``columns`` of the table (types, checks, nullability) without uniqueness and table checks,
    which whole rows decide, and without coercion: their values come already coerced (a column of any other type
    fails Pandera's dtype check, and then the full validation reports it)."""
    cached = _VALUE_SCHEMAS.get((table.name, columns))
    if cached is None or cached[0] != table:
        fields = {f.name: f for f in table.fields}
        cached = _VALUE_SCHEMAS[(table.name, columns)] = (table, pa.DataFrameSchema(
            {c: _column(fields[c], unique=False, coerce=False) for c in columns}, name=table.name))
    return cached[1]


def _validate_by_distinct_values(table: Table, frame: pd.DataFrame) -> pd.DataFrame | None:
    """Pandera itself, run where its checks are decided: the frame coerced to the contract when it passes, else None.

    Every check the registry generates for a column (allowed values, ranges, patterns, finiteness, nullability) is
    decided by each value alone, so Pandera validates the columns' *distinct* values (a few frames, one call of the
    table's column schemas each): the same checks on a fraction of the rows (a million-row table has a few thousand
    distinct values per column). A column checked for nothing but its type and nulls is decided by its first value
    and first null (:func:`_null_witnesses`). Checks that involve whole rows run on what decides them: unique columns and the
    primary key on the coerced columns (``duplicated``), the unit-range checks on the distinct (value, indicator)
    pairs with the table's own Pandera schema checks. None on any failure, so the full lazy Pandera validation
    reports every failing row.
    """
    if frame.columns.duplicated().any():
        return None
    schema = schema_for(table)
    coerced = frame[table.column_names].copy(deep=False)
    try:
        for f in table.fields:
            values = _coerce(schema.columns[f.name].dtype, coerced[f.name])
            if f.unique and values.duplicated().any():
                return None
            coerced[f.name] = values
        checked = {name for name, column in schema.columns.items() if column.checks}  # from the cached schema
        for values_frame in _distinct_frames({c: coerced[c] if c in checked else _null_witnesses(coerced[c]) for c in table.column_names}):
            _values_schema(table, tuple(values_frame.columns)).validate(values_frame, lazy=False)
        if table.primary_key and coerced.duplicated(subset=list(table.primary_key)).any():
            return None
        if schema.checks:  # row-wise checks over a few columns: their distinct combinations decide them
            used = [c for f in table.fields if f.unit_from for c in (f.name, f.unit_from)]
            pairs = coerced[list(dict.fromkeys(used))].drop_duplicates()
            pa.DataFrameSchema(checks=schema.checks).validate(pairs, lazy=False)
    except Exception:  # noqa: BLE001 - a failed check, a coercion error: the full Pandera validation reports it
        return None
    return coerced


def validate(table: Table, frame: pd.DataFrame, inputs: list[str] | None = None) -> pd.DataFrame:
    """The frame coerced to the contract, or :class:`ContractViolation` listing every failure."""
    inputs = inputs or []
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise ContractViolation(table.name, inputs, [f"missing column(s) {missing}; the frame has {list(frame.columns)}"])
    passed = _validate_by_distinct_values(table, frame)
    if passed is not None:
        return stable_doubles(table, passed)
    try:
        validated = schema_for(table).validate(frame, lazy=True)
    except SchemaErrors as err:
        raise ContractViolation(table.name, inputs, _describe_failures(err.failure_cases, list(table.primary_key)), err.failure_cases) from None
    return stable_doubles(table, validated[table.column_names])


SIGNIFICANT_DIGITS = 12  # far beyond any published precision; far above the ~1e-15 noise of summing in another order
NOISE_FLOOR = 1e-13  # relative to a column's largest magnitude: below it, a value is the noise of a cancellation


def stable_doubles(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Every ``double`` column made independent of the order rows were summed in (parallel scans, hash aggregates),
    so an unchanged rebuild is byte-identical in every table:

    * each value rounded to :data:`SIGNIFICANT_DIGITS` significant digits;
    * a value smaller than :data:`NOISE_FLOOR` times its column's largest magnitude stored as 0: what is left of a
      true zero computed from large operands (the slope of a flat series, a difference of equal sums) is noise at
      the operands' scale, which rounding to the value's own digits would keep (-1.7e-14 one build, 0.0 the next);
    * zero stored as +0.0 (never -0.0).
    """
    doubles = [f.name for f in table.fields if f.dtype == "double"]
    if not doubles or frame.empty:
        return frame
    frame = frame.copy(deep=False)
    for name in doubles:
        values = frame[name].to_numpy(dtype="float64", na_value=np.nan).copy()
        finite = np.isfinite(values) & (values != 0)
        if finite.any():
            values[finite & (np.abs(values) < np.abs(values[finite]).max() * NOISE_FLOOR)] = 0.0
            finite &= values != 0
        if finite.any():
            magnitude = np.floor(np.log10(np.abs(values[finite])))
            scale = np.power(10.0, SIGNIFICANT_DIGITS - 1 - magnitude)
            values[finite] = np.round(values[finite] * scale) / scale
        values[values == 0] = 0.0  # -0.0 == 0.0, so this also turns every -0.0 into +0.0
        frame[name] = pd.array(values, dtype=frame[name].dtype) if isinstance(frame[name].dtype, pd.api.extensions.ExtensionDtype) else values
    return frame
