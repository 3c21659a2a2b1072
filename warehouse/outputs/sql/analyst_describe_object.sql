-- For `observatory describe NAME`: a published view or macro by name (kind, comment, definition, parameters).
SELECT 'view' AS kind, comment, sql AS definition, NULL::VARCHAR[] AS parameters
FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' AND view_name = $name
UNION ALL
SELECT function_type AS kind, comment, macro_definition AS definition, parameters
FROM duckdb_functions() WHERE NOT internal AND schema_name = 'main' AND function_name = $name
  AND function_type IN ('macro', 'table_macro')
