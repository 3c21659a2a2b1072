-- Profile pages: each requested area ($codes) with its region and the bodies it sits in today, and its latest
-- all-ages population.
WITH wanted AS (SELECT unnest($codes::VARCHAR[]) AS area_code),
parents AS (
    SELECT m.child_code AS area_code,
           any_value(m.parent_code) FILTER (WHERE m.parent_type = 'region') AS region_code,
           string_agg(p.area_name, '; ' ORDER BY p.area_type, p.area_name) FILTER (WHERE m.parent_type <> 'region') AS part_of
    FROM core_geo__area_membership m JOIN core_geo__areas p ON p.area_code = m.parent_code
    WHERE m.relationship = 'within' AND m.valid_to IS NULL
    GROUP BY 1
),
pop AS (
    SELECT area_code, arg_max(population, year) AS population, max(year) AS population_year
    FROM core_population__estimates
    WHERE sex = 'persons' AND age = 'all' AND area_code IN (SELECT area_code FROM wanted)
    GROUP BY 1
)
SELECT a.area_code, a.area_name, a.area_type, a.lad_type, a.is_current,
       pa.region_code, r.area_name AS region_name, pa.part_of, pop.population, pop.population_year
FROM wanted w
JOIN core_geo__areas_all a USING (area_code)
LEFT JOIN parents pa USING (area_code)
LEFT JOIN core_geo__areas r ON r.area_code = pa.region_code
LEFT JOIN pop USING (area_code)
