-- The alerts of an export (macro exported_alerts) with their current status (parameters as
-- in events.sql).
WITH current AS (
    SELECT alert_id, arg_max(status, changed_at) AS status FROM alert_status GROUP BY alert_id
)
SELECT a.*, c.status
FROM exported_alerts($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR) a
LEFT JOIN current c USING (alert_id)
ORDER BY a.first_seen, a.alert_id;
