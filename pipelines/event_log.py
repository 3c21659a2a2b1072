"""Dagster's SQLite event log, with each database's SQLAlchemy engine made once per process, its connection kept
open between writes, commits that do not wait for the disk, and event batches written in one transaction.

Dagster's ``SqliteEventLogStorage`` builds a new engine (dialect set-up, first-connect queries) and opens a new
SQLite connection for every event it stores, and disposes of both afterwards: about 4 ms of each event, and a
cold build stores some 500 events, an ingest one planned and one materialisation event per document and table.
Dagster already hands events to the storage in batches when ``DAGSTER_EVENT_BATCH_SIZE`` is set (`pipelines.instance` sets it; the planned events
of a run, the materialisations of a multi-partition step), but the SQLite storage stores a batch one event at
a time.

``ObservatoryEventLogStorage`` changes only that:

* an engine per database file and process, keeping one connection open between writes (SQLAlchemy's
  ``QueuePool``; a connection is used by one thread at a time, and more are opened while one is in use).
  SQLite locks per transaction, so the UI and other processes see the same files and locks as with Dagster's
  own class; an open connection only keeps the file's handle. The engines of the :data:`OPEN_SHARDS` databases
  used last stay open (a UI reading many runs does not gather open files), and :meth:`wipe` closes them
  before Dagster deletes the run databases;
* each connection commits with SQLite's ``synchronous=NORMAL`` (the databases are in WAL mode, which Dagster sets):
  a commit appends to the write-ahead log without waiting for the disk, which is synced at each checkpoint. A killed
  process loses nothing and the files stay consistent whatever happens; a power cut or an operating-system crash
  can lose the last events written before it (a run cut short by one is marked failed by `pipelines.instance`).
  With the default (``FULL``), every one of a cold build's ~600 commits waited for the disk while DuckDB was
  writing the warehouse: 0.94 s of the run's time in one traced build, 0.19 s with ``NORMAL``;
* the schema facts Dagster asks for on nearly every event (does the index database have this table, this column of
  ``asset_keys``, this completed data migration?), each a query of SQLite's catalogue or of the migration table,
  are asked once per process when the answer is yes (a migration only ever adds them; ``wipe`` forgets them);
  a no is asked again. 0.2-0.3 s of a cold build's run;
* ``store_event_batch`` writes consecutive asset events of a batch (materialisations, planned
  materialisations, observations) with one multi-row insert into the run's database and one transaction on
  the index database, exactly the rows ``store_event`` writes for each; any other event is stored as Dagster
  stores it.

The files are Dagster's own schema: an instance written by this class opens with Dagster's class and the
other way round (``dagster dev`` started with a plain ``dagster.yaml`` reads them). `pipelines.instance` names
this class in the instance's ``dagster.yaml``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy.event
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

OPEN_SHARDS = 8  # databases (the index, a run's own) whose engine and connection a process keeps open


class ObservatoryEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with an engine per database and process, and batches in one transaction."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[tuple[int, str], Engine] = {}
        self._present: set[tuple[str, str]] = set()  # schema facts found true (see the module docstring)
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> ObservatoryEventLogStorage:  # noqa: ANN001 - Dagster's signature
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        key = (os.getpid(), shard)  # an engine never crosses a fork
        engine = self._engines.pop(key, None)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1, max_overflow=8,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            sqlalchemy.event.listen(engine, "connect", _synchronous_normal)
        self._engines[key] = engine  # most recently used last
        while len(self._engines) > OPEN_SHARDS:
            self._engines.pop(next(iter(self._engines))).dispose()
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        return self._known(("table", table_name), lambda: self._index_has_table(table_name))

    def _index_has_table(self, table_name: str) -> bool:
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        return self._known(("asset_keys column", column_name), lambda: super(ObservatoryEventLogStorage, self)
                           ._has_asset_key_col_on_connection(conn, column_name))

    def has_secondary_index(self, name: str) -> bool:
        return self._known(("secondary index", name), lambda: super(ObservatoryEventLogStorage, self).has_secondary_index(name))

    def _known(self, fact: tuple[str, str], ask: Callable[[], bool]) -> bool:
        """``ask()``, unless it already answered yes in this process (schema facts only ever become true)."""
        if fact in self._present:
            return True
        present = bool(ask())
        if present:
            self._present.add(fact)
        return present

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Each run of consecutive asset events of one run in one transaction per database; any other event as
        Dagster stores it. The order of the events is kept (a run's planned events mix assets and checks)."""
        for (run_id, asset), group in itertools.groupby(events, key=lambda e: (e.run_id, _is_asset_event(e))):
            group = list(group)
            if not asset or len(group) == 1:
                for event in group:
                    self.store_event(event)
                continue
            # one multi-row INSERT per database (the events serialised once), as Dagster's PostgreSQL storage
            # writes a batch; rows in order
            statement = self.prepare_insert_event_batch(group)
            with self.run_connection(run_id) as conn:
                conn.execute(statement)
            # mirrored in the cross-run index database, as `SqliteEventLogStorage.store_event` does for each
            with self.index_transaction() as conn:
                returned = conn.execute(statement.returning(SqlEventLogStorageTable.c.id)).fetchall()
                ids = sorted(row[0] for row in returned)  # ascending = the rows' order
                if len(ids) != len(group):
                    raise DagsterInvariantViolationError(f"stored {len(ids)} index rows for {len(group)} events")
                self._store_asset_event_tags(conn, group, ids)
                for event, event_id in zip(group, ids):
                    self._store_asset_event(conn, event, event_id)

    def wipe(self) -> None:
        with self._db_lock:
            self._dispose_engines()
            self._present.clear()
        super().wipe()

    def _dispose_engines(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


def _synchronous_normal(dbapi_connection, _record) -> None:  # noqa: ANN001 - SQLAlchemy's connect-event signature
    """WAL databases need no fsync per commit (SQLite's ``synchronous=NORMAL``, see the module docstring)."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _is_asset_event(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS
