"""Landing validated frames in DuckDB: contract first, then staging table, then swap, in one transaction
(one for all the tables of a build, with :func:`replace_tables`).

If validation fails nothing is written. If anything fails after validation the transaction is
rolled back and the live table is untouched. Every load is recorded in ``_observatory_loads`` with
a fingerprint of its inputs, so a refresh can skip tables whose inputs have not changed. A registry table stored as
a view (``Table.view_of``, ``Table.union_of``) is made by the load of its build, after the tables loaded with it
(:func:`replace_view`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from warehouse.engine import ddl
from warehouse.engine.contracts import ContractViolation, validate
from warehouse.engine.registry import Table

# The tables and views of every attached database, as (kind, database_name, schema_name, table_name).
_RELATIONS = ("SELECT 'TABLE' AS kind, database_name, schema_name, table_name FROM duckdb_tables() "
              "UNION ALL SELECT 'VIEW', database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal")


def use_storage_settings(con: duckdb.DuckDBPyConnection) -> None:
    """How tables written through ``con`` are stored (settings of its database, for every connection to it).

    Text is compressed without FSST (DuckDB's dictionary and other encodings still apply): choosing and building FSST
    symbol tables was a quarter of the time DuckDB took to store the build's five largest tables (1.26-1.43 s against
    1.49-1.92 s, four runs each), for a published file 8% larger (27.0 MB against 24.9 MB); queries read the text
    as fast or faster without it."""
    con.execute("SET disabled_compression_methods = 'fsst'")


LOADS_TABLE = "_observatory_loads"
_LOADS_DDL = f"""
CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (
  table_name VARCHAR PRIMARY KEY,
  fingerprint VARCHAR,
  row_count BIGINT,
  inputs VARCHAR,
  loaded_at TIMESTAMP
)"""


def _record_load(con: duckdb.DuckDBPyConnection, table: Table, fingerprint: str | None, rows: int, inputs: list[str]) -> None:
    con.execute(_LOADS_DDL)
    con.execute(
        f"INSERT OR REPLACE INTO {LOADS_TABLE} VALUES (?, ?, ?, ?, ?)",
        [table.name, fingerprint, rows, "; ".join(inputs), dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )


@dataclass(frozen=True)
class LoadRecord:
    """A table's last load, from the load log."""

    fingerprint: str | None
    row_count: int
    loaded_at: dt.datetime | None

    @property
    def stamp(self) -> str:
        """What and when: changes with every load (a skipped load keeps it)."""
        return f"{self.fingerprint}:{self.loaded_at.isoformat() if self.loaded_at else ''}"


