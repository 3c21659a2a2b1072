-- Profile pages: every indicator's latest value for each area in $codes, with England and region values,
-- the England range of local authority districts for the same indicator, sex, age and period (the spine),
-- and the file the value came from (for the source links).
WITH wanted AS (SELECT unnest($codes::VARCHAR[]) AS area_code),
p AS (SELECT p.* FROM mart_area_profile p JOIN wanted USING (area_code)),
keys AS (SELECT DISTINCT indicator_id, sex, age, latest_period AS period_label FROM p),
lads AS (
    SELECT v.indicator_id, v.sex, v.age, v.period_label,
           min(v.value) AS lad_min, quantile_cont(v.value, 0.25) AS lad_q1, median(v.value) AS lad_median,
           quantile_cont(v.value, 0.75) AS lad_q3, max(v.value) AS lad_max, count(*) AS lad_count
    FROM core_indicators__values v
    JOIN keys USING (indicator_id, sex, age, period_label)
    JOIN core_geo__areas a ON a.area_code = v.area_code AND a.area_type = 'lad'
    WHERE v.value IS NOT NULL
    GROUP BY ALL
)
SELECT p.area_code, p.indicator_id, coalesce(d.name, p.indicator) AS indicator, coalesce(d.domain, 'other') AS domain,
       p.unit, p.polarity, d.value_type, p.sex, p.age, p.latest_period, p.value, p.lower_ci_95, p.upper_ci_95,
       p.value_method, p.england_value, p.compared_to_england, p.england_comparison_method,
       p.region_code, p.region_value, p.compared_to_region, p.lad_rank, p.lad_rank_of, p.trend,
       l.lad_min, l.lad_q1, l.lad_median, l.lad_q3, l.lad_max, l.lad_count,
       v.source_id, v.source_locator, f.sha256, f.file_name, f.publisher, f.title AS source_title, f.licence,
       f.retrieved_at, f.origin, d.url AS publisher_url
FROM p
LEFT JOIN core_indicators__definitions d USING (indicator_id)
LEFT JOIN lads l ON l.indicator_id = p.indicator_id AND l.sex = p.sex AND l.age = p.age AND l.period_label = p.latest_period
LEFT JOIN core_indicators__values v
       ON v.indicator_id = p.indicator_id AND v.area_code = p.area_code AND v.sex = p.sex AND v.age = p.age
      AND v.period_label = p.latest_period
LEFT JOIN core_provenance__files f ON f.sha256 = v.source_sha256
ORDER BY p.area_code,
         CASE coalesce(d.domain, 'other') WHEN 'health' THEN 0 WHEN 'deprivation' THEN 1 WHEN 'economy' THEN 2 WHEN 'funding' THEN 3 ELSE 4 END,
         indicator, p.sex, p.age
