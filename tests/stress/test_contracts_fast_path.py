"""The fast paths of loading (benchmarks/README.md) change speed only, never results.

``contracts.validate`` first coerces with Pandera's own dtype coercion and runs Pandera's own schema for
each column on that column's distinct values (the checks are decided value by value), with keys checked on
whole rows; only a frame that passes everything is returned that way, anything else goes through the full
Pandera validation of every row, whose report is unchanged. ``loader.replace_table`` hands DuckDB the validated frame as
Arrow, and inserts frames of ``PARALLEL_INSERT_ROWS`` rows or more on every core. These tests compare
the fast and the plain paths on every published table and on edge cases.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from warehouse.engine import contracts, loader
from warehouse.engine.contracts import ContractViolation
from warehouse.engine.registry import REGISTRY

VALUES = REGISTRY["core_indicators__values"]


def _pandera(table, frame):
    return contracts.schema_for(table).validate(frame, lazy=True)[table.column_names]


def _indicator_frame(rows: int = 12_000) -> pd.DataFrame:
    """Indicator rows as a parser hands them over: dates and numbers as text, gaps, a few repeated values."""
    i = np.arange(rows)
    return pd.DataFrame({
        "indicator_id": [f"ind_{k % 7}" for k in i],
        "area_code": [f"E06{k // 21:06d}" for k in i],
        "sex": np.array(["persons", "female", "male"])[i % 3],
        "age": "all",
        "period_label": (2001 + (i // 3) % 7).astype(str),
        "period_start": [f"{2001 + (k // 3) % 7}-01-01" for k in i],
        "period_end": [f"{2001 + (k // 3) % 7}-12-31" for k in i],
        "value": np.where(i % 13 == 0, np.nan, i / 7),
        "lower_ci_95": None, "upper_ci_95": i / 7 + 1, "count": (i % 50).astype(float), "denominator": 1000,
        "value_note": np.where(i % 97 == 0, "revised", None), "compared_to_england": None,
        "geography_vintage": 2023, "method": "published", "source_id": "test", "source_sha256": "ab" * 32,
        "source_locator": [f"line {k + 2}" for k in i],
        "not_in_the_contract": 1,
    })


def test_fast_validation_equals_pandera_on_every_published_table(built_warehouse):
    con = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        checked = 0
        for name, table in REGISTRY.items():
            if name not in present:
                continue
            frame = con.execute(f'SELECT * FROM "{name}"').df()
            fast = contracts._validate_by_distinct_values(table, frame)
            assert fast is not None, f"{name}: a published table should pass its own contract"
            pd.testing.assert_frame_equal(fast, _pandera(table, frame), check_exact=True)
            checked += 1
    finally:
        con.close()
    assert checked >= 10


def test_fast_validation_equals_pandera_on_parser_shaped_text():
    frame = _indicator_frame()
    fast = contracts._validate_by_distinct_values(VALUES, frame)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, _pandera(VALUES, frame), check_exact=True)
    assert list(fast.columns) == VALUES.column_names  # extra columns filtered, as strict="filter" does


def test_dates_parsed_once_per_distinct_value_keep_gaps_and_formats():
    from warehouse.engine.registry import Table
    from warehouse.engine.registry.fields import AREA_CODE, VALID_FROM, VALID_TO

    table = Table(name="core_test__dated", description="Test.", grain="area", primary_key=("area_code",),
                  fields=(AREA_CODE, VALID_FROM, VALID_TO))
    i = np.arange(15_000)
    frame = pd.DataFrame({
        "area_code": [f"E06{k:06d}" for k in i],
        "valid_from": [None if k % 7 == 0 else f"{2001 + k % 9}-04-01" for k in i],  # gaps
        "valid_to": [None if k % 5 else f"{2002 + k % 9}-03-31 00:00:00" for k in i],  # another format, mostly empty
    })
    fast = contracts._validate_by_distinct_values(table, frame)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, _pandera(table, frame), check_exact=True)
    assert fast["valid_from"].isna().sum() == frame["valid_from"].isna().sum()


@pytest.mark.parametrize("column, bad", [
    ("area_code", "X1"),          # pattern
    ("sex", "unknown"),           # allowed values
    ("period_end", "not a date"), # coercion
    ("method", None),             # not null
    ("source_locator", None),     # not null in a free-text column: its first value and first null decide it
])
def test_a_frame_with_any_failure_goes_to_pandera_and_gets_its_report(column, bad):
    frame = _indicator_frame()
    frame.loc[5, column] = bad
    assert contracts._validate_by_distinct_values(VALUES, frame) is None
    with pytest.raises(ContractViolation) as err:
        contracts.validate(VALUES, frame, ["f.csv"])
    assert f"'{column}'" in str(err.value) and "nothing was loaded" in str(err.value)


def test_a_free_text_column_is_decided_by_its_first_value_and_first_null():
    values = pd.Series(["a", None, "b", None, "c"], dtype="string")
    assert contracts._null_witnesses(values).index.tolist() == [0, 1]
    assert contracts._null_witnesses(values.dropna()).tolist() == ["a"]
    assert contracts._null_witnesses(values.iloc[[1, 3]]).index.tolist() == [1]
    assert contracts._null_witnesses(values.iloc[:0]).empty
    assert str(contracts._null_witnesses(values).dtype) == str(values.dtype)


def test_duplicate_keys_go_to_pandera():
    frame = _indicator_frame()
    frame.loc[7, ["indicator_id", "area_code", "sex", "period_label"]] = frame.loc[8, ["indicator_id", "area_code", "sex", "period_label"]].to_numpy()
    assert contracts._validate_by_distinct_values(VALUES, frame) is None
    with pytest.raises(ContractViolation, match=r"duplicate primary key"):
        contracts.validate(VALUES, frame)


def test_loading_through_arrow_lands_exactly_what_loading_through_pandas_did(tmp_path, monkeypatch):
    frame = _indicator_frame()
    arrow = duckdb.connect(str(tmp_path / "arrow.duckdb"))
    loader.replace_table(arrow, VALUES, frame)
    monkeypatch.setattr(loader, "_as_arrow", lambda validated: validated)  # the pandas scan, as before
    pandas_con = duckdb.connect(str(tmp_path / "pandas.duckdb"))
    loader.replace_table(pandas_con, VALUES, frame)
    pandas_con.close()
    try:
        arrow.execute(f"ATTACH '{tmp_path / 'pandas.duckdb'}' AS p (READ_ONLY)")
        differing = arrow.execute(
            "SELECT count(*) FROM ((SELECT * FROM core_indicators__values EXCEPT ALL SELECT * FROM p.core_indicators__values) "
            "UNION ALL (SELECT * FROM p.core_indicators__values EXCEPT ALL SELECT * FROM core_indicators__values))").fetchall()[0][0]
        assert differing == 0
        assert arrow.execute("SELECT count(*), count(value) FROM core_indicators__values").fetchall() == [(len(frame), frame["value"].notna().sum())]
    finally:
        arrow.close()


def test_a_big_frame_is_inserted_in_parallel_with_the_same_rows_and_the_setting_restored(tmp_path, monkeypatch):
    frame = _indicator_frame()
    ordered = duckdb.connect(str(tmp_path / "ordered.duckdb"))
    loader.replace_table(ordered, VALUES, frame)
    ordered.close()
    monkeypatch.setattr(loader, "PARALLEL_INSERT_ROWS", 1_000)  # treat this frame as big
    con = duckdb.connect(str(tmp_path / "parallel.duckdb"))
    try:
        loader.replace_table(con, VALUES, frame)
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall() == [(True,)]
        con.execute(f"ATTACH '{tmp_path / 'ordered.duckdb'}' AS o (READ_ONLY)")
        differing = con.execute(
            "SELECT count(*) FROM ((SELECT * FROM core_indicators__values EXCEPT ALL SELECT * FROM o.core_indicators__values) "
            "UNION ALL (SELECT * FROM o.core_indicators__values EXCEPT ALL SELECT * FROM core_indicators__values))").fetchall()[0][0]
        assert differing == 0
        con.execute("SET preserve_insertion_order = false")  # a caller's own setting survives a load too
        loader.replace_table(con, VALUES, frame)
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall() == [(False,)]
    finally:
        con.close()
