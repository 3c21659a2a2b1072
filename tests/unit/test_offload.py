"""Work handed to helper processes (pipelines.offload): the same results as in the run's own process, in another
process, and the run's own process taking over whenever a helper fails, dies or is not there."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from pipelines import offload
from sources import ons_population
from sources.catalogue import entry
from sources.inputs import InputFile, SourceFormatError


def _pid() -> int:
    return os.getpid()


def _slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _fails(_) -> None:
    raise ValueError("broken in the helper")


@pytest.fixture(autouse=True)
def fresh_helpers():
    offload.close()
    yield
    offload.close()


def _bundled(source_id: str) -> InputFile:
    e = entry(source_id)
    return InputFile(source_id, e.file, e.sha256)


def _stamp() -> tuple[int, float]:
    return os.getpid(), time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine


def _started(work: offload.Work) -> None:
    """Wait until a helper has the work (is running it, or has done it)."""
    deadline = time.monotonic() + 30
    while (work.future is None or not (work.future.running() or work.future.done())) and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_work_started_ahead_is_taken_under_its_key():
    f = _bundled("ons_mye2021")
    before = dict(offload.counts)
    offload.ahead("key-1", ons_population.parse_release, f)
    got = offload.take("key-1", lambda: pytest.fail("done here although a helper had it"))
    pd.testing.assert_frame_equal(got, ons_population.parse_release(f))
    assert offload.counts["ahead"] == before["ahead"] + 1
    assert offload.counts["taken"] + offload.counts["dropped"] == before["taken"] + before["dropped"] + 1


def test_another_key_never_takes_work_started_ahead():
    offload.ahead("key-1", _pid)
    assert offload.take("key-2", lambda: "here") == "here"
    assert offload.in_flight() == ["key-1"] or offload.helpers() == 0


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_work_beside_runs_in_another_process():
    work = offload.beside(_pid)
    _started(work)
    assert work.result() != os.getpid()


def test_without_helpers_everything_runs_here(monkeypatch):
    monkeypatch.setattr(offload, "helpers", lambda: 0)
    offload.start("pandas")
    offload.ahead("key", _pid)
    assert offload.helper_pids() == [] and offload.in_flight() == []
    assert offload.beside(_pid).result() == os.getpid()
    assert offload.take("key", _pid) == os.getpid()


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_a_bad_file_fails_here_with_the_parsers_own_error(tmp_path):
    bad = tmp_path / "mye.xlsx"
    bad.write_text("<html>not a workbook</html>")
    f = InputFile("ons_mye2021", bad, "f" * 64)
    offload.ahead("bad", ons_population.parse_release, f)
    with pytest.raises((SourceFormatError, Exception)) as raised:
        offload.take("bad", lambda: ons_population.parse_release(f))
    with pytest.raises(type(raised.value)):
        ons_population.parse_release(f)


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_work_that_fails_beside_is_run_again_here_and_raises_here():
    with pytest.raises(ValueError, match="broken in the helper"):
        offload.beside(_fails, None).result()


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_a_helper_killed_mid_work_leaves_the_run_to_do_it_itself():
    pending = offload.beside(_slow_pid, 3)  # keeps the helper busy; it is killed before it ends
    _started(pending)
    f = _bundled("ons_mye2021")
    offload.ahead("mye", ons_population.parse_release, f)
    for pid in offload.helper_pids():
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    pd.testing.assert_frame_equal(offload.take("mye", lambda: pytest.fail("not taken")), ons_population.parse_release(f))
    assert pending.result() == os.getpid()  # the killed work was done here
    assert time.monotonic() - started < 20  # a dead helper is noticed at once, not waited for
    offload.ahead("again", ons_population.parse_release, f)  # a broken pool takes no more work; nothing hangs
    pd.testing.assert_frame_equal(offload.take("again", lambda: ons_population.parse_release(f)), ons_population.parse_release(f))


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_close_ends_the_helpers_at_once_and_drops_what_was_not_taken():
    busy = offload.beside(_slow_pid, 60)
    _started(busy)
    offload.ahead("never taken", _pid)
    pids = offload.helper_pids()
    assert pids
    dropped = offload.counts["dropped"]
    started = time.monotonic()
    offload.close()
    assert time.monotonic() - started < 10  # the helper's unfinished work is not waited for
    assert offload.helper_pids() == [] and offload.in_flight() == [] and offload.counts["dropped"] == dropped + 1
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.skipif(offload.helpers() != 1, reason="needs exactly one helper to keep busy")
def test_work_still_waiting_when_needed_is_done_here_at_once():
    busy = offload.beside(_slow_pid, 3)
    _started(busy)
    waiting = offload.beside(_pid)
    dropped = offload.counts["dropped"]
    assert waiting.result() == os.getpid()
    assert offload.counts["dropped"] == dropped + 1
    assert busy.result() != os.getpid()


@pytest.mark.skipif(offload.helpers() != 1, reason="needs exactly one helper to keep busy")
def test_a_free_helper_takes_the_newest_work_and_the_run_waiting_for_a_helper_does_the_oldest():
    busy = offload.beside(_slow_pid, 1)
    _started(busy)
    older, newer = offload.beside(_stamp), offload.beside(_stamp)
    time.sleep(3)  # the helper finishes its work and takes what waits, newest first
    (older_pid, older_at), (newer_pid, newer_at) = older.result(), newer.result()
    assert older_pid != os.getpid() and newer_pid != os.getpid() and newer_at < older_at

    busy = offload.beside(_slow_pid, 2)
    _started(busy)
    waiting = offload.beside(_stamp)
    assert busy.result() != os.getpid()  # while it waits for the helper, the run does what waits
    assert waiting.result()[0] == os.getpid()


@pytest.mark.skipif(offload.helpers() == 0 or not hasattr(os, "getppid"), reason="one core: no helpers")
def test_helpers_end_when_the_run_process_is_killed(tmp_path):
    """A run killed mid-work (SIGKILL: no teardown) leaves no helper behind holding its output pipes open."""
    import subprocess
    import sys

    script = (
        "import time\n"
        "from pipelines import offload\n"
        "from tests.unit.test_offload import _slow_pid\n"
        "offload.beside(_slow_pid, 60)\n"
        "while not offload.helper_pids():\n    time.sleep(0.05)\n"
        "print(*offload.helper_pids(), flush=True)\n"
        "time.sleep(60)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    pids = [int(p) for p in run.stdout.readline().split()]
    assert pids
    run.kill()
    run.wait()
    started = time.monotonic()
    assert run.stdout.read() == ""  # EOF: no helper holds the pipe
    run.stdout.close()
    for pid in pids:
        while time.monotonic() - started < 10:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"helper {pid} outlived its killed run by 10 s")
