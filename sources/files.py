"""Files written whole or not at all: the one atomic write every module uses.

A file is written as ``.<name>.partial-<pid>`` beside its target and renamed into place (``os.replace``),
so a reader, a crash or a full disk never leaves half a file under the real name, and a failed write leaves
the old file as it was. ``mode`` creates the temporary file with those permission bits from the first byte
(a passwords file is never readable by others, not even for a moment). ``sources.landing.remove_stale_partials``
sweeps temporaries a killed process left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

PARTIAL_MARK = ".partial-"


def partial_path(target: Path) -> Path:
    """The temporary name a write of ``target`` uses."""
    return target.parent / f".{target.name}{PARTIAL_MARK}{os.getpid()}"


@contextlib.contextmanager
def atomic_path(target: Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write ``target``'s content to; on success it replaces ``target`` atomically."""
    target = Path(target)
    tmp = partial_path(target)
    try:
        if mode is not None:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode))
            os.chmod(tmp, mode)  # the umask never widens, but an old temporary may exist with other bits
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: Path, data: bytes, *, mode: int | None = None) -> Path:
    with atomic_path(target, mode=mode) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return Path(target)


def write_text(target: Path, text: str, *, mode: int | None = None) -> Path:
    return write_bytes(target, text.encode("utf-8"), mode=mode)


def copy(source: Path, target: Path, *, mode: int | None = None) -> Path:
    """Copy ``source`` to ``target`` in 1 MiB blocks (never whole in memory), atomically."""
    with atomic_path(target, mode=mode) as tmp:
        with open(source, "rb") as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
    return Path(target)
