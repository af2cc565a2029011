-- Correlated batches (in their commit, or in a later pass) the rules have not examined,
-- oldest first, with their event counts.
SELECT c.batch_id::VARCHAR, l.accepted
FROM correlated_batches c
JOIN ingest_log l USING (batch_id)
ANTI JOIN detected_batches d ON d.batch_id = c.batch_id
ORDER BY l.committed_at, c.batch_id;
