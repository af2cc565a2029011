-- name: alerts
-- description: Alerts with their current status, most recently seen first (keyset paged).
-- params:
--   $1  from            TIMESTAMPTZ  alerts last seen at or after
--   $2  to              TIMESTAMPTZ  alerts first seen before
--   $3  rule_id         VARCHAR
--   $4  min_severity    INTEGER      1 low … 4 critical
--   $5  status          VARCHAR      open, acknowledged, resolved
--   $6  key             VARCHAR
--   $7  connection_id   VARCHAR
--   $8  cursor_time_us  BIGINT       last_seen of the previous page's last alert
--   $9  cursor_id       VARCHAR      its alert id
--   $10 limit           BIGINT
SELECT epoch_us(a.last_seen), a.alert_id, alert_document(a, c.status)::VARCHAR
FROM alerts a
JOIN alert_current_status() c USING (alert_id)
WHERE ($1::TIMESTAMPTZ IS NULL OR a.last_seen >= $1::TIMESTAMPTZ)
  AND ($2::TIMESTAMPTZ IS NULL OR a.first_seen < $2::TIMESTAMPTZ)
  AND ($3::VARCHAR IS NULL OR a.rule_id = $3)
  AND ($4::INTEGER IS NULL
       OR list_position(['low', 'medium', 'high', 'critical'], a.severity) >= $4)
  AND ($5::VARCHAR IS NULL OR c.status.status = $5)
  AND ($6::VARCHAR IS NULL OR a.key = $6)
  AND ($7::VARCHAR IS NULL OR a.connection_id = $7)
  AND ($8::BIGINT IS NULL OR (epoch_us(a.last_seen), a.alert_id) < ($8, $9))
ORDER BY a.last_seen DESC, a.alert_id DESC
LIMIT $10;
