"""The live Fingertips client against a real HTTP server on 127.0.0.1: real paths, real formats, and faults.

What should be retried is (5xx, 429 with Retry-After, a body cut off mid-download, a slow answer);
what should fail fails at once with a message saying what came back (HTML page, notice served with
status 200, a CSV that is not Fingertips', 404, JSON of the wrong shape); and nothing is landed
unless everything was fetched whole and parses.
"""

import json
import time

import pytest

from pipelines.assets import health as health_assets
from pipelines.resources import WarehouseResource
from sources import fingertips as ft
from sources.catalogue import snapshot_file
from sources.http import FetchError, make_session
from tests.support.fingertips_recordings import FIXTURES, QuickServer, changes_reply, csv_reply, data_path, serve_fingertips
from tests.support.http_server import Reply

REAL_EXPORT = snapshot_file("fingertips_export_93356").read_bytes()
HLE_SAMPLE = (FIXTURES / "all_data_90362_sample.csv").read_bytes()
PATH = "/api/all_data/csv/by_indicator_id"


@pytest.fixture()
def server():
    with QuickServer() as s:
        yield s


def client(server, **kw) -> ft.FingertipsClient:
    session = make_session(retries=kw.pop("retries", 2), backoff_factor=0.01)
    return ft.FingertipsClient(server.url("/api/"), session=session, timeout=kw.pop("timeout", (2, 2)), **kw)


# --- the real formats at the real paths ----------------------------------------------------------------


def test_data_request_uses_the_real_path_and_parameters(server):
    server.route(PATH, csv_reply(REAL_EXPORT))
    fetched = client(server).all_data(["93356"], 502, 6)
    assert len(fetched) == 1 and fetched[0].content == REAL_EXPORT
    path, query, headers = server.requests[0]
    assert path == PATH
    assert query == {"indicator_ids": "93356", "child_area_type_id": "502", "parent_area_type_id": "6", "include_sortable_time_periods": "yes"}
    assert headers["User-Agent"].startswith("northern-observatory/")


def test_ids_are_batched_at_most_100_per_call(server):
    server.route(PATH, csv_reply(REAL_EXPORT))
    ids = [str(90000 + i) for i in range(150)]
    with pytest.raises(FetchError, match="no data for indicator"):  # the recorded response holds only 93356
        client(server).all_data(ids, 501, 6)
    assert [len(q["indicator_ids"].split(",")) for _, q, _ in server.requests] == [100]
    assert [len(b) for b in ft.batches(ids)] == [100, 50]
    assert list(ft.batches(["1", "1", "2"])) == [["1", "2"]]


def test_two_batches_are_two_calls(server):
    ids = ["93356", *[str(80000 + i) for i in range(100)]]
    first, second = ids[:100], ids[100:]
    body = REAL_EXPORT
    for i in first[1:]:  # make the recorded export answer for every id of the first batch
        body += f"{i},x,,,E92000001,England,Country,Persons,All ages,,,2015,1,,,,,,,,,Not compared,Not compared,20150000,\r\n".encode()
    server.route(data_path(",".join(first), 501, 6), csv_reply(body))
    server.route(data_path(",".join(second), 501, 6), csv_reply(body.replace(b"80001,x", b"80099,x")))
    fetched = client(server).all_data(ids, 501, 6)
    assert len(fetched) == 2 and server.hits(PATH) == 2


def test_metadata_area_types_search_and_change_probe(server):
    serve_fingertips(server, {})
    server.route("/api/indicator_search", Reply(body=json.dumps({"502": ["40601", "40602"], "6": ["40601"]}).encode(), content_type="application/json"))
    c = client(server)
    assert c.area_types()[502] == "Counties & UAs (from Apr 2023)"
    c.check_area_types({502: r"Counties & UAs.*2023", 6: "Region"})
    with pytest.raises(FetchError, match="area type 501 is now 'Districts & UAs \\(from Apr 2023\\)', not 'Counties'"):
        c.check_area_types({501: "Counties"})
    assert c.data_changes("90366") == "2026-04-20T16:25:53"
    assert c.indicator_search("liver", [19]) == ["40601", "40602"]
    assert server.requests[-1][1] == {"search_text": "liver", "restrict_to_profile_ids": "19"}
    names = c.metadata_names(["90362", "93721"])
    assert names["93721"] == "Under 75 mortality rate from causes considered preventable (2019 definition)"


