-- name: token_connection
-- description: The connection a token belongs to: the one that issued it (as access or
-- refresh token), else the one its uses were attached to.
-- params:
--   $1  token_id  VARCHAR
SELECT connection_id FROM (
    SELECT connection_id, 1 AS preference FROM connection_tokens WHERE token_id = $1::VARCHAR
    UNION ALL
    SELECT connection_id, 2 FROM connection_tokens WHERE token_refresh_id = $1::VARCHAR
    UNION ALL
    SELECT connection_id, 3 FROM connection_members WHERE token_id = $1::VARCHAR
)
WHERE connection_id IS NOT NULL
ORDER BY preference, connection_id
LIMIT 1;
