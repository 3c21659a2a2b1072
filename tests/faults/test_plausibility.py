"""Impossible values are refused by the contracts (issue 14, part 2).

A bundled life expectancy of 795,000 years, or ``inf``, used to pass every contract and land in core tables
and marts. Ranges are registry metadata (`warehouse.engine.registry.plausibility`): each measured field's
unit gives a physical range, indicator values are checked against their indicator's unit, every double must
be finite, and the Pandera schema generated from the registry blocks the load. The end-to-end cases edit the
bundled life-expectancy file in a scratch snapshot (catalogue updated to match) and run the real refresh.
"""

from __future__ import annotations

import hashlib
import math

import duckdb
import pandas as pd
import pytest

from sources import catalogue as cat
from tests.conftest import run_refresh
from warehouse.engine.contracts import ContractViolation, schema_for, stable_doubles, validate
from warehouse.engine.paths import warehouse_paths
from warehouse.engine.registry import REGISTRY, Field, Table
from warehouse.engine.registry.plausibility import UNIT_RANGES, bounds, unit_range

pytestmark = [pytest.mark.slow, pytest.mark.faults]
LE_SOURCE = "fingertips_90366_le"


def _value_table() -> Table:
    return next(t for t in REGISTRY.values() if t.name.startswith("core_health__") and "value" in t.column_names
                and t.field("value").unit_from == "indicator_id")


def _frame(table: Table, value: float, indicator_id: str = "90366") -> pd.DataFrame:
    """One otherwise valid row of ``table`` whose ``value`` is ``value``."""
    defaults = {"text": "x", "integer": 1, "bigint": 1, "double": 1.0, "date": pd.Timestamp("2020-01-01"),
                "timestamp": pd.Timestamp("2020-01-01"), "boolean": True}
    row = {f.name: None if f.nullable else (f.allowed[0] if f.allowed else defaults[f.dtype]) for f in table.fields}
    row.update({"indicator_id": indicator_id, "area_code": "E06000010", "sex": "female", "age": "all", "value": value,
                "source_sha256": "0" * 64})
    return pd.DataFrame([row])


@pytest.mark.scenario("fails_clearly", "loss")
@pytest.mark.parametrize("value", [795_000.0, math.inf, -1.0])
def test_an_impossible_life_expectancy_is_refused_by_the_contract(value):
    table = _value_table()
    with pytest.raises(ContractViolation) as err:
        validate(table, _frame(table, value), inputs=["trafford_themes_life_expectancy.csv"])
    text = str(err.value)
    assert "'value'" in text and "trafford_themes_life_expectancy.csv" in text and "nothing was loaded" in text, text


def test_a_plausible_value_passes_and_ranges_come_from_the_unit():
    table = _value_table()
    assert validate(table, _frame(table, 79.5)).loc[0, "value"] == 79.5
    assert validate(table, _frame(table, 250.0, "93721")).loc[0, "value"] == 250.0  # a rate per 100,000, not years
    assert unit_range("years") == (0, 120) and unit_range("%") == (0, 100) and unit_range("persons") == (0, 100_000_000)
    assert unit_range("years", "slope index of inequality") == (-120, 120)  # a gap may be negative
    assert bounds(Field("population", "bigint", "p", unit="persons")) == (0, 100_000_000)
    assert bounds(Field("difference_pct", "double", "d", unit="%")) == (-100, 100)
    assert set(UNIT_RANGES) >= {"years", "%", "per 100,000", "persons", "GBP"}


def test_every_double_in_the_registry_is_checked_finite_by_pandera():
    for table in REGISTRY.values():
        schema = schema_for(table)
        for f in table.fields:
            if f.dtype == "double":
                names = [c.name for c in schema.columns[f.name].checks]
                assert "finite (not inf)" in names, (table.name, f.name, names)


def test_money_may_be_any_finite_amount():
    table = Table("core_x__money", "d", "g", (Field("amount_gbp", "double", "a", unit="GBP"),), ())
    assert validate(table, pd.DataFrame({"amount_gbp": [-5.0, 1e12]})).shape == (2, 1)
    with pytest.raises(ContractViolation, match="finite"):
        validate(table, pd.DataFrame({"amount_gbp": [math.inf]}))


def test_doubles_are_stored_rounded_so_summing_order_cannot_change_a_rebuild():
    table = Table("core_x__sums", "d", "g", (Field("total", "double", "t"),), ())
    a = sum([0.1, 0.2, 0.3, 1e-3] * 1000)
    b = sum(reversed([0.1, 0.2, 0.3, 1e-3] * 1000))
    assert a != b  # the same numbers, summed in another order
    assert stable_doubles(table, pd.DataFrame({"total": [a]}))["total"][0] == stable_doubles(table, pd.DataFrame({"total": [b]}))["total"][0]


def test_the_noise_left_of_a_true_zero_is_stored_as_zero_and_zero_has_one_sign():
    """A slope of a flat series came out -1.7e-14 in one build and 0.0 in the next (mart_area_profile.trend_change):
    significant digits keep such noise, so a value 13 orders of magnitude under its column's largest is stored as 0."""
    import numpy as np

    table = Table("core_x__trends", "d", "g", (Field("change", "double", "t"),), ())
    stored = stable_doubles(table, pd.DataFrame({"change": [5.25, -1.7e-14, 2.4e-12, -0.0, 1e-3, None]}))["change"]
    assert stored[[0, 1, 3, 4]].tolist() == [5.25, 0.0, 0.0, 1e-3] and np.isnan(stored[5])
    assert stored[2] == pytest.approx(2.4e-12, rel=1e-12)  # above the floor: kept, to 12 significant digits
    assert not np.signbit(stored[1]) and not np.signbit(stored[3])


def _edit_life_expectancy(snapshot, replacement: str) -> None:
    """Put ``replacement`` in the first value cell of the bundled life-expectancy file (catalogue updated)."""
    path = snapshot.file(LE_SOURCE)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    cells = lines[1].rstrip("\r\n").split(",")
    cells[header.index("value")] = replacement
    lines[1] = ",".join(cells) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    snapshot.rehash(LE_SOURCE)


@pytest.mark.scenario("fails_clearly", "loss")
@pytest.mark.parametrize("bad", ["795000", "inf"])
def test_a_bundled_impossible_life_expectancy_fails_the_build_and_leaves_the_published_file(warehouse_copy, scratch_snapshot, bad):
    from pipelines.errors import one_line

    _edit_life_expectancy(scratch_snapshot, bad)
    before = hashlib.sha256(warehouse_copy.read_bytes()).hexdigest()
    result = run_refresh(warehouse_copy, raise_on_error=False)
    assert not result.success
    lines = [one_line(e.step_key, e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
    assert any("'value'" in line or "value" in line for line in lines), lines
    assert any("trafford_themes_life_expectancy.csv" in line for line in lines), lines
    assert hashlib.sha256(warehouse_copy.read_bytes()).hexdigest() == before
    # the rejected file is credited nowhere: no provenance row for it in the working database either
    rejected = cat.catalogue()[LE_SOURCE].sha256
    con = duckdb.connect(str(warehouse_paths(warehouse_copy).working), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM core_provenance__files WHERE sha256 = ?", [rejected]).fetchone()[0] == 0
    finally:
        con.close()
