"""Work a run hands to helper processes, so it runs on the machine's other cores while the run goes on.

A refresh runs its steps one at a time in one process (Dagster's in-process executor, one writer of the working
database), so by itself it keeps one core busy. Work that needs nothing but its arguments can run beside it:

* each raw file is parsed as soon as it has landed (:func:`parse_ahead`, called by the raw-file asset), those the run
  needs soonest first, so the step that reads it, later in the run, finds the frame ready (:func:`parsed`);
* the report's charts are drawn while the run writes the area pages, and the earlier Fingertips vintages are built
  while the current aggregates are (:func:`beside`).

Nothing depends on a helper for being right. A frame parsed ahead is used only by a call of the same parser on a
file with the same name and bytes; whatever failed in a helper (or a helper that died) is done again in the run's
own process, so results and errors read exactly as they would without helpers. The helpers are started on first
use, or sooner by :func:`start` (``spawn``: a fresh interpreter inherits no thread, lock or open database of the
run), and :func:`close` ends them, dropping whatever was not used, when the run ends (the warehouse resource's
teardown); a helper whose run process was killed ends by itself within half a second. With a single core there are
no helpers and everything runs in the run's process as before.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import importlib
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor

from sources.inputs import InputFile

PARENT_POLL = 0.5  # seconds between a helper's checks that the run's process is still there
MAX_HELPERS = 3  # parsing ahead rarely keeps more busy; each helper holds pandas (~150 MiB)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_ahead: dict[tuple[str, str, str, str], Beside] = {}
# Files waiting to be parsed ahead, as (priority, order, work), soonest needed first: handed to the helpers one at a
# time by the dispatcher threads (:func:`_dispatch`), so a file needed soon never waits behind a queue of files
# needed later, and one the run wants before a helper has taken it is parsed where it is wanted.
_waiting: list[tuple[int, int, _Queued]] = []
_wake = threading.Condition()
_order = itertools.count()
_dispatchers: list[threading.Thread] = []
# Since the process started: files given to helpers to parse ahead; results taken from helpers; work done here after
# all because the helper failed or died; work dropped (still queued when it was needed, so done here at once, or
# never needed before its run ended).
counts = {"ahead": 0, "taken": 0, "redone": 0, "dropped": 0}


def helpers() -> int:
    """How many helper processes a run uses: one per core beside the run's own, at most :data:`MAX_HELPERS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, min(MAX_HELPERS, cores - 1))


def _executor(prepare: tuple[str, ...] = ()) -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and helpers():
            _pool = ProcessPoolExecutor(max_workers=helpers(), mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_begin, initargs=(os.getpid(), prepare))
        return _pool


def _begin(parent: int, prepare: tuple[str, ...]) -> None:
    """In a helper, before its first work: end it with the run's process (:func:`_end_with`), then import the
    libraries the parsers are built on and run each ``"module:function"`` of ``prepare``, so the work it is given
    later starts at once."""
    _end_with(parent)
    import pandas  # noqa: F401
    import python_calamine  # noqa: F401

    for name in prepare:
        try:
            call(name)
        except Exception:  # noqa: BLE001 - a preparation only saves time; the work it prepared for reports its own errors
            pass


