-- The published tables of a warehouse file (internal tables, named with a leading underscore, aside) and their
-- comments (the registry's description and grain, written by the DDL), with the registry tables stored as views
-- (their names are the parameter $views).
SELECT table_name, comment
FROM (
    SELECT table_name, comment FROM duckdb_tables()
    WHERE schema_name = 'main' AND database_name = current_database() AND NOT starts_with(table_name, '_')
    UNION ALL
    SELECT view_name, comment FROM duckdb_views()
    WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal AND list_contains($views, view_name)
)
ORDER BY table_name
