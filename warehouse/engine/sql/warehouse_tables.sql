-- The published tables of a warehouse file (internal tables, named with a leading underscore, aside) and their
-- comments (the registry's description and grain, written by the DDL).
SELECT table_name, comment
FROM duckdb_tables()
WHERE schema_name = 'main' AND NOT starts_with(table_name, '_')
ORDER BY table_name
