"""Budgets for everything that can run away (issue 14, part 3), against real loopback servers.

A body that never ends, a server that accepts and never answers, a Gateway to Research listing claiming a
billion pages, a projectsBean listing that never ends, a long ``Retry-After``, and a 1.5 GB-style download
that must be streamed to disk: each is given up on within its budget with a message naming the URL and the
budget, or (the download) lands without holding the body in memory. Every case has a hard wall-clock bound
well under what the old code took (300 s, 420 s, 6,703 requests, 4 minutes, 3.5 GB).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sources import funding_live, gtr
from sources.http import DEADLINE_ENV, MAX_RETRY_AFTER_ENV, TIMEOUT_ENV, FetchError, fetch, make_session
from tests.support.http_server import RecordedServer, Reply

pytestmark = [pytest.mark.slow, pytest.mark.faults]
JSON = "application/json"


class _Endless(BaseHTTPRequestHandler):
    """Answers 200 with a close-delimited body that drips forever (until the test stops the server)."""

    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        self.wfile.write(b"a,b\n")
        stop = self.server.stop
        for _ in range(600):  # bounded: at most 60 s, whatever happens
            if stop.is_set():
                return
            try:
                self.wfile.write(b"1,2\n")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)


def _endless_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.daemon_threads = True
    server.stop = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_body_that_never_ends_is_given_up_at_the_deadline(monkeypatch):
    monkeypatch.setenv(DEADLINE_ENV, "2")
    monkeypatch.setenv(TIMEOUT_ENV, "2,2")
    server = _endless_server()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"still arriving after the deadline of 2 s.*OBSERVATORY_HTTP_DEADLINE") as err:
            fetch(make_session(retries=1, backoff_factor=0), f"http://127.0.0.1:{server.server_address[1]}/data.csv", expect="csv")
        assert time.monotonic() - started < 10
        assert "127.0.0.1" in str(err.value)
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_server_that_accepts_and_never_answers_is_given_up_on(monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "1,1")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accepted, never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            fetch(make_session(), f"http://127.0.0.1:{listener.getsockname()[1]}/silent")
        elapsed = time.monotonic() - started
        assert elapsed < 10, elapsed  # (1 + one retry) x 1 s read timeout, plus backoff; the old code retried 4 times
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def _project(pid: str) -> dict:
    return {"id": pid, "title": pid, "links": {"link": []}}


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_gtr_listing_claiming_a_billion_pages_is_refused_at_once():
    body = {"project": [_project("P-1")], "page": 1, "size": 1, "totalPages": 1_000_000_000, "totalSize": 1_000_000_000}
    with RecordedServer() as server:
        server.route("/gtr/api/projects", Reply(body=json.dumps(body).encode(), content_type=JSON))
        server.route("/gtr/api/projects/P-1/funds", Reply(body=b'{"fund": []}', content_type=JSON))
        with pytest.raises(FetchError, match=r"claims 1,000,000,000 pages, more than the page cap of 5,000 \(OBSERVATORY_CRAWL_PAGE_CAP\)"):
            gtr.GtrClient(server.url("/gtr/api"), make_session(retries=0)).crawl()
        assert len(server.requests) == 1  # the old code went on: 6,703 requests in 300 s


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_listing_that_never_ends_stops_at_the_page_cap(monkeypatch):
    monkeypatch.setenv(funding_live.PAGE_CAP_ENV, "5")
    page = {"projectsBean": {"projects": [{"id": "P", "fund": {"valuePounds": 1}}]}}
    with RecordedServer() as server:
        server.route("/gtr/api/projects", Reply(body=json.dumps(page).encode(), content_type=JSON))
        with pytest.raises(FetchError, match=r"passed the page cap of 5 pages"):
            gtr.GtrClient(server.url("/gtr/api"), make_session(retries=0)).crawl()
        assert len(server.requests) <= 7  # the probe of page 1, then the projectsBean pages up to the cap


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_crawl_past_its_deadline_fails_naming_it(monkeypatch):
    monkeypatch.setenv(funding_live.DEADLINE_ENV, "0.5")
    page = {"projectsBean": {"projects": [{"id": "P", "fund": {"valuePounds": 1}}]}}
    with RecordedServer() as server:
        server.route("/gtr/api/projects", Reply(body=json.dumps(page).encode(), content_type=JSON, delay=0.2))
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"passed its deadline of 0 s|passed its deadline of 1 s"):
            gtr.GtrClient(server.url("/gtr/api"), make_session(retries=0)).crawl()
        assert time.monotonic() - started < 5


@pytest.mark.scenario("fails_clearly", "hang")
def test_a_long_retry_after_fails_at_once_naming_the_wait(monkeypatch):
    monkeypatch.setenv(MAX_RETRY_AFTER_ENV, "30")
    with RecordedServer() as server:
        server.route("/api/data", Reply(status=429, headers={"Retry-After": "3600"}), Reply(body=b"a,b\n1,2\n"))
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"/api/data: the server asked to retry after 3,600 s .* longer than the 30 s"):
            fetch(make_session(), server.url("/api/data"), expect="csv")
        assert time.monotonic() - started < 5  # the old code slept 60 s per retry, silently: about 4 minutes


@pytest.mark.scenario("survives", "hang")
def test_a_short_retry_after_is_waited_and_logged(caplog):
    with RecordedServer() as server:
        server.route("/api/data", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"a,b\n1,2\n", content_type="text/csv"))
        with caplog.at_level("WARNING", logger="sources.http"):
            assert fetch(make_session(), server.url("/api/data"), expect="csv").content == b"a,b\n1,2\n"
    assert any("retry after 1 s" in r.getMessage() for r in caplog.records)


@pytest.mark.scenario("survives", "leak")
def test_a_large_download_is_streamed_to_disk_not_held_in_memory(tmp_path, monkeypatch):
    body = b"pcds,laua\n" + b"M1 1AA,E08000003\n" * 2_000_000  # 34 MB
    with RecordedServer() as server:
        server.route("/nspl.csv", Reply(body=body, content_type="text/csv"))
        monkeypatch.setenv("OBSERVATORY_POSTCODE_LOOKUP", server.url("/nspl.csv"))
        tracemalloc.start()
        try:
            landed = funding_live.land_location("ons_postcode_lookup", tmp_path / "landing")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert landed.bytes == len(body)
    assert peak < len(body) / 4, f"peak {peak:,} bytes for a {len(body):,}-byte body"  # the old code held it whole, twice
    assert not list((tmp_path / "landing").glob(".download-*"))


@pytest.mark.scenario("fails_clearly", "leak")
def test_a_failed_download_names_the_url_and_leaves_no_temporary(tmp_path, monkeypatch):
    body = b"pcds,laua\n" + b"M1 1AA,E08000003\n" * 10_000
    with RecordedServer() as server:
        server.route("/nspl.csv", Reply(body=body, content_type="text/csv", truncate_to=len(body) // 2))
        monkeypatch.setenv("OBSERVATORY_POSTCODE_LOOKUP", server.url("/nspl.csv"))
        with pytest.raises(FetchError) as err:
            funding_live.land_location("ons_postcode_lookup", tmp_path / "landing", session=make_session(retries=0))
    assert server.url("/nspl.csv") in str(err.value) and "truncated" in str(err.value)
    assert ".download-" not in str(err.value)
    assert not [p for p in (tmp_path / "landing").rglob("*") if p.is_file()]
