-- Views and macros over the geography bridge. Run after the geography tables load.

-- Every area of any vintage: current and former, for name look-ups of older data.
CREATE OR REPLACE VIEW core_geo__areas_all AS
SELECT * FROM core_geo__areas
UNION ALL
SELECT * FROM core_geo__former_areas;

-- Which LADs made up an area on a date:  SELECT * FROM lads_in('E47000014', DATE '2024-06-01');
CREATE OR REPLACE MACRO lads_in(area, on_date) AS TABLE
SELECT f.lad_code, a.area_name AS lad_name
FROM core_geo__lad_footprints AS f
JOIN core_geo__areas_all AS a ON a.area_code = f.lad_code
WHERE f.area_code = area
  AND (f.valid_from IS NULL OR f.valid_from <= on_date)
  AND (f.valid_to IS NULL OR f.valid_to >= on_date)
ORDER BY f.lad_code;
