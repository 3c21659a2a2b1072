"""Population core tables: every release's figures, one chosen value per key, and bridge aggregates.

* ``by_release``: every figure from every release (LADs, counties, regions, countries as
  published) plus combined authorities and analysis groups summed from their member LADs.
* ``estimates`` (a view of ``by_release``, `sql/core_population__estimates.sql`): one value per area, year, sex
  and age: the release that is *about* that year (mid-2021 for 2021) where there is one, otherwise the latest release.
* ``census2021``: Census 2021 counts as published, plus combined authorities and groups summed
  from their member LADs on census day and on every later footprint in the bridge.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sources.geography import FootprintIndex, as_date, succession
from warehouse.transforms.aggregation import member_lads, sum_over_members, translate_codes

AGGREGATED_TYPES = ("combined_authority", "group")
_LAD = r"^E0[6-9]\d{6}$"


def aggregate_release(release: pd.DataFrame, footprints: pd.DataFrame, membership: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Combined-authority and group rows for one release, summed from that release's LADs."""
    lad_rows = release[release["area_code"].str.match(_LAD)].copy()
    lad_rows["population"] = pd.to_numeric(lad_rows["population"], errors="coerce")
    years = sorted(lad_rows["year"].unique())
    present = {int(y): set(lad_rows.loc[lad_rows["year"] == y, "area_code"].tolist()) for y in years}
    targets = areas.loc[areas["area_type"].isin(AGGREGATED_TYPES), "area_code"].tolist()
    members = member_lads(footprints, membership, targets, [int(y) for y in years], present)
    summed = sum_over_members(lad_rows[["area_code", "year", "sex", "age", "population"]], members, ["sex", "age"], "population")
    first = release.iloc[0]
    summed["release"] = first["release"]
    summed["geography_vintage"] = first["geography_vintage"]
    summed["source_id"] = first["source_id"]
    summed["source_sha256"] = first["source_sha256"]
    summed["source_locator"] = "sum of " + summed["member_count"].astype(str) + " member LADs (see core_geo__lad_footprints)"
    return summed.drop(columns=["member_count"])


def build_population(releases: list[pd.DataFrame], footprints: pd.DataFrame, membership: pd.DataFrame,
                     areas: pd.DataFrame) -> pd.DataFrame:
    """``by_release`` from the parsed releases: each release's rows and its aggregates."""
    parts = []
    for release in releases:
        parts.append(release)
        parts.append(aggregate_release(release, footprints, membership, areas))
    return pd.concat(parts, ignore_index=True)


def footprint_dates(footprints: pd.DataFrame, areas: pd.DataFrame, since: dt.date, today: dt.date | None = None) -> list[dt.date]:
    """``since`` and every later date (not after ``today``) on which an aggregated area's membership changed."""
    today = today or dt.date.today()
    targets = set(areas.loc[areas["area_type"].isin(AGGREGATED_TYPES), "area_code"])
    starts = {d for d in map(as_date, footprints.loc[footprints["area_code"].isin(targets), "valid_from"]) if d}
    ends = {d + dt.timedelta(days=1) for d in map(as_date, footprints.loc[footprints["area_code"].isin(targets), "valid_to"]) if d}
    return sorted({since} | {d for d in starts | ends if since < d <= today})


def build_census(published: pd.DataFrame, footprints: pd.DataFrame, membership: pd.DataFrame, areas: pd.DataFrame,
                 today: dt.date | None = None) -> pd.DataFrame:
    """Census counts as published (English and Welsh areas, England and Wales) plus sums for combined authorities and groups.

    Sums use the members on census day and on every later date the bridge changes a membership (so the
    footprint in force on any date D is the row with the latest ``footprint_date`` <= D), mapped onto the
    census's LADs through predecessor/successor links; an area with no members on a date gets no row for it.
    """
    census_day = published["census_date"].iloc[0]
    rows = published.assign(footprint_date=census_day, member_count=None)
    rows = rows[rows["area_code"].str.match(r"^[EKW]\d{8}$")]
    lad_rows = rows[rows["area_code"].str.match(_LAD)]
    present = set(lad_rows["area_code"])
    successors, predecessors = succession(membership)
    by_lad = {(c, s): (p, loc) for c, s, p, loc in zip(lad_rows["area_code"], lad_rows["sex"], lad_rows["population"], lad_rows["source_locator"])}
    dates = footprint_dates(footprints, areas, census_day, today)
    first = published.iloc[0]
    index = FootprintIndex(footprints)
    sums = []
    for area in sorted(areas.loc[areas["area_type"].isin(AGGREGATED_TYPES), "area_code"]):
        for day in dates:
            lads = index.lads_in(area, day)
            translated = translate_codes(lads, present, successors, predecessors) if lads else None
            if not translated:
                continue
            for sex in ("persons", "female", "male"):
                values = [by_lad[(lad, sex)][0] for lad in translated]
                sums.append({
                    "area_code": area, "sex": sex, "age": "all", "population": sum(values), "census_date": census_day,
                    "footprint_date": day, "method": "sum_of_lads", "member_count": len(translated),
                    "source_id": first["source_id"], "source_sha256": first["source_sha256"],
                    "source_locator": f"sum of {len(translated)} member LADs on {day.isoformat()} (see core_geo__lad_footprints), "
                                      f"mapped onto the census's 2021 LADs: {' '.join(sorted(translated))}",
                })
    columns = ["area_code", "sex", "age", "population", "census_date", "footprint_date", "method", "member_count",
               "source_id", "source_sha256", "source_locator"]
    return pd.concat([rows[columns], pd.DataFrame(sums, columns=columns)], ignore_index=True)
