-- Signed chain heads with $1 <= seq <= $2 (NULL: unbounded), in order; times as epoch µs.
SELECT seq, sha256, epoch_us(signed_at), public_key, signature
FROM chain_checkpoints
WHERE ($1::BIGINT IS NULL OR seq >= $1::BIGINT)
  AND ($2::BIGINT IS NULL OR seq <= $2::BIGINT)
ORDER BY seq;
