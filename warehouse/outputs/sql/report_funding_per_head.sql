-- Funding per head for combined authorities (and London, as its region), latest year.
WITH northern AS (
  SELECT DISTINCT f.area_code FROM core_geo__lad_footprints AS f
  JOIN lads_in('north', current_date) AS n ON n.lad_code = f.lad_code)
SELECT a.area_name || CASE WHEN count(*) OVER (PARTITION BY m.area_code) > 1 THEN ' (' || m.funding_type || ')' ELSE '' END AS label,
       m.area_code, m.year, m.funding_type, m.total_gbp, m.population, m.per_head_gbp, m.basis, m.basis_detail,
       m.area_code IN (SELECT area_code FROM northern) AS in_north
FROM mart_funding__per_head AS m
JOIN core_geo__areas_all AS a ON a.area_code = m.area_code
WHERE (a.area_type = 'combined_authority' OR m.area_code = 'E12000007')
QUALIFY m.year = max(m.year) OVER ()
