"""Concurrent readers: 20 processes query the published warehouse in a loop through 3 consecutive full refreshes.

Each refresh starts from nothing but the published file: the working database *and* the landing store
are removed first, so every file is landed, parsed, validated and loaded again, and (retrieval times
being new) publishing really replaces the file each time. Readers open the file read-only, with no
lock, run the same queries each time and record what they saw (:mod:`tests.support.reader`).
Expected: zero errors, zero blocked opens, every answer equal to the complete build's, and every
build a reader saw is one of the publishes the final file's build history lists.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import duckdb
import pytest

from tests.conftest import REPO_ROOT, run_refresh
from tests.support import reader
from warehouse.engine.paths import warehouse_paths

pytestmark = pytest.mark.slow

READERS = 20
REFRESHES = 3
INTERVAL = 0.5  # seconds between a reader's iterations: 20 readers then use about half a core, leaving the refresh the rest


def _answers(path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return json.dumps(tuple(con.execute(sql).fetchall()[0][0] for sql in reader.QUERIES.values()), default=str)
    finally:
        con.close()


def _publish_ids(path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT publish_id FROM core_build__publishes ORDER BY 1").fetchall()]
    finally:
        con.close()


def _file_identity(path) -> tuple[int, int]:
    """Which file is published now: inode and modification time (a freed inode number can be reused by the next file)."""
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def test_twenty_readers_see_only_complete_builds_through_three_full_refreshes(warehouse_copy, tmp_path):
    paths = warehouse_paths(warehouse_copy)
    expected = _answers(warehouse_copy)
    stop = tmp_path / "stop"
    outputs = [tmp_path / f"reader-{i:02d}.json" for i in range(READERS)]
    readers = [
        subprocess.Popen([sys.executable, "-m", "tests.support.reader", str(warehouse_copy), str(stop), str(out),
                          "--interval", str(INTERVAL), "--build-id"], cwd=REPO_ROOT)
        for out in outputs
    ]
    files_published, seconds = [_file_identity(paths.published)], []
    try:
        time.sleep(2.0)  # every reader is up and reading the first build
        for _ in range(REFRESHES):
            shutil.rmtree(paths.build_dir)
            shutil.rmtree(paths.landing)
            started = time.monotonic()
            result = run_refresh(warehouse_copy)
            seconds.append(round(time.monotonic() - started, 1))
            assert result.success
            files_published.append(_file_identity(paths.published))
        time.sleep(1.0)
    finally:
        stop.touch()
        for proc in readers:
            proc.wait(timeout=120)
    summaries = [json.loads(out.read_text()) for out in outputs]
    history = set(_publish_ids(warehouse_copy))
    seen_builds = set().union(*(s["builds"] for s in summaries))
    totals = {
        "readers": READERS,
        "refreshes": REFRESHES,
        "refresh_seconds": seconds,
        "reader_iterations": sum(s["queries"] for s in summaries),
        "queries_served": sum(s["queries"] for s in summaries) * (len(reader.QUERIES) + 1),
        "errors": sum(s["errors"] for s in summaries),
        "blocked_opens": sum(s["slow_opens"] for s in summaries),
        "slowest_open_seconds": max(s["slowest_open_seconds"] for s in summaries),
        "distinct_answers": sorted(set().union(*(s["answers"] for s in summaries))),
        "builds_seen": len(seen_builds),
        "files_published": len(set(files_published)),
    }
    print("\nconcurrent readers:", json.dumps(totals, indent=2))
    assert totals["errors"] == 0, [s["error_texts"] for s in summaries if s["errors"]]
    assert totals["blocked_opens"] == 0, totals
    assert all(s["queries"] > 0 for s in summaries), "a reader never got an answer"
    assert totals["distinct_answers"] == [expected], totals  # every answer is the complete build's
    assert len(set(files_published)) == REFRESHES + 1, "each refresh should have published a new file"
    assert seen_builds <= history, f"readers saw builds the history does not list: {seen_builds - history}"
    assert len(seen_builds) >= 2, f"readers should have seen the file replaced under them: {totals}"
