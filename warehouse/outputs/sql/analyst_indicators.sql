-- Every indicator with what a user needs to pick one: name, unit, polarity, domain, source, and how
-- much data the warehouse holds for it (areas, periods, latest period).
SELECT d.indicator_id, d.name, d.domain, d.unit, d.polarity, d.value_type, d.source_id,
       count(DISTINCT v.area_code) AS areas, count(DISTINCT v.period_label) AS periods,
       arg_max(v.period_label, v.period_end) AS latest_period
FROM core_indicators__definitions d
LEFT JOIN core_indicators__values v USING (indicator_id)
GROUP BY ALL
ORDER BY d.domain, d.indicator_id
