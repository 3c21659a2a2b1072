"""Live Fingertips by profile or list, through the real Dagster health assets in live mode: a selection naming a
profile (PHOF) and two ids lands every indicator with its publisher metadata (polarity, unit, value type,
aggregation rule), data in batches of at most 100 ids; a second run with unchanged probes downloads nothing; the
weekly schedule probes the landed selection; a changed probe downloads that indicator alone. The loopback server
answers in the API's real formats (data CSV layout, metadata CSV header of the recorded real file, JSON metadata
and data_changes shapes)."""

import json
import urllib.parse

import duckdb
import pytest
from dagster import RunRequest, SkipReason, build_schedule_context

from pipelines.assets import health as health_assets
from pipelines.resources import SourcesResource, WarehouseResource
from sources import fingertips as ft
from sources import fingertips_selection as selection
from tests.integration.test_fingertips_selection import PROFILES, metadata_csv
from tests.support.fingertips_recordings import (
    REGIONS,
    QuickServer,
    changes_reply,
    csv_reply,
    data_path,
    fingertips_csv,
    recorded_bodies,
    run_health_live,
    serve_fingertips,
)
from tests.support.http_server import Reply

pytestmark = pytest.mark.slow

JSON = "application/json; charset=utf-8"
PROFILE_IDS = [str(95000 + n) for n in range(120)]  # PHOF in this recording: 120 new indicators + one already catalogued
LISTED = ["96001", "96002"]
SELECTED = [*PROFILE_IDS, *LISTED]
STAMP = "2026-04-20T16:25:53"
NORTH = ("E12000001", "E12000002", "E12000003")


def _kind(indicator_id: str) -> dict:
    """Even ids: a crude rate per 100,000 with Byar's CIs (low is good); odd: a directly standardised rate (Dobson)."""
    if int(indicator_id) % 2 == 0:
        return {"value_type": "Crude rate", "ci": "Byar's method", "polarity": "RAG - Low is good", "unit": ("per 100,000", 100000)}
    return {"value_type": "Directly standardised rate", "ci": "Dobson method", "polarity": "RAG - High is good", "unit": ("per 100,000", 100000)}


def _metadata_row(i: str) -> dict:
    k = _kind(i)
    return {"Indicator ID": i, "Indicator": f"Selected indicator {i}", "Definition": f"Definition of {i}", "Unit": k["unit"][0],
            "Value type": k["value_type"], "Polarity": k["polarity"], "Year type": "Calendar"}


def _metadata_json(ids) -> bytes:
    return json.dumps({i: {"IID": int(i), "Descriptive": {"Name": f"Selected indicator {i}"},
                           "Unit": {"Id": 3, "Value": _kind(i)["unit"][1], "Label": _kind(i)["unit"][0]},
                           "ValueType": {"Id": 1, "Name": _kind(i)["value_type"]},
                           "ConfidenceIntervalMethod": {"Id": 2, "Name": _kind(i)["ci"]}} for i in ids}).encode()


def _data(ids, lads: dict[str, str], bump: float = 0.0) -> bytes:
    """2023 values for the northern districts (counts and denominators), their regions and England, as the API writes them."""
    rows = []
    for i in ids:
        name = f"Selected indicator {i}\n"
        for n, (code, region) in enumerate(sorted(lads.items())):
            count, denominator = 10 + n, 10_000 + 100 * n
            rows.append({"Indicator ID": i, "Indicator Name": name, "Parent Code": region, "Parent Name": REGIONS[region],
                         "Area Code": code, "Area Name": code, "Area Type": "Districts & UAs (from Apr 2023)", "Sex": "Persons",
                         "Age": "All ages", "Time period": "2023", "Value": round(count / denominator * 100_000 + bump, 3),
                         "Count": count, "Denominator": denominator, "Time period Sortable": "20230000"})
        for code in ("E92000001", *NORTH):
            rows.append({"Indicator ID": i, "Indicator Name": name, "Area Code": code, "Area Name": code,
                         "Area Type": "England" if code == "E92000001" else "Region", "Sex": "Persons", "Age": "All ages",
                         "Time period": "2023", "Value": 100.0 + bump, "Count": 1000, "Denominator": 1_000_000,
                         "Time period Sortable": "20230000"})
    return fingertips_csv(rows)


