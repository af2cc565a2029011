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
    SELECT *
    FROM connection_members
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
),
involved AS (
    SELECT DISTINCT connection_id
    FROM window_members
    WHERE event_id IN (SELECT event_id FROM direct) AND connection_id IS NOT NULL
),
-- Events of approval chains: drawn from the narrow members table.
from_members AS (
    SELECT connection_id, event_id, time, kind, outcome, reason, source_name, session,
           resource, token_id, tool, ip
    FROM window_members
    WHERE connection_id IN (SELECT connection_id FROM involved)
    UNION ALL
    SELECT connection_id, event_id, time, kind, outcome, reason, source_name, session,
           resource, token_id, tool, ip
    FROM window_members
    WHERE connection_id IS NULL AND event_id IN (SELECT event_id FROM direct)
),
-- Matching events that are never members (metadata and client document fetches; see
-- queries/correlate/insert_members.sql). The key filter repeats `direct`'s on purpose:
-- `direct` reads only ids, and these columns are read only for the few rows kept here.
from_events AS (
    SELECT NULL AS connection_id, event_id, time, kind, outcome, reason, source_name,
           connection_id AS session, resource, token_id, tool, ip
    FROM events
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND (kind IN ('as_metadata.fetch', 'client.document.fetch', 'client.register')
           OR (kind = 'metadata.fetch' AND connection_id IS NULL))
      AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
      AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
      AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
      AND ($6::VARCHAR IS NULL OR ip = $6::VARCHAR)
      AND ($7::VARCHAR IS NULL OR $7::VARCHAR IN (token_id, token_parent_id, token_refresh_id))
),
page AS (
    SELECT * FROM from_members
    UNION ALL
    SELECT * FROM from_events
    ORDER BY time, event_id
    LIMIT $8::BIGINT
)
-- Rendered last, for the page's rows only.
SELECT connection_id, event_summary(page)::VARCHAR
FROM page
ORDER BY time, event_id;
