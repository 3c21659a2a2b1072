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

from warehouse import build_diff
from warehouse.paths import WarehousePaths

_TMP_MARK = ".publishing-"


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
    """Delete publish temporaries left by a refresh that was killed (their pid is gone)."""
    removed = []
    for tmp in paths.folder.glob(f".{paths.published.name}{_TMP_MARK}*"):
        pid_text = tmp.name.split(_TMP_MARK, 1)[1].split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the published tables (registry-named tables, not internal ``_`` ones)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT starts_with(table_name, '_') ORDER BY 1"
        ).fetchall()
    ]
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}


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


def publish(paths: WarehousePaths, expected_tables: list[str]) -> PublishReport:
    """Publish the working database atomically if it differs from the published one.

    Raises :class:`PublishError` (and leaves the old file) if an expected table is missing or the
    copy does not verify. When nothing changed, the published file is left as it is
    (``published=False``); otherwise the changes are recorded in the build-history tables first.
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
        changes = _changes(con, paths)
        if not changes and paths.published.exists():
            return PublishReport(paths.published, table_counts(con), paths.published.stat().st_size, [], published=False)
        build_diff.record(con, changes)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    tmp = paths.folder / f".{paths.published.name}{_TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copyfile(paths.working, tmp)
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
        raise
    return PublishReport(paths.published, counts, paths.published.stat().st_size, changes, published=True)
