-- $1 rule id, $2 trigger event id, $3 alert id, $4 event time, $5 now (RFC 3339).
INSERT INTO alert_hits VALUES ($1, $2, $3, $4::TIMESTAMPTZ, $5::TIMESTAMPTZ);
