-- The events of an export: event time in [$1, $2), optional filters, oldest first.
-- $1 from, $2 to (TIMESTAMPTZ); $3 subject, $4 client_id, $5 resource, $6 issuer (NULL: any).
SELECT * REPLACE (attributes::VARCHAR AS attributes, batch_id::VARCHAR AS batch_id)
FROM events
WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
  AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
  AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
  AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
  AND ($6::VARCHAR IS NULL OR issuer = $6::VARCHAR)
ORDER BY time, event_id;
