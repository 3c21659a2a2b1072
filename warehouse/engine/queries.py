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
    return fetch_frame(con, sql_text(name), params or None)


def fetch_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    """The result of ``sql`` as a pandas frame: the frame DuckDB's ``.df()`` gives, column for column and dtype for
    dtype, fetched through Arrow, which is several times faster for text (``.df()`` makes a Python string of every
    value, which pandas then converts back into Arrow-backed strings).

    ``.df()``'s conventions, kept: an integer or boolean column with a NULL is pandas' nullable type, else NumPy's;
    a text column with no value at all is ``object`` (``None``); dates and timestamps are ``datetime64[us]``. A
    result with repeated column names is fetched with ``.df()`` itself (which names the repeats), and one with any
    other type (decimals, whose conversion to ``float64`` must round as DuckDB's does; lists, structs, intervals…)
    is converted by DuckDB from the fetched Arrow table. ``sql`` runs once.
    """
    import pandas as pd

    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    if len(set(names)) < len(names):
        return cursor.df()
    table = cursor.to_arrow_table()
    columns = {name: _column(column) for name, column in zip(names, table.columns)}
    if not columns or any(c is None for c in columns.values()):
        return duckdb.from_arrow(table).df()
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def _column(column):
    """One Arrow column as ``.df()`` would give it (see :func:`fetch_frame`); None for a type it leaves to DuckDB."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    kind, nulls = column.type, column.null_count
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return column.to_pandas(types_mapper=pd.ArrowDtype).astype(_NULLABLE[str(kind)]) if nulls else column.to_numpy()
    if pa.types.is_floating(kind):
        return column.to_numpy()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.full(len(column), None, dtype=object) if nulls == len(column) else column.to_pandas()
    if pa.types.is_date(kind) or (pa.types.is_timestamp(kind) and kind.tz is None):
        return column.cast(pa.timestamp("us")).to_pandas(coerce_temporal_nanoseconds=False)
    return None


_NULLABLE = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64", "uint8": "UInt8", "uint16": "UInt16",
             "uint32": "UInt32", "uint64": "UInt64", "bool": "boolean"}


def execute_script(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run every statement in ``<name>.sql`` (views and macros)."""
    for statement in sql_text(name).split(";\n"):
        if statement.strip():
            con.execute(statement)


def _published_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    from warehouse.engine.registry import REGISTRY

    # no query parameters: binding any makes DuckDB's Python client import pandas, which these questions avoid
    return [(name, comment) for name, comment, is_view in con.execute(sql_text("warehouse_tables")).fetchall()
            if not is_view or (name in REGISTRY and REGISTRY[name].is_view)]


def published_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The names of the published tables (registry tables, stored or views; not internal ``_`` ones)."""
    return [n for n, _ in _published_tables(con)]


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the published tables (registry-named tables, not internal ``_`` ones), by name."""
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in published_tables(con)}


def table_comments(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The comment of each published table (the registry's description and grain, written by the DDL), by name."""
    return {n: comment or "" for n, comment in _published_tables(con)}
