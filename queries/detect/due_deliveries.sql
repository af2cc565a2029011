-- Outbox rows a sink should try now, oldest first, with the alert as JSON.
-- $1: now (RFC 3339); $2: most rows.
-- Materialized: read twice, and a LIMIT over tied times must pick the same rows both times.
WITH due AS MATERIALIZED (
    SELECT *
    FROM alert_deliveries
    WHERE delivered_at IS NULL AND next_attempt_at <= $1::TIMESTAMPTZ
    ORDER BY next_attempt_at, alert_id
    LIMIT $2
),
-- The latest status of those alerts, joined once (see queries/timeline_alerts.sql).
current AS (
    SELECT s.alert_id, arg_max(s, s.changed_at) AS status
    FROM alert_status s
    WHERE s.alert_id IN (SELECT alert_id FROM due)
    GROUP BY s.alert_id
)
SELECT d.alert_id, d.sink, d.attempts, alert_document(a, c.status)::VARCHAR
FROM due d
JOIN alerts a USING (alert_id)
LEFT JOIN current c USING (alert_id)
ORDER BY d.next_attempt_at, d.alert_id;
