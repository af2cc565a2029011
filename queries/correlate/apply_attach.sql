-- Applies the planned attachments. $1, $2: the time span the plan covered.
UPDATE connection_members AS m
SET connection_id = a.connection_id, via = a.via
FROM attach AS a
WHERE m.event_id = a.event_id
  AND m.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
  AND (m.connection_id IS DISTINCT FROM a.connection_id OR m.via IS DISTINCT FROM a.via);
