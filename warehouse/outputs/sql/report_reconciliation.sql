-- The report's fact-check table: one row per claim, in reading order within each document.
-- claim: the sentence; place: by name; published: the figure as printed; warehouse_value (+ unit): our figure;
-- status: the verdict; reason: the short reason (the mart's `reason` has the full one); page: a link to the page
-- (the document's landed copy, relative to the report in <data>/outputs/: #page=N for PDFs, #LN for text).
SELECT
    r.claim_text AS claim,
    coalesce(r.place_name, '—') AS place,
    coalesce(r.measure, '—') AS measure,
    coalesce(r.period, '—') AS period,
    r.figure AS published,
    r.warehouse_value,
    coalesce(r.unit, '') AS unit,
    r.status,
    CASE r.status
        WHEN 'unverifiable' THEN 'Would settle it: ' || coalesce(nullif(split_part(r.reason, 'Would settle it: ', 2), ''), r.reason)
        WHEN 'revised' THEN 'Matches ' || r.earlier_vintage || '; the current vintage differs by '
                            || printf('%+.2f', r.warehouse_value - r.earlier_value)
        WHEN 'consistent' THEN 'Follows from the document''s own figures' || coalesce(' on ' || r.basis, '')
                               || '; no primary data checks its inputs'
        WHEN 'mismatch' THEN 'Differs by ' || printf('%+,.2f', r.difference) || coalesce(' (' || r.period || ')', '')
                             || coalesce('; ' || r.basis, '')
        ELSE 'Within half the last printed digit' || coalesce(' (' || r.period || ')', '')
    END AS reason,
    d.file_name || ', ' || CASE WHEN d.kind = 'pdf' THEN 'page ' || r.page ELSE 'line ' || r.line END AS page,
    '../landing/reports/' || substr(d.sha256, 1, 2) || '/' || d.sha256 || '/' || d.file_name
        || CASE WHEN d.kind = 'pdf' THEN '#page=' || r.page ELSE '#L' || r.line END AS page_link
FROM mart_reconciliation__claims AS r
JOIN core_reports__documents AS d ON d.document_id = r.document_id
ORDER BY d.file_name, r.page, r.line, r.claim_id
