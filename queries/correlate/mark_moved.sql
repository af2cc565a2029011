-- Before applying the planned attachments: the connections an event leaves and joins
-- must be evaluated again. $1, $2: the time span the plan covered.
INSERT INTO dirty_connections
SELECT unnest([m.connection_id, a.connection_id])
FROM connection_members m JOIN attach a USING (event_id)
WHERE m.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
  AND m.connection_id IS DISTINCT FROM a.connection_id;
