-- The time span (epoch µs) of what attachment by context must look at again: the pass's
-- member events and the events the token plan (still in `attach`) just moved.
-- $1, $2: the first and last batch of the pass (setup.sql).
SELECT epoch_us(min(time)), epoch_us(max(time))
FROM connection_members
WHERE (batch_id BETWEEN $1::UUID AND $2::UUID
  AND batch_id IN (SELECT batch_id FROM correlating_batches))
   OR event_id IN (SELECT event_id FROM attach);
