-- name: timeline_alerts
-- description: Alerts whose evidence includes one of the given events, within a window.
-- params:
--   $1  event_ids  VARCHAR      a JSON array of event ids
--   $2  from       TIMESTAMPTZ
--   $3  to         TIMESTAMPTZ
WITH hit AS (
    SELECT *
    FROM alerts a
    WHERE a.last_seen >= $2::TIMESTAMPTZ AND a.first_seen < $3::TIMESTAMPTZ
      AND list_has_any(a.evidence, $1::JSON::VARCHAR[])
),
-- The latest status of those alerts only, joined once: `alert_document` refers to its
-- status four times, and a correlated subquery in its place would run once per reference.
current AS (
    SELECT s.alert_id, arg_max(s, s.changed_at) AS status
    FROM alert_status s
    WHERE s.alert_id IN (SELECT alert_id FROM hit)
    GROUP BY s.alert_id
)
SELECT alert_document(a, c.status)::VARCHAR
FROM hit a
LEFT JOIN current c USING (alert_id)
ORDER BY a.first_seen, a.alert_id;
