-- The connections of an export, with their trust paths: active in [$1, $2) (first seen
-- before the end, last seen at or after the start) and matching the filters.
SELECT * REPLACE (trust_path::VARCHAR AS trust_path)
FROM connections
WHERE first_seen < $2::TIMESTAMPTZ AND last_seen >= $1::TIMESTAMPTZ
  AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
  AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
  AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
  AND ($6::VARCHAR IS NULL OR issuer = $6::VARCHAR)
ORDER BY first_seen, connection_id;
