"""Health: OHID Fingertips indicators, their aggregates, inequality breakdowns, benchmarks and area profiles.

The feed tables reuse the shared indicator field sets (``VALUE_FIELDS``, ``DEFINITION_FIELDS``) and
feed the `core_indicators__*` union. The indicator catalogue (`sources/fingertips_indicators.toml`)
is documented in the data dictionary by a section registered here.
"""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AREA_CODE, AREA_NAME, AREA_TYPE, PROVENANCE, SEX
from warehouse.engine.registry.indicators import DEFINITION_FIELDS, METHOD, POLARITY, VALUE_FIELDS, VALUE_KEY

HEALTH_SOURCES = (
    "fingertips_90362_hle", "fingertips_90366_le", "fingertips_93721_u75_preventable",
    "fingertips_40502_u75_preventable_cancer", "fingertips_export_93356",
    "fingertips_92443_smoking", "fingertips_93088_overweight", "fingertips_93015_inactive", "fingertips_92901_le_inequality",
)
# Earlier vintages: archived files of the same indicators as first published (sources with `archive = true`).
VINTAGE_SOURCES = ("fingertips_90362_hle_2020_06", "fingertips_90362_hle_2024_07", "fingertips_93721_u75_preventable_2024_07")
PUBLISHED_AT = Field("published_at", "date", "The date the file's figures are known to have been published by (the catalogue's `published`: the publisher's release date, or the day the named mirror captured them); NULL when not known.", nullable=True)
_VALUE = {f.name: f for f in VALUE_FIELDS}
POLARITY_WORDS = {"high_is_good": "higher is better", "low_is_good": "lower is better", "no_judgement": "no judgement"}


COMPARISON = Field(
    "comparison", "text",
    "The area against the comparator: `better` / `similar` / `worse` for indicators with a polarity, `higher` / `similar` / `lower` where no judgement applies, or `not_compared`.",
    allowed=("better", "similar", "worse", "higher", "lower", "not_compared"),
)
COMPARISON_METHOD = Field(
    "comparison_method", "text",
    "How `comparison` was reached: `ci95_overlap` (the area's 95% confidence interval against the comparator's value, as Fingertips compares), "
    "`publisher` (no CI for the area, so the publisher's own comparison is used), or `not_compared` (neither is available; `note` says why).",
    allowed=("ci95_overlap", "publisher", "not_compared"),
)

_PUBLISHED_EXTRAS = (
    Field("area_name", "text", "Area name as the file printed it.", nullable=True),
    Field("publisher_area_type", "text", "Area type as the file printed it (e.g. `UA`, `District`, `County & UA`, `Districts & UAs (from Apr 2023)`).", nullable=True),
    AREA_CODE.but(name="parent_code", nullable=True, description="Parent area the publisher compared the area with (usually its region); NULL for rows the publisher repeated under several parents, or when no parent was given."),
    Field("compared_to_parent", "text", "The publisher's comparison with the parent area (`Better`, `Similar`, `Worse`, ...).", nullable=True),
    Field("lower_ci_99_8", "double", "Lower limit of the 99.8% confidence interval.", nullable=True),
    Field("upper_ci_99_8", "double", "Upper limit of the 99.8% confidence interval.", nullable=True),
    Field("recent_trend", "text", "The publisher's recent-trend marker (e.g. `Cannot be calculated`, `Decreasing and getting better`).", nullable=True),
    Field("period_sortable", "bigint", "The publisher's sortable period key (e.g. `20150000`).", nullable=True),
)

