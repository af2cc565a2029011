-- A signed chain head.
INSERT INTO chain_checkpoints (seq, sha256, signed_at, public_key, signature)
VALUES ($1, $2, $3::TIMESTAMPTZ, $4, $5);
