-- name: connection_span
-- description: When a connection was first and last seen (µs since the epoch): the bounds
-- that prune the scans of its tokens and events.
-- params:
--   $1  connection_id  VARCHAR
SELECT epoch_us(first_seen), epoch_us(last_seen)
FROM connections
WHERE connection_id = $1::VARCHAR;
