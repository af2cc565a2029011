-- Applies the planned attachments. The connections an event leaves and joins must be
-- evaluated again.
INSERT INTO dirty_connections
SELECT unnest([m.connection_id, a.connection_id])
FROM connection_members m JOIN attach a USING (event_id)
WHERE m.connection_id IS DISTINCT FROM a.connection_id;

-- A session whose events moved may now belong elsewhere as a whole (plan_by_context.sql).
INSERT INTO touched_sessions
SELECT m.session
FROM connection_members m JOIN attach a USING (event_id)
WHERE m.session IS NOT NULL AND m.connection_id IS DISTINCT FROM a.connection_id;

UPDATE connection_members AS m
SET connection_id = a.connection_id, via = a.via
FROM attach AS a
WHERE m.event_id = a.event_id
  AND (m.connection_id IS DISTINCT FROM a.connection_id OR m.via IS DISTINCT FROM a.via);
