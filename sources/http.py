"""The shared HTTP client for live mode: one session, timeouts, retries, size caps, format checks.

Retries (with exponential backoff, honouring ``Retry-After``, capped) are urllib3's ``Retry``
mounted on a requests session: 429 and 5xx are retried, other 4xx fail at once. :func:`fetch`
then refuses what is not what was asked for: an HTML page or a plain-text notice where CSV or
JSON was expected, a body larger than the cap, or a body shorter than its Content-Length.
Every refusal is a :class:`FetchError` whose message says what came back and from where.

Budgets, so nothing a server does can hang a refresh: a connect and a read timeout per request
(``$OBSERVATORY_HTTP_TIMEOUT``), a total deadline per body (``$OBSERVATORY_HTTP_DEADLINE``, so a body
that never ends is given up on), few retries of a read timeout (a server that accepts and never
answers costs ``(1 + READ_RETRIES) x read timeout``), and a ``Retry-After`` longer than
``$OBSERVATORY_HTTP_MAX_RETRY_AFTER`` fails at once, naming the wait asked for, instead of being slept
silently; shorter waits are logged. :func:`download` streams a body to a file, never holding it in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "northern-observatory/0.1 (+open civic data; requests)"
DEFAULT_TIMEOUT = (10, 60)  # connect, read (seconds)
TIMEOUT_ENV = "OBSERVATORY_HTTP_TIMEOUT"  # "connect,read" in seconds, e.g. "5,30"
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_RETRY_AFTER_SECONDS = 60
MAX_RETRY_AFTER_ENV = "OBSERVATORY_HTTP_MAX_RETRY_AFTER"  # seconds; a longer Retry-After fails the fetch
DEFAULT_DEADLINE = 1800.0  # seconds for one whole body (a 1.5 GB postcode lookup at 1 MB/s fits)
DEADLINE_ENV = "OBSERVATORY_HTTP_DEADLINE"
READ_RETRIES = 1  # a read timeout is retried once: a server that accepts and never answers is not waited on 5 times
log = logging.getLogger(__name__)
_NOTICE_MARKERS = ("decommission", "has been retired", "no longer available", "service unavailable")


class FetchError(RuntimeError):
    """A download failed or returned something other than the data asked for."""


class TruncatedBody(FetchError):
    """The body stopped short of what the server promised (a dropped connection): worth fetching again."""


class RetryAfterTooLong(FetchError):
    """The server asked to be retried later than the observatory is willing to wait."""


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected a number of seconds") from None
    if not value > 0:
        raise ValueError(f"{name}={text!r}: expected a positive number of seconds")
    return value


def max_retry_after() -> float:
    return _env_seconds(MAX_RETRY_AFTER_ENV, MAX_RETRY_AFTER_SECONDS)


def body_deadline() -> float:
    return _env_seconds(DEADLINE_ENV, DEFAULT_DEADLINE)


class CappedRetry(Retry):
    """urllib3 Retry that honours Retry-After up to a cap: a longer wait fails loudly, a shorter one is logged."""

    def parse_retry_after(self, retry_after: str) -> float:
        seconds = super().parse_retry_after(retry_after)
        cap = max_retry_after()
        if seconds > cap:
            raise RetryAfterTooLong(f"the server asked to retry after {seconds:,.0f} s (Retry-After: {retry_after}), longer than "
                                    f"the {cap:,.0f} s the observatory waits ({MAX_RETRY_AFTER_ENV}); try again later")
        if seconds > 0:
            log.warning("server asked to retry after %.0f s (Retry-After: %s): waiting", seconds, retry_after)
        return seconds


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
        read=min(retries, READ_RETRIES),
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


def _open(session: requests.Session, url: str, params, headers, timeout) -> requests.Response:
    try:
        return session.get(url, params=params, headers=headers, timeout=timeout, stream=True)
    except RetryAfterTooLong as err:
        raise RetryAfterTooLong(f"{url}: {err}") from None
    except requests.exceptions.RetryError as err:
        raise FetchError(f"{url}: gave up after retries ({err.args[0] if err.args else err})") from None
    except requests.exceptions.ConnectionError as err:
        if "timed out" in str(err).lower():  # read timeouts on every retry surface as a ConnectionError
            raise FetchError(f"{url}: timed out after {timeout} seconds (connect, read), on every retry") from None
        raise FetchError(f"{url}: could not connect ({type(err).__name__}); is the publisher reachable?") from None
    except requests.exceptions.Timeout:
        raise FetchError(f"{url}: timed out after {timeout} seconds (connect, read)") from None


def _arriving(response: requests.Response, size: int = 64 * 1024):
    """The body as it arrives: each read returns what one receive brought (so a deadline is checked between
    receives, not after a whole chunk that a slow drip takes hours to fill), decompressed as requests would."""
    raw = response.raw
    while True:
        chunk = raw.read1(size, decode_content=True)
        if not chunk:  # end of the body
            return
        yield chunk


def _chunks(response: requests.Response, max_bytes: int, deadline: float):
    """The body in chunks, refusing one over ``max_bytes`` or still arriving ``deadline`` seconds after the request."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{response.url}: body of {int(declared):,} bytes exceeds the cap of {max_bytes:,}")
    ends = time.monotonic() + deadline
    size = 0
    try:
        for chunk in _arriving(response):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"{response.url}: body exceeds the cap of {max_bytes:,} bytes")
            if time.monotonic() > ends:
                raise FetchError(f"{response.url}: the body was still arriving after the deadline of {deadline:,.0f} s "
                                 f"({size:,} bytes so far; {DEADLINE_ENV}); gave up")
            yield chunk
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError, urllib3.exceptions.ProtocolError,
            urllib3.exceptions.ReadTimeoutError) as err:
        if isinstance(err, urllib3.exceptions.ReadTimeoutError) or "timed out" in str(err).lower():
            raise FetchError(f"{response.url}: timed out while reading the body after {size:,} bytes") from None
        raise TruncatedBody(f"{response.url}: the body was cut off after {size:,} bytes ({type(err).__name__}); the download is truncated") from None
    except requests.exceptions.Timeout:
        raise FetchError(f"{response.url}: timed out while reading the body after {size:,} bytes") from None
    if declared and declared.isdigit() and "Content-Encoding" not in response.headers and size != int(declared):
        raise TruncatedBody(f"{response.url}: received {size:,} bytes but Content-Length said {int(declared):,}; the download is truncated")


