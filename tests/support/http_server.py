"""A real HTTP server on 127.0.0.1 that serves recorded responses, with fault modes for failure tests.

Usage::

    with RecordedServer() as server:
        server.route("/api/data", Reply(body=csv_bytes, content_type="text/csv"))
        server.route("/api/flaky", Reply(status=503), Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"ok"))
        requests.get(server.url("/api/flaky"))   # 503, 429, then ok: one Reply per request, the last repeats

Fault modes of :class:`Reply`: ``status``, ``headers``, ``delay`` (seconds before answering),
``drip`` (seconds between chunks of ``drip_chunk`` bytes, default 1), ``truncate_to`` (send fewer bytes than Content-Length,
then close). Query strings are matched only if the route includes one. Every request is recorded
in ``server.requests`` as (path, query dict, headers).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    drip_chunk: int = 1
    truncate_to: int | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.server.owner.requests.append((parsed.path, query, dict(self.headers)))
        reply = self.server.owner.next_reply(parsed.path, parsed.query)
        if reply is None:
            reply = Reply(status=404, body=b"no recorded response for " + self.path.encode())
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        body = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
        try:
            if reply.drip:
                for i in range(0, len(body), reply.drip_chunk):
                    self.wfile.write(body[i:i + reply.drip_chunk])
                    self.wfile.flush()
                    time.sleep(reply.drip)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if reply.truncate_to is not None:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class RecordedServer:
    """A loopback HTTP server; use as a context manager."""

    def __init__(self) -> None:
        self._routes: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, dict, dict]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> RecordedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: Reply) -> None:
        """Answer requests to ``path`` (optionally ``path?query``) with ``replies`` in turn; the last repeats."""
        with self._lock:
            self._routes[path] = list(replies)

    def next_reply(self, path: str, query: str) -> Reply | None:
        with self._lock:
            for key in (f"{path}?{query}", path):
                replies = self._routes.get(key)
                if replies:
                    return replies.pop(0) if len(replies) > 1 else replies[0]
        return None

    def hits(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)
