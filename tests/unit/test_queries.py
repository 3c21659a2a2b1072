"""`queries.fetch_frame`: the frame DuckDB's ``.df()`` gives, through Arrow, for every type and pattern of NULLs."""

import duckdb
import pandas as pd
import pytest

from warehouse.engine.queries import fetch_frame

# One column of each type the warehouse uses, and of types it does not (converted by DuckDB itself).
COLUMNS = {
    "i": "1::INTEGER", "b": "1::BIGINT", "si": "1::SMALLINT", "ti": "1::TINYINT", "ui": "1::UINTEGER",
    "d": "1.5::DOUBLE", "fl": "1.0::FLOAT", "bo": "true", "s": "'a'", "dt": "DATE '2020-01-02'",
    "ts": "TIMESTAMP '2020-01-02 03:04:05'", "dec": "63.4::DECIMAL(4, 1)", "hi": "1::HUGEINT",
    "li": "[1, 2]", "st": "{'a': 1}", "iv": "INTERVAL 1 DAY", "bl": "'x'::BLOB",
    "tz": "TIMESTAMPTZ '2020-01-01 00:00:00+00'", "tm": "TIME '10:00'",
}
ROWS = {"a value and a NULL": "", "values only": "WHERE i IS NOT NULL", "NULLs only": "WHERE i IS NULL", "no rows": "WHERE false"}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    values = ", ".join(f"{sql} AS {name}" for name, sql in COLUMNS.items())
    nulls = ", ".join(f"NULL::{c.execute(f'SELECT typeof({sql})').fetchall()[0][0]} AS {name}" for name, sql in COLUMNS.items())
    c.execute(f"CREATE TABLE t AS SELECT {values} UNION ALL SELECT {nulls}")
    yield c
    c.close()


@pytest.mark.parametrize("rows", list(ROWS))
@pytest.mark.parametrize("column", [*COLUMNS, "*"])
def test_same_frame_as_duckdbs_df(con, column, rows):
    sql = f"SELECT {column} FROM t {ROWS[rows]}"
    pd.testing.assert_frame_equal(fetch_frame(con, sql), con.execute(sql).df(), check_exact=True)


@pytest.mark.parametrize("sql", [
    "SELECT i, i, s, i FROM t",  # repeated names: i, i_1, s, i_2
    "SELECT sum(i) AS total, count(*) AS n, avg(i) AS mean FROM t",  # HUGEINT sum, BIGINT count
    "SELECT s FROM t WHERE s = $s",
])
def test_same_frame_for_repeated_names_aggregates_and_parameters(con, sql):
    params = {"s": "a"} if "$s" in sql else None
    pd.testing.assert_frame_equal(fetch_frame(con, sql, params), con.execute(sql, params).df(), check_exact=True)


def test_every_table_of_the_built_warehouse_reads_the_same(built_warehouse):
    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        names = [n for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'").fetchall()]
        assert len(names) > 30
        for name in names:
            sql = f'SELECT * FROM "{name}" ORDER BY ALL'
            pd.testing.assert_frame_equal(fetch_frame(con, sql), con.execute(sql).df(), check_exact=True, obj=name)
    finally:
        con.close()