def fetch(
    session: requests.Session,
    url: str,
    *,
    params: dict | None = None,
    headers: dict | None = None,
    expect: str = "binary",
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
) -> Fetched:
    """GET ``url`` and return its body, or raise :class:`FetchError` saying what went wrong."""
    timeout = timeout or default_timeout()
    response = _open(session, url, params, headers, timeout)
    with response:
        if response.status_code >= 400:
            raise FetchError(f"{response.url}: HTTP {response.status_code} {response.reason}")
        content = b"".join(_chunks(response, max_bytes, deadline or body_deadline()))
        content_type = response.headers.get("Content-Type", "").lower()
        _check_format(response.url, expect, content, content_type)
        return Fetched(
            url=response.url,
            content=content,
            content_type=content_type,
            retrieved_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
            last_modified=response.headers.get("Last-Modified"),
        )


@dataclass(frozen=True)
class Downloaded:
    url: str
    path: Path
    bytes: int
    content_type: str
    retrieved_at: dt.datetime
    last_modified: str | None


def download(
    session: requests.Session,
    url: str,
    target: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: tuple[float, float] | None = None,
    deadline: float | None = None,
) -> Downloaded:
    """GET ``url`` streaming its body into ``target`` (never whole in memory); on any failure ``target`` is removed."""
    timeout = timeout or default_timeout()
    response = _open(session, url, None, None, timeout)
    size = 0
    try:
        with response, open(target, "wb") as out:
            if response.status_code >= 400:
                raise FetchError(f"{response.url}: HTTP {response.status_code} {response.reason}")
            for chunk in _chunks(response, max_bytes, deadline or body_deadline()):
                out.write(chunk)
                size += len(chunk)
    except OSError as err:
        Path(target).unlink(missing_ok=True)
        raise FetchError(f"{url}: could not write the download to {target} ({err.strerror or err})") from None
    except BaseException:
        Path(target).unlink(missing_ok=True)
        raise
    return Downloaded(url=response.url, path=Path(target), bytes=size, content_type=response.headers.get("Content-Type", "").lower(),
                      retrieved_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                      last_modified=response.headers.get("Last-Modified"))
