-- The rejected records of one batch in the chain's canonical column order (README,
-- "Compliance"): every column but batch_id, in table order; the record's bytes as their
-- SHA-256 (the canonical encoding of a blob).
-- $1: batch id.
SELECT epoch_us(received_at), origin, format, reason, raw, raw_sha256, delivery_key
FROM rejected
WHERE batch_id = $1::UUID;
