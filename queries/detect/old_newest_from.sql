-- The newest stored event from $1 to $2 (RFC 3339, both included) that is not under
-- evaluation and was examined before (epoch µs; NULL when there is none). The engine asks
-- it for the new events' own span and the lookback after it, where events of other
-- batches may lie. A batch committed but not examined yet (waiting for its correlation, a
-- later evaluation, or committed since this one began) is not old: the evaluation that
-- examines it is still to come.
SELECT max(epoch_us(time))
FROM events
WHERE time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
  AND event_id NOT IN (SELECT event_id FROM new_events)
  AND batch_id NOT IN (SELECT batch_id FROM unexamined_batches());
