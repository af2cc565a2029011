-- Committed batches with events that the correlation has not seen, oldest first.
SELECT batch_id::VARCHAR, epoch_us(received_at), accepted
FROM ingest_log
WHERE accepted > 0
  AND batch_id NOT IN (SELECT batch_id FROM correlated_batches)
ORDER BY committed_at, batch_id;
