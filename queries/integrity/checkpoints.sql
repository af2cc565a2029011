-- Every signed chain head, in order; times as epoch µs.
SELECT seq, sha256, epoch_us(signed_at), public_key, signature
FROM chain_checkpoints
ORDER BY seq;