TABLES = [
    Table(
        name="core_health__indicator_values",
        description="Fingertips indicator values as published (healthy life expectancy 90362, life expectancy 90366, under-75 preventable mortality 93721, under-75 preventable cancer mortality 40502, Campylobacter 93356, adult smoking 92443, adults overweight or obese 93088, physically inactive adults 93015, inequality in life expectancy 92901; in live mode also under-75 mortality by cause) for LADs, counties, combined authorities, regions and England, with 95% CIs, counts and denominators where published.",
        grain="indicator x area x sex x age x period",
        primary_key=VALUE_KEY,
        fields=(*VALUE_FIELDS, *_PUBLISHED_EXTRAS),
        sources=HEALTH_SOURCES,
        notes="Headline rows only (no category): inequality breakdowns are in `core_health__inequalities`. England rows that the publisher repeats once per parent area appear once. "
              "`geography_vintage` is the boundary vintage the area type names (`Districts & UAs (from Apr 2023)`: 2023) or, for files that do not say, the vintage whose LADs the period's codes match best; "
              "a predecessor code published beside its successor keeps the last vintage it was valid in.",
    ),
    Table(
        name="core_health__indicator_aggregates",
        description="Fingertips indicators for combined authorities, regions and the analysis groups `north` and `greater_south_east`, where the publisher gives no figure: recomputed from summed counts and denominators where the indicator allows it, otherwise a population-weighted estimate (labelled as such). Never a plain average.",
        grain="indicator x area x sex x age x period",
        primary_key=VALUE_KEY,
        fields=(
            *VALUE_FIELDS,
            Field("member_count", "integer", "How many published areas (LADs, counties or regions) the figure combines.", ge=1),
            Field("member_codes", "text", "The published areas combined, space-separated."),
            Field("weight_years", "text", "For population-weighted estimates: the mid-year population years used as weights (the nearest year published for each member).", nullable=True),
        ),
        sources=(*HEALTH_SOURCES, "ons_mye2021", "ons_mye2023"),
        notes="Members are the LADs that made up the area at the middle of the period (or, for an area created later, its first footprint), mapped onto the LAD vintage the publisher used. "
              "An area is left out when any member is missing, except members whose value is suppressed and whose population is under 1% of the area's (e.g. City of London, Isles of Scilly), which `source_locator` names.",
    ),
    Table(
        name="core_health__indicator_vintages",
        description="Earlier vintages of Fingertips indicators, as first published: every headline row of each archived file (e.g. healthy life expectancy 90362 as published in June 2020, County & UA with shire counties, before ONS re-estimated HLE; and as published in July 2024), plus the combined-authority, region and group aggregates that vintage allows (same rules as `core_health__indicator_aggregates`). The current vintage is in `core_health__indicator_values`; every vintage is in `core_indicators__value_history`, dated by `published_at`.",
        grain="indicator x area x sex x age x period x archived file",
        primary_key=(*VALUE_KEY, "source_id"),
        fields=(
            *VALUE_FIELDS,
            Field("member_count", "integer", "For aggregates: how many published areas the figure combines; NULL for published rows.", nullable=True, ge=1),
            Field("member_codes", "text", "For aggregates: the published areas combined, space-separated; NULL for published rows.", nullable=True),
            Field("weight_years", "text", "For population-weighted estimates: the mid-year population years used as weights.", nullable=True),
            PUBLISHED_AT,
            Field("vintage_label", "text", "Which vintage, in words (e.g. `Fingertips 90362 as published 2020-06-18: ...`)."),
        ),
        sources=(*VINTAGE_SOURCES, "ons_mye2021", "ons_mye2023"),
        notes="Use it for 'as first published' questions and for reports that quote superseded figures; `indicator_values_as_of(timestamp)` answers the same from the value history.",
        extra={"vintages_of": "core_indicators__values"},
    ),
    Table(
        name="core_indicators__aggregate_coverage",
        description="For every Fingertips indicator, file (current or earlier vintage), sex, age and period, and every combined authority, region and analysis group: whether the observatory has a figure (published by the source, or aggregated from member areas, with the members and the method) and, where it has none, why not (which member LADs no area in the file covers or has a value for, a value type that is never aggregated, a membership that cannot be mapped onto the file's boundaries).",
        grain="indicator x area x sex x age x period x source file",
        primary_key=(*VALUE_KEY, "source_id"),
        fields=(
            _VALUE["indicator_id"], AREA_CODE, SEX, _VALUE["age"], _VALUE["period_label"], _VALUE["geography_vintage"],
            Field("has_figure", "boolean", "True when the file gives a figure for the area or one was aggregated from its members."),
            METHOD.but(nullable=True, description="How the figure was obtained (`published`, `recomputed_from_counts`, `population_weighted_estimate`); NULL when there is none."),
            Field("member_count", "integer", "For aggregates: how many published areas were combined.", nullable=True, ge=1),
            Field("member_codes", "text", "For aggregates: the published areas combined (LADs, counties, regions), space-separated.", nullable=True),
            Field("missing_codes", "text", "Member LADs that no area in the file covers or gives a value for (for a figure: suppressed slivers left out), space-separated.", nullable=True),
            Field("reason", "text", "Why there is no figure; NULL when there is one.", nullable=True),
            PUBLISHED_AT,
            *PROVENANCE,
        ),
        sources=(*HEALTH_SOURCES, *VINTAGE_SOURCES, "ons_mye2021", "ons_mye2023"),
        notes="Members are the LADs that made up the area at the middle of the period (or its first footprint, for an area created later), on the file's boundary vintage. "
              "A figure needs every member covered, except members with a suppressed value and under 1% of the area's population.",
    ),
    Table(
        name="core_health__indicator_definitions",
        description="Definitions of the Fingertips indicators landed: name, definition, unit, polarity, value type, how they may be aggregated, source and licence.",
        grain="one row per indicator",
        primary_key=("indicator_id",),
        fields=(
            *DEFINITION_FIELDS,
            Field("age_band", "text", "The age band the headline values refer to (`all`, `<75 yrs`)."),
            Field("year_type", "text", "How periods are counted (`calendar`, `financial`, `academic`)."),
            Field("multiplier", "double", "For rates recomputed from counts: value = count / denominator x multiplier.", nullable=True),
            Field("ci_method", "text", "Confidence-interval method used for recomputed aggregates (`byar` for crude rates).", nullable=True),
        ),
        sources=HEALTH_SOURCES,
        notes="From the catalogue `sources/fingertips_indicators.toml` (one row per catalogued indicator; the data dictionary's "
              "health section lists them with unit, polarity, value type and aggregation rule); in live mode name, definition and "
              "polarity come from the publisher's `indicator_metadata`.",
    ),
    Table(
        name="core_health__inequalities",
        description="Fingertips inequality breakdowns: values by a category (e.g. `District & UA deprivation deciles in England (IMD2015)` decile), kept apart from the headline series.",
        grain="indicator x area x sex x age x category type x category x period",
        primary_key=("indicator_id", "area_code", "sex", "age", "category_type", "category", "period_label"),
        fields=(
            _VALUE["indicator_id"], AREA_CODE, SEX, _VALUE["age"],
            Field("category_type", "text", "What the categories split by (e.g. deprivation deciles of a given IMD)."),
            Field("category", "text", "The category (e.g. `Most deprived decile (IMD2015)`)."),
            _VALUE["period_label"], _VALUE["period_start"], _VALUE["period_end"], _VALUE["value"],
            _VALUE["lower_ci_95"], _VALUE["upper_ci_95"], _VALUE["count"], _VALUE["denominator"],
            _VALUE["value_note"], _VALUE["compared_to_england"], _VALUE["geography_vintage"],
            *PROVENANCE,
        ),
        sources=HEALTH_SOURCES,
    ),
    Table(
        name="mart_indicators__benchmarks",
        description="Every area's indicator value compared with England and with its region: by 95% CI against the comparator's value (polarity-aware: better/similar/worse, or higher/similar/lower where there is no judgement), falling back to the publisher's comparison where the area has no CI, with the method used on every row.",
        grain="indicator x area x sex x age x period x benchmark",
        primary_key=(*VALUE_KEY, "benchmark"),
        fields=(
            _VALUE["indicator_id"], AREA_CODE, AREA_NAME.but(nullable=True), AREA_TYPE.but(nullable=True), SEX, _VALUE["age"],
            _VALUE["period_label"], _VALUE["period_start"], _VALUE["period_end"],
            _VALUE["value"], _VALUE["lower_ci_95"], _VALUE["upper_ci_95"],
            METHOD.but(name="value_method", description="How the area's value was obtained (see `core_indicators__values.method`)."),
            POLARITY,
            Field("benchmark", "text", "The comparator: `england`, or `region` (the region containing the area).", allowed=("england", "region")),
            AREA_CODE.but(name="comparator_code", description="GSS code of the comparator area."),
            Field("comparator_value", "double", "The comparator's value for the same indicator, sex, age and period.", nullable=True),
            METHOD.but(name="comparator_method", nullable=True, description="How the comparator's value was obtained (a regional `population_weighted_estimate` is an estimate)."),
            COMPARISON,
            COMPARISON_METHOD,
            Field("publisher_comparison", "text", "The publisher's own comparison with this comparator, as printed.", nullable=True),
            Field("agrees_with_publisher", "boolean", "For `ci95_overlap` rows with a publisher comparison: whether the two agree.", nullable=True),
            Field("note", "text", "Why the row is `not_compared`, or what the publisher's comparison was based on.", nullable=True),
        ),
        notes="Fingertips compares by checking whether the area's CI contains the comparator's value; this mart does the same at 95% so that every row is reproducible from the warehouse.",
    ),
    Table(
        name="mart_area_profile",
        description="For each area and indicator (by sex and age): the latest value, the England and region values and comparisons, the rank among LADs, and the trend over the latest periods.",
        grain="area x indicator x sex x age",
        primary_key=("area_code", "indicator_id", "sex", "age"),
        fields=(
            AREA_CODE, AREA_NAME.but(nullable=True), AREA_TYPE.but(nullable=True),
            Field("is_current_area", "boolean", "True when the area exists today (older vintages' areas keep their profile)."),
            _VALUE["indicator_id"],
            Field("indicator", "text", "Short name of the indicator."),
            Field("unit", "text", "Unit of the values."),
            POLARITY, SEX, _VALUE["age"],
            Field("latest_period", "text", "Latest period with a value for the area."),
            _VALUE["period_end"].but(name="latest_period_end", description="Last day of the latest period."),
            _VALUE["value"], _VALUE["lower_ci_95"], _VALUE["upper_ci_95"],
            METHOD.but(name="value_method", description="How the value was obtained."),
            Field("england_value", "double", "England's value for the same period.", nullable=True),
            COMPARISON.but(name="compared_to_england", nullable=True, description="Comparison with England (see `mart_indicators__benchmarks`)."),
            COMPARISON_METHOD.but(name="england_comparison_method", nullable=True),
            AREA_CODE.but(name="region_code", nullable=True, description="The region containing the area (LADs, counties, combined authorities)."),
            Field("region_value", "double", "The region's value for the same period (published, or a labelled estimate).", nullable=True),
            COMPARISON.but(name="compared_to_region", nullable=True, description="Comparison with the region."),
            Field("lad_rank", "integer", "Rank among LADs with a value in the same period and boundary vintage (1 = best; for `no_judgement`, 1 = highest). NULL for areas that are not LADs.", nullable=True, ge=1),
            Field("lad_rank_of", "integer", "How many LADs were ranked.", nullable=True, ge=1),
            Field("periods_available", "integer", "Periods with a value for the area.", ge=1),
            Field("first_period", "text", "Earliest period with a value."),
            Field("trend", "text", "Direction over the latest (up to 5) periods: `increasing`, `decreasing`, `no_clear_change` (fitted change under 1% of the mean), or `cannot_be_calculated` (fewer than 3 periods).",
                  allowed=("increasing", "decreasing", "no_clear_change", "cannot_be_calculated")),
            Field("trend_assessment", "text", "The trend judged by polarity: `getting_better`, `getting_worse`, `no_clear_change`, `no_judgement` or `cannot_be_calculated`.",
                  allowed=("getting_better", "getting_worse", "no_clear_change", "no_judgement", "cannot_be_calculated")),
            Field("trend_change", "double", "Least-squares fitted change over the trend window, in the indicator's unit.", nullable=True),
            Field("trend_periods", "integer", "Periods in the trend window.", ge=0),
            Field("publisher_recent_trend", "text", "The publisher's own recent-trend marker for the latest period, where printed.", nullable=True),
        ),
        notes="`trend` is a least-squares slope over the latest up-to-5 periods, not a significance test; the publisher's own test result is in `publisher_recent_trend` where it was published.",
    ),
]

