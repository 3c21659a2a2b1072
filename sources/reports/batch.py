"""Many report documents processed in parallel worker processes, each under a wall-clock and memory budget.

:func:`process_documents` runs :func:`sources.reports.frames.process_document` for each document in a pool
of worker processes (default: the available cores). The parent watches every worker: a document that runs
longer than :attr:`Budget.seconds` or whose worker's resident memory passes :attr:`Budget.megabytes` has its
worker killed (a fresh worker takes its place) and is **quarantined** with the reason, so a hostile or
pathological file can neither hang an ingest nor take the machine's memory. The budget is configurable by
``OBSERVATORY_REPORT_SECONDS`` and ``OBSERVATORY_REPORT_MEGABYTES`` (the memory a worker holds of its own: the
pages a forked worker still shares with the process that started it do not count).

A :class:`Batch` can also run in the background (:func:`start_documents`): ``observatory ingest`` starts its
documents before its Dagster run is created, so extraction overlaps the run's own start-up, and the run's
step takes the finished batch (:func:`take_started`) instead of processing the documents a second time.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sources.reports.claims import PlaceMatcher
from sources.reports.frames import Processed, failed_document, process_document
from sources.reports.intake import MEGABYTES, MEGABYTES_ENV
from sources.reports.specs import Spec

SECONDS_ENV = "OBSERVATORY_REPORT_SECONDS"


@dataclass(frozen=True)
class Budget:
    """Most wall-clock time and resident memory one document may take (defaults generous for real reports)."""

    seconds: float = 120.0
    megabytes: int = MEGABYTES

    @classmethod
    def from_env(cls) -> Budget:
        return cls(seconds=float(os.environ.get(SECONDS_ENV, cls.seconds)),
                   megabytes=int(os.environ.get(MEGABYTES_ENV, cls.megabytes)))


@dataclass(frozen=True)
class Job:
    path: Path
    file_name: str
    password: str | None = None


def _own_mb(pid: int) -> float:
    """The memory a worker holds of its own, in MiB: its private resident pages (Linux ``smaps_rollup``). A forked
    worker starts sharing every page of the process that forked it, which its resident size counts in full (a
    test's or a notebook's big heap would put every document over its budget before its first page is read); the
    budget is for what the document's extraction takes. Its resident size where ``smaps_rollup`` is missing (older
    kernels); 0 where /proc is unavailable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        return sum(int(fields[k].split()[0]) for k in ("Private_Clean", "Private_Dirty")) / 1024
    except (OSError, ValueError, IndexError, KeyError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _worker(conn, places: PlaceMatcher, specs: list[Spec] | None) -> None:
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        index, path, file_name, password = job
        try:
            result = process_document(Path(path), places=places, password=password, file_name=file_name, specs=specs)
        except BaseException as err:  # noqa: BLE001 - reported as a quarantine by the parent
            result = f"{type(err).__name__}: {str(err)[:200]}"
        conn.send((index, result))


class _Slot:
    def __init__(self, ctx, places: PlaceMatcher, specs: list[Spec] | None):
        self.parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, places, specs), daemon=True)
        gc.freeze()  # a forked worker's collector then leaves the parent's objects alone (no copy of their pages)
        try:
            self.process.start()
        finally:
            gc.unfreeze()
        child.close()
        self.job: int | None = None
        self.started = 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.parent.close()


