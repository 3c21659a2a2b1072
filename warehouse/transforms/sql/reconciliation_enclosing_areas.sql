-- Combined authorities and regions whose current footprint contains every current LAD of an area
-- (for a LAD: the areas containing it), smallest first.
WITH members AS (
  SELECT lad_code FROM lads_in($area, current_date)
), candidates AS (
  SELECT f.area_code, count(*) AS covered
  FROM core_geo__lad_footprints AS f
  JOIN members AS m ON m.lad_code = f.lad_code
  JOIN core_geo__areas AS a ON a.area_code = f.area_code AND a.area_type IN ('combined_authority', 'region')
  WHERE f.valid_to IS NULL
  GROUP BY 1
)
SELECT c.area_code FROM candidates AS c
WHERE c.covered = (SELECT count(*) FROM members)
ORDER BY (SELECT count(*) FROM lads_in(c.area_code, current_date))
