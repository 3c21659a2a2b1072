-- Every area a user can name: today's areas plus abolished ones (for codes met in older files), with the
-- region each sits in today. Used by area search (`observatory areas`) and name resolution (`profile`, `compare`).
SELECT a.area_code, a.area_name, a.area_type, a.is_current,
       r.parent_code AS region_code, rn.area_name AS region_name
FROM core_geo__areas_all a
LEFT JOIN core_geo__area_membership r
       ON r.child_code = a.area_code AND r.parent_type = 'region' AND r.relationship = 'within' AND r.valid_to IS NULL
LEFT JOIN core_geo__areas rn ON rn.area_code = r.parent_code
QUALIFY row_number() OVER (PARTITION BY a.area_code ORDER BY a.is_current DESC, r.valid_from DESC NULLS LAST) = 1
ORDER BY a.is_current DESC,
         CASE a.area_type WHEN 'country' THEN 0 WHEN 'group' THEN 1 WHEN 'region' THEN 2
                          WHEN 'combined_authority' THEN 3 WHEN 'county' THEN 4 ELSE 5 END,
         a.area_name
