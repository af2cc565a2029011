-- name: timeline
-- description: The events of an incident timeline (summaries), oldest first: every event in [from, to)
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
window_members AS (
    SELECT event_id, connection_id
    FROM connection_members
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
),
involved AS (
    SELECT DISTINCT connection_id
    FROM window_members
    WHERE event_id IN (SELECT event_id FROM direct) AND connection_id IS NOT NULL
),
wanted AS (
    SELECT d.event_id, m.connection_id
    FROM direct d LEFT JOIN window_members m USING (event_id)
    UNION
    SELECT event_id, connection_id
    FROM window_members
    WHERE connection_id IN (SELECT connection_id FROM involved)
)
-- The wanted rows are few: pick them from the window's events, then render.
SELECT w.connection_id, event_summary(e)::VARCHAR
FROM (
    SELECT *
    FROM events
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND event_id IN (SELECT event_id FROM wanted)
) e
JOIN wanted w USING (event_id)
ORDER BY e.time, e.event_id
LIMIT $8::BIGINT;
