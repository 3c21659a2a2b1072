"""Many report documents processed in parallel worker processes, each under a wall-clock and memory budget.

:func:`process_documents` runs :func:`sources.reports.frames.process_document` for each document in a pool
of worker processes (default: the available cores). The parent watches every worker: a document that runs
longer than :attr:`Budget.seconds` or whose worker's resident memory passes :attr:`Budget.megabytes` has its
worker killed (a fresh worker takes its place) and is **quarantined** with the reason, so a hostile or
pathological file can neither hang an ingest nor take the machine's memory. The budget is configurable by
``OBSERVATORY_REPORT_SECONDS`` and ``OBSERVATORY_REPORT_MEGABYTES``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sources.reports.claims import PlaceMatcher
from sources.reports.frames import Processed, failed_document, process_document
from sources.reports.specs import Spec

SECONDS_ENV = "OBSERVATORY_REPORT_SECONDS"
MEGABYTES_ENV = "OBSERVATORY_REPORT_MEGABYTES"


@dataclass(frozen=True)
class Budget:
    """Most wall-clock time and resident memory one document may take (defaults generous for real reports)."""

    seconds: float = 120.0
    megabytes: int = 768

    @classmethod
    def from_env(cls) -> Budget:
        return cls(seconds=float(os.environ.get(SECONDS_ENV, cls.seconds)),
                   megabytes=int(os.environ.get(MEGABYTES_ENV, cls.megabytes)))


@dataclass(frozen=True)
class Job:
    path: Path
    file_name: str
    password: str | None = None


def _rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc; 0 where unavailable)."""
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
        self.process.start()
        child.close()
        self.job: int | None = None
        self.started = 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.parent.close()


def process_documents(jobs: Sequence[Job], *, places: PlaceMatcher, workers: int | None = None,
                      budget: Budget | None = None, poll: float = 0.05, specs: list[Spec] | None = None) -> list[Processed]:
    """Every document processed (or quarantined for its budget), in the order of ``jobs``.

    ``specs``: the extraction specs to apply (default: those in ``sources/report_specs``).
    """
    budget = budget or Budget.from_env()
    if not jobs:
        return []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(len(jobs), workers or cores))
    # fork: workers start in milliseconds and share the parent's imports and place matcher
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    results: list[Processed | None] = [None] * len(jobs)
    # largest first, so one long document does not start last and leave the other workers idle
    queue = sorted(range(len(jobs)), key=lambda i: -_size(jobs[i].path))
    slots = [_Slot(ctx, places, specs) for _ in range(workers)]
    try:
        while queue or any(s.job is not None for s in slots):
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
                        results[i] = result
                elif not slot.process.is_alive():
                    reason = f"the worker process died (exit code {slot.process.exitcode})"
                elif time.monotonic() - slot.started > budget.seconds:
                    reason = f"over the time budget: still running after {budget.seconds:g} s (worker killed)"
                elif (rss := _rss_mb(slot.process.pid)) > budget.megabytes:
                    reason = f"over the memory budget: {rss:.0f} MiB > {budget.megabytes} MiB (worker killed)"
                if reason is not None:
                    if slot.job is not None or not slot.process.is_alive():
                        slot.kill()
                        slots[k] = _Slot(ctx, places, specs)
                    results[i] = failed_document(jobs[i].path, reason, file_name=jobs[i].file_name,
                                                 password=jobs[i].password)
            time.sleep(poll)
    finally:
        for slot in slots:
            if slot.process.is_alive():
                try:
                    slot.parent.send(None)
                except OSError:
                    pass
                slot.process.join(2)
                if slot.process.is_alive():
                    slot.kill()
    return [r for r in results if r is not None]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