def _query(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def recordings(built_warehouse):
    bodies = recorded_bodies(built_warehouse)
    region_of = dict(_query(built_warehouse, """SELECT child_code, parent_code FROM core_geo__area_membership
                                                WHERE parent_type = 'region' AND relationship = 'within'"""))
    # the districts the bundled 90366 (area type 501) file publishes for its latest period, in the North
    lads = _query(built_warehouse, """SELECT DISTINCT area_code FROM core_health__indicator_values WHERE indicator_id = '90366'
                                      AND period_label = (SELECT max(period_label) FROM core_health__indicator_values WHERE indicator_id = '90366')
                                      AND area_code LIKE 'E0%'""")
    north = {c: region_of[c] for c, in lads if region_of.get(c) in NORTH}
    assert len(north) > 40
    return bodies, north


@pytest.fixture()
def api(recordings, monkeypatch, tmp_path):
    bodies, north = recordings
    chosen = tmp_path / "fingertips_selection.toml"
    chosen.write_text('profiles = ["PHOF"]\nindicators = ["96001", "96002"]\n')
    monkeypatch.setenv(selection.SELECTION_ENV, str(chosen))
    with QuickServer() as server:
        serve_fingertips(server, bodies)
        server.route("/api/profiles", Reply(body=json.dumps(PROFILES).encode(), content_type=JSON))
        profile_rows = [_metadata_row(i) for i in PROFILE_IDS] + [{**_metadata_row("90366"), "Value type": "Life expectancy"}]
        server.route("/api/indicator_metadata/csv/by_profile_id?profile_id=19", csv_reply(metadata_csv(profile_rows)))
        listed_query = urllib.parse.urlencode({"indicator_ids": ",".join(LISTED)})
        server.route(f"/api/indicator_metadata/csv/by_indicator_id?{listed_query}", csv_reply(metadata_csv([_metadata_row(i) for i in LISTED])))
        server.route("/api/indicator_metadata/by_indicator_id", Reply(body=_metadata_json([*SELECTED, "90366"]), content_type=JSON))
        for i in SELECTED:
            server.route(f"/api/data_changes?indicator_id={i}", changes_reply(STAMP))
        for batch in ft.batches(SELECTED):
            server.route(data_path(",".join(batch), 501, 6), csv_reply(_data(batch, north)))
        server.north = north
        monkeypatch.setenv(ft.BASE_URL_ENV, server.url("/api/"))
        yield server


def _evaluate(resources: dict):
    with build_schedule_context(resources=resources) as context:
        return health_assets.weekly_fingertips_refresh(context)


def _selection_downloads(server, since=0):
    """The indicator ids of each all_data request for selected indicators."""
    return [q["indicator_ids"].split(",") for p, q, _ in server.requests[since:]
            if p == "/api/all_data/csv/by_indicator_id" and set(q["indicator_ids"].split(",")) & set(SELECTED)]


def test_a_selected_profile_and_ids_land_with_metadata_in_batches_and_unchanged_probes_fetch_nothing(api, warehouse_copy):
    assert run_health_live(warehouse_copy).success
    batches = _selection_downloads(api)
    assert [len(b) for b in batches] == [100, 22]  # at most 100 ids a request; the catalogued 90366 left to its own source
    assert sorted(i for b in batches for i in b) == sorted(SELECTED)
    assert sum(1 for p, q, _ in api.requests if p == "/api/data_changes" and q["indicator_id"] in SELECTED) == len(SELECTED)
    per_indicator = dict(_query(warehouse_copy, f"""SELECT indicator_id, count(*) FROM core_health__indicator_values
                                                   WHERE indicator_id IN ({",".join(f"'{i}'" for i in SELECTED)}) GROUP BY 1"""))
    assert per_indicator == {i: len(api.north) + 4 for i in SELECTED}
    definitions = {r[0]: r[1:] for r in _query(warehouse_copy, """SELECT indicator_id, polarity, unit, value_type, aggregation, multiplier,
                                                                      source_id FROM core_health__indicator_definitions""")}
    assert definitions["95000"] == ("low_is_good", "per 100,000", "crude rate", "counts_and_denominators", 100000.0, "fingertips_selection")
    assert definitions["95001"][:4] == ("high_is_good", "per 100,000", "directly standardised rate", "population_weighted")
    assert definitions["96002"][3] == "counts_and_denominators"
    # counts summed over member districts give combined-authority aggregates for the selected count-based indicator
    aggregated = _query(warehouse_copy, "SELECT count(*), min(method) FROM core_health__indicator_aggregates WHERE indicator_id = '95000' AND area_code LIKE 'E47%'")
    assert aggregated[0][0] > 0
    landed = _query(warehouse_copy, "SELECT file_name, origin FROM core_provenance__files WHERE source_id = 'fingertips_selection' ORDER BY 1")
    assert [f for f, _ in landed] == ["fingertips_selection_1.csv", "fingertips_selection_2.csv", selection.MANIFEST_NAME]

    # second run: every probe unchanged -> no selected indicator downloaded, the warehouse unchanged
    before = len(api.requests)
    assert run_health_live(warehouse_copy).success
    assert _selection_downloads(api, before) == []
    assert sum(1 for p, q, _ in api.requests[before:] if p == "/api/data_changes" and q["indicator_id"] in SELECTED) == len(SELECTED)
    again = dict(_query(warehouse_copy, f"""SELECT indicator_id, count(*) FROM core_health__indicator_values
                                           WHERE indicator_id IN ({",".join(f"'{i}'" for i in SELECTED)}) GROUP BY 1"""))
    assert again == per_indicator

    # the weekly schedule probes the landed selection too: nothing changed -> skip; a changed probe -> a run
    wh = WarehouseResource(path=str(warehouse_copy))
    live = {"sources": SourcesResource(mode="live"), "warehouse": wh}
    assert isinstance(_evaluate(live), SkipReason)

    # one indicator's probe changes -> that indicator alone is downloaded; its new values replace the old ones
    api.route("/api/data_changes?indicator_id=95004", changes_reply("2026-11-20T09:00:00"))
    asked = _evaluate(live)
    assert isinstance(asked, RunRequest) and asked.tags["observatory/changed_indicators"] == "95004"
    api.route(data_path("95004", 501, 6), csv_reply(_data(["95004"], api.north, bump=1.0)))
    before = len(api.requests)
    assert run_health_live(warehouse_copy).success
    assert _selection_downloads(api, before) == [["95004"]]
    england = dict(_query(warehouse_copy, """SELECT indicator_id, value FROM core_health__indicator_values
                                             WHERE area_code = 'E92000001' AND indicator_id IN ('95004', '95006')"""))
    assert england == {"95004": 101.0, "95006": 100.0}
    assert dict(_query(warehouse_copy, "SELECT indicator_id, count(*) FROM core_health__indicator_values WHERE indicator_id IN ('95004', '95006') GROUP BY 1")) \
        == {"95004": len(api.north) + 4, "95006": len(api.north) + 4}
