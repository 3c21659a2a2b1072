"""Vintages: a re-published value keeps the old one; 'as first published' and 'as of' are queryable."""

import time

import duckdb
import pandas as pd
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.resources import WarehouseResource
from warehouse.engine import loader
from warehouse.engine.publish import publish
from warehouse.engine.registry import REGISTRY


def _values(value, sha):
    return pd.DataFrame([{
        "indicator_id": "90362", "area_code": "E06000010", "sex": "female", "age": "all", "period_label": "2018 - 20",
        "period_start": "2018-01-01", "period_end": "2020-12-31", "value": value, "lower_ci_95": value - 1, "upper_ci_95": value + 1,
        "count": None, "denominator": None, "value_note": None, "compared_to_england": "Worse", "geography_vintage": "2023",
        "method": "published", "source_id": "fingertips_90362_hle", "source_sha256": sha, "source_locator": "line 2",
    }])


def test_a_revised_value_is_kept_beside_the_original(tmp_path, monkeypatch):
    resource = WarehouseResource(path=str(tmp_path / "observatory.duckdb"))
    with resource.connect() as con:
        loader.replace_table(con, REGISTRY["core_indicators__values"], _values(57.7, "a" * 64))
    assert resource.append_history() == 1
    assert resource.append_history() == 0  # unchanged: nothing new recorded
    time.sleep(1.1)
    with resource.connect() as con:
        between = con.execute("SELECT max(recorded_at) FROM core_indicators__value_history").fetchall()[0][0]
    time.sleep(1.1)
    with resource.connect() as con:
        loader.replace_table(con, REGISTRY["core_indicators__values"], _values(58.1, "b" * 64))
    assert resource.append_history() == 1
    publish(resource.paths, [])

    con = duckdb.connect(str(resource.paths.published), read_only=True)
    first = con.execute("SELECT value FROM core_indicators__values_first_published").fetchall()
    now = con.execute("SELECT value FROM core_indicators__values").fetchall()
    revisions = con.execute("SELECT first_value, current_value FROM core_indicators__revisions").fetchall()
    as_of = con.execute(f"SELECT value FROM indicator_values_as_of(TIMESTAMP '{between}')").fetchall()
    con.close()
    assert first == [(57.7,)] and now == [(58.1,)] and revisions == [(57.7, 58.1)] and as_of == [(57.7,)]

    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(resource.paths.published))
    result = CliRunner().invoke(app, ["sql", "--as-of", str(between).replace(" ", "T"), "--format", "csv",
                                      "SELECT value FROM core_indicators__values"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["value", "57.7"]
