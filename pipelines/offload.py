"""Work a run hands to helper processes, so it runs on the machine's other cores while the run goes on.

A refresh runs its steps one at a time in one process (Dagster's in-process executor, one writer of the working
database), so by itself it keeps one core busy. Work that needs nothing but its arguments can run beside it:

* a table build whose inputs are all in place is built (and validated) ahead, as soon as they are (:func:`ahead`,
  keyed by the load's fingerprint; see `pipelines.assets._factory.TableBuild`), so the step that loads the tables,
  later in the run, finds them ready (:func:`take`);
* the area pages are drawn while the report draws its charts, and the earlier Fingertips vintages are built while
  the current aggregates are (:func:`beside`).

Work waits on a stack until a helper is free, and each helper is given one piece at a time. A free helper takes
the piece started last; the run's own process, when it needs a piece still waiting, takes it back and does it at
once. Steps run in the order their inputs arrive, so the run works from the front of what is waiting and the
helpers from the back, and neither waits for the other longer than one piece of work.

Nothing depends on a helper for being right. Work taken by :func:`take` is used only under the key (the load
fingerprint: input files, code, registry entries, upstream loads) it was started with; whatever failed in a helper
(or a helper that died) is done again in the run's own process, so results and errors read exactly as they would
without helpers. The helpers are started by :func:`start` (or on first use: ``spawn``, a fresh interpreter that
inherits no thread, lock or open database of the run) and :func:`close` ends them, dropping whatever was not
used, when the run ends (the warehouse resource's teardown); a helper whose run process was killed ends by itself
within half a second. With a single core there are no helpers and everything runs in the run's process as before.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

PARENT_POLL = 0.5  # seconds between a helper's checks that the run's process is still there
MAX_HELPERS = 3  # each helper holds pandas and the run's modules (~200 MiB)

_lock = threading.Condition()
_pool: ProcessPoolExecutor | None = None
_feeders: list[threading.Thread] = []
_waiting: list[Work] = []  # not yet given to a helper: a stack (helpers take the newest)
_ahead: dict[str, Work] = {}
_in_helper = False
# Since the process started: builds started ahead; results taken from helpers; work done here after all because
# the helper failed or died; work dropped (still waiting when it was needed, so done here at once, or never needed
# before its run ended).
counts = {"ahead": 0, "taken": 0, "redone": 0, "dropped": 0}


def helpers() -> int:
    """How many helper processes a run uses: one per core beside the run's own, at most :data:`MAX_HELPERS` (none
    in a helper itself)."""
    if _in_helper:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, min(MAX_HELPERS, cores - 1))


class Work:
    """A call handed to the helpers (:func:`beside`, :func:`ahead`); :meth:`result` takes it."""

    def __init__(self, fn: Callable, args: tuple):
        self.fn, self.args = fn, args
        self.future: Future | None = None  # set when a helper is given it
        self._done_here: tuple[bool, Any] | None = None  # (ok, value) when the run's process did it while waiting

    def result(self):
        """What ``fn(*args)`` returned: from the helper when it has it or is working on it (doing work still waiting
        for a helper meanwhile, rather than sitting idle); else run here, at once, when it is still waiting for a
        helper (sooner than waiting), when there is no helper, or when the helper failed or died (so an error is
        raised here, as it would be without helpers)."""
        with _lock:
            if self.future is None and self in _waiting:
                _waiting.remove(self)
                counts["dropped"] += 1
            future, done_here = self.future, self._done_here
        if done_here is not None and done_here[0]:
            return done_here[1]
        if future is not None and done_here is None:
            while not future.done() and _do_oldest_waiting():
                pass
            try:
                value = future.result()
                counts["taken"] += 1
                return value
            except Exception:  # noqa: BLE001 - run again below, where the error (if any) is the caller's to see
                counts["redone"] += 1
        return self.fn(*self.args)


def _do_oldest_waiting() -> bool:
    """Do here the work that has waited longest for a helper (the helpers take the newest), keeping its result for
    whoever takes it. False when nothing is waiting."""
    with _lock:
        if not _waiting:
            return False
        work = _waiting.pop(0)
    try:
        work._done_here = (True, work.fn(*work.args))
    except Exception:  # noqa: BLE001 - whoever takes it runs it again and sees the error there
        work._done_here = (False, None)
    return True


def start(*modules: str) -> None:
    """Start the helpers now (before the run needs them) and have each import ``modules``, so their start-up
    overlaps the run's own."""
    if _executor() is not None:
        for _ in range(helpers()):
            _give(Work(_import, modules))


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def beside(fn: Callable, *args) -> Work:
    """``fn(*args)`` handed to a helper while the caller goes on; ``.result()`` takes it (or runs it there and then
    when no helper has started it)."""
    work = Work(fn, args)
    if _executor() is not None:
        _give(work)
    return work


