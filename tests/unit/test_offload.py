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


def _parsed_at(file: InputFile) -> float:
    """A parser that answers when it ran (after a pause, so work queued meanwhile has to wait for it)."""
    time.sleep(0.5)
    return time.time()


@pytest.fixture(autouse=True)
def fresh_helpers():
    offload.close()
    yield
    offload.close()


def _bundled(source_id: str) -> InputFile:
    e = entry(source_id)
    return InputFile(source_id, e.file, e.sha256)


def _finished(work: offload.Beside, timeout: float = 60) -> None:
    """Wait until a helper has done ``work`` (or failed at it)."""
    deadline = time.monotonic() + timeout
    while not work.done():
        assert time.monotonic() < deadline, "the helper never finished the work"
        time.sleep(0.01)


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_a_file_parsed_ahead_is_the_frame_the_parser_gives():
    f = _bundled("ons_mye2021")
    before = dict(offload.counts)
    _finished(offload.parse_ahead(ons_population.parse_release, f))
    got = offload.parsed(ons_population.parse_release, f)
    pd.testing.assert_frame_equal(got, ons_population.parse_release(f))
    assert offload.counts["ahead"] == before["ahead"] + 1 and offload.counts["taken"] == before["taken"] + 1


def test_another_parser_or_other_bytes_never_take_a_frame_parsed_ahead(tmp_path):
    f = _bundled("ons_mye2021")
    offload.parse_ahead(ons_population.parse_release, f)
    copy = tmp_path / f.path.name
    copy.write_bytes(f.path.read_bytes())
    other = InputFile(f.source_id, copy, "0" * 64)  # same name, different hash: parsed here
    taken = offload.counts["taken"]
    offload.parsed(ons_population.parse_release, other)
    assert offload.counts["taken"] == taken


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_work_beside_runs_in_another_process():
    assert offload.beside(_pid).result() != os.getpid()


def test_without_helpers_everything_runs_here(monkeypatch):
    monkeypatch.setattr(offload, "helpers", lambda: 0)
    f = _bundled("ons_mye2021")
    offload.parse_ahead(ons_population.parse_release, f)
    assert offload.helper_pids() == []
    assert offload.beside(_pid).result() == os.getpid()
    pd.testing.assert_frame_equal(offload.parsed(ons_population.parse_release, f), ons_population.parse_release(f))


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_a_bad_file_fails_here_with_the_parsers_own_error(tmp_path):
    bad = tmp_path / "mye.xlsx"
    bad.write_text("<html>not a workbook</html>")
    f = InputFile("ons_mye2021", bad, "f" * 64)
    _finished(offload.parse_ahead(ons_population.parse_release, f))
    redone = offload.counts["redone"]
    with pytest.raises((SourceFormatError, Exception)) as raised:
        offload.parsed(ons_population.parse_release, f)
    with pytest.raises(type(raised.value)):
        ons_population.parse_release(f)
    assert offload.counts["redone"] == redone + 1


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_work_that_fails_beside_is_run_again_here_and_raises_here():
    with pytest.raises(ValueError, match="broken in the helper"):
        offload.beside(_fails, None).result()


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_a_helper_killed_mid_parse_leaves_the_run_to_parse_it_itself():
    pending = offload.beside(_slow_pid, 3)  # keeps the helper busy; it is killed before it ends
    f = _bundled("ons_mye2021")
    offload.parse_ahead(ons_population.parse_release, f)
    deadline = time.monotonic() + 30
    while not offload.helper_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in offload.helper_pids():
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    pd.testing.assert_frame_equal(offload.parsed(ons_population.parse_release, f), ons_population.parse_release(f))
    assert pending.result() == os.getpid()  # the killed work was done here
    assert time.monotonic() - started < 20  # a dead helper is noticed at once, not waited for
    offload.parse_ahead(ons_population.parse_release, f)  # a broken pool takes no more work; nothing hangs
    pd.testing.assert_frame_equal(offload.parsed(ons_population.parse_release, f), ons_population.parse_release(f))


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_close_ends_the_helpers_and_drops_what_was_not_taken():
    offload.parse_ahead(ons_population.parse_release, _bundled("ons_mye2023"))
    deadline = time.monotonic() + 30
    while not offload.helper_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = offload.helper_pids()
    assert pids
    dropped = offload.counts["dropped"]
    offload.close()
    assert offload.helper_pids() == [] and offload.counts["dropped"] == dropped + 1
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.skipif(offload.helpers() != 1, reason="needs exactly one helper to keep busy")
def test_a_file_still_queued_behind_other_work_is_parsed_here_at_once():
    # the helper's work, and one more call the pool hands it in advance (concurrent.futures queues one extra call,
    # which then counts as running): the file comes after both
    busy = [offload.beside(_slow_pid, 3) for _ in range(2)]
    f = _bundled("ons_mye2021")
    offload.parse_ahead(ons_population.parse_release, f)
    dropped, taken = offload.counts["dropped"], offload.counts["taken"]
    pd.testing.assert_frame_equal(offload.parsed(ons_population.parse_release, f), ons_population.parse_release(f))
    assert offload.counts["dropped"] == dropped + 1 and offload.counts["taken"] == taken
    assert all(b.result() != os.getpid() for b in busy)


@pytest.mark.skipif(offload.helpers() != 1, reason="needs exactly one helper, so files wait for it in turn")
def test_files_the_run_needs_sooner_are_parsed_first():
    files = [_bundled(source_id) for source_id in ("ons_mye2021", "ons_mye2023", "ons_census2021_p01")]
    first = offload.parse_ahead(_parsed_at, files[0], priority=2)  # handed over at once: the helper is free
    later = offload.parse_ahead(_parsed_at, files[1], priority=3)  # these two wait for it, given in this order
    sooner = offload.parse_ahead(_parsed_at, files[2], priority=1)
    for work in (first, later, sooner):
        _finished(work)
    at = [offload.parsed(_parsed_at, f) for f in files]
    assert at[2] < at[1]  # given last, parsed before the file needed later


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


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_helpers_started_early_are_the_ones_the_run_uses_and_end_with_it():
    offload.start()
    started = offload.helper_pids()
    assert len(started) == offload.helpers()
    offload.start()  # already running: nothing new is started
    offload.beside(_slow_pid, 0.0).result()
    assert offload.helper_pids() == started
    offload.close()
    assert offload.helper_pids() == []


@pytest.mark.skipif(offload.helpers() == 0, reason="one core: no helpers")
def test_work_handed_over_by_name_runs_in_a_prepared_helper_and_is_never_imported_here():
    import sys

    def in_helper(name: str):
        work = offload.beside(name)
        deadline = time.monotonic() + 60
        while not work.done() and time.monotonic() < deadline:  # work still queued would be done here at once
            time.sleep(0.05)
        return work.result()

    offload.start(prepare=["tests.support.helper_work:fail_to_prepare", "tests.support.helper_work:prepare"])
    pid, prepared = in_helper("tests.support.helper_work:state")
    assert pid in offload.helper_pids() and prepared == ["ready"]  # prepared before its first work; a failed one skipped
    assert "tests.support.helper_work" not in sys.modules
    offload.close()
    pid, prepared = in_helper("tests.support.helper_work:state")  # helpers started on first use: nothing prepared
    assert pid in offload.helper_pids() and prepared == []
    assert "tests.support.helper_work" not in sys.modules
