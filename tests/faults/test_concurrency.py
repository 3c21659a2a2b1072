"""Two commands at once (issue 14, part 4): the writer lock, and real CLI processes started together.

Without ``DAGSTER_HOME`` two builds used to fail 2 times in 3 and an ingest during a build 12 times in 12 with
raw DuckDB "Could not set lock" errors. Now every writer holds `warehouse.engine.writer_lock` (an ``flock`` on
the data folder): a second writer waits with a message naming the first, gives up after its timeout naming
it, and a killed holder releases the lock at once. The trials (`tests.stress.concurrency`) start 2 builds,
a build and an ingest, and 3 ingests together, ``OBSERVATORY_CONCURRENCY_TRIALS`` times each (default 5; the
stress run does 20), with a reader querying throughout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from dagster import DagsterInstance, asset, materialize

from pipelines.resources import WarehouseResource
from tests.conftest import REPO_ROOT
from tests.stress.concurrency import KINDS, run_trial, summarise
from warehouse.engine.paths import warehouse_paths
from warehouse.engine.writer_lock import WriterBusy, read_holder, writer_lock

pytestmark = [pytest.mark.slow, pytest.mark.faults]
TRIALS = int(os.environ.get("OBSERVATORY_CONCURRENCY_TRIALS", "5"))


def _holder(data, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from warehouse.engine.writer_lock import writer_lock
        with writer_lock({str(data)!r}, command="observatory build"):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.scenario("survives", "hang")
def test_a_second_writer_waits_its_turn_with_a_message_naming_the_first(tmp_path):
    holder = _holder(tmp_path, 2)
    said: list[str] = []
    started = time.monotonic()
    with writer_lock(tmp_path, wait=30, say=said.append):
        waited = time.monotonic() - started
        assert read_holder(tmp_path)["pid"] == os.getpid()
    holder.wait(timeout=10)
    assert 1.0 < waited < 15
    assert said and f"pid {holder.pid}" in said[0] and "observatory build" in said[0], said


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_writer_gives_up_after_its_timeout_naming_the_other_process(tmp_path):
    holder = _holder(tmp_path, 10)
    try:
        started = time.monotonic()
        with pytest.raises(WriterBusy, match=rf"another writer holds the warehouse: pid {holder.pid} \(observatory build, since .*gave up after waiting 1 s"):
            with writer_lock(tmp_path, wait=1, say=lambda text: None):
                pass
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.scenario("survives", "hang")
def test_a_killed_writer_releases_the_lock_at_once(tmp_path):
    holder = _holder(tmp_path, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with writer_lock(tmp_path, wait=5, say=lambda text: None):
        pass
    assert time.monotonic() - started < 1


@pytest.mark.scenario("survives", "loss")
def test_a_dagster_run_launched_outside_the_cli_waits_for_the_writer_too(tmp_path):
    """The UI and its daemon launch runs in their own processes: the warehouse resource takes the lock itself."""
    published = tmp_path / "observatory.duckdb"
    holder = _holder(warehouse_paths(published).data, 3)
    seen = []

    @asset
    def writes(warehouse: WarehouseResource) -> None:
        seen.append(read_holder(warehouse.paths.data)["pid"])

    started = time.monotonic()
    result = materialize([writes], resources={"warehouse": WarehouseResource(path=str(published))}, instance=DagsterInstance.ephemeral())
    holder.wait(timeout=10)
    assert result.success and seen == [os.getpid()]  # it ran only once the other writer had finished
    assert time.monotonic() - started > 1.5


@pytest.mark.scenario("survives", "loss")
def test_commands_started_together_on_a_fresh_data_folder_create_the_dagster_instance_once(tmp_path):
    """Found by the stress run: two commands creating the shared instance's SQLite storage at once failed with
    "table alembic_version already exists" (4 of 15 processes in 5 trials of 3)."""
    code = ("import sys; from pipelines.instance import shared_instance; from warehouse.engine.paths import warehouse_paths; "
            "shared_instance(warehouse_paths(sys.argv[1])); print('ok')")
    failures = []
    for trial in range(5):
        published = tmp_path / f"t{trial}" / "observatory.duckdb"
        procs = [subprocess.Popen([sys.executable, "-c", code, str(published)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            if proc.returncode or out.strip() != "ok":
                failures.append(err[-300:])
    assert not failures, failures


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    with writer_lock(tmp_path, wait=1), writer_lock(tmp_path, wait=1):  # ingest runs a build inside its own lock
        pass


@pytest.mark.scenario("survives", "loss")
@pytest.mark.parametrize("kind", KINDS)
def test_commands_started_together_take_turns_and_readers_never_wait(built_warehouse, tmp_path, kind):
    trials = [run_trial(kind, built_warehouse, tmp_path / "trial", f"{kind.replace('+', '_')}{i}", dagster_home=bool(i % 2))
              for i in range(TRIALS)]
    print(summarise(kind, trials))
    assert all(t.ok for t in trials), [t.problems for t in trials if not t.ok]


@pytest.mark.slow
@pytest.mark.scenario("survives", "hang")
def test_a_build_after_a_killed_build_does_not_wait_for_the_dead_runs_pool_slot(warehouse_copy):
    """A ``kill -9`` mid-run leaves the run recorded as started, holding the ``warehouse`` pool slot, in the persistent
    instance; the next build must mark it failed, free the slot and finish (it used to wait for the slot for ever)."""
    from dagster import DagsterRunStatus

    from pipelines.instance import shared_instance

    paths = warehouse_paths(warehouse_copy)
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "OBSERVATORY_WAREHOUSE")}
    command = [str(REPO_ROOT / ".venv" / "bin" / "observatory"), "build", "--warehouse", str(warehouse_copy)]
    instance = shared_instance(paths)
    claimed = []
    for _ in range(5):  # kill while a step holds the slot (it is held for a step at a time)
        victim = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in victim.stderr:
            if "landed raw_" in line:
                break
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots:
            time.sleep(0.01)
        claimed = instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        if claimed:
            break
    assert claimed, "never caught a run holding the pool slot"
    dead = claimed[0].run_id
    assert instance.get_run_by_id(dead).status == DagsterRunStatus.STARTED

    started = time.monotonic()
    after = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert after.returncode == 0, after.stderr[-2000:]
    said = " ".join(after.stderr.split())
    assert f"run {dead[:8]}" in said and "marked failed" in said
    assert time.monotonic() - started < 300
    assert instance.get_run_by_id(dead).status == DagsterRunStatus.FAILURE
    assert not instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