def ahead(key: str, fn: Callable, *args) -> None:
    """Start ``fn(*args)`` in a helper; :func:`take` with the same ``key`` takes its result."""
    if key in _ahead or _executor() is None:
        return
    _ahead[key] = beside(fn, *args)
    counts["ahead"] += 1


def take(key: str, here: Callable[[], Any]):
    """The result of the work started ahead under ``key`` (see :meth:`Work.result`), else ``here()``."""
    work = _ahead.pop(key, None)
    return work.result() if work is not None else here()


def in_flight() -> list[str]:
    """The keys of work started ahead and not yet taken."""
    return list(_ahead)


def _executor() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and helpers():
            _pool = ProcessPoolExecutor(max_workers=helpers(), mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_helper_init, initargs=(os.getpid(),))
            _feeders.extend(threading.Thread(target=_feed, args=(_pool,), name=f"offload-feeder-{n}", daemon=True)
                            for n in range(helpers()))
            for feeder in _feeders:
                feeder.start()
        return _pool


def _give(work: Work) -> None:
    with _lock:
        _waiting.append(work)
        _lock.notify()


def _feed(pool: ProcessPoolExecutor) -> None:
    """One per helper: hand it the newest waiting work, wait until it is done, again; until the pool closes or breaks."""
    while True:
        with _lock:
            while _pool is pool and not _waiting:
                _lock.wait()
            if _pool is not pool:
                return
            work = _waiting.pop()
            try:
                work.future = pool.submit(work.fn, *work.args)
            except RuntimeError:  # the pool broke (a helper died) or is shutting down: the run does the work itself
                return
        try:
            work.future.result()
        except BrokenProcessPool:
            return
        except Exception:  # noqa: BLE001 - the work's own failure: whoever takes it runs it again and sees the error
            pass


def _helper_init(parent: int) -> None:
    """In a helper: no helpers of its own, and end it as soon as the run's process is gone (killed, crashed), within
    half a second, even in the middle of its work. A pool's worker would otherwise wait for work forever, holding
    the run's output pipes open."""
    global _in_helper
    _in_helper = True

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-the-run", daemon=True).start()


def helper_pids() -> list[int]:
    """The process ids of the helpers running now (none before the first use, or after :func:`close`)."""
    with _lock:
        return [p.pid for p in (_pool._processes or {}).values()] if _pool is not None else []  # noqa: SLF001 - the executor's own record


def close() -> None:
    """End the helpers (at once: work they were doing that nobody took is not waited for) and drop what was started
    and not taken (the end of a run)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
        counts["dropped"] += len(_waiting) + sum(1 for work in _ahead.values() if work.future is not None)
        _waiting.clear()
        _ahead.clear()
        processes = list((pool._processes or {}).values()) if pool is not None else []  # noqa: SLF001 - the executor's own record
        feeders = list(_feeders)
        _feeders.clear()
        _lock.notify_all()
    if pool is not None:
        for process in processes:
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
    for feeder in feeders:
        feeder.join()
