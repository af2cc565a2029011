-- Committed batches with events that the correlation has not seen, oldest first.
SELECT batch_id::VARCHAR, strftime(received_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'), accepted
FROM ingest_log
WHERE accepted > 0
  AND batch_id NOT IN (SELECT batch_id FROM correlated_batches)
ORDER BY committed_at, batch_id;
