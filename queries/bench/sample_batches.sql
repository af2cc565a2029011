-- The most recently committed batches with events, for the per-batch rule cost.
-- $1: how many.
SELECT batch_id::VARCHAR, accepted FROM ingest_log
WHERE accepted > 0
ORDER BY committed_at DESC
LIMIT $1;
