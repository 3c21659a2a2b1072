"""The indicator value history: every change of every value, in both directions, with the file that caused it.

Belongs here: deciding which versions to append to ``core_indicators__value_history`` after a load of
``core_indicators__values`` (the storage engine appends them; the views and the as-of macro are in
``sql/indicator_history.sql``). The history is append-only; one rule decides every version:

* **Earlier vintages** (rows of registry tables declared with ``extra={"vintages_of": ...}``, e.g.
  ``core_health__indicator_vintages``) are recorded once per file, dated by the file's publication
  date (``effective_from = published_at``).
* **Current values** are compared with each key's latest version (by ``effective_from``, then
  ``version``): a different value is ``revised``, the same value from another file is
  ``same_value_new_file``, a key seen for the first time is ``new``. Going back to an earlier file is a
  change like any other, so it adds a version. ``effective_from`` is the file's publication date when
  that is known and later than the key's latest version, otherwise the moment it was recorded (so a
  restored file counts from when it was restored, not from its old publication date).
* **Removed keys**: a key whose latest version came from a current file and which is no longer in
  ``core_indicators__values`` gets a ``removed`` version (value NULL) naming the file that replaced it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from sources.catalogue import catalogue
from warehouse.engine import ddl, loader
from warehouse.engine.queries import fetch_frame
from warehouse.engine.registry import REGISTRY
from warehouse.engine.registry.indicators import HISTORY_TABLE, VALUE_KEY, VALUES_TABLE

KEY = list(VALUE_KEY)
# The tables the history is brought up to date from: the current values and every earlier vintage of them.
READS = (VALUES_TABLE, *sorted(t.name for t in REGISTRY.values() if t.extra.get("vintages_of") == VALUES_TABLE))


def published_dates() -> dict[str, dt.date]:
    """File SHA-256 -> publication date, for every catalogued file whose catalogue entry gives one."""
    return {e.sha256: dt.date.fromisoformat(e.published) for e in catalogue().values() if e.published}


def vintage_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Registered tables holding earlier vintages of ``core_indicators__values`` that exist in ``con``."""
    return [t.name for t in REGISTRY.values() if t.extra.get("vintages_of") == VALUES_TABLE and loader.table_exists(con, t.name)]


