-- Report: alerts seen in [$1, $2) and how each was handled: its current status, who set it
-- and their note.
SELECT a.rule_id,
       a.severity,
       a.summary,
       strftime((a.first_seen)::TIMESTAMP, '%Y-%m-%d %H:%M:%S') AS first_seen,
       coalesce(c.status.status, 'open') AS status,
       coalesce(c.status.actor, '') AS by,
       coalesce(c.status.note, '') AS note
FROM alerts a
LEFT JOIN alert_current_status() c USING (alert_id)
WHERE a.first_seen < $2::TIMESTAMPTZ AND a.last_seen >= $1::TIMESTAMPTZ
ORDER BY coalesce(c.status.status, 'open') = 'resolved', list_position(['critical', 'high', 'medium', 'low'], a.severity), a.first_seen;
