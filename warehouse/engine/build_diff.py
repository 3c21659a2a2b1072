"""What a publish changes: the working database compared with the published file, table by table.

``diff(con)`` runs inside a connection to the working database with the published file attached
read-only as ``prev``. Registry tables are compared by primary key: rows added, removed and
changed, plus column and row-count changes and a small sample of changed values. ``record`` writes
the result to ``core_build__publishes`` / ``core_build__changes`` so the history travels with the
warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from warehouse.engine import loader, queries
from warehouse.engine.ddl import quote_ident
from warehouse.engine.registry import REGISTRY

PREV = "prev"
_SAMPLE = 5
_HISTORY_TABLES = ("core_build__publishes", "core_build__changes")


@dataclass
class TableChange:
    table_name: str
    change: str
    rows_before: int | None = None
    rows_after: int | None = None
    rows_added: int | None = None
    rows_removed: int | None = None
    rows_changed: int | None = None
    columns_added: str | None = None
    columns_removed: str | None = None
    sample: list[dict] = field(default_factory=list)

    def line(self) -> str:
        if self.change != "changed":
            return f"{self.table_name}: {self.change} ({self.rows_after if self.change == 'added' else self.rows_before} rows)"
        parts = [f"{self.rows_before}→{self.rows_after} rows"]
        for label, n in (("added", self.rows_added), ("removed", self.rows_removed), ("changed", self.rows_changed)):
            if n:
                parts.append(f"{n} {label}")
        if self.columns_added:
            parts.append(f"new columns {self.columns_added}")
        if self.columns_removed:
            parts.append(f"dropped columns {self.columns_removed}")
        return f"{self.table_name}: " + ", ".join(parts)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    """The registry tables of ``catalog``, stored or views (a view is compared like a table), history tables aside."""
    return {name for name in loader.relation_names(con, catalog) if name in REGISTRY and name not in _HISTORY_TABLES}


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name || ' ' || data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ? ORDER BY column_index",
        [catalog, table]).fetchall()
    return [r[0] for r in rows]


def _count(con, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


def _compare(con: duckdb.DuckDBPyConnection, current_db: str, name: str) -> TableChange | None:
    cur, prev = f"{quote_ident(current_db)}.{quote_ident(name)}", f"{PREV}.{quote_ident(name)}"
    cols_now, cols_before = _columns(con, current_db, name), _columns(con, PREV, name)
    change = TableChange(name, "changed", rows_before=_count(con, f"SELECT count(*) FROM {prev}"),
                         rows_after=_count(con, f"SELECT count(*) FROM {cur}"))
    change.columns_added = ", ".join(c for c in cols_now if c not in cols_before) or None
    change.columns_removed = ", ".join(c for c in cols_before if c not in cols_now) or None
    if cols_now != cols_before:
        return change
    key = [k for k in REGISTRY[name].primary_key]
    others = [c.split(" ", 1)[0] for c in cols_now if c.split(" ", 1)[0] not in key]
    using = ", ".join(quote_ident(k) for k in key)
    change.rows_added = _count(con, f"SELECT count(*) FROM {cur} c ANTI JOIN {prev} p USING ({using})")
    change.rows_removed = _count(con, f"SELECT count(*) FROM {prev} p ANTI JOIN {cur} c USING ({using})")
    differs = " OR ".join(f"c.{quote_ident(o)} IS DISTINCT FROM p.{quote_ident(o)}" for o in others) or "false"
    change.rows_changed = _count(con, f"SELECT count(*) FROM {cur} c JOIN {prev} p USING ({using}) WHERE {differs}")
    if not (change.rows_added or change.rows_removed or change.rows_changed):
        return None
    if change.rows_changed:
        select = ", ".join([*(f"c.{quote_ident(k)}" for k in key), *(f"p.{quote_ident(o)} AS {quote_ident('before__' + o)}" for o in others),
                            *(f"c.{quote_ident(o)} AS {quote_ident('after__' + o)}" for o in others)])
        rows = queries.fetch_frame(con, f"SELECT {select} FROM {cur} c JOIN {prev} p USING ({using}) WHERE {differs} LIMIT {_SAMPLE}")
        for _, row in rows.iterrows():
            for o in others:
                before, after = row[f"before__{o}"], row[f"after__{o}"]
                if not (pd.isna(before) and pd.isna(after)) and before != after:
                    change.sample.append({"key": {k: str(row[k]) for k in key}, "column": o, "before": str(before), "after": str(after)})
                    break
    return change


def diff(con: duckdb.DuckDBPyConnection, current_db: str) -> list[TableChange]:
    """Changes of ``current_db`` against the attached ``prev`` database (registry tables only).

    A table whose last load is the same load in both (same fingerprint, same time: the published file is a copy of
    the working database) is unchanged without being compared; every other table is compared row by row."""
    now, before = _tables(con, current_db), _tables(con, PREV)
    log_now, log_before = loader.load_log(con, current_db), loader.load_log(con, PREV)
    changes = [TableChange(t, "added", rows_after=_count(con, f"SELECT count(*) FROM {quote_ident(current_db)}.{quote_ident(t)}")) for t in sorted(now - before)]
    changes += [TableChange(t, "removed", rows_before=_count(con, f"SELECT count(*) FROM {PREV}.{quote_ident(t)}")) for t in sorted(before - now)]
    for name in sorted(now & before):
        if name in log_now and name in log_before and log_now[name].stamp == log_before[name].stamp:
            continue
        change = _compare(con, current_db, name)
        if change is not None:
            changes.append(change)
    return changes


def first_build(con: duckdb.DuckDBPyConnection, current_db: str) -> list[TableChange]:
    """Every table counts as added when there is no previous warehouse."""
    return [TableChange(t, "added", rows_after=_count(con, f"SELECT count(*) FROM {quote_ident(current_db)}.{quote_ident(t)}"))
            for t in sorted(_tables(con, current_db))]


def record(con: duckdb.DuckDBPyConnection, changes: list[TableChange]) -> str:
    """Write one publish and its table changes to the history tables (in the working database)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    publish_id = now.strftime("%Y%m%dT%H%M%S.%f") + "-" + uuid.uuid4().hex[:6]  # sorts in publish order
    loader.insert_new_rows(con, REGISTRY["core_build__publishes"], pd.DataFrame([{
        "publish_id": publish_id, "published_at": now, "tables_changed": len(changes),
        "summary": "\n".join(c.line() for c in changes),
    }]))
    if changes:
        loader.insert_new_rows(con, REGISTRY["core_build__changes"], pd.DataFrame([{
            "publish_id": publish_id, "table_name": c.table_name, "change": c.change, "rows_before": c.rows_before,
            "rows_after": c.rows_after, "rows_added": c.rows_added, "rows_removed": c.rows_removed,
            "rows_changed": c.rows_changed, "columns_added": c.columns_added, "columns_removed": c.columns_removed,
            "sample_changes": json.dumps(c.sample) if c.sample else None,
        } for c in changes]))
    return publish_id
