-- A refresh grant joins the connection of the token whose refresh token it presented.
-- Run until it changes nothing: a chain that arrived child first resolves link by link.
UPDATE connection_tokens AS child
SET connection_id = parent.connection_id
FROM connection_tokens AS parent
WHERE child.connection_id IS NULL
  AND parent.connection_id IS NOT NULL
  AND child.token_parent_id = parent.token_refresh_id;
