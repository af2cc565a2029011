-- Exact attachment: an event carrying an issued token's id (its access or refresh token)
-- belongs to that token's connection. Considers unattached events and those attached
-- only by session or window, which an exact key overrides. An event waiting for its
-- token comes after the token's issue, which is in this batch (or follows a parent in it),
-- so only events from the batch's start on are looked at.
-- $1: the batch's earliest event time less the clock skew.
CREATE OR REPLACE TEMP TABLE attach AS
WITH open_members AS (
    SELECT event_id, token_id
    FROM connection_members
    WHERE time >= $1::TIMESTAMPTZ
      AND token_id IS NOT NULL
      AND (connection_id IS NULL OR via <> 'token')
),
matches AS (
    SELECT m.event_id, t.connection_id
    FROM open_members m JOIN connection_tokens t ON m.token_id = t.token_id
    WHERE t.connection_id IS NOT NULL
    UNION ALL
    SELECT m.event_id, t.connection_id
    FROM open_members m JOIN connection_tokens t ON m.token_id = t.token_refresh_id
    WHERE t.connection_id IS NOT NULL
)
SELECT event_id, min(connection_id) AS connection_id, 'token' AS via
FROM matches
GROUP BY event_id;
