"""Live mode end to end against a loopback Fingertips: the real URL paths and parameters, the same indicators
as the offline build, nothing half-loaded when the API fails, and the weekly schedule asking the change probe."""

import hashlib
import json
import os

import duckdb
import pytest
from dagster import RunRequest, SkipReason, build_schedule_context

from pipelines.assets import health as health_assets
from pipelines.errors import user_message
from pipelines.resources import SourcesResource, WarehouseResource
from sources import fingertips as ft
from tests.support.fingertips_recordings import QuickServer, changes_reply, data_path, recorded_bodies, run_health_live, serve_fingertips
from tests.support.http_server import Reply

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recordings(built_warehouse):
    """API responses for every source: bundled values re-rendered in the real layout, the real 93356 export, synthetic by-cause."""
    return recorded_bodies(built_warehouse)


@pytest.fixture()
def api(recordings, monkeypatch):
    with QuickServer() as server:
        serve_fingertips(server, recordings)
        monkeypatch.setenv(ft.BASE_URL_ENV, server.url("/api/"))
        yield server


def _run_live(warehouse_file, raise_on_error=True):
    return run_health_live(warehouse_file, raise_on_error)


def _values(path, where="TRUE"):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"""SELECT indicator_id, area_code, sex, age, period_label, value, compared_to_england, geography_vintage
                               FROM core_health__indicator_values WHERE {where} ORDER BY ALL""").df()
    finally:
        con.close()


def test_live_build_fetches_the_same_indicators_from_the_api(api, warehouse_copy, built_warehouse):
    result = _run_live(warehouse_copy)
    assert result.success
    paths = {(p, q.get("indicator_ids"), q.get("child_area_type_id"), q.get("parent_area_type_id"), q.get("include_sortable_time_periods"))
             for p, q, _ in api.requests if p.endswith("by_indicator_id") and "all_data" in p}
    assert ("/api/all_data/csv/by_indicator_id", "90362", "502", "6", "yes") in paths
    assert ("/api/all_data/csv/by_indicator_id", "90366", "501", "6", "yes") in paths
    assert ("/api/all_data/csv/by_indicator_id", "40401,40501,40701,40601,108", "502", "6", "yes") in paths
    assert {"/api/area_types", "/api/data_changes", "/api/indicator_metadata/csv/by_indicator_id"} <= {p for p, _, _ in api.requests}
    # the bundled indicators: the same rows and values live as offline
    published = "indicator_id IN ('90362', '90366', '93721', '40502', '93356')"
    live, offline = _values(warehouse_copy, published), _values(built_warehouse, published)
    assert len(live) == len(offline) == 23157
    assert live.equals(offline)
    # plus the live-only under-75 mortality by cause, with definitions from the publisher's metadata
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        by_cause = dict(con.execute("SELECT indicator_id, count(*) FROM core_health__indicator_values WHERE indicator_id IN ('40401','40501','40701','40601','108') GROUP BY 1").fetchall())
        assert by_cause == {i: 12 for i in ("40401", "40501", "40701", "40601", "108")}
        name = con.execute("SELECT name, source_id FROM core_indicators__definitions WHERE indicator_id = '93721'").fetchone()
        assert name == ("Under 75 mortality rate from causes considered preventable (2019 definition)", "fingertips_indicator_metadata")
        live_files = con.execute("SELECT source_id, origin FROM core_provenance__files WHERE mode = 'live' ORDER BY 1").fetchall()
        assert ("fingertips_90362_hle", api.url(data_path("90362", 502, 6))) in live_files
        assert {s for s, _ in live_files} >= {"fingertips_90366_le", "fingertips_u75_mortality_by_cause", "fingertips_indicator_metadata"}
    finally:
        con.close()


def _fingerprints(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("SELECT table_name, fingerprint FROM _observatory_loads WHERE table_name LIKE '%health%' OR table_name LIKE 'core_indicators%'").fetchall())
    finally:
        con.close()


@pytest.mark.parametrize("fault", [
    Reply(status=500, body=b"Internal Server Error"),
    Reply(status=200, body=b"<!DOCTYPE html><html><body>Fingertips is down for maintenance</body></html>", content_type="text/html"),
])
def test_an_api_failure_part_way_loads_nothing(api, warehouse_copy, fault):
    working = WarehouseResource(path=str(warehouse_copy)).paths.working
    published_before = hashlib.sha256(warehouse_copy.read_bytes()).hexdigest()
    loads_before = _fingerprints(working)
    api.route(data_path("93721", 501, 6), fault)  # one source of six fails; the others succeed
    result = _run_live(warehouse_copy, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "land_fingertips_files"  # the step landing the Fingertips files, naming the one that failed
    assert "93721" in user_message(failure.step_failure_data.error)  # the request that failed
    landed = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert "raw_fingertips__le_90366" in landed and "raw_fingertips__u75_preventable_93721" not in landed  # the others landed
    assert _fingerprints(working) == loads_before  # no health table (nor the union) was reloaded
    assert hashlib.sha256(warehouse_copy.read_bytes()).hexdigest() == published_before
    assert len(_values(warehouse_copy, "indicator_id = '93721'")) == 9801


def _evaluate(resources: dict):
    """One evaluation of the weekly schedule (its resources set up and torn down as the daemon does)."""
    with build_schedule_context(resources=resources) as context:
        return health_assets.weekly_fingertips_refresh(context)


def test_weekly_schedule_asks_the_change_probe(api, warehouse_copy):
    wh = WarehouseResource(path=str(warehouse_copy))
    offline = _evaluate({"sources": SourcesResource(), "warehouse": wh})
    assert isinstance(offline, SkipReason)
    live = {"sources": SourcesResource(mode="live"), "warehouse": wh}
    first = _evaluate(live)
    assert isinstance(first, RunRequest) and "90362" in first.tags["observatory/changed_indicators"]
    assert _run_live(warehouse_copy).success
    probes_before = sum(1 for p, _, _ in api.requests if p == "/api/data_changes")
    fetches_before = sum(1 for p, _, _ in api.requests if "all_data" in p)
    unchanged = _evaluate(live)
    assert isinstance(unchanged, SkipReason), unchanged
    assert sum(1 for p, _, _ in api.requests if p == "/api/data_changes") > probes_before
    assert sum(1 for p, _, _ in api.requests if "all_data" in p) == fetches_before  # the probe only, no download
    api.route("/api/data_changes?indicator_id=90366", changes_reply("2026-11-20T09:00:00"))
    changed = _evaluate(live)
    assert isinstance(changed, RunRequest) and changed.tags["observatory/changed_indicators"] == "90366"
    state = json.loads(health_assets.state_path(wh).read_text())
    assert state["fingertips_90362_hle"]["changes"] == {"90362": "2026-04-20T16:25:53"}
    # a refresh now downloads only what changed
    before = len(api.requests)
    assert _run_live(warehouse_copy).success
    downloads = [q.get("indicator_ids") for p, q, _ in api.requests[before:] if "all_data" in p]
    assert downloads == ["90366"]


def test_definitions_validate_with_the_schedule_and_job():
    from pipelines.definitions import defs

    repo = defs.get_repository_def()
    assert "refresh_health" in repo.job_names
    assert "weekly_fingertips_refresh" in [s.name for s in repo.schedule_defs]
    assert os.environ.get("OBSERVATORY_MODE") in (None, "", "offline")
