-- Census 2021: the English LADs' sum against England, and each region's LADs against the region as published.
-- Every figure is rounded to the nearest 100 on its own, so a region may differ from its LADs' sum by up to
-- 50 per LAD plus 50 for itself; England equals the sum of its LADs exactly. Rows returned are the failures.
WITH lads AS (
  SELECT c.area_code, c.population, m.parent_code AS region
  FROM core_population__census2021 c
  LEFT JOIN core_geo__area_membership m ON m.child_code = c.area_code AND m.parent_type = 'region'
  WHERE regexp_matches(c.area_code, '^E0[6-9]') AND c.sex = 'persons' AND c.method = 'published'),
sums AS (
  SELECT 'E92000001' AS area_code, sum(population) AS lad_sum, 0 AS tolerance FROM lads
  UNION ALL
  SELECT region, sum(population), 50 * count(*) + 50 FROM lads WHERE region IS NOT NULL GROUP BY region)
SELECT s.area_code, s.lad_sum, p.population AS published, s.tolerance
FROM sums s
LEFT JOIN core_population__census2021 p ON p.area_code = s.area_code AND p.sex = 'persons' AND p.method = 'published'
WHERE p.population IS NULL OR abs(s.lad_sum - p.population) > s.tolerance
