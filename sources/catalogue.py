"""The one catalogue of sources (`sources/snapshot/catalogue.toml`): bundled files and live-only sources.

Each entry names a file shipped in the repository with its publisher, licence, origin URL, cadence
and SHA-256. :func:`snapshot_file` returns a file's path after checking its hash, so a file edited
by hand (or truncated by a bad checkout) is refused before anything parses it.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshot"
CATALOGUE_PATH = SNAPSHOT_DIR / "catalogue.toml"


class SnapshotError(RuntimeError):
    """A bundled file is missing, outside the snapshot, or not the file the catalogue describes."""


@dataclass(frozen=True)
class CatalogueEntry:
    source_id: str
    path: str
    publisher: str
    title: str
    url: str
    licence: str
    cadence: str
    sha256: str
    via: str = ""
    download_url: str = ""
    # Date the figures in this byte-exact file are known to have been published by (the publisher's
    # release date, or the day the named mirror captured them); "" when not known. Dates the value history.
    published: str = ""

    @property
    def file(self) -> Path:
        resolved = (SNAPSHOT_DIR / self.path).resolve()
        if SNAPSHOT_DIR.resolve() not in resolved.parents:
            raise SnapshotError(f"catalogue entry {self.source_id}: path {self.path!r} leaves the snapshot folder")
        return resolved


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def catalogue() -> dict[str, CatalogueEntry]:
    """Every bundled file, by source id."""
    with open(CATALOGUE_PATH, "rb") as fh:
        raw = tomllib.load(fh)
    entries = {}
    for item in raw["file"]:
        entry = CatalogueEntry(**item)
        if entry.source_id in entries:
            raise SnapshotError(f"catalogue lists {entry.source_id} twice")
        entries[entry.source_id] = entry
    return entries


@lru_cache(maxsize=1)
def live_sources() -> dict[str, CatalogueEntry]:
    """Live-only sources (``[[live]]`` in the catalogue): nothing bundled, credited all the same."""
    with open(CATALOGUE_PATH, "rb") as fh:
        raw = tomllib.load(fh)
    return {item["source_id"]: CatalogueEntry(path="", sha256="", **item) for item in raw.get("live", [])}


def source_credit(source_id: str) -> CatalogueEntry:
    """Publisher, title, licence, URL and cadence of any source, bundled or live-only: the one place credits live."""
    found = catalogue().get(source_id) or live_sources().get(source_id)
    if found is None:
        raise SnapshotError(f"no source {source_id!r} in the catalogue; known: {', '.join(sorted({*catalogue(), *live_sources()}))}")
    return found


def entry(source_id: str) -> CatalogueEntry:
    try:
        return catalogue()[source_id]
    except KeyError:
        raise SnapshotError(f"no bundled source {source_id!r}; known: {', '.join(sorted(catalogue()))}") from None


def snapshot_file(source_id: str) -> Path:
    """The bundled file for ``source_id``, verified against its catalogued SHA-256."""
    e = entry(source_id)
    path = e.file
    if not path.exists():
        raise SnapshotError(f"bundled file for {source_id} is missing: {e.path}")
    actual = sha256_of(path)
    if actual != e.sha256:
        raise SnapshotError(
            f"bundled file {e.path} does not match the catalogue (sha256 {actual[:16]}…, expected {e.sha256[:16]}…); "
            "restore it from git or update the catalogue with its provenance"
        )
    return path
