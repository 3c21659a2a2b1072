-- For `observatory describe VIEW`: the view's columns and types, in order.
SELECT column_name AS "column", data_type AS "type", comment
FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = $name
ORDER BY column_index
