"""One writer at a time per warehouse: a file lock on the data folder, whatever the Dagster instance.

Every command that writes the warehouse (``observatory build``, ``observatory ingest``, and any run
whose resource opens the working database) holds :func:`writer_lock` while it writes. A second writer
waits its turn, saying once on stderr who it is waiting for, and gives up after
``$OBSERVATORY_WRITER_WAIT`` seconds (default 30 minutes) with a :class:`WriterBusy` error naming the
other process (pid, command, since when). Readers never take the lock: they read the published file,
which a publish replaces atomically, so a reader never waits.

The lock is ``fcntl.flock`` on ``<data folder>/writer.lock``: the kernel releases it when its holder
exits, however it exits (``kill -9`` included), so there is no stale lock to clean up. The holder's
pid and command are written to ``writer.lock.json`` beside it (for the waiting message only). The lock
is re-entrant within one process (``ingest`` runs a build inside its own lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sources import files

WAIT_ENV = "OBSERVATORY_WRITER_WAIT"
DEFAULT_WAIT = 1800.0  # seconds: longer than a full build on a 2-core machine
POLL = 0.2
LOCK_NAME = "writer.lock"
HOLDER_NAME = "writer.lock.json"

_held: dict[str, list] = {}  # lock path -> [fd, depth]
_guard = threading.Lock()


class WriterBusy(RuntimeError):
    """Another process held the warehouse for longer than this one would wait."""


def _describe(holder: dict | None) -> str:
    if not holder:
        return "another process (no details recorded)"
    return f"pid {holder.get('pid')} ({holder.get('command', '?')}, since {holder.get('since', '?')})"


def read_holder(data: Path) -> dict | None:
    """Who holds (or last held) the lock, as recorded; None when nothing is recorded."""
    try:
        return json.loads((Path(data) / HOLDER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _command() -> str:
    args = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:]]
    return " ".join(args)[:200]


def wait_seconds() -> float:
    text = os.environ.get(WAIT_ENV)
    try:
        return float(text) if text else DEFAULT_WAIT
    except ValueError:
        raise ValueError(f"{WAIT_ENV}={text!r}: expected a number of seconds") from None


@contextlib.contextmanager
def writer_lock(data: Path, *, wait: float | None = None, say: Callable[[str], None] | None = None,
                command: str | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock (``data`` is the warehouse's data folder) for the ``with`` block."""
    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    lock_path = data / LOCK_NAME
    key = str(lock_path.resolve())
    with _guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                _held[key][1] -= 1
        return
    wait = wait_seconds() if wait is None else wait
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = read_holder(data)
                if time.monotonic() - started >= wait:
                    raise WriterBusy(f"{data}: another writer holds the warehouse: {_describe(holder)}; gave up after waiting "
                                     f"{wait:,.0f} s ({WAIT_ENV}). Wait for it to finish, or stop it, then run this again.") from None
                if not told:
                    say(f"Waiting for the warehouse: another writer holds it, {_describe(holder)}. "
                        f"This command starts when it finishes (at most {wait:,.0f} s; {WAIT_ENV}).")
                    told = True
                time.sleep(POLL)
        if told:
            say(f"The other writer finished after {time.monotonic() - started:,.1f} s; starting.")
        record = {"pid": os.getpid(), "command": command or _command(),
                  "since": dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")}
        files.write_text(data / HOLDER_NAME, json.dumps(record))
        with _guard:
            _held[key] = [fd, 1]
        try:
            yield
        finally:
            with _guard:
                del _held[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
