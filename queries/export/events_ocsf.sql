-- The events of an export as stored documents, for rendering as OCSF (same window and
-- filters as events.sql).
SELECT event_document(e)::VARCHAR
FROM events e
WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
  AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
  AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
  AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
  AND ($6::VARCHAR IS NULL OR issuer = $6::VARCHAR)
ORDER BY time, event_id;
