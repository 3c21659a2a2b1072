-- Profile pages: the provenance of files by SHA-256 ($shas): what the source links point to.
SELECT f.sha256, f.source_id, f.file_name, f.publisher, f.title, f.licence, f.retrieved_at, f.origin, f.mode
FROM core_provenance__files f
WHERE f.sha256 IN (SELECT unnest($shas::VARCHAR[]))
ORDER BY f.publisher, f.file_name
