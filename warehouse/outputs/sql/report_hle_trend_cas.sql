-- Healthy life expectancy over time for the combined authorities in the North (current footprints).
SELECT a.area_name, v.sex, v.period_label, v.period_end, v.value, v.method
FROM core_indicators__values AS v
JOIN core_geo__areas AS a ON a.area_code = v.area_code
WHERE v.indicator_id = '90362'
  AND a.area_type = 'combined_authority'
  AND v.sex IN ('female', 'male')
  AND a.area_code IN (
      SELECT DISTINCT f.area_code FROM core_geo__lad_footprints f
      JOIN lads_in('north', current_date) n ON n.lad_code = f.lad_code)
ORDER BY a.area_name, v.sex, v.period_end
