-- An alert waiting for a sink. $1 alert id, $2 sink name, $3 now (RFC 3339).
INSERT INTO alert_deliveries VALUES ($1, $2, 0, $3::TIMESTAMPTZ, NULL, NULL);
