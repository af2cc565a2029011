-- Exact attachment: an event carrying an issued token's id (its access or refresh token)
-- belongs to that token's connection. Considers unattached events and those attached
-- only by session or window, which an exact key overrides.
CREATE OR REPLACE TEMP TABLE attach AS
WITH open_members AS (
    SELECT event_id, token_id
    FROM connection_members
    WHERE token_id IS NOT NULL AND (connection_id IS NULL OR via <> 'token')
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
