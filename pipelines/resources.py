"""Dagster resources: the warehouse (working database, loads, publishing) and the source mode.

Both are configured through ``EnvVar`` when their variables are set (``OBSERVATORY_WAREHOUSE``,
``OBSERVATORY_MODE``), so the UI shows where the configuration came from; otherwise they fall
back to the repository defaults (the bundled snapshot, `warehouse/observatory.duckdb`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterable, Iterator, Mapping

import duckdb
import pandas as pd
from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr

from pipelines import offload
from sources.catalogue import entry, snapshot_file
from sources.http import download, make_session
from sources.landing import LandedFile, land_file
from warehouse.engine import loader, queries
from warehouse.engine.paths import WarehousePaths, warehouse_paths
from warehouse.engine.registry import REGISTRY
from warehouse.engine.writer_lock import writer_lock

POOL = "warehouse"  # every op that writes the working database holds this pool (limit 1 in dagster.yaml)
MODE_ENV = "OBSERVATORY_MODE"


class WarehouseResource(ConfigurableResource):
    """The observatory warehouse: where refreshes write, and where they publish.

    A run that uses it holds the warehouse's writer lock (`warehouse.engine.writer_lock`) from start to end,
    whoever launched it (the CLI, which already holds it, or the UI and its daemon): one writer at a time.
    Holding the lock, it also keeps the working database open for the run (the *anchor* connection), so
    each :meth:`connect` of a step joins that open database (DuckDB's per-process instance cache: ~0.4 ms)
    instead of opening and checkpointing the file again (~30 ms; a cold build connects ~270 times).
    Nothing is lost by it: every write commits as before, and the publish checkpoints before it copies.
    """

    path: str | None = None
    _lock: contextlib.ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if getattr(context, "dagster_run", None) is None:  # a sensor or schedule evaluation: reads only, never waits
            return
        stack = contextlib.ExitStack()
        stack.enter_context(writer_lock(warehouse_paths(self.path).data,
                                        say=lambda text: context.log.warning(text) if context.log else None,
                                        command=f"Dagster run {context.dagster_run.run_id[:8]} ({context.dagster_run.job_name})"))
        try:
            stack.enter_context(self.connect())  # the anchor (see the class docstring); closed before the lock is freed
        except BaseException:
            stack.close()
            raise
        self._lock = stack

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        offload.close()  # the run's helper processes end with it (what they parsed ahead and was not used is dropped)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def paths(self) -> WarehousePaths:
        return warehouse_paths(self.path).ensure()

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the working database (never the published file), storing tables as `loader.use_storage_settings` says."""
        con = duckdb.connect(str(self.paths.working))
        loader.use_storage_settings(con)
        try:
            yield con
        finally:
            con.close()

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return queries.fetch_frame(con, sql, params)

    def load_log(self) -> dict[str, loader.LoadRecord]:
        """Every table's last load (fingerprint, rows, time), read once."""
        with self.connect() as con:
            return loader.load_log(con)

    def load(self, frames: Mapping[str, pd.DataFrame], inputs: list[LandedFile], fingerprint: str,
             views: Iterable[str] = (), unions: Mapping[str, Collection[str]] | None = None) -> dict[str, int]:
        """Validate the frames of one or more tables and make each its table's content, then (re)make ``views``
        (registry tables stored as views; ``unions``: the tables a union view unions in this build, when not all),
        all or none (one transaction: `loader.replace_tables`); row counts by name."""
        with self.connect() as con:
            return loader.replace_tables(con, [(REGISTRY[name], frame) for name, frame in frames.items()],
                                         inputs=[i.label for i in inputs], fingerprint=fingerprint,
                                         views=[REGISTRY[name] for name in views], unions=unions)

    def append_history(self) -> int:
        """Record the current indicator values in the value history (new versions only); returns rows added."""
        from warehouse.engine.publish import catch_up_from_published
        from warehouse.engine.registry.indicators import HISTORY_TABLE
        from warehouse.transforms import indicator_history

        # The history follows the tables it records: when neither changed since it was last brought up to date
        # (recorded in the load log), there is nothing new to record.
        with self.connect() as con:
            log = loader.load_log(con)
            fingerprint = "history|" + loader.stamp(log, indicator_history.READS)
            if HISTORY_TABLE in log and log[HISTORY_TABLE].fingerprint == fingerprint:
                return 0
            # The history of earlier refreshes lives on in the published file even if this working
            # database is new (removed to force a rebuild): carry it over first, so "first recorded" stays true.
            catch_up_from_published(con, self.paths, [HISTORY_TABLE])
            # Which versions to add (both directions, earlier vintages, removals): warehouse.transforms.indicator_history.
            added = indicator_history.append(con)
            loader.create_if_missing(con, REGISTRY[HISTORY_TABLE])  # the views below need it, even with no values yet
            queries.execute_script(con, "indicator_history")
            loader.record_load(con, REGISTRY[HISTORY_TABLE], fingerprint, inputs=list(indicator_history.READS))
            return added

    def record_provenance(self, files: Iterable[LandedFile]) -> set[str]:
        """Record the files in ``core_provenance__files`` unless their bytes already are (one validation and insert for
        all of them); returns the SHA-256 of the files recorded now."""
        files = list({f.sha256: f for f in files}.values())  # the same bytes twice: recorded once, as first landed
        if not files:
            return set()
        with self.connect() as con:
            known = set()
            if loader.table_exists(con, "core_provenance__files"):
                known = {row[0] for row in con.execute("SELECT sha256 FROM core_provenance__files WHERE list_contains(?, sha256)",
                                                       [[f.sha256 for f in files]]).fetchall()}
            new = [f for f in files if f.sha256 not in known]
            if new:
                loader.insert_new_rows(con, REGISTRY["core_provenance__files"], pd.DataFrame([f.provenance_row() for f in new]),
                                       inputs=[f.label for f in new])
            return {f.sha256 for f in new}

    def forget_rejected(self, inputs: Iterable[LandedFile]) -> int:
        """Drop the provenance rows of inputs whose load was refused (a contract or format failure), unless rows of
        some table still come from them: a rejected file must not be credited in ``core_provenance__files``."""
        with self.connect() as con:
            if not loader.table_exists(con, "core_provenance__files"):
                return 0
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_columns() WHERE column_name = 'source_sha256' AND schema_name = 'main' "
                "AND table_name IN (SELECT table_name FROM duckdb_tables())").fetchall()]
            removed = 0
            for landed in inputs:
                if any(con.execute(f'SELECT 1 FROM "{t}" WHERE source_sha256 = ? LIMIT 1', [landed.sha256]).fetchone() for t in tables):
                    continue
                removed += len(con.execute("DELETE FROM core_provenance__files WHERE sha256 = ? RETURNING sha256", [landed.sha256]).fetchall())
            return removed


