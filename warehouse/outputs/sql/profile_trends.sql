-- Profile pages: every period of every indicator for each area in $codes, beside England's value for the
-- same indicator, sex, age and period (the sparkline and its benchmark): one row per area, indicator, sex and age,
-- the periods in time order as three lists of the same length (labels, the area's values, England's or NULL).
WITH wanted AS (SELECT unnest($codes::VARCHAR[]) AS area_code)
SELECT v.area_code, v.indicator_id, v.sex, v.age,
       list(v.period_label ORDER BY v.period_end, v.period_label) AS period_labels,
       list(v.value ORDER BY v.period_end, v.period_label) AS "values",
       list(e.value ORDER BY v.period_end, v.period_label) AS england_values
FROM core_indicators__values v
JOIN wanted USING (area_code)
LEFT JOIN core_indicators__values e
       ON e.area_code = 'E92000001' AND e.indicator_id = v.indicator_id AND e.sex = v.sex AND e.age = v.age
      AND e.period_label = v.period_label
WHERE v.value IS NOT NULL
GROUP BY v.area_code, v.indicator_id, v.sex, v.age
ORDER BY v.area_code, v.indicator_id, v.sex, v.age
