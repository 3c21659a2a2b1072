"""The shared HTTP client for live mode: one session, timeouts, retries, size caps, format checks.

Retries (with exponential backoff, honouring ``Retry-After``, capped) are urllib3's ``Retry``
mounted on a requests session: 429 and 5xx are retried, other 4xx fail at once. :func:`fetch`
then refuses what is not what was asked for: an HTML page or a plain-text notice where CSV or
JSON was expected, a body larger than the cap, or a body shorter than its Content-Length.
Every refusal is a :class:`FetchError` whose message says what came back and from where.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "northern-observatory/0.1 (+open civic data; requests)"
DEFAULT_TIMEOUT = (10, 60)  # connect, read (seconds)
TIMEOUT_ENV = "OBSERVATORY_HTTP_TIMEOUT"  # "connect,read" in seconds, e.g. "5,30"
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_RETRY_AFTER_SECONDS = 60
_NOTICE_MARKERS = ("decommission", "has been retired", "no longer available", "service unavailable")


class FetchError(RuntimeError):
    """A download failed or returned something other than the data asked for."""


class TruncatedBody(FetchError):
    """The body stopped short of what the server promised (a dropped connection): worth fetching again."""


class CappedRetry(Retry):
    """urllib3 Retry that honours Retry-After but never sleeps longer than a cap."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER_SECONDS)


def default_timeout(fallback: tuple[float, float] = DEFAULT_TIMEOUT) -> tuple[float, float]:
    """(connect, read) seconds from ``$OBSERVATORY_HTTP_TIMEOUT`` if set, else ``fallback``."""
    text = os.environ.get(TIMEOUT_ENV)
    if not text:
        return fallback
    try:
        connect, read = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={text!r}: expected 'connect,read' in seconds, e.g. '5,30'") from None
    return connect, read


def make_session(*, retries: int = 4, backoff_factor: float = 0.5) -> requests.Session:
    """A requests session with the observatory's retry policy mounted for http and https."""
    retry = CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str
    retrieved_at: dt.datetime
    last_modified: str | None

    def text(self) -> str:
        return self.content.decode("utf-8-sig")

    def json(self):
        return json.loads(self.content)


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:200].lower()
    return start.startswith(b"<!doctype html") or start.startswith(b"<html") or b"<head" in start or b"<body" in start


def _check_format(url: str, expect: str, content: bytes, content_type: str) -> None:
    head = content[:2048]
    if expect in ("csv", "json") and (_looks_like_html(head) or "html" in content_type):
        raise FetchError(f"{url} returned an HTML page where {expect.upper()} was expected (content-type {content_type or 'unset'}): the publisher may be showing an error or maintenance page")
    if expect in ("csv", "json"):
        lowered = head.decode("utf-8", "replace").lower()
        if any(m in lowered for m in _NOTICE_MARKERS) and len(content) < 4096:
            raise FetchError(f"{url} returned a notice instead of data: {lowered.strip()[:160]!r}")
    if expect == "json":
        try:
            json.loads(content)
        except ValueError as err:
            raise FetchError(f"{url} returned a body that is not valid JSON ({err}); first bytes {head[:80]!r}") from None
    if expect == "csv":
        if not content.strip():
            raise FetchError(f"{url} returned an empty body where CSV was expected")
        if b"," not in head.split(b"\n", 1)[0]:
            raise FetchError(f"{url} returned a body whose first line has no commas, so it is not the CSV expected: {head[:80]!r}")


def fetch(
    session: requests.Session,
    url: str,
    *,
    params: dict | None = None,
    headers: dict | None = None,
    expect: str = "binary",
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: tuple[float, float] | None = None,
) -> Fetched:
    """GET ``url`` and return its body, or raise :class:`FetchError` saying what went wrong."""
    timeout = timeout or default_timeout()
    try:
        response = session.get(url, params=params, headers=headers, timeout=timeout, stream=True)
    except requests.exceptions.RetryError as err:
        raise FetchError(f"{url}: gave up after retries ({err.args[0] if err.args else err})") from None
    except requests.exceptions.ConnectionError as err:
        if "timed out" in str(err).lower():  # read timeouts on every retry surface as a ConnectionError
            raise FetchError(f"{url}: timed out after {timeout} seconds (connect, read), on every retry") from None
        raise FetchError(f"{url}: could not connect ({type(err).__name__}); is the publisher reachable?") from None
    except requests.exceptions.Timeout:
        raise FetchError(f"{url}: timed out after {timeout} seconds (connect, read)") from None
    with response:
        if response.status_code >= 400:
            raise FetchError(f"{response.url}: HTTP {response.status_code} {response.reason}")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"{response.url}: body of {int(declared):,} bytes exceeds the cap of {max_bytes:,}")
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"{response.url}: body exceeds the cap of {max_bytes:,} bytes")
                chunks.append(chunk)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as err:
            raise TruncatedBody(f"{response.url}: the body was cut off after {size:,} bytes ({type(err).__name__}); the download is truncated") from None
        except requests.exceptions.Timeout:
            raise FetchError(f"{response.url}: timed out while reading the body after {size:,} bytes") from None
        content = b"".join(chunks)
        if declared and declared.isdigit() and "Content-Encoding" not in response.headers and len(content) != int(declared):
            raise TruncatedBody(f"{response.url}: received {len(content):,} bytes but Content-Length said {int(declared):,}; the download is truncated")
        content_type = response.headers.get("Content-Type", "").lower()
        _check_format(response.url, expect, content, content_type)
        return Fetched(
            url=response.url,
            content=content,
            content_type=content_type,
            retrieved_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
            last_modified=response.headers.get("Last-Modified"),
        )
