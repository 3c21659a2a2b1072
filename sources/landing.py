"""The raw landing store: input files kept by content (SHA-256), each with its provenance.

``land_file`` copies bytes into ``<landing>/<sha[:2]>/<sha>/<file name>`` once and returns a
:class:`LandedFile` describing them. Landing the same bytes again is a no-op that returns the
original record, so an unchanged file keeps its first retrieval time and is not parsed again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from sources.catalogue import CatalogueEntry, entry, sha256_of
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
    landed_path: str  # relative to the warehouse folder

    def path(self, warehouse_folder: Path) -> Path:
        return warehouse_folder / self.landed_path

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


def _record_path(folder: Path) -> Path:
    return folder / "provenance.json"


def land_file(source: Path, *, source_id: str, origin: str, mode: str, landing_root: Path, file_name: str | None = None,
              credit: CatalogueEntry | None = None) -> LandedFile:
    """Put ``source`` in the landing store (once per distinct content) and return its record.

    ``credit`` names publisher, title and licence for a live-only source that ships no bundled file
    (default: the snapshot catalogue's entry for ``source_id``).
    """
    check_size(source, source_id)
    sha = sha256_of(source)
    folder = landing_root / sha[:2] / sha
    name = file_name or source.name
    record_path = _record_path(folder)
    if record_path.exists():
        data = json.loads(record_path.read_text())
        data["retrieved_at"] = dt.datetime.fromisoformat(data["retrieved_at"])
        return LandedFile(**data)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / f".{name}.partial-{os.getpid()}"
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    cat = credit or entry(source_id)
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
    tmp_record = folder / f".provenance.json.partial-{os.getpid()}"
    tmp_record.write_text(json.dumps(data, indent=2))
    os.replace(tmp_record, record_path)
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
