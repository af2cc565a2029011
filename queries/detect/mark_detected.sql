-- $1 batch id, $2 now (RFC 3339).
INSERT INTO detected_batches VALUES ($1::UUID, $2::TIMESTAMPTZ);
