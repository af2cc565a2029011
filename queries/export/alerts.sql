-- The alerts of an export (macro exported_alerts) with their current status (parameters as
-- in events.sql).
SELECT a.*, c.status.status AS status
FROM exported_alerts($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR) a
LEFT JOIN alert_current_status() c USING (alert_id)
ORDER BY a.first_seen, a.alert_id;
