"""Atomic publishing: the working database becomes the published warehouse in one ``os.replace``.

A refresh never opens the published file. It checkpoints the working database, copies it to a
temporary file beside the published one, checks the copy opens and holds every expected table,
fsyncs it, and renames it over the published file. A reader that opened the old file keeps reading
it (the old inode); a reader that opens afterwards gets the new one; no reader ever sees a half
state or needs a lock. Temporaries left by a killed refresh are removed by the next one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sources.landing import pid_alive, remove_stale_partials
from warehouse.engine import build_diff, loader
from warehouse.engine.ddl import quote_ident, quote_literal
from warehouse.engine.paths import WarehousePaths
from warehouse.engine.queries import fetch_frame, table_counts
from warehouse.engine.registry import REGISTRY

_TMP_MARK = ".publishing-"
_PUBLISHED = "published_file"
_HISTORY = build_diff._HISTORY_TABLES  # noqa: SLF001 - the build-history tables, declared once there


@dataclass(frozen=True)
class PublishReport:
    path: Path
    tables: dict[str, int]
    bytes: int
    changes: list = field(default_factory=list)  # build_diff.TableChange, one per changed table
    published: bool = True  # False when nothing changed and the old file was kept


class PublishError(RuntimeError):
    """The working database could not be published; the published warehouse is unchanged."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(paths: WarehousePaths) -> list[Path]:
    """Delete publish temporaries, and half-landed files, left by a refresh that was killed (their pid is gone)."""
    removed = remove_stale_partials(paths.landing)
    for tmp in paths.folder.glob(f".{paths.published.name}{_TMP_MARK}*"):
        pid_text = tmp.name.split(_TMP_MARK, 1)[1].split("-", 1)[0]
        if pid_text.isdigit() and pid_alive(int(pid_text)):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _changes(con: duckdb.DuckDBPyConnection, paths: WarehousePaths) -> list:
    """The working database's changes against the published file (all tables 'added' if there is none)."""
    current = con.execute("SELECT current_database()").fetchall()[0][0]
    if not paths.published.exists():
        return build_diff.first_build(con, current)
    con.execute(f"ATTACH '{paths.published}' AS {build_diff.PREV} (READ_ONLY)")
    try:
        return build_diff.diff(con, current)
    finally:
        con.execute(f"DETACH {build_diff.PREV}")


def catch_up_from_published(con: duckdb.DuckDBPyConnection, paths: WarehousePaths, table_names) -> int:
    """Copy into the working database the rows of ``table_names`` the published file has and it lacks; returns rows added.

    For tables that accumulate (build history, indicator value history): their only other copy is the
    published file. Without this, a working database that was removed (to force a full rebuild) or a
    refresh killed between its rename and its last write would rewrite or forget that history at the
    next publish. Rows are matched by primary key; a table the published file lacks, or holds with
    other columns, is left alone.
    """
    if not paths.published.exists():
        return 0
    working = con.execute("SELECT current_database()").fetchall()[0][0]
    frames = {}
    con.execute(f"ATTACH {quote_literal(str(paths.published))} AS {_PUBLISHED} (READ_ONLY)")
    try:
        present = {(r[0], r[1]) for r in con.execute(
            "SELECT database_name, table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
        for name in table_names:
            table = REGISTRY[name]
            columns = {r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ?", [_PUBLISHED, name]).fetchall()}
            if (_PUBLISHED, name) not in present or not set(table.column_names) <= columns:
                continue
            select = ", ".join(f"p.{quote_ident(c)}" for c in table.column_names)
            sql = f"SELECT {select} FROM {_PUBLISHED}.{quote_ident(name)} p"
            if (working, name) in present:
                key = ", ".join(quote_ident(k) for k in table.primary_key)
                sql += f" ANTI JOIN {quote_ident(working)}.{quote_ident(name)} w USING ({key})"
            frame = fetch_frame(con, sql)
            if len(frame):
                frames[name] = frame
    finally:
        con.execute(f"DETACH {_PUBLISHED}")
    return sum(loader.insert_new_rows(con, REGISTRY[name], frame, inputs=[f"{paths.published.name} ({name}, as published)"])
               for name, frame in frames.items())


def publish(paths: WarehousePaths, expected_tables: list[str]) -> PublishReport:
    """Publish the working database atomically if it differs from the published one.

    Raises :class:`PublishError` (and leaves the old file) if an expected table is missing or the
    copy does not verify. When nothing changed, the published file is left as it is
    (``published=False``); otherwise the changes are recorded in the build-history tables of the copy
    before it is renamed into place, and then in the working database.
    """
    paths.ensure()
    remove_stale_temporaries(paths)
    if not paths.working.exists():
        raise PublishError(f"nothing to publish: no working database at {paths.working}")
    con = duckdb.connect(str(paths.working))
    try:
        missing = sorted(set(expected_tables) - set(table_counts(con)))
        if missing:
            raise PublishError(f"refusing to publish: the build lacks table(s) {missing}; the published warehouse is unchanged")
        catch_up_from_published(con, paths, _HISTORY)
        changes = _changes(con, paths)
        if not changes and paths.published.exists():
            return PublishReport(paths.published, table_counts(con), paths.published.stat().st_size, [], published=False)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp = paths.folder / f".{paths.published.name}{_TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copyfile(paths.working, tmp)
        staged = duckdb.connect(str(tmp))
        try:
            # History goes into the copy first, so it never records a publish that did not happen;
            # the working database learns of it after the rename.
            build_diff.record(staged, changes)
            staged.execute("CHECKPOINT")
        finally:
            staged.close()
        _fsync(tmp)
        check = duckdb.connect(str(tmp), read_only=True)
        try:
            counts = table_counts(check)
        finally:
            check.close()
        missing = sorted(set(expected_tables) - set(counts))
        if missing:
            raise PublishError(f"refusing to publish: the copy lacks table(s) {missing}; the published warehouse is unchanged")
        os.replace(tmp, paths.published)
        _fsync(paths.folder)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    con = duckdb.connect(str(paths.working))
    try:
        catch_up_from_published(con, paths, _HISTORY)  # the working database learns of the publish it just became
    finally:
        con.close()
    return PublishReport(paths.published, counts, paths.published.stat().st_size, changes, published=True)
