-- name: token_connection
-- description: The connection that issued a token as its access token (an index lookup).
-- params:
--   $1  token_id  VARCHAR
SELECT connection_id
FROM connection_tokens
WHERE token_id = $1::VARCHAR AND connection_id IS NOT NULL
LIMIT 1;
