"""Deprivation: English Indices of Deprivation LAD summaries (IoD2019, IoD2025) and their indicator feeds."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AREA_CODE, AREA_NAME, PROVENANCE
from warehouse.engine.registry.indicators import DEFINITION_FIELDS, VALUE_FIELDS, VALUE_KEY

DEPRIVATION_SOURCES = ("mhclg_iod2019_file10", "mhclg_iod2025_lad_tidy")

TABLES = [
    Table(
        name="core_deprivation__lad_summaries",
        description="English Indices of Deprivation LAD summaries as published: for each edition (2019 on 2019 LAD boundaries, 2025 on 2024 boundaries), LAD and domain (IMD and its 7 domains, IDACI, IDAOPI), the average rank and score, the proportion of LSOAs in the most deprived 10% nationally, and their ranks among LADs.",
        grain="edition x LAD x domain",
        primary_key=("edition", "lad_code", "domain"),
        fields=(
            Field("edition", "text", "IoD edition (`2019`, `2025`).", allowed=("2019", "2025")),
            AREA_CODE.but(name="lad_code", description="GSS code of the LAD, on the edition's own boundaries.", pattern=r"^E0[6-9]\d{6}$"),
            AREA_NAME.but(name="lad_name", description="LAD name as published."),
            Field("geography_vintage", "text", "LAD boundary year of the edition (`2019`, `2024`).", pattern=r"^\d{4}$"),
            Field("domain", "text", "Index or domain: `imd` (Index of Multiple Deprivation), `income`, `employment`, `education`, `health`, `crime`, `barriers`, `living_environment`, `idaci`, `idaopi`.",
                  allowed=("imd", "income", "employment", "education", "health", "crime", "barriers", "living_environment", "idaci", "idaopi")),
            Field("average_rank", "double", "Population-weighted average of the LAD's LSOA ranks (1 = most deprived LSOA in England).", ge=0),
            Field("rank_of_average_rank", "double", "Rank of the LAD among LADs by average rank (1 = most deprived).", ge=1),
            Field("average_score", "double", "Population-weighted average of the LAD's LSOA scores (IMD: a score; income/employment: a proportion of people).", unit="score"),
            Field("rank_of_average_score", "double", "Rank of the LAD among LADs by average score (1 = most deprived).", ge=1),
            Field("proportion_most_deprived_10pct", "double", "Proportion (0-1) of the LAD's LSOAs among the most deprived 10% of LSOAs nationally.", unit="proportion", ge=0, le=1),
            Field("rank_of_proportion_most_deprived_10pct", "double", "Rank of the LAD among LADs by that proportion (1 = highest proportion).", ge=1),
            Field("scale", "double", "Income and employment domains only (File 10): number of people income/employment deprived.", unit="persons", nullable=True, ge=0),
            *PROVENANCE,
        ),
        sources=DEPRIVATION_SOURCES,
        notes="IoD2019 is read from the original MHCLG File 10 workbook; the Trafford Data Lab tidy re-shape of it (`mhclg_iod2019_lad_tidy`) is parsed too and checked to agree value for value. Editions are not comparable over time (methods and boundaries change), so each has its own indicators.",
    ),
    Table(
        name="core_deprivation__indicator_values",
        description="Deprivation indicators: IMD 2019 and IMD 2025 average score, rank of average score and proportion of LSOAs in the most deprived 10%, for every LAD on the edition's own boundaries, plus population-weighted estimates for the 9 regions, England, combined authorities and the analysis groups.",
        grain="indicator x area x sex x age x period",
        primary_key=VALUE_KEY,
        fields=VALUE_FIELDS,
        sources=(*DEPRIVATION_SOURCES, "ons_mye2023"),
        notes="Areas larger than a LAD are estimates (method `population_weighted_estimate`): IoD2019 weighted by MHCLG's own population denominators implied by the Income domain (scale ÷ score); IoD2025 by ONS mid-2022 estimates. Ranks are only published for LADs.",
    ),
    Table(
        name="core_deprivation__indicator_definitions",
        description="Definitions of the deprivation indicators.",
        grain="one row per indicator",
        primary_key=("indicator_id",),
        fields=DEFINITION_FIELDS,
        sources=DEPRIVATION_SOURCES,
    ),
]
