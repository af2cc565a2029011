-- name: connection_tokens
-- description: The tokens of one connection, oldest first, with their lineage.
-- params:
--   $1  connection_id  VARCHAR
--   $2  first_seen     TIMESTAMPTZ  bounds the scan to the connection's span
--   $3  last_seen      TIMESTAMPTZ
SELECT json_object(
    'token_id', token_id,
    'parent_id', token_parent_id,
    'refresh_token_id', token_refresh_id,
    'grant_type', grant_type,
    'issued_at', strftime(time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'event_id', event_id
)::VARCHAR
FROM connection_tokens
WHERE connection_id = $1::VARCHAR
  AND time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ
ORDER BY time, token_id;
