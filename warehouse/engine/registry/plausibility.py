"""Physical plausibility: the range a measured value can take, from its unit (registry metadata, not code paths).

Every ``double``/``integer``/``bigint`` field of the registry is *measured* unless it is a key or count the
field's own ``ge``/``le`` already bound. The contract (`warehouse.engine.contracts`) turns this module's
answers into Pandera checks that block a load (and evaluates them on frames: this module, like the whole registry,
imports no pandas, so reading the registry costs a command nothing):

* every floating field must be **finite** (``inf``/``-inf`` refused; ``NaN`` is a null, refused unless nullable);
* a field with a ``unit`` gets the unit's range from :data:`UNIT_RANGES` (life expectancy in ``years`` 0–120,
  ``%`` 0–100, rates ``per 100,000`` 0–100,000, populations in ``persons`` 0–100 million, money finite),
  intersected with the field's own ``ge``/``le``;
* a field whose unit is the unit *of the indicator in another column* (``unit_from="indicator_id"``, the
  ``value`` and confidence limits of the indicator tables) is checked row by row against that indicator's
  unit from the indicator catalogue; a gap between two values (value type *inequality*, *gap*,
  *difference*, *change*) may be negative, so it ranges over ``[-hi, hi]``.
"""

from __future__ import annotations

import functools

# unit -> (lowest, highest) physically possible; None: unbounded on that side (the value must still be finite)
UNIT_RANGES: dict[str, tuple[float | None, float | None]] = {
    "years": (0, 120),
    "%": (0, 100),
    "proportion": (0, 1),
    "per 100,000": (0, 100_000),
    "per 1,000": (0, 1_000),
    "persons": (0, 100_000_000),
    "people": (0, 100_000_000),
    "deaths": (0, 100_000_000),
    "cases": (0, 100_000_000),
    "GBP": (None, None),
    "GBP per head": (None, None),
    "GBP per hour": (None, None),
}
_GAP_WORDS = ("inequality", "gap", "difference", "change")


def unit_range(unit: str | None, value_type: str | None = None) -> tuple[float | None, float | None]:
    """The physical range of a value in ``unit`` (``(None, None)`` when the unit sets none)."""
    lo, hi = UNIT_RANGES.get((unit or "").strip(), (None, None))
    if value_type and any(word in value_type.lower() for word in _GAP_WORDS) and hi is not None:
        return -hi, hi
    return lo, hi


def bounds(field) -> tuple[float | None, float | None]:
    """The field's effective ``(ge, le)``: its own bounds intersected with its unit's physical range."""
    # a difference between two values (``difference_pct``, ``trend_change``) may be negative: named as such, it ranges over [-hi, hi]
    lo, hi = unit_range(field.unit, field.name.replace("_", " ")) if field.dtype in ("double", "integer", "bigint") else (None, None)
    ge = field.ge if lo is None else (lo if field.ge is None else max(field.ge, lo))
    le = field.le if hi is None else (hi if field.le is None else min(field.le, hi))
    return ge, le


def must_be_finite(field) -> bool:
    return field.dtype == "double"


@functools.lru_cache(maxsize=1)
def indicator_units() -> dict[str, tuple[str, str | None]]:
    """Indicator id -> (unit, value_type) for every catalogued indicator whose unit this module knows."""
    from sources.fingertips import catalogue

    return {i.id: (i.unit, i.value_type) for i in catalogue().indicators.values()}


def describe(field) -> str:
    """The plausibility rule in words, for the data dictionary."""
    parts = []
    if must_be_finite(field):
        parts.append("finite")
    if getattr(field, "unit_from", None):
        parts.append(f"within the physical range of the unit of its `{field.unit_from}`")
    return "; ".join(parts)
