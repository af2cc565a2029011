-- name: alert
-- description: One alert with its current status, its lifecycle, its hits and deliveries.
-- params:
--   $1  alert_id  VARCHAR
SELECT json_object(
    'alert', alert_document(a, c.status),
    'history', (SELECT coalesce(list(json_object(
                    'status', s.status, 'by', s.actor, 'note', s.note,
                    'at', strftime(s.changed_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ')) ORDER BY s.changed_at), [])
                FROM alert_status s WHERE s.alert_id = a.alert_id),
    'hits', (SELECT coalesce(list(json_object(
                    'event_id', h.event_id,
                    'time', strftime(h.time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
                    'detected_at', strftime(h.detected_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'))
                    ORDER BY h.time, h.event_id), [])
             FROM alert_hits h WHERE h.alert_id = a.alert_id),
    'deliveries', (SELECT coalesce(list(json_object(
                    'sink', d.sink, 'attempts', d.attempts, 'last_error', d.last_error,
                    'delivered_at', strftime(d.delivered_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
                    'next_attempt_at', strftime(d.next_attempt_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'))
                    ORDER BY d.sink), [])
                   FROM alert_deliveries d WHERE d.alert_id = a.alert_id)
)::VARCHAR
FROM alerts a
LEFT JOIN alert_current_status() c USING (alert_id)
WHERE a.alert_id = $1;
