"""Live Fingertips by profile or list: a selection resolves to indicators with the publisher's metadata and a
derived aggregation rule, in batches of at most 100 ids, with the change probe per indicator; all against a
loopback server answering in the API's real formats (recorded metadata CSV header, JSON metadata shape)."""

import csv
import io
import json

import pytest

from sources import fingertips as ft
from sources.fingertips_selection import Selection, aggregation_for, changed_since, fetch, load_selection, resolve_selection
from sources.http import FetchError
from tests.support.fingertips_recordings import FIXTURES, changes_reply, csv_reply, fingertips_csv
from tests.support.http_server import RecordedServer, Reply

PROFILES = [{"Id": 19, "Key": "phof", "Name": "Public Health Outcomes Framework"},
            {"Id": 143, "Key": "local-health", "Name": "Local Health - small area public health data"}]
JSON = "application/json; charset=utf-8"


def metadata_csv(rows: list[dict]) -> bytes:
    """Rows in the exact column layout of ``indicator_metadata/csv/*`` (header of the recorded real file)."""
    header = next(csv.reader(io.StringIO((FIXTURES / "indicator_metadata.csv").read_text(encoding="utf-8-sig"))))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({h: row.get(h, "") for h in header})
    return out.getvalue().encode()


def meta_json(ids, ci="Byar's method", value_type="Crude rate", unit=("per 100,000", 100000)) -> bytes:
    return json.dumps({i: {"IID": int(i), "Descriptive": {"Name": f"Indicator {i}"}, "Unit": {"Label": unit[0], "Value": unit[1]},
                           "ValueType": {"Name": value_type}, "ConfidenceIntervalMethod": {"Name": ci}} for i in ids}).encode()


@pytest.fixture()
def server():
    with RecordedServer() as s:
        s.route("/api/profiles", Reply(body=json.dumps(PROFILES).encode(), content_type=JSON))
        yield s


def client_for(server):
    return ft.FingertipsClient(server.base_url + "/api/")


def test_a_profile_lands_with_the_publishers_metadata_and_derived_aggregation(server):
    rows = [
        {"Indicator ID": "90366", "Indicator": "Life expectancy at birth", "Unit": "years", "Value type": "Life expectancy",
         "Polarity": "RAG - High is good", "Year type": "Calendar"},
        {"Indicator ID": "93356", "Indicator": "Campylobacter incidence rate/100,000", "Unit": "per 100,000", "Value type": "Crude rate",
         "Polarity": "RAG - Low is good", "Year type": "Calendar"},
        {"Indicator ID": "90000", "Indicator": "Some standardised measure", "Unit": "per 100,000", "Value type": "Indirectly standardised ratio",
         "Polarity": "RAG - Low is good"},
        {"Indicator ID": "90001", "Indicator": "A gradient", "Unit": "years", "Value type": "Slope index of inequality",
         "Polarity": "No judgement"},
    ]
    server.route("/api/indicator_metadata/csv/by_profile_id?profile_id=19", csv_reply(metadata_csv(rows)))
    server.route("/api/indicator_metadata/by_indicator_id", Reply(body=json.dumps({
        "90366": {"IID": 90366, "Unit": {"Label": "Years", "Value": 1}, "ConfidenceIntervalMethod": {"Name": "Chiang II"}},
        "93356": {"IID": 93356, "Unit": {"Label": "per 100,000", "Value": 100000}, "ConfidenceIntervalMethod": {"Name": "Byar's method"}},
        "90000": {"IID": 90000, "Unit": {"Label": "ratio", "Value": 100}, "ConfidenceIntervalMethod": {"Name": "Dobson method"}},
        "90001": {"IID": 90001, "Unit": {"Label": "years", "Value": 1}, "ConfidenceIntervalMethod": {"Name": "Bootstrap"}},
    }).encode(), content_type=JSON))
    found = {i.id: i for i in resolve_selection(client_for(server), Selection(profiles=("PHOF",)))}
    assert list(found) == ["90366", "93356", "90000", "90001"]
    assert found["90366"].polarity == "high_is_good" and found["90366"].aggregation == "population_weighted"
    assert found["93356"].polarity == "low_is_good" and found["93356"].aggregation == "counts_and_denominators"
    assert found["93356"].multiplier == 100000 and found["93356"].ci_method == "Byar's method"
    assert found["90000"].aggregation == "population_weighted"  # Dobson: a standardised value, never summed
    assert found["90001"].aggregation == "none" and found["90001"].polarity == "no_judgement"
    assert found["90366"].unit == "years" and found["90366"].name == "Life expectancy at birth"