def _end_with(parent: int) -> None:
    """In a helper: end it as soon as the run's process is gone (killed, crashed), within half a second, even in the
    middle of its work. A pool's worker would otherwise wait for work forever, holding the run's output pipes open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-the-run", daemon=True).start()


def _key(parser: Callable, file: InputFile) -> tuple[str, str, str, str]:
    return (f"{parser.__module__}:{parser.__qualname__}", file.source_id, file.path.name, file.sha256)


def parse_ahead(parser: Callable, file: InputFile, priority: int = 0) -> Beside | None:
    """Have a helper run ``parser(file)``; :func:`parsed` with the same parser and file takes the frame. Files are
    parsed in the order of ``priority`` (lower first: how soon the run needs the file), then in the order given.
    Returns the work (None when it was already given, or there is no helper: one core, or the pool broke; the step
    that reads the file then parses it itself)."""
    if _key(parser, file) in _ahead or _executor() is None:
        return None
    work = _ahead[_key(parser, file)] = _Queued(parser, (file,))
    with _wake:
        heapq.heappush(_waiting, (priority, next(_order), work))
        while len(_dispatchers) < helpers():
            _dispatchers.append(threading.Thread(target=_dispatch, args=(_pool,), name="offload-dispatch", daemon=True))
            _dispatchers[-1].start()
        _wake.notify()
    counts["ahead"] += 1
    return work


def _dispatch(pool: ProcessPoolExecutor) -> None:
    """A dispatcher thread of ``pool``: hands the waiting file needed soonest to its helpers, waits until it is
    parsed, and so on, until that pool is closed (a later run's pool has dispatchers of its own). Work the run took
    back meanwhile (:meth:`Beside.result`) is skipped."""
    while True:
        with _wake:
            while not _waiting and _pool is pool:
                _wake.wait()
            if _pool is not pool:
                return
            _, _, work = heapq.heappop(_waiting)
            future = work.hand_over(pool)
        if future is not None:
            concurrent.futures.wait([future])


def parsed(parser: Callable, file: InputFile):
    """``parser(file)``: the frame parsed ahead when there is one (see :meth:`Beside.result`), else parsed here."""
    work = _ahead.pop(_key(parser, file), None)
    return work.result() if work is not None else parser(file)


class Beside:
    """Work started by :func:`beside`; :meth:`result` takes it."""

    def __init__(self, fn: Callable, args: tuple, future: Future | None):
        self._fn, self._args, self._future = fn, args, future

    def result(self):
        """What ``fn(*args)`` returned: from the helper when it has it or is working on it; else run here, at once, when
        the work is still queued behind other work (sooner than waiting), when there is no helper, or when the helper
        failed or died (so an error is raised here, as it would be without helpers)."""
        future, self._future = self._future, None
        if future is not None and future.cancel():
            counts["dropped"] += 1
        elif future is not None:
            try:
                value = future.result()
                counts["taken"] += 1
                return value
            except Exception:  # noqa: BLE001 - run again below, where the error (if any) is the caller's to see
                counts["redone"] += 1
        return self._fn(*self._args)

    def done(self) -> bool:
        """Whether a helper has finished the work (so :meth:`result` will not wait, nor do it here)."""
        return self._future is not None and self._future.done()

    def cancel(self) -> None:
        if self._future is not None:
            self._future.cancel()


class _Queued(Beside):
    """Work waiting for a dispatcher (:func:`parse_ahead`): until it is handed to a helper, :meth:`result` does it
    here (and the dispatcher skips it)."""

    def __init__(self, fn: Callable, args: tuple):
        super().__init__(fn, args, None)
        self._queued = True

    def hand_over(self, pool: ProcessPoolExecutor) -> Future | None:
        """Give the work to ``pool`` unless it was taken back (called holding the queue's lock)."""
        if not self._queued:
            return None
        self._queued = False
        try:
            self._future = pool.submit(self._fn, *self._args)
        except RuntimeError:  # a broken or closed pool: the work is done where it is wanted
            return None
        return self._future

    def result(self):
        with _wake:
            queued, self._queued = self._queued, False
        if queued:
            counts["dropped"] += 1
            return self._fn(*self._args)
        return super().result()

    def cancel(self) -> None:
        with _wake:
            self._queued = False
        super().cancel()


def call(name: str, *args):
    """The function ``"module:function"`` names, imported and called: how a helper is given work whose module the
    caller has not imported."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)(*args)


def beside(fn: Callable | str, *args) -> Beside:
    """``fn(*args)`` started in a helper while the caller goes on; ``.result()`` takes it (or runs it there and then
    when there is no helper). ``fn`` may be a name, ``"module:function"``: the caller then never imports that
    module unless it has to do the work itself (a report's charts in a helper, without matplotlib in the run)."""
    if isinstance(fn, str):
        fn, args = call, (fn, *args)
    pool = _executor()
    future = None
    if pool is not None:
        try:
            future = pool.submit(fn, *args)
        except RuntimeError:
            pass
    return Beside(fn, args, future)


def start(prepare: Iterable[str] = ()) -> None:
    """Start the helpers now, if they are not running, each importing pandas and running ``prepare`` (names of
    ``"module:function"``, called with no argument: imports and caches the work handed to helpers later will want).
    A helper takes a second or more to start and import pandas, and a run lands its first files a fraction of a
    second after it starts; ``observatory build`` calls it before its own slow imports (Dagster, the definitions,
    about 3 s), so the helpers are ready when the files land."""
    pool = _executor(tuple(prepare))
    for _ in range(helpers() if pool is not None else 0):
        pool.submit(int)  # a pool starts a process for work it is given while none is idle


def helper_pids() -> list[int]:
    """The process ids of the helpers running now (none before the first use, or after :func:`close`)."""
    with _lock:
        return [p.pid for p in (_pool._processes or {}).values()] if _pool is not None else []  # noqa: SLF001 - the executor's own record


def close() -> None:
    """End the helpers and drop what was parsed ahead and not used (the end of a run)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
        for work in _ahead.values():
            work.cancel()
        counts["dropped"] += len(_ahead)
        _ahead.clear()
    with _wake:
        _waiting.clear()
        _dispatchers.clear()  # they end when they see no pool
        _wake.notify_all()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