def test_uncertain_id_is_checked_by_name_and_else_resolved_by_search(server):
    cat = ft.catalogue()
    liver = cat.indicator("40601")
    meta = (FIXTURES / "indicator_metadata.csv").read_bytes()
    # the catalogued id now carries another indicator; search finds the right one
    wrong = meta.replace(b"40601,Under 75 mortality rate from liver disease", b"40601,Something retired")
    renumbered = b"Indicator ID,Indicator,Definition,Unit,Value type,Polarity\r\n40611,Under 75 mortality rate from liver disease (1 year range),d,\"per 100,000\",DSR,RAG - Low is good\r\n40612,Under 75 mortality rate from liver disease in women,d,x,y,z\r\n"
    server.route("/api/indicator_metadata/csv/by_indicator_id?indicator_ids=40601", csv_reply(wrong))
    server.route("/api/indicator_metadata/csv/by_indicator_id?indicator_ids=40611%2C40612", csv_reply(renumbered))
    server.route("/api/indicator_search", Reply(body=b'{"502": [40611, 40612]}', content_type="application/json"))
    assert client(server).resolve([cat.indicator("40401"), liver]) == ["40401", "40611"]
    # nothing matches: a clear error, not a guess
    server.route("/api/indicator_search", Reply(body=b'{"502": [40612]}', content_type="application/json"))
    server.route("/api/indicator_metadata/csv/by_indicator_id?indicator_ids=40612", csv_reply(renumbered))
    with pytest.raises(FetchError, match="could not resolve 'Under 75 mortality rate from liver disease'"):
        client(server).resolve([liver])


def test_an_id_missing_from_the_response_is_an_error(server):
    server.route(PATH, csv_reply(HLE_SAMPLE))
    with pytest.raises(FetchError, match=r"no data for indicator\(s\) \['90366'\]"):
        client(server).all_data(["90362", "90366"], 502, 6)


# --- faults that are retried ------------------------------------------------------------------------------


def test_5xx_is_retried_then_succeeds(server):
    server.route(PATH, Reply(status=500, body=b"oops"), Reply(status=503), csv_reply(REAL_EXPORT))
    assert client(server).all_data(["93356"], 502, 6)[0].content == REAL_EXPORT
    assert server.hits(PATH) == 3


def test_persistent_5xx_fails_clearly_after_the_retries(server):
    server.route(PATH, Reply(status=500, body=b"oops"))
    with pytest.raises(FetchError, match="HTTP 500|gave up after retries"):
        client(server).all_data(["93356"], 502, 6)
    assert server.hits(PATH) == 3  # one try and two retries


def test_429_waits_for_retry_after(server):
    server.route(PATH, Reply(status=429, headers={"Retry-After": "1"}), csv_reply(REAL_EXPORT))
    started = time.monotonic()
    assert client(server).all_data(["93356"], 502, 6)[0].content == REAL_EXPORT
    assert time.monotonic() - started >= 0.9 and server.hits(PATH) == 2


def test_truncated_body_is_fetched_again(server):
    server.route(PATH, Reply(body=REAL_EXPORT, content_type="text/csv", truncate_to=5000), csv_reply(REAL_EXPORT))
    assert client(server).all_data(["93356"], 502, 6)[0].content == REAL_EXPORT
    assert server.hits(PATH) == 2


def test_always_truncated_body_fails_clearly(server):
    server.route(PATH, Reply(body=REAL_EXPORT, content_type="text/csv", truncate_to=5000))
    with pytest.raises(FetchError, match="truncated"):
        client(server, refetch=1).all_data(["93356"], 502, 6)
    assert server.hits(PATH) == 2


def test_slow_answer_is_retried(server):
    server.route(PATH, Reply(body=REAL_EXPORT, content_type="text/csv", delay=1.5), csv_reply(REAL_EXPORT))
    assert client(server, timeout=(1, 0.5)).all_data(["93356"], 502, 6)[0].content == REAL_EXPORT
    assert server.hits(PATH) == 2


def test_always_slow_answer_fails_clearly(server):
    server.route(PATH, Reply(body=REAL_EXPORT, content_type="text/csv", delay=1.0))
    with pytest.raises(FetchError, match="timed out|gave up"):
        client(server, timeout=(1, 0.3), retries=1).all_data(["93356"], 502, 6)


# --- faults that fail at once -----------------------------------------------------------------------------


def test_html_page_fails_at_once(server):
    server.route(PATH, Reply(body=b"<!DOCTYPE html><html><head><title>Fingertips</title></head><body>Sorry</body></html>", content_type="text/html"))
    with pytest.raises(FetchError, match="HTML page where CSV was expected"):
        client(server).all_data(["93356"], 502, 6)
    assert server.hits(PATH) == 1


