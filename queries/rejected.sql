-- name: rejected
-- description: Rejected input, newest first: where it came from, why, and the record itself
-- (as text when it is valid UTF-8, else as base64 in `raw_base64`).
-- params:
--   $1 from    TIMESTAMPTZ  rejected at or after
--   $2 to      TIMESTAMPTZ  rejected before
--   $3 limit   BIGINT
SELECT json_object(
    'received_at', strftime(received_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'origin', origin,
    'format', format,
    'reason', reason,
    'raw', TRY(decode(raw)),
    'raw_base64', to_base64(raw),
    'raw_sha256', raw_sha256,
    'batch_id', batch_id::VARCHAR
)::VARCHAR AS rejected
FROM rejected
WHERE ($1::TIMESTAMPTZ IS NULL OR received_at >= $1::TIMESTAMPTZ)
  AND ($2::TIMESTAMPTZ IS NULL OR received_at < $2::TIMESTAMPTZ)
ORDER BY received_at DESC, raw_sha256
LIMIT $3::BIGINT;
