-- Token ids to look up, spread over the store deterministically (by hash, not by time).
-- $1: how many.
SELECT token_id
FROM connection_tokens
WHERE connection_id IS NOT NULL
ORDER BY hash(token_id), token_id
LIMIT $1::BIGINT;
