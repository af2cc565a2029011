-- name: connection_events
-- description: The events of one connection, oldest first, each with how it was attached
-- (token, session, window).
-- params:
--   $1  connection_id  VARCHAR
--   $2  first_seen     TIMESTAMPTZ  bounds the scan to the connection's span
--   $3  last_seen      TIMESTAMPTZ
SELECT json_object('attached_by', m.via, 'event', event_document(e))::VARCHAR
FROM connection_members m
JOIN events e USING (event_id)
WHERE m.connection_id = $1::VARCHAR
  AND m.time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ
  AND e.time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ
ORDER BY e.time, e.event_id;
