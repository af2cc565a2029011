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
-- Shape: `events` is scanned once and `connection_members` twice, each for the window
-- only (see docs/benchmark-notes.md). The two small CTEs are materialized so that their
-- readers do not scan the tables again.
--
-- The events matching the key, with the columns a page row needs.
WITH direct AS MATERIALIZED (
    SELECT event_id, time, kind, outcome, reason, source_name, connection_id AS session,
           resource, token_id, tool, ip
    FROM events
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
      AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
      AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
      AND ($6::VARCHAR IS NULL OR ip = $6::VARCHAR)
      AND ($7::VARCHAR IS NULL OR $7::VARCHAR IN (token_id, token_parent_id, token_refresh_id))
),
-- Their member rows: the connection each belongs to (NULL while unattached).
direct_members AS MATERIALIZED (
    SELECT event_id, connection_id
    FROM connection_members
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND event_id IN (SELECT event_id FROM direct)
),
-- Every event in the window of the connections those events belong to.
from_members AS (
    SELECT connection_id, event_id, time, kind, outcome, reason, source_name, session,
           resource, token_id, tool, ip
    FROM connection_members
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND connection_id IN (SELECT connection_id FROM direct_members
                            WHERE connection_id IS NOT NULL)
),
-- Matching events in no connection: unattached members, and the kinds that are never
-- members (metadata and client document fetches; see queries/correlate/insert_members.sql).
from_direct AS (
    SELECT NULL AS connection_id, *
    FROM direct
    WHERE kind IN ('as_metadata.fetch', 'client.document.fetch', 'client.register')
       OR (kind = 'metadata.fetch' AND session IS NULL)
       OR event_id IN (SELECT event_id FROM direct_members WHERE connection_id IS NULL)
),
page AS (
    SELECT * FROM from_members
    UNION ALL
    SELECT * FROM from_direct
    ORDER BY time, event_id
    LIMIT $8::BIGINT
)
-- Rendered last, for the page's rows only.
SELECT connection_id, event_summary(page)::VARCHAR
FROM page
ORDER BY time, event_id;
