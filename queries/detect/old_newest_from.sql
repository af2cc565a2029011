-- The newest stored event from $1 to $2 (RFC 3339, both included) that is not under
-- evaluation (epoch µs; NULL when there is none). The engine asks it for the new events'
-- own span and the lookback after it, where events of other batches may lie.
SELECT max(epoch_us(time))
FROM events
WHERE time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
  AND event_id NOT IN (SELECT event_id FROM new_events);
