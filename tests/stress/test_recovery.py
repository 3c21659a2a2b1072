"""Recovery from a refresh killed at the worst instants, checked directly (fast; the random kills are in test_crash).

Each test makes a child process die with ``os._exit`` (no clean-up, no ``finally``: what SIGKILL
does) at one chosen point of the spine code, then checks what the next run finds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

from sources.landing import remove_stale_partials
from tests.conftest import REPO_ROOT
from warehouse.engine import loader
from warehouse.engine.paths import warehouse_paths
from warehouse.engine.publish import publish, remove_stale_temporaries
from warehouse.engine.registry import REGISTRY


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _die_in_child(code: str) -> None:
    """Run ``code`` in a fresh interpreter; it is expected to end by ``os._exit(137)``."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 137, result.stderr[-2000:]


# --- landing store -----------------------------------------------------------------------------

def test_half_landed_files_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    landing = tmp_path / ".landing"
    folder = landing / "ab" / ("ab" + "0" * 62)
    folder.mkdir(parents=True)
    dead, alive = _dead_pid(), os.getpid()
    stale = [folder / f".data.csv.partial-{dead}", folder / f".provenance.json.partial-{dead}", landing / f".download-ons_mye2023-{dead}"]
    kept = [folder / f".data.csv.partial-{alive}", landing / f".download-ons_mye2021-{alive}", folder / "data.csv", folder / "provenance.json"]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert sorted(remove_stale_partials(landing)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
    assert remove_stale_partials(tmp_path / "no-landing-yet") == []


def test_a_copy_killed_midway_into_the_landing_store_is_swept_by_the_next_publish(tmp_path):
    """Before the fix nothing ever removed ``.partial-`` files: each kill during a copy leaked one for good."""
    paths = warehouse_paths(tmp_path / "observatory.duckdb").ensure()
    source = tmp_path / "big.csv"
    source.write_bytes(b"a,b\n" + b"1,2\n" * 200_000)
    _die_in_child(f"""
        import os, shutil
        from pathlib import Path
        from sources import files, landing
        def copy_then_die(src, dst, *a, **k):
            dst.write(src.read(1000))  # half a file, as a kill mid-copy leaves it
            dst.flush()
            os._exit(137)
        files.shutil.copyfileobj = copy_then_die
        landing.land_file(Path({str(source)!r}), source_id="ons_mye2021", origin="test", mode="snapshot", landing_root=Path({str(paths.landing)!r}))
    """)
    partials = list(paths.landing.rglob(".*.partial-*"))
    assert len(partials) == 1
    con = duckdb.connect(str(paths.working))
    con.execute("CREATE TABLE core_a__b AS SELECT 1 AS x")
    con.close()
    removed = remove_stale_temporaries(paths)
    assert partials[0] in removed and not list(paths.landing.rglob(".*.partial-*"))


# --- build history across a killed publish --------------------------------------------------------

def _provenance(n: int, title: str = "A title") -> pd.DataFrame:
    return pd.DataFrame([{
        "sha256": f"{i:064x}", "source_id": "s", "origin": "snapshot:x", "file_name": "x.csv", "bytes": 10 + i,
        "retrieved_at": "2026-01-01 00:00:00", "publisher": "ONS", "title": title, "licence": "OGL-UK-3.0",
        "mode": "snapshot", "landed_path": ".landing/x",
    } for i in range(n)])


@pytest.fixture()
def paths(tmp_path):
    p = warehouse_paths(tmp_path / "observatory.duckdb").ensure()
    _load(p, _provenance(3))
    publish(p, [])
    return p


def _load(paths, frame) -> None:
    con = duckdb.connect(str(paths.working))
    try:
        loader.replace_table(con, REGISTRY["core_provenance__files"], frame)
    finally:
        con.close()


def _publishes(path) -> list[int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT tables_changed FROM core_build__publishes ORDER BY publish_id").fetchall()]
    finally:
        con.close()


def _publish_and_die_at(paths, point: str) -> None:
    """Publish in a child process that dies just before the rename (``replace``) or just after it (``after-replace``)."""
    _die_in_child(f"""
        import os
        from warehouse.engine import publish as p
        from warehouse.engine.paths import warehouse_paths
        real_replace, real_catch_up, calls = os.replace, getattr(p, "catch_up_from_published", lambda *a: 0), []
        def replace(src, dst):
            if {point!r} == "replace":
                os._exit(137)
            real_replace(src, dst)
        def catch_up(con, paths, tables):
            calls.append(1)
            if {point!r} == "after-replace" and len(calls) == 2:  # the second call comes after the rename
                os._exit(137)
            return real_catch_up(con, paths, tables)
        p.os.replace, p.catch_up_from_published = replace, catch_up
        p.publish(warehouse_paths({str(paths.published)!r}), [])
    """)


def test_a_publish_killed_before_its_rename_leaves_no_history_of_a_publish_that_never_happened(paths):
    """Before the fix the history row was committed to the working database first, so the next publish recorded it twice."""
    _load(paths, _provenance(4))
    before = paths.published.read_bytes()
    _publish_and_die_at(paths, "replace")
    assert paths.published.read_bytes() == before
    report = publish(paths, [])  # the next run
    assert report.published and not list(paths.folder.glob(".observatory.duckdb.publishing-*"))
    assert _publishes(paths.published) == [1, 1]  # the first build, then this one: no phantom
    assert _publishes(paths.working) == [1, 1]


def test_a_publish_killed_just_after_its_rename_is_caught_up_by_the_next(paths):
    _load(paths, _provenance(4))
    _publish_and_die_at(paths, "after-replace")
    assert _publishes(paths.published) == [1, 1]  # the rename happened: the new file carries its own history
    assert _publishes(paths.working) == [1]  # the working database never heard of it
    assert not publish(paths, []).published  # nothing changed since: nothing published ...
    assert _publishes(paths.working) == [1, 1]  # ... but the working database caught up
    frame = _provenance(4)
    frame.loc[0, "title"] = "A new title"
    _load(paths, frame)
    assert publish(paths, []).published
    assert _publishes(paths.published) == [1, 1, 1]  # every publish, once


# --- indicator value history across a rebuilt working database -----------------------------------

def _values() -> pd.DataFrame:
    return pd.DataFrame([{
        "indicator_id": "90362", "area_code": "E06000010", "sex": "female", "age": "all", "period_label": "2020 - 22",
        "period_start": "2020-01-01", "period_end": "2022-12-31", "value": 58.3, "lower_ci_95": 56.1, "upper_ci_95": 60.5,
        "count": None, "denominator": None, "value_note": None, "compared_to_england": "Worse", "geography_vintage": "2023",
        "method": "published", "source_id": "fingertips_90362_hle", "source_sha256": "ab" * 32, "source_locator": "line 2",
    }])


def test_a_rebuilt_working_database_keeps_when_each_value_was_first_recorded(tmp_path):
    """Before the fix, removing .build (the documented way to force a full rebuild) re-recorded every value as new."""
    import shutil
    import time

    from pipelines.resources import WarehouseResource
    from warehouse.engine.registry.indicators import HISTORY_TABLE, VALUES_TABLE

    warehouse = WarehouseResource(path=str(tmp_path / "observatory.duckdb"))
    paths = warehouse.paths

    def load_values() -> None:
        con = duckdb.connect(str(paths.working))
        try:
            loader.replace_table(con, REGISTRY[VALUES_TABLE], _values())
        finally:
            con.close()

    def recorded(path) -> list:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute(f"SELECT indicator_id, recorded_at FROM {HISTORY_TABLE}").fetchall()
        finally:
            con.close()

    load_values()
    assert warehouse.append_history() == 1
    assert publish(paths, []).published
    first = recorded(paths.published)

    shutil.rmtree(paths.build_dir)  # force a full rebuild
    paths.ensure()
    time.sleep(1.1)
    load_values()
    assert warehouse.append_history() == 0  # nothing new: the value was already in the published history
    assert recorded(paths.working) == first
    assert not publish(paths, []).published  # same values, same history: nothing to publish
    assert recorded(paths.published) == first
