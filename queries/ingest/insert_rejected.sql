-- One rejected record. The same bytes under the same delivery_key (a NATS message
-- delivered again, a file ingested again) are kept once.
INSERT OR IGNORE INTO rejected (received_at, origin, format, reason, raw, raw_sha256, delivery_key, batch_id)
VALUES ($1::TIMESTAMPTZ, $2, $3, $4, $5, $6, $7, $8::UUID);
