-- An alert waiting for a sink (kept once per alert and sink). $1 alert id, $2 sink name,
-- $3 now (RFC 3339).
INSERT OR IGNORE INTO alert_deliveries VALUES ($1, $2, 0, $3::TIMESTAMPTZ, NULL, NULL);
