"""Aggregating LAD figures to larger areas through the dated geography bridge (pure pandas).

``member_lads(...)`` answers "which LADs, on a release's geography, make up area X in year Y":
the membership valid on 30 June of Y (or, for an area that did not exist yet, its earliest
footprint: method ``sum_of_lads_later_footprint``), translated onto the release's LAD vintage
through predecessor/successor links. Additive measures (population, counts, money) are then
summed; rates are never averaged here.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sources.geography import FootprintIndex, succession


def translate_codes(lads: list[str], present: set[str], successors: dict[str, list[str]], predecessors: dict[str, list[str]]) -> set[str] | None:
    """Map LAD codes onto the set ``present`` (a release's LADs) through reorganisations; None if impossible."""
    out: set[str] = set()
    for code in lads:
        frontier, seen = [code], set()
        found = False
        while frontier:
            c = frontier.pop()
            if c in seen:
                continue
            seen.add(c)
            if c in present:
                out.add(c)
                found = True
                continue
            frontier += successors.get(c, []) + predecessors.get(c, [])
        if not found:
            return None
    return out


def member_lads(footprints: pd.DataFrame, membership: pd.DataFrame, areas: list[str], years: list[int],
                present_by_year: dict[int, set[str]]) -> pd.DataFrame:
    """Rows (area_code, year, lad_code, method) for every area and year that can be resolved."""
    successors, predecessors = succession(membership)
    index = FootprintIndex(footprints)
    rows = []
    for area in areas:
        for year in years:
            method = "sum_of_lads"
            lads = index.lads_in(area, dt.date(year, 6, 30))
            if not lads:
                first = index.first_day(area)
                if first is None or first.year <= year:
                    continue
                lads, method = index.lads_in(area, first), "sum_of_lads_later_footprint"
            translated = translate_codes(lads, present_by_year.get(year, set()), successors, predecessors)
            if translated:
                rows += [(area, year, lad, method) for lad in sorted(translated)]
    return pd.DataFrame(rows, columns=["area_code", "year", "lad_code", "method"])


def sum_over_members(values: pd.DataFrame, members: pd.DataFrame, keys: list[str], value_column: str) -> pd.DataFrame:
    """Sum ``value_column`` of LAD rows (``area_code`` = LAD) over each area's members, by ``keys``."""
    joined = members.merge(values.rename(columns={"area_code": "lad_code"}), on=["lad_code", "year"], how="inner")
    grouped = joined.groupby(["area_code", "year", "method", *keys], as_index=False).agg(
        **{value_column: (value_column, "sum"), "member_count": ("lad_code", "nunique")}
    )
    return grouped
