-- For `observatory sql --as-of`: how many indicator values the observatory knew at $moment, and when the
-- first value was recorded (so a moment before the first build can be explained instead of answering 0 rows).
SELECT (SELECT count(*) FROM indicator_values_as_of($moment::TIMESTAMP)) AS known,
       (SELECT min(recorded_at) FROM core_indicators__value_history) AS first_recorded
