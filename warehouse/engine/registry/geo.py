"""Geography: areas of every kind and vintage, and the dated links between them."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import (
    AREA_CODE,
    AREA_CODE_PATTERN,
    AREA_NAME,
    AREA_TYPE,
    PROVENANCE,
    VALID_FROM,
    VALID_TO,
)

_AREA_FIELDS = (
    AREA_CODE.but(unique=True),
    AREA_NAME,
    AREA_TYPE,
    Field("vintage", "text", "Boundary vintage the code belongs to: the year of the ONS lookup that lists it (e.g. `2023` for April 2023 LADs), or `curated` for areas the observatory defines.", pattern=r"^(\d{4}|curated)$"),
    Field("lad_type", "text", "For LADs: `unitary`, `metropolitan`, `london_borough` or `non_metropolitan` (from the GSS prefix E06/E08/E09/E07).", nullable=True,
          allowed=("unitary", "metropolitan", "london_borough", "non_metropolitan")),
    VALID_FROM,
    VALID_TO,
    Field("is_current", "boolean", "True when the area exists today (no end date)."),
    *PROVENANCE,
)

TABLES = [
    Table(
        name="core_geo__areas",
        description="Current areas the observatory reports on: the 296 English LADs (April 2023 vintage), current counties, combined authorities, the 9 English regions, England and the analysis groups `north` and `greater_south_east`.",
        grain="one row per current area code",
        primary_key=("area_code",),
        fields=_AREA_FIELDS,
        sources=("ons_geo_lad23_itl21", "mysociety_local_authorities", "ons_geo_wd19_hierarchy"),
        notes="Former areas (abolished LADs, counties and combined authorities) are in `core_geo__former_areas`; the view `core_geo__areas_all` unions both for name look-ups of any vintage.",
    ),
    Table(
        name="core_geo__former_areas",
        description="Areas that no longer exist (LADs merged in the 2019-2023 reorganisations, abolished counties and combined authorities), kept so older data keeps its names and can be mapped forward.",
        grain="one row per former area code",
        primary_key=("area_code",),
        fields=_AREA_FIELDS,
        sources=("ons_geo_lad18_rgn18", "ons_geo_wd19_hierarchy", "mysociety_local_authorities", "observatory_geo_amendments"),
    ),
    Table(
        name="core_geo__area_membership",
        description="Dated child-to-parent links: LAD to county, combined authority and region; region to country and analysis group; and predecessor LAD or county to its successor(s).",
        grain="one row per child, parent and validity start",
        primary_key=("child_code", "parent_code", "relationship", "valid_from_key"),
        fields=(
            AREA_CODE.but(name="child_code", description="GSS code of the child area (or, for `succeeded_by`, the predecessor)."),
            AREA_CODE.but(name="parent_code", description="GSS code of the parent area (or, for `succeeded_by`, the successor), or an analysis-group key."),
            AREA_TYPE.but(name="child_type", description="Kind of the child area."),
            AREA_TYPE.but(name="parent_type", description="Kind of the parent area."),
            Field("relationship", "text", "`within`: the child lies inside the parent; `succeeded_by`: the child was abolished and its whole area passed to the parent.",
                  allowed=("within", "succeeded_by")),
            VALID_FROM,
            VALID_TO,
            Field("valid_from_key", "text", "`valid_from` as text (`-` when NULL), so the key is never NULL."),
            *PROVENANCE,
        ),
        sources=("ons_geo_lad23_itl21", "ons_geo_wd19_hierarchy", "ons_geo_lad18_rgn18", "ons_geo_lad19_cauth19", "mysociety_local_authorities", "observatory_geo_amendments"),
    ),
    Table(
        name="core_geo__lad_footprints",
        description="Which LADs made up each area on each date range: the membership bridge flattened to LADs (groups via regions, regions and combined authorities via their LADs). Query it, or the macro `lads_in(area_code, on_date)`, to answer 'which LADs made up area X on date D'.",
        grain="one row per area, member LAD and validity start",
        primary_key=("area_code", "lad_code", "valid_from_key"),
        fields=(
            AREA_CODE,
            AREA_CODE.but(name="lad_code", description="GSS code of a member LAD.", pattern=r"^E0[6-9]\d{6}$"),
            VALID_FROM,
            VALID_TO,
            Field("valid_from_key", "text", "`valid_from` as text (`-` when NULL), so the key is never NULL."),
        ),
    ),
]

LAD_CODE_PATTERN = r"^E0[6-9]\d{6}$"
__all__ = ["TABLES", "AREA_CODE_PATTERN", "LAD_CODE_PATTERN"]
