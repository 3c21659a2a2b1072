"""Indicators: every place-based measure (health, economy, deprivation, funding) in one long table.

Each source domain lands its own *feed* tables with the shared field sets below; `core_indicators__values` and
`__definitions` are views, the union of the feeds their ``union_of`` names, so one query compares any measure
across places, and no domain overwrites another's rows. Each feed's contract checks its values; the key of the union
(an indicator id one domain uses for another's rows, or defines again) is checked when the views are made.
"""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.fields import AREA_CODE, PROVENANCE, SEX

VALUES_TABLE = "core_indicators__values"
DEFINITIONS_TABLE = "core_indicators__definitions"
HISTORY_TABLE = "core_indicators__value_history"

INDICATOR_ID = Field(
    "indicator_id", "text",
    "Stable text key of the indicator: the Fingertips id for Fingertips indicators (`90362`), a readable slug otherwise (`gva_per_hour_worked_gbp`).",
    pattern=r"^[a-z0-9_]+$",
)
POLARITY = Field(
    "polarity", "text",
    "Which direction is better: `high_is_good`, `low_is_good`, or `no_judgement` (compare as higher/lower).",
    allowed=("high_is_good", "low_is_good", "no_judgement"),
)
METHOD = Field(
    "method", "text",
    "How the value was obtained: `published` (as the publisher printed it), `recomputed_from_counts` (aggregate of counts and denominators), "
    "`population_weighted_estimate` (aggregate of rates weighted by population: an estimate, labelled as such), `sum_of_lads` (additive measure summed over member LADs), or `derived` (computed from other published figures, e.g. a ratio).",
    allowed=("published", "recomputed_from_counts", "population_weighted_estimate", "sum_of_lads", "derived"),
)

VALUE_FIELDS = (
    INDICATOR_ID,
    AREA_CODE,
    SEX,
    Field("age", "text", "Age band the value refers to: `all` for all ages, otherwise the publisher's label (e.g. `<75 yrs`)."),
    Field("period_label", "text", "The period as the publisher labels it (`2020 - 22`, `2021`, `2022/23`)."),
    Field("period_start", "date", "First day of the period."),
    Field("period_end", "date", "Last day of the period."),
    Field("value", "double", "The indicator's value, in the unit given by `core_indicators__definitions.unit`.", nullable=True,
          unit_from="indicator_id"),
    Field("lower_ci_95", "double", "Lower limit of the 95% confidence interval.", nullable=True, unit_from="indicator_id"),
    Field("upper_ci_95", "double", "Upper limit of the 95% confidence interval.", nullable=True, unit_from="indicator_id"),
    Field("count", "double", "Numerator (events, deaths, pounds) where published.", nullable=True),
    Field("denominator", "double", "Denominator (usually population) where published.", nullable=True),
    Field("value_note", "text", "Publisher's note on the value (suppression, revision, caveat).", nullable=True),
    Field("compared_to_england", "text", "The publisher's own comparison with England (e.g. `Better`, `Similar`, `Worse`, `Higher`, `Lower`, `Not compared`), kept for reconciliation.", nullable=True),
    Field("geography_vintage", "text", "LAD boundary vintage of the area code (e.g. `2019`, `2023`), as the publisher used it.", nullable=True),
    METHOD,
    *PROVENANCE,
)
VALUE_KEY = ("indicator_id", "area_code", "sex", "age", "period_label")

