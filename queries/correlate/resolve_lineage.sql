-- A refresh grant joins the connection of the token whose refresh token it presented.
-- Run until it changes nothing: a chain that arrived child first resolves link by link.
-- The unresolved children are few; they are matched first, then updated by event id.
UPDATE connection_tokens AS child
SET connection_id = found.connection_id
FROM (
    SELECT c.event_id, min(p.connection_id) AS connection_id
    FROM connection_tokens c
    JOIN connection_tokens p ON p.token_refresh_id = c.token_parent_id
    WHERE c.connection_id IS NULL AND p.connection_id IS NOT NULL
    GROUP BY c.event_id
) AS found
WHERE child.event_id = found.event_id AND child.connection_id IS NULL;
