-- Profile pages: the latest single-year-of-age population by sex for each area in $codes and for England
-- (the pyramid and its England outline), with the file it came from: the columns the pages read, no more (62k rows).
-- The latest year is found first and joined (a window over the estimates view read the whole view: twice the time).
WITH wanted AS (SELECT unnest($codes::VARCHAR[]) AS area_code UNION SELECT 'E92000001'),
latest AS (
    SELECT area_code, max(year) AS year
    FROM core_population__estimates
    JOIN wanted USING (area_code)
    GROUP BY area_code
)
SELECT p.area_code, p.year, p.sex,
       CASE WHEN p.age = '90+' THEN 90 ELSE TRY_CAST(p.age AS INTEGER) END AS age_years,
       p.population, p.source_sha256
FROM core_population__estimates p
JOIN latest USING (area_code, year)
WHERE p.sex IN ('female', 'male') AND p.age <> 'all'
ORDER BY p.area_code, p.sex, age_years
