"""SQL files: every query, view and macro lives in a ``.sql`` file under ``warehouse/<room>/sql/``.

A file is named once across the rooms (``transforms/sql/health_benchmarks.sql``, ``outputs/sql/report_gaps_latest.sql``)
and found by that name; :func:`sql_path` is also how loads put a query's text into their change fingerprint.
Also the catalogue questions any reader asks of a warehouse file (:func:`table_counts`, :func:`table_comments`),
kept here so that answering them imports neither pandas nor Pandera.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas only for the annotation: commands that never build a frame skip its import
    import pandas as pd

WAREHOUSE_DIR = Path(__file__).resolve().parents[1]


@functools.cache
def _index() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(WAREHOUSE_DIR.glob("*/sql/*.sql")):
        if path.stem in found:
            raise RuntimeError(f"two SQL files are named {path.stem!r}: {found[path.stem]} and {path}")
        found[path.stem] = path
    return found


def sql_stems() -> frozenset[str]:
    """The names of every SQL file."""
    return frozenset(_index())


def sql_path(name: str) -> Path:
    """The file ``warehouse/<room>/sql/<name>.sql``."""
    try:
        return _index()[name]
    except KeyError:
        raise KeyError(f"no SQL file named {name!r}; known: {', '.join(sorted(_index()))}") from None


def sql_text(name: str) -> str:
    """The text of the SQL file ``name``."""
    return sql_path(name).read_text(encoding="utf-8")


def query(con: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    """Run the SELECT in ``<name>.sql`` (named ``$params``) and return its result."""
    return con.execute(sql_text(name), params or None).df()


def execute_script(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run every statement in ``<name>.sql`` (views and macros)."""
    for statement in sql_text(name).split(";\n"):
        if statement.strip():
            con.execute(statement)


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    return con.execute(sql_text("warehouse_tables")).fetchall()


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the published tables (registry-named tables, not internal ``_`` ones), by name."""
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n, _ in _published_tables(con)}


def table_comments(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The comment of each published table (the registry's description and grain, written by the DDL), by name."""
    return {n: comment or "" for n, comment in _published_tables(con)}
