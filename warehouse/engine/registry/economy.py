"""Economy: ONS regional accounts and subregional productivity by ITL area, and their indicator feeds."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AREA_CODE, PROVENANCE, YEAR
from warehouse.engine.registry.indicators import DEFINITION_FIELDS, VALUE_FIELDS, VALUE_KEY

ECONOMY_SOURCES = ("ons_productivity_itl", "ons_regional_gdp_itl")

ITL_CODE = Field("itl_code", "text", "ONS International Territorial Level code (January 2021), e.g. `TLC` North East (ITL1), `TLC1` (ITL2), `TLC11` (ITL3); `UK`/`UKX` United Kingdom (with / less Extra-Regio), `TLB` England, `TLZ` Extra-Regio.",
                 pattern=r"^(UK|UKX|TL[A-Z0-9]{1,3})$")
ITL_LEVEL = Field("itl_level", "text", "ITL level as the workbook labels it (`Other` is England or Extra-Regio).",
                  allowed=("UK", "Other", "ITL1", "ITL2", "ITL3"))

TABLES = [
    Table(
        name="core_economy__itl_values",
        description="Every figure of the bundled ONS regional economy workbooks as published: GVA per hour worked and per filled job (£ and indices, smoothed and unsmoothed, 2002/2004-2021), hours and jobs, GVA and GDP (£m), total resident population and GDP per head (1998-2021), for the UK, England and every ITL1/ITL2/ITL3 area.",
        grain="measure x ITL area x year",
        primary_key=("measure_id", "itl_code", "year"),
        fields=(
            Field("measure_id", "text", "What the figure measures (e.g. `gva_per_hour_worked_gbp`, `gva_current_prices_gbp_m`, `hours_worked_per_week`).", pattern=r"^[a-z0-9_]+$"),
            ITL_CODE,
            ITL_LEVEL,
            Field("itl_name", "text", "Area name as printed in the workbook."),
            YEAR.but(description="Calendar year the figure refers to."),
            Field("value", "double", "The published figure, in `unit` (NULL where ONS printed a marker instead, see `value_note`).", nullable=True),
            Field("value_note", "text", "ONS marker printed instead of a value (e.g. `u` unreliable), if any.", nullable=True),
            Field("unit", "text", "Unit of `value` (e.g. `GBP per hour`, `index (UK=100)`, `GBP million`, `persons`)."),
            *PROVENANCE,
        ),
        sources=ECONOMY_SOURCES,
    ),
    Table(
        name="core_economy__itl_areas",
        description="Every ITL area in the economy workbooks with the GSS area it is equivalent to, if any: ITL1 TLC..TLK are the 9 English regions (derived through the bundled LAD23-to-ITL lookup and the geography bridge), TLB is England, an ITL3 made of exactly one whole LAD is that LAD.",
        grain="one row per ITL code",
        primary_key=("itl_code",),
        fields=(
            ITL_CODE,
            ITL_LEVEL,
            Field("itl_name", "text", "Area name as printed in the workbook."),
            AREA_CODE.but(name="area_code", nullable=True, description="GSS code of the equivalent area (region, England, UK or one LAD); NULL when the ITL area matches no single GSS area."),
            Field("equivalence", "text", "How the ITL area relates to `area_code`: `uk`, `country`, `region` (ITL1 = English region), `lad` (ITL3 made of exactly one whole LAD), or `none`.",
                  allowed=("uk", "country", "region", "lad", "none")),
            Field("member_lads", "integer", "Number of English LADs (April 2023) wholly or partly in the ITL area (NULL outside England).", nullable=True, ge=0),
            *PROVENANCE,
        ),
        sources=("ons_geo_lad23_itl21", *ECONOMY_SOURCES),
    ),
    Table(
        name="core_economy__lad_itl3",
        description="Which ITL3 area (January 2021) each English LAD (April 2023) lies in, with whether the LAD is the whole of that ITL3; join it to `core_economy__itl_values` to read the ITL3 figures that cover a LAD which is not an ITL3 by itself.",
        grain="one row per LAD and ITL3",
        primary_key=("lad_code", "itl3_code"),
        fields=(
            AREA_CODE.but(name="lad_code", description="GSS code of an English LAD (April 2023).", pattern=r"^E0[6-9]\d{6}$"),
            ITL_CODE.but(name="itl3_code", description="ITL3 area the LAD lies (wholly or partly) in."),
            ITL_CODE.but(name="itl2_code", description="ITL2 area of that ITL3."),
            ITL_CODE.but(name="itl1_code", description="ITL1 area of that ITL3."),
            Field("lad_is_whole_itl3", "boolean", "True when the ITL3 is exactly this one LAD (so ITL3 figures are the LAD's figures)."),
            Field("lad_in_several_itl3", "boolean", "True when the LAD straddles ITL3 areas (Cumberland, Westmorland and Furness)."),
            *PROVENANCE,
        ),
        sources=("ons_geo_lad23_itl21",),
    ),
    Table(
        name="core_economy__indicator_values",
        description="Economy indicator values (productivity, GVA and GDP per head, output totals, population as published) for the UK, England, the 9 regions, LADs that are an ITL3 by themselves, combined authorities and analysis groups whose footprint is a union of whole ITL areas.",
        grain="indicator x area x sex x age x period",
        primary_key=VALUE_KEY,
        fields=VALUE_FIELDS,
        sources=(*ECONOMY_SOURCES, "ons_geo_lad23_itl21"),
        notes="Group and combined-authority values are recomputed from additive totals of whole ITL areas (sums first, then ratios); indices for them are the recomputed £ value over the UK's. Chained-volume and smoothed series are not aggregated.",
    ),
    Table(
        name="core_economy__indicator_definitions",
        description="Definitions of the economy indicators.",
        grain="one row per indicator",
        primary_key=("indicator_id",),
        fields=DEFINITION_FIELDS,
        sources=ECONOMY_SOURCES,
    ),
]
