-- The time span of the pass's events (epoch µs).
-- $1, $2: the first and last batch of the pass (setup.sql).
SELECT epoch_us(min(time)), epoch_us(max(time))
FROM events
WHERE batch_id BETWEEN $1::UUID AND $2::UUID
  AND batch_id IN (SELECT batch_id FROM correlating_batches);
