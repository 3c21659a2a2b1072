"""DuckDB DDL and comments generated from the registry."""

from __future__ import annotations

from warehouse.engine.registry import Field, Table

_DUCKDB_TYPE = {
    "text": "VARCHAR",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


def quote_ident(name: str) -> str:
    """A DuckDB identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def column_comment(f: Field) -> str:
    parts = [f.description]
    if f.unit:
        parts.append(f"Unit: {f.unit}.")
    constraints = f.constraints_text()
    if constraints:
        parts.append(f"Allowed: {constraints}.")
    return " ".join(parts)


def table_comment(t: Table) -> str:
    key = ", ".join(t.primary_key) or "none"
    stored = f" A view of rows of `{t.view_of}` (its query: `{t.name}.sql`)." if t.view_of else ""
    return f"{t.description} Grain: {t.grain}. Key: {key}.{stored}"


def create_table_sql(t: Table, name: str | None = None) -> str:
    cols = ",\n  ".join(
        f"{quote_ident(f.name)} {_DUCKDB_TYPE[f.dtype]}{'' if f.nullable else ' NOT NULL'}" for f in t.fields
    )
    return f"CREATE OR REPLACE TABLE {quote_ident(name or t.name)} (\n  {cols}\n)"


def comment_sql(t: Table) -> list[str]:
    statements = [f"COMMENT ON {'VIEW' if t.view_of else 'TABLE'} {quote_ident(t.name)} IS {quote_literal(table_comment(t))}"]
    statements += [
        f"COMMENT ON COLUMN {quote_ident(t.name)}.{quote_ident(f.name)} IS {quote_literal(column_comment(f))}"
        for f in t.fields
    ]
    return statements


def duckdb_type(f: Field) -> str:
    return _DUCKDB_TYPE[f.dtype]
