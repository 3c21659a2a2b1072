-- The latest North vs Greater South East comparison per indicator: rates, ratios and per-head measures only
-- (totals such as GDP in £m or population compare the groups' sizes, not their conditions).
SELECT d.short_name || ' (' || g.period_label || ')' AS label, g.indicator_id, g.period_label,
       g.north_value, g.gse_value, g.relative_gap, d.polarity, d.unit,
       CASE WHEN d.polarity = 'no_judgement' THEN 'no judgement'
            WHEN (g.north_value > g.gse_value) = (d.polarity = 'high_is_good') THEN 'North better'
            ELSE 'North worse' END AS verdict
FROM mart_north_south__gaps AS g
JOIN core_indicators__definitions AS d USING (indicator_id)
WHERE g.relative_gap IS NOT NULL AND d.aggregation <> 'additive'
QUALIFY row_number() OVER (PARTITION BY g.indicator_id ORDER BY g.period_end DESC) = 1
