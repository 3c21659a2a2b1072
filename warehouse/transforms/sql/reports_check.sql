-- Consistency of the report tables: quarantined documents without a reason, and cells or claims whose
-- document is not recorded. Used by the asset check `report_documents_are_consistent`.
SELECT
  (SELECT count(*) FROM core_reports__documents WHERE status = 'quarantined' AND coalesce(reason, '') = '') AS quarantined_without_reason,
  (SELECT count(*) FROM core_reports__cells c WHERE c.document_id NOT IN (SELECT document_id FROM core_reports__documents))
  + (SELECT count(*) FROM core_reports__claims c WHERE c.document_id NOT IN (SELECT document_id FROM core_reports__documents)) AS orphan_rows
