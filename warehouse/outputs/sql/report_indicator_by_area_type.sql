-- One indicator's values in one period for every area of a type (plus England), persons or all sexes.
SELECT a.area_code, a.area_name, a.area_type, v.sex, v.value, v.lower_ci_95, v.upper_ci_95, v.method
FROM core_indicators__values AS v
JOIN core_geo__areas_all AS a ON a.area_code = v.area_code
WHERE v.indicator_id = $indicator_id
  AND v.period_label = $period_label
  AND (a.area_type = $area_type OR a.area_code = 'E92000001')
ORDER BY v.value DESC