def test_listed_ids_are_asked_in_batches_of_at_most_100(server):
    ids = [str(91000 + n) for n in range(150)]
    rows = [{"Indicator ID": i, "Indicator": f"Indicator {i}", "Unit": "%", "Value type": "Proportion", "Polarity": "RAG - High is good"}
            for i in ids]
    server.route("/api/indicator_metadata/csv/by_indicator_id", csv_reply(metadata_csv(rows)))
    server.route("/api/indicator_metadata/by_indicator_id", Reply(body=meta_json(ids, ci="Wilson Score method", value_type="Proportion",
                                                                                  unit=("%", 100)), content_type=JSON))
    found = resolve_selection(client_for(server), Selection(indicators=tuple(ids)))
    assert [i.id for i in found] == ids
    assert {i.aggregation for i in found} == {"counts_and_denominators"} and {i.multiplier for i in found} == {100.0}
    asked = [q["indicator_ids"].split(",") for path, q, _ in server.requests if path.startswith("/api/indicator_metadata/")]
    assert len(asked) == 4 and max(len(a) for a in asked) == 100  # CSV and JSON, two batches each
    data = fingertips_csv([{"Indicator ID": i, "Indicator Name": f"Indicator {i}", "Area Code": "E92000001", "Area Name": "England",
                            "Area Type": "England", "Sex": "Persons", "Age": "All ages", "Time period": "2023", "Value": "50"} for i in ids])
    server.route("/api/all_data/csv/by_indicator_id", csv_reply(data))
    responses = fetch(client_for(server), ids, Selection())
    batches = [q["indicator_ids"].split(",") for path, q, _ in server.requests if path == "/api/all_data/csv/by_indicator_id"]
    assert len(responses) == 2 and [len(b) for b in batches] == [100, 50]


def test_the_change_probe_asks_each_indicator_and_keeps_only_the_changed(server):
    inds = [ft.Indicator(id=i, name=i, short_name=i, definition="", unit="", polarity="no_judgement", value_type="", age="all",
                         year_type="calendar") for i in ("90362", "90366")]
    server.route("/api/data_changes?indicator_id=90362", changes_reply("2026-04-20T16:25:53"))
    server.route("/api/data_changes?indicator_id=90366", changes_reply("2026-06-01T09:00:00"))
    seen = {"90362": "2026-04-20T16:25:53", "90366": "2026-04-20T16:25:53"}
    assert changed_since(client_for(server), inds, seen) == ["90366"]
    assert sum(1 for path, _, _ in server.requests if path == "/api/data_changes") == 2


def test_unknown_profile_or_id_is_a_clear_error(server):
    with pytest.raises(FetchError, match="not found"):
        resolve_selection(client_for(server), Selection(profiles=("NOPE",)))
    server.route("/api/indicator_metadata/csv/by_indicator_id", csv_reply(metadata_csv([])))
    with pytest.raises(FetchError, match="99999"):
        resolve_selection(client_for(server), Selection(indicators=("99999",)))


def test_aggregation_rule_comes_from_value_type_then_ci_method():
    rules = ft.catalogue().rules
    assert aggregation_for("life expectancy", "", rules) == "population_weighted"
    assert aggregation_for("Crude rate", "Byar's method", {}) == "counts_and_denominators"
    assert aggregation_for("Directly standardised rate", "Dobson", {}) == "population_weighted"
    assert aggregation_for("Count", "", {}) == "none"  # no CI method saying how it was counted: never combined


def test_the_bundled_selection_file_reads(tmp_path):
    assert isinstance(load_selection(), Selection)
    bad = tmp_path / "s.toml"
    bad.write_text('profile = ["PHOF"]\n')
    with pytest.raises(ValueError, match="unknown setting"):
        load_selection(bad)


def test_the_landed_manifest_reads_back_and_says_what_to_fetch(tmp_path):
    """The manifest is the build's catalogue of the selection: a round trip gives the same entries; only changed or
    missing indicators are fetched again; rows superseded by a later file are dropped."""

    import pandas as pd

    from sources.fingertips_selection import current_rows, extend, manifest_bytes, read_manifest, to_fetch
    from sources.inputs import SourceFormatError

    a = ft.Indicator(id="95000", name="A", short_name="A", definition="", unit="per 100,000", polarity="low_is_good",
                     value_type="crude rate", age="all", year_type="calendar", aggregation="counts_and_denominators", multiplier=100000.0)
    b = ft.Indicator(id="95001", name="B", short_name="B", definition="", unit="%", polarity="no_judgement", value_type="proportion",
                     age="all", year_type="calendar", aggregation="none")
    body = manifest_bytes(Selection(profiles=("PHOF",)), [a, b], {"95000": "s1", "95001": "s1"}, {"95000": "f1", "95001": "f1"})
    assert body == manifest_bytes(Selection(profiles=("PHOF",)), [a, b], {"95000": "s1", "95001": "s1"}, {"95000": "f1", "95001": "f1"})
    m = read_manifest(body, "manifest.json")
    assert m.indicators == (a, b) and m.data_sha256 == {"95000": "f1", "95001": "f1"}
    assert to_fetch([a, b], {"95000": "s1", "95001": "s2"}, m, {"f1"}) == ["95001"]
    assert to_fetch([a, b], {"95000": "s1", "95001": None}, m, {"f1"}) == ["95001"]  # a failed probe fetches
    assert to_fetch([a, b], {"95000": "s1", "95001": "s1"}, m, set()) == ["95000", "95001"]  # the landed file is gone
    assert to_fetch([a, b], {"95000": "s1", "95001": "s1"}, None, set()) == ["95000", "95001"]
    later = read_manifest(manifest_bytes(Selection(), [a, b], {}, {"95000": "f1", "95001": "f2"}), "m")
    frame = pd.DataFrame({"indicator_id": ["95000", "95001"], "value": [1.0, 2.0]})
    assert current_rows(frame, later, "f1")["indicator_id"].tolist() == ["95000"]
    assert set(extend(ft.catalogue(), m.indicators).indicators) == set(ft.catalogue().indicators) | {"95000", "95001"}
    with pytest.raises(SourceFormatError, match="polarity"):
        read_manifest(body.replace(b'"low_is_good"', b'"sideways"'), "m")
