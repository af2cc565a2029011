-- A sink took the alert. $1 alert id, $2 sink, $3 now (RFC 3339).
UPDATE alert_deliveries
SET delivered_at = $3::TIMESTAMPTZ, attempts = attempts + 1, last_error = NULL
WHERE alert_id = $1 AND sink = $2;
