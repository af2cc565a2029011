-- Committed batches (correlated in their own transaction) the rules have not examined,
-- oldest first, with their event counts.
SELECT c.batch_id::VARCHAR, l.accepted
FROM correlated_batches c
JOIN ingest_log l USING (batch_id)
WHERE c.batch_id NOT IN (SELECT batch_id FROM detected_batches)
ORDER BY l.committed_at, c.batch_id;
