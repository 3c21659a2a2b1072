"""Pandera contracts generated from the registry, and readable reports of what failed.

``validate(table, frame, inputs)`` coerces a frame to the table's types and checks every
constraint lazily, so one run reports every failing column at once. A failure raises
:class:`ContractViolation`, whose message names the table, the source files, each failing column
and check, and the first failing values.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from warehouse.registry import Field, Table

_PANDAS_DTYPE = {
    "text": "string",
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


def _checks(f: Field) -> list[pa.Check]:
    checks = []
    if f.allowed is not None:
        checks.append(pa.Check.isin(list(f.allowed)))
    if f.ge is not None:
        checks.append(pa.Check.ge(f.ge))
    if f.le is not None:
        checks.append(pa.Check.le(f.le))
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


def _build_schema(table: Table) -> pa.DataFrameSchema:
    columns = {
        f.name: pa.Column(
            _PANDAS_DTYPE[f.dtype],
            checks=_checks(f),
            nullable=f.nullable,
            unique=f.unique,
            coerce=True,
            description=f.description,
            title=f.name,
        )
        for f in table.fields
    }
    return pa.DataFrameSchema(
        columns,
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
    cases["column"] = cases["column"].fillna("(table)")
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        values = group["failure_case"].drop_duplicates().head(_FIRST_VALUES).tolist()
        rows = group["index"].dropna().head(_FIRST_VALUES).tolist()
        where = f" at row(s) {rows}" if rows else ""
        problems.append(f"column {column!r} failed {check}: {len(group)} value(s), first {values!r}{where}")
    return problems


def validate(table: Table, frame: pd.DataFrame, inputs: list[str] | None = None) -> pd.DataFrame:
    """The frame coerced to the contract, or :class:`ContractViolation` listing every failure."""
    inputs = inputs or []
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise ContractViolation(table.name, inputs, [f"missing column(s) {missing}; the frame has {list(frame.columns)}"])
    try:
        validated = schema_for(table).validate(frame, lazy=True)
    except SchemaErrors as err:
        raise ContractViolation(table.name, inputs, _describe_failures(err.failure_cases, list(table.primary_key)), err.failure_cases) from None
    return validated[table.column_names]
