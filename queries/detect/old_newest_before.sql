-- The newest stored event from $1 (included) to $2 (excluded), both RFC 3339, epoch µs,
-- that was examined before (as in old_newest_from.sql); NULL when there is none. $2 is the
-- earliest new event, so nothing here is new. The engine asks first for a few seconds
-- before it, which prunes the scan to a row group or two, and for the rest of the lookback
-- only when those seconds hold nothing.
SELECT max(epoch_us(time))
FROM events
WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
  AND batch_id NOT IN (SELECT batch_id FROM unexamined_batches());
