"""The raw landing store: input files kept by content (SHA-256), each with its provenance.

``land_file`` copies bytes into ``<landing>/<sha[:2]>/<sha>/<file name>`` once and returns a
:class:`LandedFile` describing them. Landing the same bytes again is a no-op that returns the
original record, so an unchanged file keeps its first retrieval time and is not parsed again.

Nothing leaks through intake: :func:`check_intake` refuses a symbolic link, a device, a FIFO or a
directory (only a regular file is read) and an oversized file, before a byte is copied; :func:`copy_file`
writes a copy with the source's permission bits or tighter (never wider, never executable), through a
temporary file renamed into place, so a refused or interrupted copy leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from sources import files
from sources.catalogue import CatalogueEntry, sha256_of, source_credit
from sources.inputs import SourceFormatError


@dataclass(frozen=True)
class LandedFile:
    """One input file in the landing store."""

    source_id: str
    sha256: str
    origin: str
    file_name: str
    bytes: int
    retrieved_at: dt.datetime
    publisher: str
    title: str
    licence: str
    mode: str
    landed_path: str  # relative to the data folder

    def path(self, data_folder: Path) -> Path:
        return data_folder / self.landed_path

    def provenance_row(self) -> dict:
        return asdict(self)

    @property
    def label(self) -> str:
        """How error messages name this file."""
        return f"{self.file_name} (sha256 {self.sha256[:12]}, from {self.origin})"


MAX_BYTES_ENV = "OBSERVATORY_MAX_INPUT_BYTES"
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: far above any publisher's file here, far below what would exhaust a 2-core box


def check_size(path: Path, source_id: str) -> None:
    """Refuse an input file larger than ``$OBSERVATORY_MAX_INPUT_BYTES`` (default 1 GiB) before anything reads it."""
    limit = int(os.environ.get(MAX_BYTES_ENV) or DEFAULT_MAX_BYTES)
    size = path.stat().st_size
    if size > limit:
        raise SourceFormatError(f"{path.name} ({source_id}) is {size:,} bytes, over the limit of {limit:,} "
                                f"({MAX_BYTES_ENV}); nothing was landed")


def check_regular(path: Path, what: str = "input") -> os.stat_result:
    """Refuse anything but a regular file (a symlink is refused even when it points at one: it could point anywhere)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise SourceFormatError(f"{path}: no such file; nothing was landed") from None
    except PermissionError:
        raise SourceFormatError(f"{path}: permission denied reading the {what}; nothing was landed") from None
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))
    for test, kind in kinds:
        if test(st.st_mode):
            raise SourceFormatError(f"{path}: is {kind}, not a regular file; only regular files are taken in as {what}s "
                                    "(copy the file itself); nothing was landed")
    if not stat.S_ISREG(st.st_mode):
        raise SourceFormatError(f"{path}: is not a regular file; nothing was landed")
    return st


def check_intake(path: Path, source_id: str) -> os.stat_result:
    """Everything refused before a copy is made: not a regular file, or over the size limit."""
    st = check_regular(path)
    check_size(path, source_id)
    return st


def copy_file(source: Path, target: Path, *, mode: int | None = None) -> Path:
    """Copy ``source`` to ``target`` via a temporary file renamed into place, with ``mode`` or the source's bits (never
    wider than the source's, never executable). A failed copy (disk full, permission) leaves no partial file."""
    bits = stat.S_IMODE(os.stat(source).st_mode) & 0o666
    if mode is not None:
        bits &= mode
    return files.copy(source, target, mode=bits)



def _record_path(folder: Path) -> Path:
    return folder / "provenance.json"


def land_file(source: Path, *, source_id: str, origin: str, mode: str, landing_root: Path, file_name: str | None = None,
              credit: CatalogueEntry | None = None) -> LandedFile:
    """Put ``source`` in the landing store (once per distinct content) and return its record.

    ``credit`` names publisher, title and licence for a live-only source that ships no bundled file
    (default: the snapshot catalogue's entry for ``source_id``).
    """
    check_intake(source, source_id)
    sha = sha256_of(source)
    folder = landing_root / sha[:2] / sha
    name = file_name or source.name
    record_path = _record_path(folder)
    if record_path.exists():
        data = json.loads(record_path.read_text())
        data["retrieved_at"] = dt.datetime.fromisoformat(data["retrieved_at"])
        return LandedFile(**data)
    folder.mkdir(parents=True, exist_ok=True)
    target = copy_file(source, folder / name)
    cat = credit or source_credit(source_id)
    landed = LandedFile(
        source_id=source_id,
        sha256=sha,
        origin=origin,
        file_name=name,
        bytes=target.stat().st_size,
        retrieved_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        publisher=cat.publisher,
        title=cat.title,
        licence=cat.licence,
        mode=mode,
        landed_path=str(target.relative_to(landing_root.parent)),
    )
    data = landed.provenance_row() | {"retrieved_at": landed.retrieved_at.isoformat()}
    files.write_text(record_path, json.dumps(data, indent=2))
    return landed


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists: the owner of a temporary file named after it may still be writing."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(landing_root: Path) -> list[Path]:
    """Delete half-written files a killed refresh left in the landing store; returns what was removed.

    Files are written as ``.<name>.partial-<pid>`` (and downloads as ``.download-<source>-<pid>``) and
    renamed into place only when complete, so such a file whose process is gone is garbage: nothing
    refers to it. Files of live processes (a refresh running now) are left alone.
    """
    if not landing_root.exists():
        return []
    removed = []
    for path in [*landing_root.rglob(".*.partial-*"), *landing_root.rglob(".download-*")]:
        pid_text = path.name.rsplit("-", 1)[-1]
        if not path.is_file() or not pid_text.isdigit() or pid_alive(int(pid_text)):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed
