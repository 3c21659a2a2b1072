"""Fault injection: the real pipeline (health sources in live mode) against a loopback server that misbehaves.

Each case names the fault, what the observatory must do (retry and succeed, or fail with a message
a person understands), and in every failing case the published warehouse must be byte-identical to
before the refresh and still readable. One source (indicator 93721) is faulted; the others answer.
Run alone with ``pytest -m faults``.
"""

import hashlib
import socket
from dataclasses import dataclass

import duckdb
import pytest

from pipelines.errors import user_message
from sources import fingertips as ft
from sources.http import TIMEOUT_ENV
from tests.support.fingertips_recordings import QuickServer, data_path, recorded_bodies, run_health_live, serve_fingertips
from tests.support.http_server import Reply

pytestmark = [pytest.mark.slow, pytest.mark.faults]
FAULTED = data_path("93721", 501, 6)


@pytest.fixture(scope="module")
def recordings(built_warehouse):
    return recorded_bodies(built_warehouse)


def _run_live(warehouse_file):
    return run_health_live(warehouse_file, raise_on_error=False)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows_93721(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM core_indicators__values WHERE indicator_id = '93721'").fetchall()[0][0]
    finally:
        con.close()


@dataclass
class Fault:
    name: str
    replies: list  # what the faulted route answers, in turn (the last repeats); None: refuse connections
    outcome: str  # "recovers" or "fails"
    message: str = ""  # for "fails": words the error must contain


def _renamed_column(body: bytes) -> bytes:
    head, rest = body.split(b"\r\n", 1)
    return head.replace(b'"Value"', b'"Observed value"').replace(b",Value,", b",Observed value,") + b"\r\n" + rest


FAULTS = [
    Fault("connection refused", None, "fails", "could not connect"),
    Fault("timeout", [Reply(delay=3, body=b"late")], "fails", "timed out"),
    Fault("500 persistent", [Reply(status=500, body=b"Internal Server Error")], "fails", "500"),
    Fault("500 then ok", [Reply(status=500), "DATA"], "recovers"),
    Fault("502 then ok", [Reply(status=502), "DATA"], "recovers"),
    Fault("503 then ok", [Reply(status=503), "DATA"], "recovers"),
    Fault("429 with Retry-After then ok", [Reply(status=429, headers={"Retry-After": "1"}), "DATA"], "recovers"),
    Fault("truncated body then ok", ["TRUNCATED", "DATA"], "recovers"),
    Fault("slow drip", ["DRIP"], "recovers"),
    Fault("HTML page instead of CSV", [Reply(body=b"<!DOCTYPE html><html><body>Service unavailable</body></html>", content_type="text/html")], "fails", "HTML"),
    Fault("200 with a retirement notice", [Reply(body=b"This API has been decommissioned and is no longer available.", content_type="text/plain")], "fails", "notice"),
    Fault("changed column name", ["RENAMED"], "fails", "Value"),
    Fault("empty file", [Reply(body=b"", content_type="text/csv")], "fails", "empty"),
]


def _materialise_replies(fault: Fault, data: bytes) -> list[Reply]:
    out = []
    for reply in fault.replies:
        if reply == "DATA":
            out.append(Reply(body=data, content_type="text/csv"))
        elif reply == "TRUNCATED":
            out.append(Reply(body=data, content_type="text/csv", truncate_to=len(data) // 3))
        elif reply == "DRIP":
            out.append(Reply(body=data, content_type="text/csv", drip=0.02, drip_chunk=128 * 1024))
        elif reply == "RENAMED":
            out.append(Reply(body=_renamed_column(data), content_type="text/csv"))
        else:
            out.append(reply)
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("fault", [
    pytest.param(f, id=f.name, marks=pytest.mark.scenario("survives" if f.outcome == "recovers" else "fails_clearly", "loss"))
    for f in FAULTS
])
def test_fault(fault, recordings, warehouse_copy, monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "2,1")
    before = _digest(warehouse_copy)
    with QuickServer() as server:
        serve_fingertips(server, recordings)
        if fault.replies is None:
            monkeypatch.setenv(ft.BASE_URL_ENV, f"http://127.0.0.1:{_closed_port()}/api/")
        else:
            monkeypatch.setenv(ft.BASE_URL_ENV, server.url("/api/"))
            server.route(FAULTED, *_materialise_replies(fault, recordings["fingertips_93721_u75_preventable"]))
        result = _run_live(warehouse_copy)
    if fault.outcome == "recovers":
        assert result.success, [user_message(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
        assert _rows_93721(warehouse_copy) == 9801 + 849  # published rows plus population-weighted aggregates
        return
    assert not result.success
    messages = " | ".join(user_message(e.step_failure_data.error) for e in result.all_events if e.is_step_failure)
    assert fault.message.lower() in messages.lower(), messages
    assert _digest(warehouse_copy) == before  # the published warehouse is untouched...
    assert _rows_93721(warehouse_copy) == 9801 + 849  # ...and still readable, with its data
