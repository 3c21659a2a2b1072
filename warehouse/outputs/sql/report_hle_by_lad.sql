-- Healthy life expectancy (Fingertips 90362) for the LADs of one region, by sex, for two periods.
SELECT a.area_name, v.sex, v.period_label, v.value, v.lower_ci_95, v.upper_ci_95
FROM core_indicators__values AS v
JOIN core_geo__areas_all AS a ON a.area_code = v.area_code
WHERE v.indicator_id = '90362'
  AND v.sex IN ('female', 'male')
  AND v.period_label IN ($latest_period, $baseline_period)
  AND v.area_code IN (SELECT lad_code FROM lads_in($region, current_date))
ORDER BY v.sex, v.value
