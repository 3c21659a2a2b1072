-- mart_north_south__gaps: North vs Greater South East for every indicator that has values for both.
-- Gap = North − Greater South East. Trend: the relative gap against the previous period with both
-- values (so inflation alone does not widen a money gap), and the least-squares slope of the
-- absolute gap over all periods. Funding per head (domain 'funding') also gets a
-- projection of the year the gap closes at the current rates of change (first → latest period):
--   compound: each side keeps its compound annual growth rate; the North catches up in
--             t1 + ln(gse1 / north1) / ln((1 + g_north) / (1 + g_gse)) years, if g_north > g_gse;
--   linear:   the gap keeps changing by the same amount a year; it reaches 0 in t1 − gap1 / slope, if shrinking.
WITH v AS (
    SELECT indicator_id, sex, age, period_label, period_start, period_end, area_code, value, method, value_note
    FROM core_indicators__values
    WHERE area_code IN ('north', 'greater_south_east', 'E92000001') AND value IS NOT NULL
),
wide AS (
    SELECT
        indicator_id, sex, age, period_label,
        min(period_start) AS period_start,
        max(period_end) AS period_end,
        max(value) FILTER (WHERE area_code = 'north') AS north_value,
        max(value) FILTER (WHERE area_code = 'greater_south_east') AS gse_value,
        max(value) FILTER (WHERE area_code = 'E92000001') AS england_value,
        max(method) FILTER (WHERE area_code = 'north') AS north_method,
        max(method) FILTER (WHERE area_code = 'greater_south_east') AS gse_method,
        max(value_note) FILTER (WHERE area_code = 'north') AS north_note,
        max(value_note) FILTER (WHERE area_code = 'greater_south_east') AS gse_note
    FROM v
    GROUP BY indicator_id, sex, age, period_label
),
gaps AS (
    SELECT
        w.*,
        d.name, d.domain, d.unit, d.polarity,
        w.north_value - w.gse_value AS absolute_gap,
        CASE WHEN w.gse_value <> 0 THEN (w.north_value - w.gse_value) / abs(w.gse_value) END AS rel_gap,
        -- mid-point of the period in (decimal) years, for slopes and projections
        year(w.period_start) + (dayofyear(w.period_start) - 1) / 365.25
            + date_diff('day', w.period_start, w.period_end) / 2 / 365.25 AS t
    FROM wide AS w
    JOIN core_indicators__definitions AS d USING (indicator_id)
    WHERE w.north_value IS NOT NULL AND w.gse_value IS NOT NULL
),
trend AS (
    SELECT
        g.*,
        lag(period_label) OVER series AS previous_period_label,
        lag(absolute_gap) OVER series AS previous_gap,
        lag(rel_gap) OVER series AS previous_rel_gap,
        count(*) OVER whole AS periods,
        regr_slope(absolute_gap, t) OVER whole AS gap_slope_per_year,
        first_value(t) OVER whole AS t0,
        first_value(north_value) OVER whole AS north0,
        first_value(gse_value) OVER whole AS gse0,
        first_value(absolute_gap) OVER whole AS gap0,
        first_value(period_label) OVER whole AS label0,
        first_value(gse_note) OVER whole AS gse_note0,
        first_value(north_note) OVER whole AS north_note0,
        row_number() OVER (PARTITION BY indicator_id, sex, age ORDER BY period_start DESC) = 1 AS is_latest
    FROM gaps AS g
    WINDOW series AS (PARTITION BY indicator_id, sex, age ORDER BY period_start),
           whole AS (PARTITION BY indicator_id, sex, age ORDER BY period_start
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
projection AS (
    SELECT
        tr.*,
        tr.domain = 'funding' AND tr.is_latest AND tr.periods >= 2 AND tr.t > tr.t0
            AND tr.north0 > 0 AND tr.gse0 > 0 AND tr.north_value > 0 AND tr.gse_value > 0 AS projectable,
        CASE WHEN tr.t > tr.t0 AND tr.north0 > 0 AND tr.north_value > 0
             THEN pow(tr.north_value / tr.north0, 1 / (tr.t - tr.t0)) - 1 END AS north_growth,
        CASE WHEN tr.t > tr.t0 AND tr.gse0 > 0 AND tr.gse_value > 0
             THEN pow(tr.gse_value / tr.gse0, 1 / (tr.t - tr.t0)) - 1 END AS gse_growth,
        CASE WHEN tr.t > tr.t0 THEN (tr.absolute_gap - tr.gap0) / (tr.t - tr.t0) END AS gap_change_per_year
    FROM trend AS tr
)
SELECT
    indicator_id, name, domain, unit, polarity, sex, age, period_label, period_start, period_end,
    north_value, gse_value, england_value, absolute_gap,
    rel_gap AS relative_gap,
    CASE WHEN north_value <> 0 THEN gse_value / north_value END AS gse_to_north_ratio,
    CASE
        WHEN polarity = 'no_judgement' THEN 'no_judgement'
        WHEN north_value = gse_value THEN 'same'
        WHEN (polarity = 'high_is_good') = (north_value > gse_value) THEN 'better'
        ELSE 'worse'
    END AS north_position,
    north_method, gse_method,
    nullif(concat_ws('; ',
        CASE WHEN north_note IS NOT NULL THEN 'North: ' || north_note END,
        CASE WHEN gse_note IS NOT NULL THEN 'Greater South East: ' || gse_note END), '') AS notes,
    previous_period_label,
    absolute_gap - previous_gap AS gap_change,
    -- In relative terms, so that inflation alone (money values) does not read as a widening gap.
    CASE
        WHEN previous_rel_gap IS NULL OR rel_gap IS NULL THEN NULL
        WHEN round(abs(rel_gap), 4) < round(abs(previous_rel_gap), 4) THEN 'narrowing'
        WHEN round(abs(rel_gap), 4) > round(abs(previous_rel_gap), 4) THEN 'widening'
        ELSE 'unchanged'
    END AS gap_trend,
    periods,
    gap_slope_per_year,
    CASE WHEN projectable AND north_value < gse_value AND north_growth > gse_growth
         THEN CAST(floor(t + ln(gse_value / north_value) / ln((1 + north_growth) / (1 + gse_growth))) AS INTEGER) END
        AS projected_closing_year,
    CASE WHEN projectable AND absolute_gap < 0 AND gap_change_per_year > 0
         THEN CAST(floor(t - absolute_gap / gap_change_per_year) AS INTEGER) END AS linear_closing_year,
    CASE WHEN projectable THEN
        format('From {} to {}: the North went from {:.2f} to {:.2f} ({:+.2f}% a year, compound) and the Greater South East from {:.2f} to {:.2f} ({:+.2f}% a year). ',
               label0, period_label, north0, north_value, north_growth * 100, gse0, gse_value, gse_growth * 100)
        || CASE WHEN north_value >= gse_value THEN 'The North is not behind in the latest period, so there is no gap to close. '
                WHEN north_growth > gse_growth THEN format('At those growth rates the North reaches the Greater South East in {} (compound projection). ',
                     CAST(floor(t + ln(gse_value / north_value) / ln((1 + north_growth) / (1 + gse_growth))) AS INTEGER))
                ELSE 'The North is not growing faster, so at those rates the gap never closes. ' END
        || format('In absolute terms the gap moved by {:+.2f} a year ({:.2f} to {:.2f}); ', gap_change_per_year, gap0, absolute_gap)
        || CASE WHEN absolute_gap < 0 AND gap_change_per_year > 0
                THEN format('at that pace it closes in {} (linear projection).', CAST(floor(t - absolute_gap / gap_change_per_year) AS INTEGER))
                ELSE 'it is widening, so a linear projection never closes it.' END
        || CASE WHEN gse_note0 IS NOT NULL OR north_note0 IS NOT NULL
                THEN ' Caveat on the first period: ' || concat_ws('; ', 'North: ' || north_note0, 'Greater South East: ' || gse_note0) || '.'
                ELSE '' END
    END AS projection_method
FROM projection
ORDER BY domain, indicator_id, sex, age, period_start
