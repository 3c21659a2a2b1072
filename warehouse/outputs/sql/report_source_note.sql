-- Publisher, file and retrieval date behind the rows of a table matching a filter: the chart's source line.
SELECT DISTINCT p.publisher, p.title, p.file_name, strftime(p.retrieved_at, '%Y-%m-%d') AS retrieved
FROM core_provenance__files AS p
WHERE p.sha256 IN (SELECT DISTINCT source_sha256 FROM core_indicators__values WHERE indicator_id = $indicator_id)
