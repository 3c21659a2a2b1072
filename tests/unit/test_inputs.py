"""`sources.inputs.map_distinct`: the same series as ``Series.map``, dtype included, with the function called once
per distinct value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sources.inputs import map_distinct

SERIES = {
    "labels": pd.Series([" 2015 - 17", "2016", " 2015 - 17", "2016", "Mar 2024"] * 3),
    "text dtype": pd.Series(["Male", "female ", "Male", None, "Persons"], dtype="string"),
    "null kinds": pd.Series(["a", None, np.nan, "a", pd.NA, None], dtype=object),
    "numbers": pd.Series([1.5, 2.0, 1.5, np.nan, 2.0]),
    "empty": pd.Series([], dtype=object),
    "labelled index": pd.Series(["x", "y", "x"], index=[10, 5, 7]),
}


def _clean(v):
    return type(v).__name__ if pd.isna(v) else str(v).strip().lower()


@pytest.mark.parametrize("name", SERIES)
def test_same_series_as_map(name):
    values = SERIES[name]
    pd.testing.assert_series_equal(map_distinct(values, _clean), values.map(_clean), check_exact=True)


def test_called_once_per_distinct_value():
    values = pd.Series(["a", "b", "a", None, "b", np.nan, None] * 1000, dtype=object)
    seen = []
    map_distinct(values, lambda v: seen.append(v) or v)
    assert len(seen) == 4  # a, b, None and NaN: each kind of null maps on its own
