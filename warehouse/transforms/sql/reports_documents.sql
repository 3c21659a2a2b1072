-- The recorded report documents among $ids (a list of document ids), for `observatory ingest`'s summary.
SELECT *
FROM core_reports__documents
WHERE list_contains($ids, document_id)
