-- Every reconciled claim: what the report said, what the warehouse says, and the verdict.
SELECT claim_id, published_value, warehouse_value, status
FROM mart_reconciliation__claims
ORDER BY status, claim_id