DEFINITION_FIELDS = (
    INDICATOR_ID.but(unique=True),
    Field("name", "text", "Name of the indicator as published."),
    Field("short_name", "text", "Plain-English short name for charts and tables."),
    Field("definition", "text", "What the indicator measures, in the publisher's words where available."),
    Field("unit", "text", "Unit of `value` (e.g. `years`, `per 100,000`, `GBP`, `GBP per hour`, `index (UK=100)`, `score`, `rank`, `%`)."),
    POLARITY,
    Field("domain", "text", "Which half of the observatory: `health`, `economy`, `deprivation` or `funding`.", allowed=("health", "economy", "deprivation", "funding")),
    Field("value_type", "text", "Kind of statistic (e.g. `life expectancy`, `directly standardised rate`, `ratio`, `total`).", nullable=True),
    Field("aggregation", "text", "How values may be combined across areas: `additive`, `counts_and_denominators`, `population_weighted` or `none`.",
          allowed=("additive", "counts_and_denominators", "population_weighted", "none")),
    Field("publisher", "text", "Who publishes the indicator."),
    Field("url", "text", "Where the indicator is published.", nullable=True),
    Field("licence", "text", "Licence of the data (e.g. `OGL-UK-3.0`)."),
    Field("citation", "text", "How to cite the source.", nullable=True),
    *PROVENANCE,
)

TABLES = [
    Table(
        name=VALUES_TABLE,
        description="Every place-based measure the observatory holds, one row per indicator, area, sex, age and period: health (Fingertips), economy (ONS), deprivation (MHCLG) and research funding per head, with CIs, counts and provenance.",
        grain="indicator x area x sex x age x period",
        primary_key=VALUE_KEY,
        fields=VALUE_FIELDS,
        union_of=("core_deprivation__indicator_values", "core_economy__indicator_values", "core_funding__indicator_values",
                  "core_health__indicator_values", "core_health__indicator_aggregates"),
    ),
    Table(
        name=HISTORY_TABLE,
        description="Every change of every indicator value, in both directions, with the file that caused it: a refresh that brings a different value (or the same value from another file) adds a version, a key that disappears adds a `removed` version, and going back to an earlier file adds a version again; earlier vintages of the publishers' files (e.g. Fingertips HLE as published in June 2020) are recorded as versions dated by their publication. So 'as first published', 'as of a date' and 'as now' are all queryable (macro `indicator_values_as_of(timestamp)`, views `core_indicators__values_first_published` and `core_indicators__revisions`, `observatory sql --as-of`).",
        grain="indicator x area x sex x age x period x version",
        primary_key=(*VALUE_KEY, "version"),
        fields=(
            *VALUE_FIELDS,
            Field("version", "integer", "Version number of the key, 1, 2, ... in the order the observatory recorded them.", ge=1),
            Field("change", "text",
                  "What this version records: `new` (first value for the key), `revised` (a different value), `same_value_new_file` (the same value from another file), "
                  "`removed` (the key is no longer in any loaded file; `value` is NULL and the provenance names the last file that had it).",
                  allowed=("new", "revised", "same_value_new_file", "removed")),
            Field("published_at", "date", "Publication date of the file that gave this version (catalogue `published`), NULL when not known (e.g. a file edited by hand or fetched live).", nullable=True),
            Field("effective_from", "timestamp",
                  "From when this version is the value `indicator_values_as_of` returns: the file's publication date for an earlier vintage, or for a newer catalogued file; "
                  "otherwise when the observatory recorded it (so restoring an older file counts from the moment it was restored)."),
            Field("retrieved_at", "timestamp", "When the source file was first retrieved (from `core_provenance__files`).", nullable=True),
            Field("recorded_at", "timestamp", "When the observatory recorded this version (UTC)."),
        ),
        notes="Appended after each load of `core_indicators__values` (never rewritten): current values are compared with each key's latest version; rows of tables declared with `extra.vintages_of` are recorded once per file as dated versions.",
    ),
    Table(
        name=DEFINITIONS_TABLE,
        description="One row per indicator: name, definition, unit, polarity, how it may be aggregated, source and licence.",
        grain="one row per indicator",
        primary_key=("indicator_id",),
        fields=DEFINITION_FIELDS,
        union_of=("core_deprivation__indicator_definitions", "core_economy__indicator_definitions",
                  "core_funding__indicator_definitions", "core_health__indicator_definitions"),
    ),
]


def feeds(target: str) -> list[Table]:
    """The registered tables that feed ``target`` (its ``union_of``)."""
    from warehouse.engine.registry import REGISTRY

    return [REGISTRY[name] for name in REGISTRY[target].union_of]
