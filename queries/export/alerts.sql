-- The alerts of an export, with their current status: seen in [$1, $2); with filters, only
-- alerts with evidence among the exported events.
WITH current AS (
    SELECT alert_id, arg_max(status, changed_at) AS status FROM alert_status GROUP BY alert_id
)
SELECT a.*, c.status
FROM alerts a
LEFT JOIN current c USING (alert_id)
WHERE a.first_seen < $2::TIMESTAMPTZ AND a.last_seen >= $1::TIMESTAMPTZ
  AND (($3::VARCHAR IS NULL AND $4::VARCHAR IS NULL AND $5::VARCHAR IS NULL AND $6::VARCHAR IS NULL)
       OR EXISTS (
           SELECT 1 FROM events e
           WHERE list_contains(a.evidence, e.event_id)
             AND ($3::VARCHAR IS NULL OR e.subject = $3::VARCHAR)
             AND ($4::VARCHAR IS NULL OR e.client_id = $4::VARCHAR)
             AND ($5::VARCHAR IS NULL OR e.resource = $5::VARCHAR)
             AND ($6::VARCHAR IS NULL OR e.issuer = $6::VARCHAR)))
ORDER BY a.first_seen, a.alert_id;
