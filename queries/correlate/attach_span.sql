-- The time span (epoch µs) of what attachment by context must look at again: the batch's
-- member events and the events the token plan (still in `attach`) just moved.
-- $1: batch id.
SELECT epoch_us(min(time)), epoch_us(max(time))
FROM connection_members
WHERE batch_id = $1::UUID OR event_id IN (SELECT event_id FROM attach);