def _retrieved(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    if not loader.table_exists(con, "core_provenance__files"):
        return {}
    rows = con.execute("SELECT sha256, max(retrieved_at) FROM core_provenance__files GROUP BY 1").fetchall()
    return dict(rows)


def _latest(history: pd.DataFrame) -> pd.DataFrame:
    """Each key's latest version (by effective_from, then version)."""
    if history.empty:
        return history
    ordered = history.sort_values(["effective_from", "version"])
    return ordered.drop_duplicates(KEY, keep="last").set_index(KEY)


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """A history written before versions existed (one row per key and file) becomes versions in recording order."""
    table = REGISTRY[HISTORY_TABLE]
    if not loader.table_exists(con, HISTORY_TABLE):
        return
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'", [HISTORY_TABLE]).fetchall()}
    if set(table.column_names) <= columns:
        return
    old = fetch_frame(con, f"SELECT * FROM {ddl.quote_ident(HISTORY_TABLE)}")
    old = old.sort_values([*KEY, "recorded_at", "source_sha256"]).reset_index(drop=True)
    old["version"] = old.groupby(KEY, dropna=False).cumcount() + 1
    previous = old.groupby(KEY, dropna=False)["value"].shift()
    old["change"] = "same_value_new_file"
    old.loc[old["version"] == 1, "change"] = "new"
    old.loc[(old["version"] > 1) & ~_same(old["value"], previous), "change"] = "revised"
    old["published_at"] = old["source_sha256"].map(published_dates())
    old["effective_from"] = old["recorded_at"]
    con.execute(f"DROP TABLE {ddl.quote_ident(HISTORY_TABLE)}")
    loader.insert_new_rows(con, table, old[table.column_names], inputs=[f"{HISTORY_TABLE} (before versions)"])


# Two values closer than this (relative) are the same value: floating-point noise from summing in another
# order is not a revision. Published figures have at most a few decimals, far above it.
SAME_VALUE_RTOL = 1e-9


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    scale = pd.concat([a.abs(), b.abs()], axis=1).max(axis=1).clip(lower=1.0)
    return ((a - b).abs() <= SAME_VALUE_RTOL * scale) | (a.isna() & b.isna())


def append(con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None) -> int:
    """Append the versions the current values and the vintage tables bring; returns versions added."""
    table = REGISTRY[HISTORY_TABLE]
    now = (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    _migrate(con)
    value_columns = [f.name for f in REGISTRY[VALUES_TABLE].fields]
    history = (fetch_frame(con, f"SELECT * FROM {ddl.quote_ident(HISTORY_TABLE)}")
               if loader.table_exists(con, HISTORY_TABLE) else pd.DataFrame(columns=table.column_names))
    history = history.assign(_new=False, effective_from=pd.to_datetime(history["effective_from"]))
    dates = published_dates()
    retrieved = _retrieved(con)
    select = ", ".join(ddl.quote_ident(c) for c in value_columns)
    new_rows: list[pd.DataFrame] = []

    def stamp(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(retrieved_at=frame["source_sha256"].map(retrieved), recorded_at=now)

    # 1. earlier vintages: once per file and key, dated by publication
    archived_shas: set[str] = set()
    for name in vintage_tables(con):
        vint = fetch_frame(con, f"SELECT {select}, published_at FROM {ddl.quote_ident(name)}")
        archived_shas |= set(vint["source_sha256"].tolist())
        if not history.empty:
            seen = history[history["change"] != "removed"][[*KEY, "source_sha256"]].drop_duplicates()
            vint = vint.merge(seen, on=[*KEY, "source_sha256"], how="left", indicator=True)
            vint = vint[vint["_merge"] == "left_only"].drop(columns="_merge")
        if vint.empty:
            continue
        vint["published_at"] = pd.to_datetime(vint["published_at"]).dt.date
        vint["effective_from"] = pd.to_datetime(vint["published_at"]).fillna(pd.Timestamp(now))
        vint = vint.sort_values([*KEY, "effective_from"])
        new_rows.append(stamp(vint))
        history = _with_versions(history, stamp(vint))
    # 2. current values against each key's latest version
    current = fetch_frame(con, f"SELECT {select} FROM {ddl.quote_ident(VALUES_TABLE)}")
    current["published_at"] = current["source_sha256"].map(dates)
    latest = _latest(history)
    prev = ["value", "source_sha256", "change", "effective_from"]
    if latest.empty:
        joined = current.assign(**{f"{c}_prev": None for c in prev})
    else:
        joined = current.join(latest[prev].rename(columns={c: f"{c}_prev" for c in prev}), on=KEY)
    known = joined["change_prev"].notna()
    same_value = _same(joined["value"], joined["value_prev"]) & (joined["change_prev"] != "removed")
    same_file = joined["source_sha256"] == joined["source_sha256_prev"]
    changed = ~known | ~same_value | ~same_file
    incoming = joined[changed].copy()
    if not incoming.empty:
        published = pd.to_datetime(incoming["published_at"])
        previous = pd.to_datetime(incoming["effective_from_prev"])
        later = published.notna() & (previous.isna() | (published > previous))
        incoming["effective_from"] = published.where(later, pd.Timestamp(now))
        incoming = incoming.drop(columns=["value_prev", "source_sha256_prev", "change_prev", "effective_from_prev"])
        new_rows.append(stamp(incoming))
        history = _with_versions(history, stamp(incoming))
    # 3. keys that disappeared from the current values
    latest = _latest(history)
    if not latest.empty:
        live = latest[(latest["change"] != "removed") & ~latest["source_sha256"].isin(archived_shas)]
        gone = live[~live.index.isin(current.set_index(KEY).index)].reset_index()
        if not gone.empty:
            replacing = current.drop_duplicates("source_id").set_index("source_id")["source_sha256"]
            gone = gone[value_columns].copy()
            previous_sha = gone["source_sha256"].copy()
            gone["source_sha256"] = gone["source_id"].map(replacing).fillna(previous_sha)
            gone["source_locator"] = [
                f"no longer in {'file ' + new[:12] if new != old else 'any loaded file'} of {sid}; last value was from file {old[:12]} at {loc}"
                for new, old, sid, loc in zip(gone["source_sha256"], previous_sha, gone["source_id"], gone["source_locator"])]
            gone["value"] = None
            gone["published_at"] = None
            gone["effective_from"] = pd.Timestamp(now)
            gone["change"] = "removed"
            new_rows.append(stamp(gone))
            history = _with_versions(history, stamp(gone), removed=True)
    if not new_rows:
        return 0
    added = history[history["_new"].eq(True)]
    return loader.insert_new_rows(con, table, added[table.column_names], inputs=[VALUES_TABLE, *vintage_tables(con)])


def _concat(history: pd.DataFrame, incoming: pd.DataFrame) -> pd.DataFrame:
    """``history`` then ``incoming``; an empty history (a first build) adds nothing, so the incoming columns keep their
    types instead of all becoming Python objects (which made every later group-by and sort run in Python)."""
    if history.empty:
        return incoming.reindex(columns=history.columns.union(incoming.columns, sort=False))
    return pd.concat([history, incoming], ignore_index=True)


def _with_versions(history: pd.DataFrame, incoming: pd.DataFrame, removed: bool = False) -> pd.DataFrame:
    """``history`` plus ``incoming`` rows (marked ``_new``), each given the next version of its key and its kind of change
    (relative to the key's previous version in effective order)."""
    incoming = incoming.copy().reset_index(drop=True)
    incoming["effective_from"] = pd.to_datetime(incoming["effective_from"])
    if history.empty:
        incoming["version"] = incoming.groupby(KEY, dropna=False).cumcount() + 1
    else:
        top = history.groupby(KEY, dropna=False, as_index=False)["version"].max().rename(columns={"version": "_top"})
        incoming = incoming.merge(top, on=KEY, how="left")
        incoming["version"] = incoming.groupby(KEY, dropna=False).cumcount() + 1 + pd.to_numeric(incoming["_top"]).fillna(0).astype(int)
        incoming = incoming.drop(columns="_top")
    incoming["_new"] = True
    if removed:
        incoming["change"] = "removed"
        return _concat(history, incoming)
    incoming["change"] = None
    base = _concat(history, incoming)
    base["effective_from"] = pd.to_datetime(base["effective_from"])
    base = base.sort_values([*KEY, "effective_from", "version"]).reset_index(drop=True)
    groups = base.groupby(KEY, dropna=False)
    first = groups.cumcount() == 0
    prev_value = groups["value"].shift()
    prev_removed = groups["change"].shift().eq("removed")
    kind = pd.Series("revised", index=base.index, dtype="object")
    kind[~prev_removed & _same(base["value"], prev_value)] = "same_value_new_file"
    kind[first] = "new"
    fill = base["_new"].eq(True) & base["change"].isna()
    base.loc[fill, "change"] = kind[fill]
    return base
