-- name: timeline_alerts
-- description: Alerts whose evidence includes one of the given events, within a window.
-- params:
--   $1  event_ids  VARCHAR      a JSON array of event ids
--   $2  from       TIMESTAMPTZ
--   $3  to         TIMESTAMPTZ
SELECT alert_document(a, c.status)::VARCHAR
FROM alerts a
LEFT JOIN alert_current_status() c USING (alert_id)
WHERE a.last_seen >= $2::TIMESTAMPTZ AND a.first_seen < $3::TIMESTAMPTZ
  AND list_has_any(a.evidence, $1::JSON::VARCHAR[])
ORDER BY a.first_seen, a.alert_id;
