-- A sink refused or could not be reached; try again at $3. $1 alert id, $2 sink,
-- $3 next attempt (RFC 3339), $4 the error.
UPDATE alert_deliveries
SET attempts = attempts + 1, next_attempt_at = $3::TIMESTAMPTZ, last_error = $4
WHERE alert_id = $1 AND sink = $2;
