-- Committed batches holding events of an export's window that correlation has not seen
-- yet (a burst's deferred batches, or a store stopped in the middle of one): the
-- connections of those events would be missing from the export.
-- $1 from, $2 to (TIMESTAMPTZ); $3 subject, $4 client_id, $5 resource, $6 issuer (NULL: any).
SELECT count(DISTINCT batch_id)
FROM exported_events($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR)
WHERE batch_id IN (
    SELECT batch_id FROM ingest_log
    WHERE accepted > 0
      AND batch_id NOT IN (SELECT batch_id FROM correlated_batches)
);
