-- mart_indicators__benchmarks: every area's value against England and against its region.
-- Method, in order of preference:
--   ci95_overlap  the area's 95% CI against the comparator's value (Fingertips' "CI overlapping reference value"):
--                 CI wholly above -> better (high_is_good) / worse (low_is_good) / higher (no_judgement), wholly below
--                 -> the opposite, containing it -> similar;
--   publisher     no CI for the area: the publisher's own comparison (England: `compared_to_england`; region: the
--                 publisher's parent comparison where the parent it used is this region);
--   not_compared  neither; `note` says why.
WITH v AS (
    SELECT v.indicator_id, v.area_code, v.sex, v.age, v.period_label, v.period_start, v.period_end,
           v.value, v.lower_ci_95, v.upper_ci_95, v.method, v.compared_to_england,
           d.polarity, a.area_name, a.area_type
    FROM core_indicators__values AS v
    JOIN core_indicators__definitions AS d USING (indicator_id)
    LEFT JOIN core_geo__areas_all AS a USING (area_code)
),
region_of AS (
    -- the one region containing an area's LADs (LADs, counties, combined authorities)
    SELECT f.area_code, min(m.parent_code) AS region_code
    FROM core_geo__lad_footprints AS f
    JOIN core_geo__area_membership AS m
      ON m.child_code = f.lad_code AND m.parent_type = 'region' AND m.relationship = 'within'
    GROUP BY f.area_code
    HAVING count(DISTINCT m.parent_code) = 1
),
published_parent AS (
    SELECT indicator_id, area_code, sex, age, period_label, parent_code, compared_to_parent
    FROM core_health__indicator_values
    WHERE parent_code IS NOT NULL AND compared_to_parent IS NOT NULL
),
pairs AS (
    SELECT v.*, 'england' AS benchmark, 'E92000001' AS comparator_code, v.compared_to_england AS publisher_comparison
    FROM v
    WHERE v.area_code <> 'E92000001'
    UNION ALL
    SELECT v.*, 'region' AS benchmark, r.region_code AS comparator_code, pp.compared_to_parent AS publisher_comparison
    FROM v
    JOIN region_of AS r ON r.area_code = v.area_code
    LEFT JOIN published_parent AS pp
      ON pp.indicator_id = v.indicator_id AND pp.area_code = v.area_code AND pp.sex = v.sex AND pp.age = v.age
     AND pp.period_label = v.period_label AND pp.parent_code = r.region_code
    WHERE v.area_type IN ('lad', 'county', 'combined_authority')
),
sided AS (
    SELECT p.*, c.value AS comparator_value, c.method AS comparator_method,
           CASE WHEN p.value IS NOT NULL AND p.lower_ci_95 IS NOT NULL AND p.upper_ci_95 IS NOT NULL AND c.value IS NOT NULL THEN
                CASE WHEN p.lower_ci_95 > c.value THEN 'above' WHEN p.upper_ci_95 < c.value THEN 'below' ELSE 'similar' END
           END AS ci_side,
           CASE lower(trim(p.publisher_comparison)) WHEN 'same' THEN 'similar' WHEN 'not compared' THEN 'not_compared'
                ELSE lower(trim(p.publisher_comparison)) END AS pub
    FROM pairs AS p
    LEFT JOIN core_indicators__values AS c
      ON c.indicator_id = p.indicator_id AND c.area_code = p.comparator_code AND c.sex = p.sex AND c.age = p.age
     AND c.period_label = p.period_label
),
judged AS (
    SELECT s.*,
           CASE WHEN ci_side = 'similar' THEN 'similar'
                WHEN ci_side = 'above' THEN CASE polarity WHEN 'high_is_good' THEN 'better' WHEN 'low_is_good' THEN 'worse' ELSE 'higher' END
                WHEN ci_side = 'below' THEN CASE polarity WHEN 'high_is_good' THEN 'worse' WHEN 'low_is_good' THEN 'better' ELSE 'lower' END
           END AS ci_comparison
    FROM sided AS s
)
SELECT indicator_id, area_code, area_name, area_type, sex, age, period_label, period_start, period_end,
       value, lower_ci_95, upper_ci_95, method AS value_method, polarity,
       benchmark, comparator_code, comparator_value, comparator_method,
       CASE WHEN ci_comparison IS NOT NULL THEN ci_comparison
            WHEN pub IN ('better', 'similar', 'worse', 'higher', 'lower') THEN pub
            ELSE 'not_compared' END AS comparison,
       CASE WHEN ci_comparison IS NOT NULL THEN 'ci95_overlap'
            WHEN pub IS NOT NULL AND pub <> '' THEN 'publisher'
            ELSE 'not_compared' END AS comparison_method,
       publisher_comparison,
       CASE WHEN ci_comparison IS NOT NULL AND pub IN ('better', 'similar', 'worse', 'higher', 'lower') THEN ci_comparison = pub END AS agrees_with_publisher,
       CASE WHEN ci_comparison IS NOT NULL THEN NULL
            WHEN pub IN ('better', 'similar', 'worse', 'higher', 'lower') THEN 'publisher''s comparison: the area has no 95% CI in the warehouse'
            WHEN pub = 'not_compared' THEN 'the publisher did not compare this value'
            WHEN pub IS NOT NULL AND pub <> '' THEN 'the publisher compared by another method: ' || publisher_comparison
            WHEN value IS NULL THEN 'no value for the area'
            WHEN comparator_value IS NULL THEN 'no value for the comparator in this period'
            ELSE 'no 95% CI for the area and no publisher comparison' END AS note
FROM judged
ORDER BY indicator_id, area_code, sex, age, period_start, benchmark
