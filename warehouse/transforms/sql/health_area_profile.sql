-- mart_area_profile: per area, indicator, sex and age: the latest value with its England and region comparisons
-- (from mart_indicators__benchmarks, which must be loaded first), the rank among LADs in that period, and the trend.
-- Rank: among LADs with a value in the same period and in the period's main boundary vintage (1 = best; 1 = highest
-- where there is no judgement). Trend: least-squares slope over the latest up-to-5 periods with a value; fewer than 3
-- periods cannot be assessed; a fitted change under 1% of the mean is no clear change. Not a significance test.
WITH v AS (
    SELECT v.*, d.polarity
    FROM core_indicators__values AS v
    JOIN core_indicators__definitions AS d USING (indicator_id)
),
series AS (
    SELECT v.*,
           row_number() OVER (PARTITION BY indicator_id, area_code, sex, age ORDER BY period_end DESC, period_start DESC) AS back,
           count(*) OVER (PARTITION BY indicator_id, area_code, sex, age) AS periods_available,
           -- the earliest period: the last in the row_number's order, so both share one sort
           last_value(period_label) OVER (PARTITION BY indicator_id, area_code, sex, age ORDER BY period_end DESC, period_start DESC
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_period
    FROM v
    WHERE value IS NOT NULL
),
trend_fit AS (
    SELECT indicator_id, area_code, sex, age, count(*) AS n, regr_slope(value, -back) AS slope, avg(abs(value)) AS mean_abs
    FROM series
    WHERE back <= 5
    GROUP BY indicator_id, area_code, sex, age
),
trend AS (
    SELECT t.*,
           CASE WHEN n < 3 THEN 'cannot_be_calculated'
                -- compared at 9 decimals: the sums' order (threads, plans) moves the last bits, never the verdict
                WHEN round(abs(slope * (n - 1)), 9) < round(0.01 * mean_abs, 9) THEN 'no_clear_change'
                WHEN slope > 0 THEN 'increasing'
                ELSE 'decreasing' END AS trend,
           CASE WHEN n >= 2 THEN slope * (n - 1) END AS trend_change
    FROM trend_fit AS t
),
main_vintage AS (
    SELECT indicator_id, sex, age, period_label, mode(geography_vintage) AS vintage
    FROM v
    WHERE regexp_matches(area_code, '^E0[6-9][0-9]{6}$') AND value IS NOT NULL
    GROUP BY indicator_id, sex, age, period_label
),
lad_ranks AS (
    SELECT v.indicator_id, v.area_code, v.sex, v.age, v.period_label,
           rank() OVER w AS lad_rank,
           count(*) OVER (PARTITION BY v.indicator_id, v.sex, v.age, v.period_label) AS lad_rank_of
    FROM v
    JOIN main_vintage AS mv
      ON mv.indicator_id = v.indicator_id AND mv.sex = v.sex AND mv.age = v.age AND mv.period_label = v.period_label
     AND v.geography_vintage IS NOT DISTINCT FROM mv.vintage
    WHERE regexp_matches(v.area_code, '^E0[6-9][0-9]{6}$') AND v.value IS NOT NULL
    WINDOW w AS (PARTITION BY v.indicator_id, v.sex, v.age, v.period_label
                 ORDER BY CASE WHEN v.polarity = 'low_is_good' THEN v.value ELSE -v.value END)
)
SELECT l.area_code, a.area_name, a.area_type, coalesce(a.is_current, false) AS is_current_area,
       l.indicator_id, d.short_name AS indicator, d.unit, l.polarity, l.sex, l.age,
       l.period_label AS latest_period, l.period_end AS latest_period_end,
       l.value, l.lower_ci_95, l.upper_ci_95, l.method AS value_method,
       CASE WHEN l.area_code = 'E92000001' THEN l.value ELSE be.comparator_value END AS england_value, be.comparison AS compared_to_england, be.comparison_method AS england_comparison_method,
       br.comparator_code AS region_code, br.comparator_value AS region_value, br.comparison AS compared_to_region,
       r.lad_rank, r.lad_rank_of, l.periods_available, l.first_period,
       t.trend,
       CASE WHEN t.trend IN ('cannot_be_calculated', 'no_clear_change') THEN t.trend
            WHEN l.polarity = 'no_judgement' THEN 'no_judgement'
            WHEN (t.trend = 'increasing') = (l.polarity = 'high_is_good') THEN 'getting_better'
            ELSE 'getting_worse' END AS trend_assessment,
       t.trend_change, t.n AS trend_periods,
       h.recent_trend AS publisher_recent_trend
FROM series AS l
JOIN core_indicators__definitions AS d ON d.indicator_id = l.indicator_id
JOIN trend AS t ON t.indicator_id = l.indicator_id AND t.area_code = l.area_code AND t.sex = l.sex AND t.age = l.age
LEFT JOIN core_geo__areas_all AS a ON a.area_code = l.area_code
LEFT JOIN mart_indicators__benchmarks AS be
  ON be.benchmark = 'england' AND be.indicator_id = l.indicator_id AND be.area_code = l.area_code AND be.sex = l.sex
 AND be.age = l.age AND be.period_label = l.period_label
LEFT JOIN mart_indicators__benchmarks AS br
  ON br.benchmark = 'region' AND br.indicator_id = l.indicator_id AND br.area_code = l.area_code AND br.sex = l.sex
 AND br.age = l.age AND br.period_label = l.period_label
LEFT JOIN lad_ranks AS r
  ON r.indicator_id = l.indicator_id AND r.area_code = l.area_code AND r.sex = l.sex AND r.age = l.age AND r.period_label = l.period_label
LEFT JOIN core_health__indicator_values AS h
  ON h.indicator_id = l.indicator_id AND h.area_code = l.area_code AND h.sex = l.sex AND h.age = l.age AND h.period_label = l.period_label
WHERE l.back = 1
ORDER BY l.area_code, l.indicator_id, l.sex, l.age
