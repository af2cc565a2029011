-- name: timeline
-- description: The events of an incident timeline, oldest first: every event in [from, to)
-- that matches the key (subject, client, resource, IP or token), plus the other events in
-- that range of the connections those events belong to, each with its connection.
-- params:
--   $1  from       TIMESTAMPTZ
--   $2  to         TIMESTAMPTZ
--   $3  subject    VARCHAR
--   $4  client_id  VARCHAR
--   $5  resource   VARCHAR
--   $6  ip         VARCHAR
--   $7  token_id   VARCHAR      access, parent or refresh token id
--   $8  limit      BIGINT
WITH direct AS (
    SELECT event_id
    FROM events
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
      AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
      AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
      AND ($6::VARCHAR IS NULL OR ip = $6::VARCHAR)
      AND ($7::VARCHAR IS NULL OR $7::VARCHAR IN (token_id, token_parent_id, token_refresh_id))
),
members AS (
    SELECT event_id, connection_id
    FROM connection_members
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
),
involved AS (
    SELECT DISTINCT connection_id
    FROM members
    WHERE event_id IN (SELECT event_id FROM direct) AND connection_id IS NOT NULL
),
wanted AS (
    SELECT event_id FROM direct
    UNION
    SELECT event_id FROM members WHERE connection_id IN (SELECT connection_id FROM involved)
)
SELECT m.connection_id, event_document(e)::VARCHAR
FROM events e
LEFT JOIN members m USING (event_id)
WHERE e.time >= $1::TIMESTAMPTZ AND e.time < $2::TIMESTAMPTZ
  AND e.event_id IN (SELECT event_id FROM wanted)
ORDER BY e.time, e.event_id
LIMIT $8::BIGINT;