@pytest.mark.parametrize("notice", [
    b"This service has been retired. Please use the new Fingertips API.",
    b"Planned maintenance: Fingertips will be back at 10:00, sorry for any inconvenience.",
])
def test_notice_served_with_200_fails_at_once(server, notice):
    server.route(PATH, Reply(body=notice, content_type="text/plain"))
    with pytest.raises(FetchError, match="notice instead of data|first line has no commas|without the Fingertips header"):
        client(server).all_data(["93356"], 502, 6)
    assert server.hits(PATH) == 1


def test_a_csv_that_is_not_fingertips_fails(server):
    server.route(PATH, csv_reply(b"area,value\r\nE06000001,1\r\n"))
    with pytest.raises(FetchError, match="without the Fingertips header"):
        client(server).all_data(["93356"], 502, 6)


def test_404_is_not_retried(server):
    with pytest.raises(FetchError, match="HTTP 404"):
        client(server).all_data(["93356"], 502, 6)
    assert server.hits(PATH) == 1


def test_probe_with_the_wrong_shape_fails(server):
    server.route("/api/data_changes", Reply(body=b"[1, 2]", content_type="application/json"))
    with pytest.raises(FetchError, match="expected a JSON dict"):
        client(server).data_changes("90366")
    server.route("/api/data_changes", Reply(body=b"{not json", content_type="application/json"))
    with pytest.raises(FetchError, match="not valid JSON"):
        client(server).data_changes("90366")
    server.route("/api/data_changes", changes_reply("2026-01-01T00:00:00"))
    assert client(server).data_changes("90366") == "2026-01-01T00:00:00"


# --- landing: nothing half-loads, and the probe skips unchanged indicators ------------------------------------


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)

    warning = info


def test_live_landing_then_probe_reuses_it(server, tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "wh" / "observatory.duckdb"))
    serve_fingertips(server, {"fingertips_90362_hle": HLE_SAMPLE})
    src = ft.catalogue().for_source("fingertips_90362_hle")
    landed, new = health_assets.land_live(src, warehouse, client(server), _Log())
    assert new and len(landed) == 1 and landed[0].mode == "live"
    assert landed[0].origin == server.url(data_path("90362", 502, 6))
    assert landed[0].path(warehouse.paths.data).read_bytes() == HLE_SAMPLE
    fetches = server.hits(PATH)
    log = _Log()
    again, new = health_assets.land_live(src, warehouse, client(server), log)
    assert not new and again == landed and server.hits(PATH) == fetches  # only the probe was asked
    assert "unchanged since 2026-04-20T16:25:53" in log.lines[-1]
    server.route("/api/data_changes?indicator_id=90362", changes_reply("2026-05-01T09:00:00"))
    _, new = health_assets.land_live(src, warehouse, client(server), _Log())
    assert new and server.hits(PATH) == fetches + 1


def test_live_only_source_is_credited_in_provenance(server, tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "wh" / "observatory.duckdb"))
    serve_fingertips(server, {"fingertips_u75_mortality_by_cause": (FIXTURES / "u75_mortality_by_cause_synthetic.csv").read_bytes()})
    src = ft.catalogue().for_source("fingertips_u75_mortality_by_cause")
    landed, _ = health_assets.land_live(src, warehouse, client(server), _Log())
    assert landed[0].title.startswith("Under 75 mortality rates by cause") and landed[0].licence == "OGL-UK-3.0"
    assert server.requests[-1][1]["indicator_ids"] == "40401,40501,40701,40601,108"


@pytest.mark.parametrize("bad", [
    Reply(status=500),
    Reply(body=b"<html><body>Service unavailable</body></html>", content_type="text/html"),
    Reply(body=REAL_EXPORT[:-40] + b"\r\n93356,\"Campylobacter", content_type="text/csv"),  # cut mid-record, length consistent
])
def test_a_failed_fetch_lands_nothing(server, tmp_path, bad):
    warehouse = WarehouseResource(path=str(tmp_path / "wh" / "observatory.duckdb"))
    serve_fingertips(server, {})
    server.route(data_path("93356", 502, 6), bad)
    src = ft.catalogue().for_source("fingertips_export_93356")
    with pytest.raises(Exception, match="HTTP 500|HTML|truncated|malformed|ends mid-line"):
        health_assets.land_live(src, warehouse, client(server), _Log())
    landing = warehouse.paths.landing
    assert not landing.exists() or not [p for p in landing.rglob("*") if p.is_file()]
    assert not health_assets.state_path(warehouse).exists()


def test_a_body_over_the_size_cap_is_refused(server):
    server.route(PATH, csv_reply(REAL_EXPORT))
    with pytest.raises(FetchError, match="exceeds the cap of 10,000"):
        client(server, max_bytes=10_000).all_data(["93356"], 502, 6)
