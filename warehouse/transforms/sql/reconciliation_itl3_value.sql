-- The value of an ONS ITL3 area that a district belongs to, with the area's member districts, for a claim that lists
-- several districts when the district has no figure of its own (e.g. Barnsley in "Barnsley, Doncaster and Rotherham").
WITH area AS (
  SELECT itl3_code FROM core_economy__lad_itl3 WHERE lad_code = $lad
), members AS (
  SELECT l.itl3_code, list(l.lad_code ORDER BY l.lad_code) AS member_lads
  FROM core_economy__lad_itl3 AS l JOIN area USING (itl3_code)
  GROUP BY 1
)
SELECT v.itl_code, v.itl_name, v.value, m.member_lads
FROM core_economy__itl_values AS v
JOIN members AS m ON m.itl3_code = v.itl_code
WHERE v.measure_id = $measure AND v.year = $year
