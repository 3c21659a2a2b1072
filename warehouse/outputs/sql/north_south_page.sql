-- The North against the Greater South East, every period of every measure both groups have (rates, ratios and
-- per-head measures; totals such as GDP in £m compare the groups' sizes, not their conditions).
-- better_gap: the relative gap signed so that positive means the North is better (polarity-aware); NULL when the
-- measure has no better direction.
SELECT g.indicator_id, coalesce(d.short_name, d.name, g.name) AS label, d.name AS full_name, g.domain, g.unit,
       g.polarity, g.sex, g.age, g.period_label, g.period_end, g.north_value, g.gse_value, g.england_value,
       g.absolute_gap, g.relative_gap,
       CASE g.polarity WHEN 'high_is_good' THEN g.relative_gap WHEN 'low_is_good' THEN -g.relative_gap END AS better_gap,
       CASE WHEN g.polarity = 'no_judgement' OR g.relative_gap IS NULL THEN 'no judgement'
            WHEN g.north_value = g.gse_value THEN 'equal'
            WHEN (g.north_value > g.gse_value) = (g.polarity = 'high_is_good') THEN 'North better'
            ELSE 'North worse' END AS verdict,
       g.gap_trend, g.previous_period_label, g.gap_change, g.periods, g.projected_closing_year, g.linear_closing_year,
       g.projection_method, g.north_method, g.gse_method, g.notes,
       row_number() OVER (PARTITION BY g.indicator_id, g.sex, g.age ORDER BY g.period_end DESC) = 1 AS is_latest
FROM mart_north_south__gaps AS g
LEFT JOIN core_indicators__definitions AS d USING (indicator_id)
WHERE coalesce(d.aggregation, '') <> 'additive'
ORDER BY CASE g.domain WHEN 'health' THEN 0 WHEN 'economy' THEN 1 WHEN 'deprivation' THEN 2 WHEN 'funding' THEN 3 ELSE 4 END,
         label, g.sex, g.age, g.period_end
