"""DuckDB DDL and comments generated from the registry."""

from __future__ import annotations

from warehouse.engine.queries import sql_text
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
    stored = ""
    if t.view_of:
        stored = f" A view of rows of `{t.view_of}` (its query: `{t.name}.sql`)."
    elif t.union_of:
        stored = f" A view: the union of the rows of {', '.join(f'`{name}`' for name in t.union_of)}."
    return f"{t.description} Grain: {t.grain}. Key: {key}.{stored}"


def view_sql(t: Table) -> str:
    """The query of a registry table stored as a view: the SQL file named after it (``view_of``), or the union of
    its tables' rows (``union_of``) in their order, each table's rows in stored order (so ``SELECT *`` gives the
    same rows in the same order every time, as a stored table would)."""
    if t.view_of:
        return sql_text(t.name).strip().rstrip(";")
    columns = ", ".join(quote_ident(c) for c in t.column_names)
    parts = "\nUNION ALL\n".join(f"SELECT {columns}, {i} AS _part, rowid AS _row FROM {quote_ident(name)}"
                                   for i, name in enumerate(t.union_of))
    return f"SELECT {columns} FROM (\n{parts}\n) ORDER BY _part, _row"


def create_table_sql(t: Table, name: str | None = None) -> str:
    cols = ",\n  ".join(
        f"{quote_ident(f.name)} {_DUCKDB_TYPE[f.dtype]}{'' if f.nullable else ' NOT NULL'}" for f in t.fields
    )
    return f"CREATE OR REPLACE TABLE {quote_ident(name or t.name)} (\n  {cols}\n)"


def comment_sql(t: Table) -> list[str]:
    statements = [f"COMMENT ON {'VIEW' if t.is_view else 'TABLE'} {quote_ident(t.name)} IS {quote_literal(table_comment(t))}"]
    statements += [
        f"COMMENT ON COLUMN {quote_ident(t.name)}.{quote_ident(f.name)} IS {quote_literal(column_comment(f))}"
        for f in t.fields
    ]
    return statements


def duckdb_type(f: Field) -> str:
    return _DUCKDB_TYPE[f.dtype]
