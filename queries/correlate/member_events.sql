-- The events of the connections to evaluate, oldest first, with how each was attached.
-- $1, $2: the time span of those events (bounds the scan of `events` to the row groups
-- that can hold them).
SELECT m.connection_id,
       '[' || string_agg(json_object('via', m.via, 'event', event_document(e))::VARCHAR, ','
                         ORDER BY e.time, e.event_id) || ']'
FROM connection_members m
JOIN events e USING (event_id)
WHERE m.connection_id IN (SELECT connection_id FROM dirty_connections)
  AND e.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
GROUP BY m.connection_id;
