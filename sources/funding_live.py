"""Live-only research-funding sources: what they are, where they live, and how their responses are landed.

These sources have no bundled snapshot (no public copy of their data could be bundled), so they are
not in `snapshot/catalogue.toml`; their descriptions live here. Base URLs can be overridden by
environment variables (a mirror, or the loopback test server). A crawl's responses are written as
one JSON Lines *recording* (``{"url", "kind", "body"}`` per response) and landed in the raw landing
store by content hash like any other input (``landing.land_file`` with the source's credit), so every
award row traces back to the bytes it came from.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from sources.http import FetchError, download, make_session
from sources.landing import LandedFile, land_file

MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024  # a zipped NSPL is a few hundred MB


@dataclass(frozen=True)
class LiveSource:
    """Where a live-only source is fetched from (its credit is in the one catalogue: ``sources.catalogue.source_credit``)."""

    source_id: str
    env_var: str  # overrides the base URL (or, for files, the location)
    default: str


LIVE_SOURCES = {s.source_id: s for s in (
    LiveSource("ukri_gtr", "OBSERVATORY_GTR_BASE_URL", "https://gtr.ukri.org/gtr/api"),
    LiveSource("nihr_open_data", "OBSERVATORY_NIHR_BASE_URL", "https://nihr.opendatasoft.com/api/explore/v2.1"),
    LiveSource("ons_postcode_lookup", "OBSERVATORY_POSTCODE_LOOKUP", ""),
    LiveSource("innovate_uk_projects", "OBSERVATORY_INNOVATE_UK_FILE", ""),
    LiveSource("ukhra_awards", "OBSERVATORY_UKHRA_FILE", ""),
)}


def location(source_id: str) -> str:
    """The base URL or file location of a live source: its environment variable, else the default."""
    source = LIVE_SOURCES[source_id]
    return (os.environ.get(source.env_var) or source.default).rstrip("/")


PAGE_CAP_ENV = "OBSERVATORY_CRAWL_PAGE_CAP"
DEADLINE_ENV = "OBSERVATORY_CRAWL_DEADLINE"
DEFAULT_PAGE_CAP = 5_000  # GtR holds ~150,000 projects: 1,500 pages of 100; NIHR pages by year, each under 100 pages
DEFAULT_DEADLINE = 48 * 3600.0  # seconds: a full GtR crawl is ~300,000 requests (projects, funds, organisations)


@dataclass
class CrawlBudget:
    """How far a paginated crawl may run: a page cap and a total deadline (both configurable by environment)."""

    source: str
    page_cap: int = field(default_factory=lambda: int(os.environ.get(PAGE_CAP_ENV) or DEFAULT_PAGE_CAP))
    deadline: float = field(default_factory=lambda: float(os.environ.get(DEADLINE_ENV) or DEFAULT_DEADLINE))
    started: float = field(default_factory=time.monotonic)
    pages: int = 0

    def check_total(self, total_pages: int, url: str) -> None:
        """Refuse at once a listing that claims more pages than the cap (rather than crawling a billion of them)."""
        if total_pages > self.page_cap:
            raise FetchError(f"{url}: {self.source} claims {total_pages:,} pages, more than the page cap of {self.page_cap:,} "
                             f"({PAGE_CAP_ENV}); nothing was landed")

    def page(self, url: str) -> None:
        """Count one more page fetched; fail once the cap or the deadline is passed."""
        self.pages += 1
        if self.pages > self.page_cap:
            raise FetchError(f"{url}: {self.source} crawl passed the page cap of {self.page_cap:,} pages ({PAGE_CAP_ENV}) "
                             "without reaching the last page; nothing was landed")
        self.tick(url)

    def tick(self, url: str) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.deadline:
            raise FetchError(f"{url}: {self.source} crawl passed its deadline of {self.deadline:,.0f} s after {self.pages:,} pages "
                             f"({DEADLINE_ENV}); nothing was landed")


class Recorder:
    """Collects responses as JSON Lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, url: str, kind: str, body, **extra) -> None:
        self.lines.append(json.dumps({"url": url, "kind": kind, **extra, "body": body}, sort_keys=True, separators=(",", ":")))

    def content(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode("utf-8")


def read_recording(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def land_bytes(content: bytes, source_id: str, origin: str, landing_root: Path, file_name: str) -> LandedFile:
    """Put downloaded bytes in the raw landing store (once per distinct content) and return their record."""
    landing_root.mkdir(parents=True, exist_ok=True)
    tmp = landing_root / f".download-{source_id}-{os.getpid()}"
    tmp.write_bytes(content)
    try:
        return land_path(tmp, source_id, origin, landing_root, file_name)
    finally:
        tmp.unlink(missing_ok=True)


def land_path(path: Path, source_id: str, origin: str, landing_root: Path, file_name: str) -> LandedFile:
    """Like :func:`land_bytes` for a file already on disk (copied, never moved)."""
    return land_file(path, source_id=source_id, origin=origin, mode="live", landing_root=landing_root, file_name=file_name)


def land_location(source_id: str, landing_root: Path, *, location_override: str | None = None, session=None) -> LandedFile | None:
    """Land the file a live source's environment variable names (a local path or a URL); None when it names nothing."""
    where = location_override or location(source_id)
    if not where:
        return None
    if where.startswith(("http://", "https://")):
        # streamed to disk (a postcode lookup is a 1.5 GB body); errors name the URL, never the temporary file
        landing_root.mkdir(parents=True, exist_ok=True)
        tmp = landing_root / f".download-{source_id}-{os.getpid()}"
        try:
            got = download(session or make_session(), where, tmp, max_bytes=MAX_FILE_BYTES)
            name = os.path.basename(got.url.split("?", 1)[0]) or f"{source_id}.bin"
            return land_path(tmp, source_id, got.url, landing_root, name)
        finally:
            tmp.unlink(missing_ok=True)
    path = Path(where).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{LIVE_SOURCES[source_id].env_var} names {where}, which is not a file")
    return land_path(path, source_id, f"file:{path.name}", landing_root, path.name)
