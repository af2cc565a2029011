-- Report: alerts seen in [$1, $2) and how each was handled: its current status, who set it
-- and their note.
WITH current AS (
    SELECT alert_id, arg_max(s, s.changed_at) AS s FROM alert_status s GROUP BY alert_id
)
SELECT a.rule_id,
       a.severity,
       a.summary,
       strftime((a.first_seen)::TIMESTAMP, '%Y-%m-%d %H:%M:%S') AS first_seen,
       coalesce(c.s.status, 'open') AS status,
       coalesce(c.s.actor, '') AS by,
       coalesce(c.s.note, '') AS note
FROM alerts a
LEFT JOIN current c USING (alert_id)
WHERE a.first_seen < $2::TIMESTAMPTZ AND a.last_seen >= $1::TIMESTAMPTZ
ORDER BY coalesce(c.s.status, 'open') = 'resolved', list_position(['critical', 'high', 'medium', 'low'], a.severity), a.first_seen;
