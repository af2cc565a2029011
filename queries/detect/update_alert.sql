-- More hits on an open alert. $1 id, $2 severity, $3 first seen, $4 last seen (RFC 3339),
-- $5 count, $6 evidence (JSON array), $7 summary, $8 now.
UPDATE alerts SET
    severity = $2, first_seen = $3::TIMESTAMPTZ, last_seen = $4::TIMESTAMPTZ, count = $5,
    evidence = $6::JSON::VARCHAR[], summary = $7, updated_at = $8::TIMESTAMPTZ
WHERE alert_id = $1;