class SourcesResource(ConfigurableResource):
    """Where input files come from: the bundled snapshot (``offline``) or the publishers (``live``)."""

    mode: str = "offline"

    def land(self, source_id: str, warehouse: WarehouseResource) -> LandedFile:
        """Land the source's file in the raw landing store and return its record."""
        landing = warehouse.paths.landing
        if self.mode == "live" and entry(source_id).download_url:
            return self._land_download(source_id, landing)
        path = snapshot_file(source_id)
        return land_file(path, source_id=source_id, origin=f"snapshot:{entry(source_id).path}", mode="snapshot", landing_root=landing)

    def _land_download(self, source_id: str, landing) -> LandedFile:
        e = entry(source_id)
        landing.mkdir(parents=True, exist_ok=True)
        tmp = landing / f".download-{source_id}-{os.getpid()}"
        try:
            got = download(make_session(), e.download_url, tmp)  # streamed to disk, never whole in memory
            return land_file(tmp, source_id=source_id, origin=got.url, mode="live", landing_root=landing,
                             file_name=os.path.basename(e.path))
        finally:
            tmp.unlink(missing_ok=True)


def warehouse_from_env() -> WarehouseResource:
    if os.environ.get("OBSERVATORY_WAREHOUSE"):
        return WarehouseResource(path=EnvVar("OBSERVATORY_WAREHOUSE"))
    return WarehouseResource()


def sources_from_env() -> SourcesResource:
    if os.environ.get(MODE_ENV):
        return SourcesResource(mode=EnvVar(MODE_ENV))
    return SourcesResource()


def run_config(paths: WarehousePaths, *, live: bool = False) -> dict:
    """Run configuration for a run started from the command line: the warehouse and the source mode are given as
    resource config (shown in the run's config in the UI), never as environment variables set behind its back."""
    return {
        "resources": {"warehouse": {"config": {"path": str(paths.published)}}, "sources": {"config": {"mode": "live" if live else "offline"}}},
        "loggers": {"progress": {}},  # Dagster's events go to the progress display, not the console
    }
