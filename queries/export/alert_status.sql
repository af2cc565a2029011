-- The lifecycle of the exported alerts: every status change (parameters as in events.sql).
SELECT s.*
FROM alert_status s
WHERE s.alert_id IN (SELECT alert_id FROM exported_alerts($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR))
ORDER BY s.alert_id, s.changed_at;
