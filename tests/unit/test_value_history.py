"""The value history records every change in both directions, with the file that caused it (issue 14 item 2),
and earlier vintages dated by their publication (issue 10)."""

import datetime as dt

import duckdb
import pandas as pd

from pipelines.resources import WarehouseResource
from sources.catalogue import entry
from warehouse.engine import loader
from warehouse.engine.publish import publish
from warehouse.engine.registry import REGISTRY

HLE_2020 = entry("fingertips_90362_hle_2020_06")


def _row(area, value, sha, source_id="fingertips_90362_hle"):
    return {
        "indicator_id": "90362", "area_code": area, "sex": "male", "age": "all", "period_label": "2015 - 17",
        "period_start": dt.date(2015, 1, 1), "period_end": dt.date(2017, 12, 31), "value": value, "lower_ci_95": None, "upper_ci_95": None,
        "count": None, "denominator": None, "value_note": None, "compared_to_england": None, "geography_vintage": "2019",
        "method": "published", "source_id": source_id, "source_sha256": sha, "source_locator": "line 2",
    }


def _load(resource, rows):
    with resource.connect() as con:
        loader.replace_table(con, REGISTRY["core_indicators__values"], pd.DataFrame(rows))
    return resource.append_history()


def _history(resource):
    with resource.connect() as con:
        return con.execute("SELECT area_code, version, value, change, source_sha256 FROM core_indicators__value_history ORDER BY area_code, version").df()


def _as_of_now(resource):
    with resource.connect() as con:
        return dict(con.execute("SELECT area_code, value FROM indicator_values_as_of(now()::TIMESTAMP)").fetchall())


def test_a_bad_value_in_and_back_out_and_a_removal_are_all_versions(tmp_path):
    resource = WarehouseResource(path=str(tmp_path / "observatory.duckdb"))
    good, bad = "a" * 64, "b" * 64
    assert _load(resource, [_row("E06000010", 57.7, good), _row("E06000011", 60.0, good)]) == 2
    assert _load(resource, [_row("E06000010", 57.7, good), _row("E06000011", 60.0, good)]) == 0  # unchanged: nothing new
    # an edited file brings a wrong (but plausible) value: a revision, and the unchanged key is credited to the new file
    assert _load(resource, [_row("E06000010", 67.7, bad), _row("E06000011", 60.0, bad)]) == 2
    assert _as_of_now(resource) == {"E06000010": 67.7, "E06000011": 60.0}
    # the file is restored: the good value comes back as a new version, credited to the good file again
    assert _load(resource, [_row("E06000010", 57.7, good), _row("E06000011", 60.0, good)]) == 2
    assert _as_of_now(resource) == {"E06000010": 57.7, "E06000011": 60.0}
    # a key that is no longer published is removed (the history keeps its values)
    assert _load(resource, [_row("E06000010", 57.7, good)]) == 1
    assert _as_of_now(resource) == {"E06000010": 57.7}
    history = _history(resource)
    hull = history[history["area_code"] == "E06000010"]
    assert hull["change"].tolist() == ["new", "revised", "revised"]
    assert hull["source_sha256"].tolist() == [good, bad, good]
    other = history[history["area_code"] == "E06000011"]
    assert other["change"].tolist() == ["new", "same_value_new_file", "same_value_new_file", "removed"]
    assert other["source_sha256"].tolist()[:3] == [good, bad, good] and pd.isna(other["value"].iloc[-1])
    with resource.connect() as con:
        latest = con.execute("""SELECT source_sha256 FROM indicator_values_as_of(now()::TIMESTAMP) v""").fetchall()
    assert latest == [(good,)]  # provenance points at the file that produced the row


def test_an_earlier_vintage_is_dated_by_its_publication_and_shows_as_a_revision(tmp_path):
    resource = WarehouseResource(path=str(tmp_path / "observatory.duckdb"))
    vintage = pd.DataFrame([{**_row("E92000001", 63.4, HLE_2020.sha256, HLE_2020.source_id), "member_count": None, "member_codes": None,
                             "weight_years": None, "published_at": dt.date.fromisoformat(HLE_2020.published),
                             "vintage_label": "Fingertips 90362 as published 2020-06-18"}])
    with resource.connect() as con:
        loader.replace_table(con, REGISTRY["core_health__indicator_vintages"], vintage)
    current = entry("fingertips_90362_hle")
    assert _load(resource, [_row("E92000001", 63.3, current.sha256)]) == 2
    assert _load(resource, [_row("E92000001", 63.3, current.sha256)]) == 0  # the vintage is recorded once
    publish(resource.paths, [])
    con = duckdb.connect(str(resource.paths.published), read_only=True)
    try:
        in_2021 = con.execute("SELECT value, source_id FROM indicator_values_as_of(TIMESTAMP '2021-01-01')").fetchall()
        in_2019 = con.execute("SELECT value FROM indicator_values_as_of(TIMESTAMP '2019-01-01')").fetchall()
        now = con.execute("SELECT value FROM indicator_values_as_of(now()::TIMESTAMP)").fetchall()
        revisions = con.execute("SELECT first_value, first_published_at, current_value FROM core_indicators__revisions").fetchall()
        effective = con.execute("SELECT change, effective_from FROM core_indicators__value_history ORDER BY effective_from").fetchall()
    finally:
        con.close()
    assert in_2021 == [(63.4, HLE_2020.source_id)] and in_2019 == [] and now == [(63.3,)]
    assert revisions == [(63.4, dt.date(2020, 6, 18), 63.3)]
    assert effective == [("new", dt.datetime(2020, 6, 18)), ("revised", dt.datetime.fromisoformat(current.published))]
