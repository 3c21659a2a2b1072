-- core_population__estimates: one value per area, year, sex and age, chosen from every release's figures
-- (core_population__estimates_by_release): the release that is *about* that year (mid-2021 for 2021) where there
-- is one, otherwise the latest release.
SELECT *
FROM core_population__estimates_by_release
WHERE "release" = 'mid-' || "year"
   OR ("release" = (SELECT max("release") FROM core_population__estimates_by_release)
       AND "year" NOT IN (SELECT "year" FROM core_population__estimates_by_release WHERE "release" = 'mid-' || "year"))
