-- Profile pages: every period of every indicator for each area in $codes, beside England's value for the
-- same indicator, sex, age and period (the sparkline and its benchmark).
WITH wanted AS (SELECT unnest($codes::VARCHAR[]) AS area_code)
SELECT v.area_code, v.indicator_id, v.sex, v.age, v.period_label, v.period_end, v.value, e.value AS england_value
FROM core_indicators__values v
JOIN wanted USING (area_code)
LEFT JOIN core_indicators__values e
       ON e.area_code = 'E92000001' AND e.indicator_id = v.indicator_id AND e.sex = v.sex AND e.age = v.age
      AND e.period_label = v.period_label
WHERE v.value IS NOT NULL
ORDER BY v.area_code, v.indicator_id, v.sex, v.age, v.period_end
