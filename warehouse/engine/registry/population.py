"""Population: ONS mid-year estimates by area, year, sex and age, with aggregates through the bridge."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AGE, AREA_CODE, PROVENANCE, SEX, YEAR

_POP_FIELDS = (
    AREA_CODE,
    YEAR,
    SEX,
    AGE,
    Field("population", "bigint", "Usually resident population at 30 June of the year.", unit="persons", ge=0),
    Field("release", "text", "The ONS release the figure comes from (e.g. `mid-2023`); later releases revise earlier years."),
    Field("geography_vintage", "text", "LAD boundary vintage of the release (e.g. `2021`, `2023`).", pattern=r"^\d{4}$"),
    Field("method", "text",
          "`published`: as printed by ONS; `sum_of_lads`: summed from the LADs that were members on 30 June of the year; "
          "`sum_of_lads_later_footprint`: the area did not exist that year, so its earliest LAD footprint is mapped back through predecessor LADs.",
          allowed=("published", "sum_of_lads", "sum_of_lads_later_footprint")),
    *PROVENANCE,
)

TABLES = [
    Table(
        name="core_population__estimates",
        description="Mid-year population estimates by area, year, sex and single year of age: one value per key, from the release that first published that year on its own geography (mid-2021 for 2021, mid-2023 for 2023; other years' all-age totals from the mid-2023 MYE4 series). Combined authorities, regions and the analysis groups are summed from member LADs.",
        grain="area x year x sex x age",
        primary_key=("area_code", "year", "sex", "age"),
        fields=_POP_FIELDS,
        sources=("ons_mye2021", "ons_mye2023"),
        view_of="core_population__estimates_by_release",
    ),
    Table(
        name="core_population__estimates_by_release",
        description="Every population figure from every bundled release, including later releases' revisions of earlier years (e.g. mid-2021 as revised in the mid-2023 release).",
        grain="area x year x sex x age x release",
        primary_key=("area_code", "year", "sex", "age", "release"),
        fields=_POP_FIELDS,
        sources=("ons_mye2021", "ons_mye2023"),
    ),
    Table(
        name="core_population__census2021",
        description="Census 2021 usual residents on census day (21 March 2021) by sex, as ONS first published them (P01, rounded to the nearest 100): England, Wales, regions, counties, UAs, districts and London boroughs; plus combined authorities and the groups `north` and `greater_south_east` summed from their member LADs on census day and on every later date the geography bridge changes a membership (e.g. the combined authorities as from 7 May 2024: use the row with the latest `footprint_date` on or before the date wanted). A second population basis beside the mid-year estimates (the one the NHSA used for its per-head research funding).",
        grain="area x sex x age x footprint date",
        primary_key=("area_code", "sex", "age", "footprint_date"),
        fields=(
            AREA_CODE,
            SEX,
            AGE,
            Field("population", "bigint", "Usual residents on census day, rounded to the nearest 100 as published (sums of members are sums of rounded figures).", unit="persons", ge=0, le=100_000_000),
            Field("census_date", "date", "Census day (2021-03-21)."),
            Field("footprint_date", "date", "The date whose membership was used for combined authorities and groups (census day, or a later date on which the bridge changes a membership); for published areas, census day."),
            Field("method", "text", "`published`: as printed by ONS; `sum_of_lads`: summed from the member LADs on `footprint_date`, mapped onto the 2021 LADs.", allowed=("published", "sum_of_lads")),
            Field("member_count", "integer", "For sums: how many 2021 LADs were added up; NULL for published figures.", nullable=True, ge=1),
            *PROVENANCE,
        ),
        sources=("ons_census2021_p01",),
        notes="England = 56,489,800. Regions are as published (each figure is rounded separately, so a region differs from the sum of its LADs by up to 50 per LAD; England equals the sum of its LADs). For a combined authority created after census day, the census-day row is absent; the later footprint row exists.",
    ),
]
