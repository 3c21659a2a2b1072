-- Views and macros over the indicator value history (versions: see warehouse/transforms/indicator_history.py).
-- Run after each append to the history.

-- The values as published / as the observatory knew them at a moment (a removed key is absent):
--   SELECT * FROM indicator_values_as_of(TIMESTAMP '2021-01-01');   -- e.g. Fingertips HLE as published in June 2020
CREATE OR REPLACE MACRO indicator_values_as_of(as_of) AS TABLE
SELECT * EXCLUDE (version_rank) FROM (
  SELECT h.*, row_number() OVER (
    PARTITION BY indicator_id, area_code, sex, age, period_label
    ORDER BY effective_from DESC, version DESC) AS version_rank
  FROM core_indicators__value_history AS h
  WHERE h.effective_from <= as_of)
WHERE version_rank = 1 AND change <> 'removed';

-- Each value as first published (the earliest version by publication / recording).
CREATE OR REPLACE VIEW core_indicators__values_first_published AS
SELECT * EXCLUDE (version_rank) FROM (
  SELECT h.*, row_number() OVER (
    PARTITION BY indicator_id, area_code, sex, age, period_label
    ORDER BY effective_from, version) AS version_rank
  FROM core_indicators__value_history AS h
  WHERE change <> 'removed')
WHERE version_rank = 1;

-- Keys whose current value differs from the value first published: both side by side, with the files and dates.
CREATE OR REPLACE VIEW core_indicators__revisions AS
SELECT f.indicator_id, f.area_code, f.sex, f.age, f.period_label,
       f.value AS first_value, f.recorded_at AS first_recorded_at, f.source_sha256 AS first_source_sha256,
       f.published_at AS first_published_at, f.source_id AS first_source_id,
       v.value AS current_value, v.source_sha256 AS current_source_sha256, v.source_id AS current_source_id
FROM core_indicators__values_first_published AS f
JOIN core_indicators__values AS v USING (indicator_id, area_code, sex, age, period_label)
WHERE f.value IS DISTINCT FROM v.value;