def load_log(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> dict[str, LoadRecord]:
    """Every existing table's last load, by name, in ``catalog`` (default: the connection's own database).

    The one reader of the load log: skip decisions, row counts of skipped loads, upstream stamps and the build
    diff all ask it."""
    if not table_exists(con, LOADS_TABLE, catalog):
        return {}
    source = f"{ddl.quote_ident(catalog)}.{LOADS_TABLE}" if catalog else LOADS_TABLE
    rows = con.execute(
        f"SELECT l.table_name, l.fingerprint, l.row_count, l.loaded_at FROM {source} l "
        f"JOIN ({_RELATIONS}) t ON t.table_name = l.table_name AND t.schema_name = 'main' "
        "AND t.database_name = coalesce(?, current_database())", [catalog]).fetchall()
    return {name: LoadRecord(fp, int(count or 0), at) for name, fp, count, at in rows}


def stamp(log: dict[str, LoadRecord], table_names: Iterable[str]) -> str:
    """The load stamps of ``table_names`` (missing tables stamp as never loaded), as one string."""
    return "|".join(f"{name}:{log[name].stamp if name in log else 'never'}" for name in sorted(table_names))


def record_load(con: duckdb.DuckDBPyConnection, table: Table, fingerprint: str, *, inputs: list[str]) -> None:
    """Record in the load log that ``table`` is up to date with ``fingerprint`` (for tables that accumulate rows)."""
    rows = con.execute(f"SELECT count(*) FROM {ddl.quote_ident(table.name)}").fetchall()[0][0]
    _record_load(con, table, fingerprint, rows, inputs)


def relation_names(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> set[str]:
    """The names of the tables and views in the main schema of ``catalog`` (default: the connection's own database)."""
    return {r[0] for r in con.execute(f"SELECT table_name FROM ({_RELATIONS}) WHERE schema_name = 'main' "
                                      "AND database_name = coalesce(?, current_database())", [catalog]).fetchall()}


def _kind(con: duckdb.DuckDBPyConnection, name: str, catalog: str | None = None) -> str | None:
    """``'TABLE'`` or ``'VIEW'``: what ``name`` is in the main schema of ``catalog`` (default: the connection's own
    database); None when there is nothing of that name."""
    return con.execute(f"SELECT any_value(kind) FROM ({_RELATIONS}) WHERE table_name = ? AND schema_name = 'main' "
                       "AND database_name = coalesce(?, current_database())", [name, catalog]).fetchall()[0][0]


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop whatever of that name is in the connection's own database, a table or a view (a registry table may be
    stored either way, and a warehouse built before a change holds the other)."""
    kind = _kind(con, name)
    if kind:
        con.execute(f"DROP {kind} {ddl.quote_ident(name)}")


def table_exists(con: duckdb.DuckDBPyConnection, name: str, catalog: str | None = None) -> bool:
    """True when ``catalog`` (default: the connection's own database) has a table, or a view (a registry table
    stored as one), called ``name`` in its main schema."""
    return _kind(con, name, catalog) is not None


def create_if_missing(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """Create ``table`` from the registry, with its comments, unless it exists (tables that accumulate rows)."""
    if not table_exists(con, table.name):
        con.execute(ddl.create_table_sql(table))
        for statement in ddl.comment_sql(table):
            con.execute(statement)


def last_fingerprint(con: duckdb.DuckDBPyConnection, table_name: str) -> str | None:
    """The input fingerprint of the table's last successful load (None if never loaded, or the table is gone)."""
    record = load_log(con).get(table_name)
    return record.fingerprint if record else None


# Frames this big are inserted in parallel, so their rows are not stored in the frame's order (row order
# is not part of a table's contract: query with ORDER BY); smaller frames keep their order.
PARALLEL_INSERT_ROWS = 500_000


def _as_arrow(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The validated frame as an Arrow table (zero-copy for its Arrow-backed columns): DuckDB scans Arrow
    several times faster than a pandas frame. The frame itself if it does not convert."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame


def replace_table(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pd.DataFrame,
    *,
    inputs: list[str] | None = None,
    fingerprint: str | None = None,
) -> int:
    """Validate ``frame`` against ``table`` and make it the table's whole content. Returns the row count."""
    inputs = inputs or []
    validated = validate(table, frame, inputs)
    with transaction(con):
        _stage_and_swap(con, table, validated, fingerprint, inputs)
    return len(validated)


def replace_tables(
    con: duckdb.DuckDBPyConnection,
    frames: Sequence[tuple[Table, pd.DataFrame]],
    *,
    inputs: list[str] | None = None,
    fingerprint: str | None = None,
    views: Sequence[Table] = (),
    unions: Mapping[str, Collection[str]] | None = None,
) -> dict[str, int]:
    """Validate each frame and make it its table's whole content, then (re)make ``views`` (registry tables stored
    as views, :func:`replace_view`; ``unions`` names, for a union view, the tables it unions in this build when not
    all of them), all in one transaction: no table changes unless every frame passes its
    contract and is written and every view's key holds. Returns row counts by table name.

    Each validated frame is written on a thread of its own while the next one is validated: DuckDB writes without
    holding Python's lock, so writing and validating use two cores. The connection is used by that thread alone
    from ``BEGIN`` to ``COMMIT`` (or ``ROLLBACK``), so a failure, or a killed process, leaves nothing behind.
    """
    inputs = inputs or []
    rows: dict[str, int] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer") as writer:
        written = [writer.submit(con.execute, "BEGIN TRANSACTION")]
        try:
            for table, frame in frames:
                validated = validate(table, frame, inputs)
                rows[table.name] = len(validated)
                written.append(writer.submit(_stage_and_swap, con, table, validated, fingerprint, inputs))
            made = {view.name: writer.submit(replace_view, con, view, fingerprint=fingerprint, inputs=inputs,
                                             parts=(unions or {}).get(view.name)) for view in views}
            written += made.values()
            for step in written:
                step.result()
            rows.update({name: step.result() for name, step in made.items()})
            writer.submit(con.execute, "COMMIT").result()
        except BaseException:
            concurrent.futures.wait(written)  # the writer finishes what it was given before it is told to roll back
            writer.submit(rollback, con).result()
            raise
    return rows


def _stage_and_swap(con: duckdb.DuckDBPyConnection, table: Table, validated: pd.DataFrame, fingerprint: str | None,
                    inputs: list[str]) -> None:
    """Within the caller's transaction: write the validated frame into a staging table, put it in the table's place
    (with the registry's comments) and record the load."""
    staging = f"_staging__{table.name}"
    con.execute(ddl.create_table_sql(table, staging))
    con.register("_incoming_frame", _as_arrow(validated))
    ordered = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    if len(validated) >= PARALLEL_INSERT_ROWS:
        con.execute("SET preserve_insertion_order = false")  # lets DuckDB insert a big frame on every core
    try:
        con.execute(f"INSERT INTO {ddl.quote_ident(staging)} BY NAME SELECT * FROM _incoming_frame")
    finally:
        con.unregister("_incoming_frame")
        con.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
    _drop(con, table.name)
    con.execute(f"ALTER TABLE {ddl.quote_ident(staging)} RENAME TO {ddl.quote_ident(table.name)}")
    for statement in ddl.comment_sql(table):
        con.execute(statement)
    _record_load(con, table, fingerprint, len(validated), inputs)


def replace_view(con: duckdb.DuckDBPyConnection, table: Table, *, fingerprint: str | None = None,
                 inputs: list[str] | None = None, parts: Collection[str] | None = None) -> int:
    """Within the caller's transaction: make ``table`` (a registry table stored as a view: ``Table.view_of``,
    ``Table.union_of``, of ``parts`` of its tables when given) the view `ddl.view_sql` gives, in place of any table
    or view of that name, with the registry's comments, and record the load. Its values are rows of tables whose contracts checked them; what a selection or a
    union of rows can break is checked here: its columns are the registry's (names and types, in order) and its
    primary key is unique.
    Raises :class:`ContractViolation` otherwise. Returns its row count."""
    inputs = inputs or []
    name = ddl.quote_ident(table.name)
    _drop(con, table.name)
    con.execute(f"CREATE VIEW {name} AS\n{ddl.view_sql(table, parts)}")
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main' "
                          "AND database_name = current_database() ORDER BY column_index", [table.name]).fetchall()
    declared = [(f.name, ddl.duckdb_type(f)) for f in table.fields]
    if columns != declared:
        raise ContractViolation(table.name, inputs, [f"the view's columns {columns} are not the registry's {declared}"])
    key = ", ".join(ddl.quote_ident(k) for k in table.primary_key)
    repeated = con.execute(f"SELECT {key}, count(*) AS n FROM {name} GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 5").fetchall()
    if repeated:
        raise ContractViolation(table.name, inputs, [f"primary key ({', '.join(table.primary_key)}) repeated: first {repeated} (key values, rows)"])
    for statement in ddl.comment_sql(table):
        con.execute(statement)
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    _record_load(con, table, fingerprint, rows, inputs)
    return rows


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """``BEGIN`` … ``COMMIT``, rolled back on any failure (without hiding it: see :func:`rollback`)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure without hiding it: when the failure already ended the transaction (a full disk
    fails the COMMIT), DuckDB's "cannot rollback - no transaction is active" must not replace the real cause."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def insert_new_rows(con: duckdb.DuckDBPyConnection, table: Table, frame: pd.DataFrame, *, inputs: list[str] | None = None) -> int:
    """Validate ``frame`` and add the rows whose primary key is not yet in the table. Returns rows added."""
    inputs = inputs or []
    validated = validate(table, frame, inputs)
    key_match = " AND ".join(f"t.{ddl.quote_ident(k)} = n.{ddl.quote_ident(k)}" for k in table.primary_key)
    with transaction(con):
        create_if_missing(con, table)
        con.register("_incoming_frame", _as_arrow(validated))
        try:
            before = con.execute(f"SELECT count(*) FROM {ddl.quote_ident(table.name)}").fetchall()[0][0]
            con.execute(
                f"INSERT INTO {ddl.quote_ident(table.name)} BY NAME SELECT n.* FROM _incoming_frame n "
                f"WHERE NOT EXISTS (SELECT 1 FROM {ddl.quote_ident(table.name)} t WHERE {key_match})"
            )
            after = con.execute(f"SELECT count(*) FROM {ddl.quote_ident(table.name)}").fetchall()[0][0]
        finally:
            con.unregister("_incoming_frame")
    return after - before


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pd.DataFrame,
    *,
    key_column: str,
    key_value: str | Sequence[str],
    inputs: list[str] | None = None,
    prevalidated: bool = False,
) -> int:
    """Validate ``frame`` (unless the caller already did: ``prevalidated``) and make it the table's rows where
    ``key_column = key_value``, leaving other rows alone.

    ``key_value`` may be a list of keys: the rows of all of them are replaced in one write (a batch of documents).

    For tables that accumulate (e.g. report documents: one document's load replaces that document's rows
    only). Delete and insert run in one transaction; the table is created on first use. Every row of
    ``frame`` must carry ``key_value``. Returns the rows inserted.
    """
    inputs = inputs or []
    validated = frame if prevalidated else validate(table, frame, inputs)
    if key_column not in table.column_names:
        raise ValueError(f"{table.name} has no column {key_column!r}")
    keys = [key_value] if isinstance(key_value, str) else list(key_value)
    stray = validated[~validated[key_column].isin(keys)]
    if len(stray):
        raise ValueError(f"{table.name}: {len(stray)} row(s) do not belong to {key_column} = {key_value!r}")
    name = ddl.quote_ident(table.name)
    with transaction(con):
        create_if_missing(con, table)
        con.execute(f"DELETE FROM {name} WHERE {ddl.quote_ident(key_column)} IN (SELECT unnest(?::VARCHAR[]))", [keys])
        con.register("_incoming_frame", _as_arrow(validated))
        try:
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _incoming_frame")
        finally:
            con.unregister("_incoming_frame")
        total = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        _record_load(con, table, None, total, inputs)
    return len(validated)
