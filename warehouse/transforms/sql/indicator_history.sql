-- Views and macros over the indicator value history. Run after each load of the history.

-- The values as the observatory knew them at a moment:  SELECT * FROM indicator_values_as_of(TIMESTAMP '2026-01-01');
CREATE OR REPLACE MACRO indicator_values_as_of(as_of) AS TABLE
SELECT * EXCLUDE (version_rank) FROM (
  SELECT h.*, row_number() OVER (
    PARTITION BY indicator_id, area_code, sex, age, period_label
    ORDER BY recorded_at DESC, retrieved_at DESC NULLS LAST, source_sha256) AS version_rank
  FROM core_indicators__value_history AS h
  WHERE h.recorded_at <= as_of)
WHERE version_rank = 1;

-- Each value as first published (the earliest file the observatory landed it from).
CREATE OR REPLACE VIEW core_indicators__values_first_published AS
SELECT * EXCLUDE (version_rank) FROM (
  SELECT h.*, row_number() OVER (
    PARTITION BY indicator_id, area_code, sex, age, period_label
    ORDER BY recorded_at, retrieved_at NULLS LAST, source_sha256) AS version_rank
  FROM core_indicators__value_history AS h)
WHERE version_rank = 1;

-- Keys whose value has been revised: first and latest value side by side.
CREATE OR REPLACE VIEW core_indicators__revisions AS
SELECT f.indicator_id, f.area_code, f.sex, f.age, f.period_label,
       f.value AS first_value, f.recorded_at AS first_recorded_at, f.source_sha256 AS first_source_sha256,
       v.value AS current_value, v.source_sha256 AS current_source_sha256
FROM core_indicators__values_first_published AS f
JOIN core_indicators__values AS v USING (indicator_id, area_code, sex, age, period_label)
WHERE f.value IS DISTINCT FROM v.value;
