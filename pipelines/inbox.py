"""The reports inbox: the folder documents are added to, its index, passwords, landing a document, and what
processing the inbox's documents needs (their jobs, the places claims are matched against).

A plain module (no Dagster): both the ``core_reports`` asset (`pipelines.assets.reports`) and
``observatory ingest`` (`pipelines.reports_ingest`) use it, the latter to start the documents' extraction
before it imports Dagster.
"""

import datetime as dt
import json
from pathlib import Path

from sources import files
from sources.catalogue import sha256_of
from sources.inputs import SourceFormatError
from sources.landing import LandedFile, check_regular, copy_file
from sources.reports import SOURCE_ID
from sources.reports.batch import Job
from sources.reports.claims import PlaceMatcher
from sources.reports.intake import Limits, load_passwords
from warehouse.engine import loader, queries
from warehouse.engine.paths import WarehousePaths

PASSWORDS_FILE = ".passwords.toml"
INDEX_FILE = ".index.json"


def inbox_dir(paths: WarehousePaths) -> Path:
    """The reports inbox: ``inbox/`` in the warehouse's data folder (private to its owner: it holds passwords)."""
    folder = paths.inbox
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _index(inbox: Path) -> dict[str, str]:
    path = inbox / INDEX_FILE
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _write_index(inbox: Path, index: dict[str, str]) -> None:
    files.write_text(inbox / INDEX_FILE, json.dumps(index, indent=1, sort_keys=True), mode=0o600)


def inbox_files(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


def register(inbox: Path, path: Path) -> str:
    """Hash an inbox file and record it in the inbox index (sha256 -> file name); returns the hash."""
    sha = sha256_of(path)
    index = _index(inbox)
    if index.get(sha) != path.name:
        index[sha] = path.name
        _write_index(inbox, index)
    return sha


def find_document(inbox: Path, document_id: str) -> Path | None:
    """The inbox file holding the document (by the index, else by hashing the inbox)."""
    name = _index(inbox).get(document_id)
    if name and (inbox / name).exists() and sha256_of(inbox / name) == document_id:
        return inbox / name
    for path in inbox_files(inbox):
        if register(inbox, path) == document_id:
            return path
    return None


def refuse_at_intake(source: Path) -> None:
    """Raise :class:`SourceFormatError` for what must not even be copied: a symlink, device, FIFO or directory,
    or a file over ``OBSERVATORY_REPORT_MAX_BYTES`` (nothing is left behind, no row is written)."""
    check_regular(source, "report document")
    limit = Limits.from_env().max_bytes
    size = source.stat().st_size
    if size > limit:
        raise SourceFormatError(f"{source}: {size:,} bytes is over the limit of {limit:,} (OBSERVATORY_REPORT_MAX_BYTES); "
                                "refused, nothing was copied")


def inbox_name(source: Path, sha: str) -> str:
    """The name a file gets in the inbox: never a dot-file (those are the inbox's own: index, passwords)."""
    return source.name.lstrip(".") or f"{sha[:12]}.document"


def add_to_inbox(inbox: Path, source: Path, password: str | None = None) -> tuple[str, Path]:
    """Copy a file into the inbox (kept by name; a different file of the same name gets its hash prefixed).

    The copy is readable by its owner only (0600), whatever the source's permissions."""
    refuse_at_intake(source)
    sha = sha256_of(source)
    name = inbox_name(source, sha)
    target = inbox / name
    if target.exists() and sha256_of(target) != sha:
        target = inbox / f"{sha[:12]}-{name}"
    if not target.exists():
        copy_file(source, target, mode=0o600)
    register(inbox, target)
    if password:
        remember_password(inbox, sha, password)
    return sha, target


def remember_password(inbox: Path, sha: str, password: str) -> None:
    path = inbox / PASSWORDS_FILE
    known = load_passwords(path)
    known[sha] = password
    lines = ["# Passwords for encrypted documents in this inbox, by sha256 or file name."]
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(known.items())]
    files.write_text(path, "\n".join(lines) + "\n", mode=0o600)  # never readable by others, not even for a moment


def land_report(paths: WarehousePaths, source: Path, sha: str) -> LandedFile:
    """A content-addressed copy in the landing store (``landing/reports/<sha[:2]>/<sha>/<name>``) and its
    provenance record (``core_provenance__files``: source ``report_inbox``, origin = the inbox file name)."""
    folder = paths.landing / "reports" / sha[:2] / sha
    target = folder / source.name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        copy_file(source, target, mode=0o600)  # as private as the inbox copy it comes from
    return LandedFile(
        source_id=SOURCE_ID, sha256=sha, origin=f"report inbox: {source.name}", file_name=source.name,
        bytes=target.stat().st_size, retrieved_at=dt.datetime.fromtimestamp(target.stat().st_mtime, dt.UTC).replace(tzinfo=None, microsecond=0),
        publisher="added by a user to the reports inbox", title=source.name,
        licence="as published by the document's author (not checked)", mode="inbox",
        landed_path=str(target.relative_to(paths.data)),
    )


def document_jobs(paths: WarehousePaths, document_ids: list[str]) -> tuple[list[Job], list[str], list[LandedFile]]:
    """Each document's inbox file landed in the landing store: the jobs that process them, their labels, the landed files."""
    inbox = inbox_dir(paths)
    passwords = load_passwords(inbox / PASSWORDS_FILE)
    jobs, labels, landed_files = [], [], []
    for document_id in document_ids:
        source = find_document(inbox, document_id)
        if source is None:
            raise FileNotFoundError(f"report document {document_id} is not in the inbox {inbox}; add it with `observatory ingest FILE`")
        landed = land_report(paths, source, document_id)
        landed_files.append(landed)
        jobs.append(Job(landed.path(paths.data), source.name, passwords.get(document_id) or passwords.get(source.name)))
        labels.append(f"{source.name} (sha256 {document_id[:12]}, from the reports inbox)")
    return jobs, labels, landed_files


def known_places(con) -> tuple[PlaceMatcher, bool]:  # noqa: ANN001 - a DuckDB connection to the working database
    """Places from ``core_geo__areas`` (and aliases); ``False`` when the warehouse has no geography yet."""
    if not loader.table_exists(con, "core_geo__areas"):
        return PlaceMatcher(), False
    return PlaceMatcher(list(queries.query(con, "reports_places").itertuples(index=False, name=None))), True
