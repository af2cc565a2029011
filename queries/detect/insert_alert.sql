-- A new alert. $1 id, $2 rule id, $3 rule name, $4 severity, $5 key, $6 first seen,
-- $7 last seen (RFC 3339), $8 count, $9 evidence (JSON array), $10 connection id,
-- $11 summary, $12 now (RFC 3339).
INSERT INTO alerts VALUES (
    $1, $2, $3, $4, $5, $6::TIMESTAMPTZ, $7::TIMESTAMPTZ, $8, $9::JSON::VARCHAR[], $10, $11,
    $12::TIMESTAMPTZ, $12::TIMESTAMPTZ);
