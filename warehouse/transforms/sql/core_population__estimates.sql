-- core_population__estimates: one value per area, year, sex and age, chosen from every release's figures
-- (core_population__estimates_by_release): the release that is *about* that year (mid-2021 for 2021) where there
-- is one, otherwise the latest release. In the stored table's row order (rowid): the rule's subqueries are joins,
-- which do not keep it, and a `SELECT *` should show the same first rows every time.
SELECT b.*
FROM core_population__estimates_by_release AS b
WHERE b."release" = 'mid-' || b."year"
   OR (b."release" = (SELECT max("release") FROM core_population__estimates_by_release)
       AND b."year" NOT IN (SELECT "year" FROM core_population__estimates_by_release WHERE "release" = 'mid-' || "year"))
ORDER BY b.rowid
