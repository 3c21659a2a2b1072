-- The tables of a warehouse file (internal tables, named with a leading underscore, aside) and its views, with their
-- comments (the registry's description and grain, written by the DDL) and whether each is a view: the published
-- tables are these tables and the views the registry declares (`queries.published_tables`).
SELECT table_name, comment, false AS is_view FROM duckdb_tables()
WHERE schema_name = 'main' AND database_name = current_database() AND NOT starts_with(table_name, '_')
UNION ALL
SELECT view_name, comment, true FROM duckdb_views()
WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal
ORDER BY 1
