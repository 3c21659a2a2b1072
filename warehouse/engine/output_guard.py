"""Outputs never overwrite inputs: the one check every writer of a user-named file calls, and atomic writes.

:func:`check_output` refuses, whatever ``--force`` says, a target that is (or lies inside, or is reached
through a symlink to) the published warehouse file, its WAL or publish temporaries, or the data folder
(build folder, working database, landing store, inbox and its passwords file, Dagster home). It refuses
an **existing** file that the observatory did not write unless ``force``: a file is the observatory's
when ``ours(path)`` says so (by default: its first 4 KiB carry :data:`MARKER`). :func:`write_atomic`
writes through a temporary file in the same folder, renamed into place, so a reader or a crash never sees
half a file and a failed write leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from sources import files
from warehouse.engine.paths import WarehousePaths

MARKER = "northern-observatory-output"  # written into every HTML/PNG/JSON output the observatory makes


class OutputRefused(ValueError):
    """The output target would overwrite an input or a file the observatory did not write."""


def has_marker(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return MARKER.encode() in fh.read(4096)
    except OSError:
        return False


def _protected(paths: WarehousePaths) -> list[tuple[Path, str]]:
    published = paths.published
    named = [
        (published, "the published warehouse file"),
        (published.with_name(published.name + ".wal"), "the published warehouse's write-ahead log"),
        (paths.data, "the warehouse's data folder (build folder, landing store, inbox)"),
        (paths.build_dir, "the warehouse's build folder"),
        (paths.landing, "the raw landing store"),
        (paths.inbox, "the reports inbox"),
    ]
    return [(p.resolve(), what) for p, what in named]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(target: Path, paths: WarehousePaths, *, force: bool = False, ours: Callable[[Path], bool] = has_marker,
                 command: str = "observatory", folder: bool = False) -> Path:
    """Raise :class:`OutputRefused` if writing ``target`` could destroy an input; return its resolved path.

    ``folder``: the target is a folder the command writes files into (only its existence as a non-folder is refused
    here; check each file written into it with this function too).
    """
    target = Path(target).expanduser()
    resolved = target.resolve()  # follows a symlink: a link to the warehouse is the warehouse
    for protected, what in _protected(paths):
        if _inside(resolved, protected):
            raise OutputRefused(f"{command}: refusing to write {target}: it is {what} ({protected}); "
                                "choose an output path outside the warehouse's files (--force does not override this)")
    if published_prefix(resolved, paths):
        raise OutputRefused(f"{command}: refusing to write {target}: it is a publish temporary of {paths.published}")
    if folder:
        if resolved.exists() and not resolved.is_dir():
            raise OutputRefused(f"{command}: refusing to write into {target}: it exists and is not a folder")
        return resolved
    if resolved.is_dir():
        raise OutputRefused(f"{command}: refusing to write {target}: it is a folder, not a file")
    if resolved.exists() and not force and not ours(resolved):
        raise OutputRefused(f"{command}: refusing to overwrite {target}: it exists and was not written by the observatory; "
                            "choose another path, or pass --force to replace it")
    return resolved


def published_prefix(resolved: Path, paths: WarehousePaths) -> bool:
    """True for the publish temporaries beside the published file (``.<name>.publishing-*``)."""
    return resolved.parent == paths.published.parent and resolved.name.startswith(f".{paths.published.name}.publishing")


def write_atomic(target: Path) -> contextlib.AbstractContextManager[Path]:
    """A temporary path to write ``target`` through, renamed into place on success (``sources.files``)."""
    return files.atomic_path(target)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    files.write_bytes(target, data)


def write_text_atomic(target: Path, text: str) -> None:
    files.write_text(target, text)
