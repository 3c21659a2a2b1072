"""Population core tables: every release's figures, one chosen value per key, and bridge aggregates.

* ``by_release``: every figure from every release (LADs, counties, regions, countries as
  published) plus combined authorities and analysis groups summed from their member LADs.
* ``estimates``: one value per area, year, sex and age: the release that is *about* that year
  (mid-2021 for 2021) where there is one, otherwise the latest release.
"""

from __future__ import annotations

import pandas as pd

from warehouse.transforms.aggregation import member_lads, sum_over_members

AGGREGATED_TYPES = ("combined_authority", "group")
_LAD = r"^E0[6-9]\d{6}$"


def aggregate_release(release: pd.DataFrame, footprints: pd.DataFrame, membership: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Combined-authority and group rows for one release, summed from that release's LADs."""
    lad_rows = release[release["area_code"].str.match(_LAD)].copy()
    lad_rows["population"] = pd.to_numeric(lad_rows["population"], errors="coerce")
    years = sorted(lad_rows["year"].unique())
    present = {int(y): set(lad_rows.loc[lad_rows["year"] == y, "area_code"]) for y in years}
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
                     areas: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(estimates, by_release) from the parsed releases."""
    parts = []
    for release in releases:
        parts.append(release)
        parts.append(aggregate_release(release, footprints, membership, areas))
    by_release = pd.concat(parts, ignore_index=True)
    own_year = by_release["release"] == "mid-" + by_release["year"].astype(str)
    latest = by_release["release"].max()
    chosen = by_release[own_year | ((by_release["release"] == latest) & ~by_release["year"].isin(
        by_release.loc[own_year, "year"].unique()))]
    return chosen.reset_index(drop=True), by_release