class Batch:
    """Documents being processed by a pool of budgeted worker processes; :meth:`result` waits for them.

    The workers are forked when the batch is made (from the calling thread); with ``background=True`` a thread
    feeds and watches them while the caller does other work (``observatory ingest`` starts the batch before
    its Dagster run is created, and the run's step takes the results with :func:`take_started`).
    """

    def __init__(self, jobs: Sequence[Job], *, places: PlaceMatcher, workers: int | None = None, budget: Budget | None = None,
                 poll: float = 0.05, specs: list[Spec] | None = None, background: bool = False):
        if background:
            # what the workers import lazily is loaded before any fork: a worker forked later from the background
            # thread (to replace one killed for its budget) must not find a module half-imported by another thread
            import pdfminer.layout  # noqa: F401
            import pdfminer.pdfdocument  # noqa: F401
            import pypdfium2  # noqa: F401
            import pypdfium2.raw  # noqa: F401
        self.jobs = list(jobs)
        self.budget = budget or Budget.from_env()
        self.poll = poll
        self.began = time.monotonic()
        self.seconds: float | None = None  # wall time from start to the last document done
        self._places, self._specs = places, specs
        self._results: list[Processed | None] = [None] * len(self.jobs)
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        n = max(1, min(len(self.jobs), workers or cores)) if self.jobs else 0
        # fork: workers start in milliseconds and share the parent's imports and place matcher
        self._ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        self._slots = [_Slot(self._ctx, places, specs) for _ in range(n)]
        self._thread: threading.Thread | None = None
        if background and self.jobs:
            self._thread = threading.Thread(target=self._drive, name="report-documents", daemon=True)
            self._thread.start()

    def result(self, jobs: Sequence[Job] | None = None) -> list[Processed]:
        """Every document processed (or quarantined for its budget), in the order of the jobs (default: all of them)."""
        if self._thread is not None:
            self._thread.join()
        elif self.seconds is None:
            self._drive()
        if self._error is not None:
            raise self._error
        if jobs is None:
            return [r for r in self._results if r is not None]
        index = {job: i for i, job in enumerate(self.jobs)}
        return [r for r in (self._results[index[j]] for j in jobs) if r is not None]

    def cancel(self) -> None:
        """Stop: the workers are ended and nothing more is processed."""
        self._cancelled.set()
        if self._thread is not None:
            self._thread.join()
        else:
            self._close()

    def _drive(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # noqa: BLE001 - raised again by result() in the caller's thread
            self._error = err
        finally:
            self._close()
            self.seconds = time.monotonic() - self.began

    def _loop(self) -> None:
        jobs, slots, budget = self.jobs, self._slots, self.budget
        # largest first, so one long document does not start last and leave the other workers idle
        queue = sorted(range(len(jobs)), key=lambda i: -_size(jobs[i].path))
        while (queue or any(s.job is not None for s in slots)) and not self._cancelled.is_set():
            for k, slot in enumerate(slots):
                if slot.job is None and queue:
                    i = queue.pop(0)
                    slot.job, slot.started = i, time.monotonic()
                    slot.parent.send((i, str(jobs[i].path), jobs[i].file_name, jobs[i].password))
                if slot.job is None:
                    continue
                i = slot.job
                reason = None
                if slot.parent.poll():
                    try:
                        _, result = slot.parent.recv()
                    except (EOFError, OSError):
                        result = "the worker process died"
                    slot.job = None
                    if isinstance(result, str):
                        reason = f"extraction failed: {result}"
                    else:
                        self._results[i] = result
                elif not slot.process.is_alive():
                    reason = f"the worker process died (exit code {slot.process.exitcode})"
                elif time.monotonic() - slot.started > budget.seconds:
                    reason = f"over the time budget: still running after {budget.seconds:g} s (worker killed)"
                elif (rss := _own_mb(slot.process.pid)) > budget.megabytes:
                    reason = f"over the memory budget: {rss:.0f} MiB > {budget.megabytes} MiB (worker killed)"
                if reason is not None:
                    if slot.job is not None or not slot.process.is_alive():
                        slot.kill()
                        slots[k] = _Slot(self._ctx, self._places, self._specs)
                    self._results[i] = failed_document(jobs[i].path, reason, file_name=jobs[i].file_name,
                                                       password=jobs[i].password)
            time.sleep(self.poll)

    def _close(self) -> None:
        for slot in self._slots:
            if slot.process.is_alive():
                try:
                    slot.parent.send(None)
                except OSError:
                    pass
                slot.process.join(2)
                if slot.process.is_alive():
                    slot.kill()


def process_documents(jobs: Sequence[Job], *, places: PlaceMatcher, workers: int | None = None,
                      budget: Budget | None = None, poll: float = 0.05, specs: list[Spec] | None = None) -> list[Processed]:
    """Every document processed (or quarantined for its budget), in the order of ``jobs``.

    ``specs``: the extraction specs to apply (default: those in ``sources/report_specs``).
    """
    if not jobs:
        return []
    return Batch(jobs, places=places, workers=workers, budget=budget, poll=poll, specs=specs).result()


_STARTED: list[Batch] = []


def start_documents(jobs: Sequence[Job], *, places: PlaceMatcher, specs: list[Spec] | None = None,
                    workers: int | None = None, budget: Budget | None = None) -> Batch:
    """Start processing ``jobs`` in the background now; :func:`take_started` hands the batch to whoever asks for
    some of these jobs later in this process (it must use the same places and specs)."""
    batch = Batch(jobs, places=places, specs=specs, workers=workers, budget=budget, background=True)
    _STARTED.append(batch)
    return batch


def take_started(jobs: Sequence[Job]) -> Batch | None:
    """A started batch that holds all these jobs (its :meth:`Batch.result` of them waits for them), if there is one."""
    wanted = set(jobs)
    return next((b for b in _STARTED if wanted <= set(b.jobs)), None)


def cancel_started() -> None:
    """End every started batch (their workers stop; results not yet taken are dropped)."""
    while _STARTED:
        _STARTED.pop().cancel()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

