"""The one Dagster instance the CLI and the UI share.

``DAGSTER_HOME`` when the user set it; otherwise ``dagster/`` in the warehouse's data folder, seeded with the
repository's ``dagster.yaml``. So runs started by ``observatory build`` or ``observatory ingest`` show in
``observatory ui`` (or ``DAGSTER_HOME=data/dagster dagster dev``) with their materialisations and checks.
``ui_command`` is what ``observatory ui`` runs: ``dagster dev`` (webserver and daemon) on 127.0.0.1 with that home.

A run the CLI starts carries its process id (:func:`run_tags`). A process killed mid-run (``kill -9``, out of
memory, a power cut) leaves its run recorded as started and its slot of the ``warehouse`` pool claimed in the
persistent instance, so the next run would wait for that slot for ever. :func:`recover_dead_runs`, called by a
command once it holds the writer lock, marks such runs failed and gives their slots back.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sources import files
from warehouse.engine.paths import REPO_ROOT, WarehousePaths

if TYPE_CHECKING:  # Dagster is imported when an instance is opened: `dagster_home` serves commands that launch no run
    from dagster import DagsterInstance

INSTANCE_CONFIG = REPO_ROOT / "dagster.yaml"
# Dagster hands events to the storage in batches of up to this many when the variable is set (the end of a batch,
# e.g. a run's planned events, flushes it); `pipelines.event_log` writes a batch in one insert per database.
BATCH_SIZE_ENV, BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "1000"


def dagster_home(paths: WarehousePaths) -> Path:
    """The instance folder: ``$DAGSTER_HOME`` or the data folder's ``dagster/`` (created with our dagster.yaml)."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"]).expanduser().resolve()
    home = paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = instance_config(home)
    if not config.exists() or config.read_text() != text:
        files.write_text(config, text)
    return home


def instance_config(home: Path) -> str:
    """The repository's ``dagster.yaml`` plus the event log storage of `pipelines.event_log` in ``home``.

    That storage needs its folder as an absolute path, which only exists once the data folder is known."""
    base_dir = json.dumps(str(home / "history" / "runs"))  # a JSON string is a YAML string, quoted whatever the path
    return (INSTANCE_CONFIG.read_text().rstrip("\n") + "\n\n"
            "# Added by `observatory` for this instance folder (pipelines/instance.py): Dagster's SQLite event log,\n"
            "# with an engine per database and event batches in one transaction (pipelines/event_log.py).\n"
            "event_log_storage:\n  module: pipelines.event_log\n  class: ObservatoryEventLogStorage\n"
            f"  config:\n    base_dir: {base_dir}\n")


def shared_instance(paths: WarehousePaths) -> DagsterInstance:
    """The persistent instance for ``paths`` (see the module docstring).

    Opened under a file lock in the data folder: two commands started together on a fresh data folder would
    otherwise both create the instance's SQLite tables ("table alembic_version already exists").
    """
    from dagster import DagsterInstance

    paths.data.mkdir(parents=True, exist_ok=True)
    with open(paths.data / ".dagster-init.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held for the few hundred ms of creating or migrating the storage
        try:
            os.environ.setdefault(BATCH_SIZE_ENV, BATCH_SIZE)  # Dagster reads it per event: batches reach our storage
            instance = DagsterInstance.from_config(str(dagster_home(paths)))
            instance.get_runs_count()  # create the run, event-log and schedule storages now, under the lock
            instance.all_instigator_state()
            return instance
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


PID_TAG, HOST_TAG = "observatory/pid", "observatory/host"


def run_tags() -> dict[str, str]:
    """Tags that let a later command tell whether this process, which runs the job in-process, is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def recover_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark failed the unfinished runs whose process (on this host) is gone, and free the pool slots they held.

    Call it only while holding the warehouse's writer lock: then no other writer of this warehouse is running."""
    from dagster import DagsterRunStatus, RunsFilter

    from sources.landing import pid_alive

    unfinished = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    recovered = []
    for run in instance.get_runs(RunsFilter(statuses=unfinished)):
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
        if not pid or host != socket.gethostname() or pid_alive(int(pid)):
            continue
        instance.report_run_failed(run, f"its process {pid} ended without finishing the run (killed?); marked failed by a later command")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered


def ui_command(paths: WarehousePaths, port: int = 3000) -> tuple[list[str], dict[str, str]]:
    """``dagster dev`` on 127.0.0.1:``port`` over the shared instance of ``paths``: the argv and its environment.

    The webserver, the daemon (schedules, sensors, the run queue) and the runs they launch all see the same
    ``DAGSTER_HOME`` as ``observatory build`` and the same warehouse, so a refresh launched from the UI writes
    where the CLI writes and its history sits beside the CLI's.
    """
    env = dict(os.environ)  # OBSERVATORY_WAREHOUSE / OBSERVATORY_DATA, when set, reach the code server and the runs
    env["DAGSTER_HOME"] = str(dagster_home(paths))
    env.setdefault(BATCH_SIZE_ENV, BATCH_SIZE)  # as `shared_instance` sets it
    argv = [sys.executable, "-m", "dagster", "dev", "--host", "127.0.0.1", "--port", str(port),
            "--module-name", "pipelines.definitions"]
    return argv, env
