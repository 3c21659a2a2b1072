"""Claims reconciliation against a small real-shaped warehouse: reproduced, revised, mismatch, unverifiable."""

import duckdb
import pandas as pd
import pytest

from warehouse.engine import loader
from warehouse.engine.contracts import validate
from warehouse.transforms.reconciliation import fingertips_period, printed_tolerance, reconcile
from warehouse.engine.registry import REGISTRY

SHA_OLD, SHA_NEW = "a" * 64, "b" * 64


def _claim(claim_id, text, value, unit, kind, *, figure, place=None, area_code=None, period=None, hint=None, series=None):
    return {"claim_id": claim_id, "document_id": "d" * 64, "page": 1, "line": 1, "text": text, "context": text, "figure": figure,
            "value": value, "unit": unit, "scale": 1.0, "kind": kind, "places": place, "area_codes": area_code, "place": place,
            "area_code": area_code, "period": period, "measure_hint": hint, "series": series}


def _value(value, sha, sex="male"):
    return {"indicator_id": "90362", "area_code": "E06000010", "sex": sex, "age": "all", "period_label": "2015 - 17",
            "period_start": "2015-01-01", "period_end": "2017-12-31", "value": value, "lower_ci_95": None, "upper_ci_95": None,
            "count": None, "denominator": None, "value_note": None, "compared_to_england": None, "geography_vintage": "2023",
            "method": "published", "source_id": "fingertips_90362_hle", "source_sha256": sha, "source_locator": "line 2"}


@pytest.fixture()
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    claims = pd.DataFrame([
        _claim("c1", "Tees Valley received the least funding at £7,680,980, which is £11.34 per person.", 11.34, "GBP per head",
               "per_head", figure="£11.34", place="Tees Valley", area_code="E47000006", hint="research funding per head"),
        _claim("c2", "Kingston upon Hull: 56.4", 56.4, "years", "figure_value", figure="56.4", place="Kingston upon Hull",
               area_code="E06000010", period="2015-2017", hint="healthy life expectancy", series="Men"),
        _claim("c3", "Kingston upon Hull: 58.0", 58.0, "years", "figure_value", figure="58.0", place="Kingston upon Hull",
               area_code="E06000010", period="2015-2017", hint="healthy life expectancy", series="Women"),
        _claim("c4", "Atlantis received £9.99 per person in research funding.", 9.99, "GBP per head", "per_head",
               figure="£9.99", hint="research funding per head"),
    ])
    c.register("claims", claims)
    c.execute("CREATE TABLE core_reports__claims AS SELECT * FROM claims")
    c.execute("""CREATE TABLE mart_funding__per_head AS SELECT 'E47000006' AS area_code, 2022 AS year, 'direct_award' AS funding_type,
                 7680980.0 AS total_gbp, 678173 AS population, 2021 AS population_year, DATE '2024-05-07' AS membership_date,
                 7680980.0 / 678173 AS per_head_gbp, 'published_total' AS basis""")
    loader.replace_table(c, REGISTRY["core_indicators__values"], pd.DataFrame([_value(57.3, SHA_NEW), _value(57.2, SHA_NEW, "female")]))
    history = pd.DataFrame([_value(56.4, SHA_OLD), _value(57.3, SHA_NEW), _value(57.2, SHA_NEW, "female")])
    history["retrieved_at"], history["recorded_at"] = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-01")
    loader.replace_table(c, REGISTRY["core_indicators__value_history"], history)
    yield c
    c.close()


def test_each_claim_gets_a_verdict_and_a_reason(con):
    result = reconcile(con).set_index("claim_id")
    assert result.loc["c1", "status"] == "reproduced"
    assert result.loc["c1", "warehouse_value"] == pytest.approx(11.326, abs=1e-3)
    assert "Census" in result.loc["c1", "reason"]
    assert result.loc["c2", "status"] == "revised"  # matches the earlier vintage; the source now says 57.3
    assert result.loc["c2", "earlier_value"] == 56.4 and result.loc["c2", "warehouse_value"] == 57.3
    assert result.loc["c3", "status"] == "mismatch" and result.loc["c3", "sex"] == "female"
    assert result.loc["c4", "status"] == "unverifiable"
    assert result.loc["c4", "reason"] == "the claim names no place the observatory knows"
    assert len(validate(REGISTRY["mart_reconciliation__claims"], reconcile(con))) == 4


def test_no_claims_gives_an_empty_mart(tmp_path):
    c = duckdb.connect(str(tmp_path / "empty.duckdb"))
    assert reconcile(c).empty
    c.close()


@pytest.mark.parametrize("figure, scale, expected", [("£42.10", 1, 0.005), ("61.7", 1, 0.05), ("£7,680,980", 1, 0.5), ("£1.69bn", 1e9, 0.005e9)])
def test_tolerance_is_half_the_last_printed_digit(figure, scale, expected):
    assert printed_tolerance(figure, scale) == pytest.approx(expected)


@pytest.mark.parametrize("period, label", [("2015-2017", "2015 - 17"), ("2015-17", "2015 - 17"), ("2022", "2022"), (None, None), ("recently", None)])
def test_periods_become_fingertips_labels(period, label):
    assert fingertips_period(period) == label


def test_ingesting_the_nhsa_seed_reproduces_its_per_head_figures(warehouse_copy, monkeypatch):
    from pathlib import Path

    from typer.testing import CliRunner

    from pipelines.cli import app

    seed = Path(__file__).parent / "fixtures" / "reports" / "seeds" / "000_da2ce94b81bae466.txt"
    monkeypatch.setenv("OBSERVATORY_WAREHOUSE", str(warehouse_copy))
    result = CliRunner().invoke(app, ["ingest", str(seed)])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(warehouse_copy), read_only=True)
    rows = con.execute("""SELECT area_code, published_value, round(warehouse_value, 2), status FROM mart_reconciliation__claims
                          WHERE measure = 'research funding per head' ORDER BY published_value""").fetchall()
    con.close()
    verdicts = {(area, value): status for area, value, _, status in rows}
    for key in [("E47000006", 11.34), ("E47000001", 42.10), ("E12000007", 102.37), ("E47000008", 337.85), ("north", 25.72)]:
        assert verdicts.get(key) == "reproduced", rows
    assert verdicts[("greater_south_east", 68.58)] == "unverifiable"
