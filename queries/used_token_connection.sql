-- name: used_token_connection
-- description: For a token no stored grant issued: the connection its uses were attached
-- to (by gateway session). Scans the members; asked only when the lookups above fail.
-- params:
--   $1  token_id  VARCHAR
SELECT connection_id
FROM connection_members
WHERE token_id = $1::VARCHAR AND connection_id IS NOT NULL
ORDER BY time, event_id
LIMIT 1;
