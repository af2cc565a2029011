-- A lifecycle step. $1 alert id, $2 status, $3 actor, $4 when (RFC 3339), $5 note.
INSERT INTO alert_status VALUES ($1, $2, $3, $4::TIMESTAMPTZ, $5);
