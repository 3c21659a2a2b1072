-- The latest period of an indicator (by period end), and the value for England in it.
SELECT period_label, period_end FROM core_indicators__values
WHERE indicator_id = $indicator_id
ORDER BY period_end DESC LIMIT 1
