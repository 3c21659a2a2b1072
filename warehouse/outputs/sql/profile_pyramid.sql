-- Profile pages: the latest single-year-of-age population by sex for each area in $codes and for England
-- (the pyramid and its England outline), with the file it came from.
WITH wanted AS (SELECT unnest($codes::VARCHAR[]) AS area_code UNION SELECT 'E92000001')
SELECT p.area_code, p.year, p.sex, p.age,
       CASE WHEN p.age = '90+' THEN 90 ELSE TRY_CAST(p.age AS INTEGER) END AS age_years,
       p.population, p.method, p.source_id, p.source_sha256
FROM core_population__estimates p
JOIN wanted USING (area_code)
WHERE p.sex IN ('female', 'male') AND p.age <> 'all'
QUALIFY p.year = max(p.year) OVER (PARTITION BY p.area_code)
ORDER BY p.area_code, p.sex, age_years
