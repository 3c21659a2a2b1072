"""SQL models: the `.sql` files in `warehouse/sql/`, run against the working database."""

from __future__ import annotations

from importlib import resources

import duckdb
import pandas as pd


def sql_text(name: str) -> str:
    """The text of ``warehouse/sql/<name>.sql``."""
    return resources.files("warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def query(con: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    """Run the SELECT in ``<name>.sql`` (named ``$params``) and return its result."""
    return con.execute(sql_text(name), params or None).df()


def execute_script(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run every statement in ``<name>.sql`` (views and macros)."""
    for statement in sql_text(name).split(";\n"):
        if statement.strip():
            con.execute(statement)
