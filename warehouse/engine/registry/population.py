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
    ),
    Table(
        name="core_population__estimates_by_release",
        description="Every population figure from every bundled release, including later releases' revisions of earlier years (e.g. mid-2021 as revised in the mid-2023 release).",
        grain="area x year x sex x age x release",
        primary_key=("area_code", "year", "sex", "age", "release"),
        fields=_POP_FIELDS,
        sources=("ons_mye2021", "ons_mye2023"),
    ),
]
