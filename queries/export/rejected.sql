-- Rejected input received in [$1, $2), the record's bytes as base64. Filters do not
-- apply: a rejected record has no trusted fields to filter on.
SELECT * REPLACE (to_base64(raw) AS raw, batch_id::VARCHAR AS batch_id)
FROM rejected
WHERE received_at >= $1::TIMESTAMPTZ AND received_at < $2::TIMESTAMPTZ
ORDER BY received_at, raw_sha256;
