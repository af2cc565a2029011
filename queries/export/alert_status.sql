-- The lifecycle of the exported alerts (alerts.sql, same parameters): every status change.
WITH exported AS (
    SELECT a.alert_id
    FROM alerts a
    WHERE a.first_seen < $2::TIMESTAMPTZ AND a.last_seen >= $1::TIMESTAMPTZ
      AND (($3::VARCHAR IS NULL AND $4::VARCHAR IS NULL AND $5::VARCHAR IS NULL AND $6::VARCHAR IS NULL)
           OR EXISTS (
               SELECT 1 FROM events e
               WHERE list_contains(a.evidence, e.event_id)
                 AND ($3::VARCHAR IS NULL OR e.subject = $3::VARCHAR)
                 AND ($4::VARCHAR IS NULL OR e.client_id = $4::VARCHAR)
                 AND ($5::VARCHAR IS NULL OR e.resource = $5::VARCHAR)
                 AND ($6::VARCHAR IS NULL OR e.issuer = $6::VARCHAR)))
)
SELECT s.*
FROM alert_status s
JOIN exported USING (alert_id)
ORDER BY s.alert_id, s.changed_at;
