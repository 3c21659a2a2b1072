-- Areas whose names claims are matched against (current areas of every type, analysis groups included).
SELECT area_code, area_name, area_type
FROM core_geo__areas
ORDER BY area_code
