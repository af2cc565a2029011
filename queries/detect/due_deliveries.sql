-- Outbox rows a sink should try now, oldest first, with the alert as JSON.
-- $1: now (RFC 3339); $2: most rows.
SELECT d.alert_id, d.sink, d.attempts, alert_document(a, c.status)::VARCHAR
FROM alert_deliveries d
JOIN alerts a USING (alert_id)
LEFT JOIN alert_current_status() c USING (alert_id)
WHERE d.delivered_at IS NULL AND d.next_attempt_at <= $1::TIMESTAMPTZ
ORDER BY d.next_attempt_at, d.alert_id
LIMIT $2;
