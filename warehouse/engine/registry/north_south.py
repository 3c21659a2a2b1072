"""North vs Greater South East: the gap, its trend and (for funding) when it would close, for every indicator."""

from warehouse.engine.registry import Field, Table
from warehouse.engine.registry.indicators import INDICATOR_ID, POLARITY

TABLES = [
    Table(
        name="mart_north_south__gaps",
        description="For every indicator with values for both the North and the Greater South East in a period: both values, England's, the absolute and relative gap, whether the North is better or worse given the indicator's polarity, how the gap moved since the previous period and over all periods, and, for funding per head, the year the gap would close at the current rates of change.",
        grain="indicator x sex x age x period",
        primary_key=("indicator_id", "sex", "age", "period_label"),
        fields=(
            INDICATOR_ID,
            Field("name", "text", "Indicator name (core_indicators__definitions)."),
            Field("domain", "text", "`health`, `economy`, `deprivation` or `funding`."),
            Field("unit", "text", "Unit of the values and of `absolute_gap`."),
            POLARITY,
            Field("sex", "text", "Sex the values refer to."),
            Field("age", "text", "Age band the values refer to."),
            Field("period_label", "text", "The period as published."),
            Field("period_start", "date", "First day of the period."),
            Field("period_end", "date", "Last day of the period."),
            Field("north_value", "double", "Value for the North (North East + North West + Yorkshire and The Humber)."),
            Field("gse_value", "double", "Value for the Greater South East (London + South East + East of England)."),
            Field("england_value", "double", "Value for England, where there is one.", nullable=True),
            Field("absolute_gap", "double", "north_value − gse_value (in `unit`; negative when the North's value is lower)."),
            Field("relative_gap", "double", "absolute_gap ÷ |gse_value|, as a fraction (−0.25: the North's value is 25% below the Greater South East's).", nullable=True),
            Field("gse_to_north_ratio", "double", "gse_value ÷ north_value (e.g. 2.67: the Greater South East has 2.67 times the North's value).", nullable=True),
            Field("north_position", "text", "The North compared with the Greater South East given the polarity: `better`, `worse`, `same` or `no_judgement`.",
                  allowed=("better", "worse", "same", "no_judgement")),
            Field("north_method", "text", "How the North's value was obtained (core_indicators__values.method)."),
            Field("gse_method", "text", "How the Greater South East's value was obtained."),
            Field("notes", "text", "Notes carried from the values (estimates, comparators that are not exactly the area, rounding).", nullable=True),
            Field("previous_period_label", "text", "The previous period with both values, if any.", nullable=True),
            Field("gap_change", "double", "absolute_gap minus the previous period's absolute_gap.", nullable=True),
            Field("gap_trend", "text", "Since the previous period the relative gap (|relative_gap|, to 4 decimals) is `narrowing`, `widening` or `unchanged`; relative, so inflation alone does not widen a money gap.", nullable=True,
                  allowed=("narrowing", "widening", "unchanged")),
            Field("periods", "integer", "Number of periods with both values for this indicator, sex and age.", ge=1),
            Field("gap_slope_per_year", "double", "Least-squares slope of absolute_gap against the period's mid-point over all those periods (unit per year).", nullable=True),
            Field("projected_closing_year", "integer", "Funding per head, latest period only: the first year the North's value reaches the Greater South East's if each keeps its compound annual growth rate between the first and latest periods. NULL when the gap does not close that way (see `projection_method`).", nullable=True),
            Field("linear_closing_year", "integer", "Funding per head, latest period only: the year the absolute gap reaches zero if it keeps changing by the same £ a year as between the first and latest periods; NULL when the gap is not shrinking.", nullable=True),
            Field("projection_method", "text", "How the projection was made, from which figures, and caveats.", nullable=True),
        ),
        notes="Built in SQL (`warehouse/transforms/sql/north_south_gaps.sql`) from `core_indicators__values` and `core_indicators__definitions`, so any domain's indicator with North and Greater South East values appears automatically.",
    ),
]
