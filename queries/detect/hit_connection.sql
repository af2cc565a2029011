-- The connection the evidence of a hit belongs to, if any. $1: JSON array of event ids;
-- $2, $3: event-time bounds (RFC 3339) around the hit, to prune the scan.
SELECT connection_id FROM connection_members
WHERE time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ
  AND event_id IN (SELECT unnest($1::JSON::VARCHAR[]))
  AND connection_id IS NOT NULL
ORDER BY time
LIMIT 1;
