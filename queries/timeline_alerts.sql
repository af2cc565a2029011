-- name: timeline_alerts
-- description: Alerts whose evidence includes one of the given events, within a window.
-- params:
--   $1  event_ids  VARCHAR      a JSON array of event ids
--   $2  from       TIMESTAMPTZ
--   $3  to         TIMESTAMPTZ
SELECT alert_document(a, (SELECT arg_max(s, s.changed_at) FROM alert_status s
                          WHERE s.alert_id = a.alert_id))::VARCHAR
FROM alerts a
WHERE a.last_seen >= $2::TIMESTAMPTZ AND a.first_seen < $3::TIMESTAMPTZ
  AND list_has_any(a.evidence, $1::JSON::VARCHAR[])
ORDER BY a.first_seen, a.alert_id;
