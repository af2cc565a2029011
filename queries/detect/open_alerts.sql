-- The alerts of a rule for a key that are not resolved, oldest first: a new hit within the
-- dedup window of one of them adds to it. $1: rule id; $2: key.
SELECT a.alert_id, epoch_us(a.first_seen), epoch_us(a.last_seen), a.count, a.severity,
       to_json(a.evidence)::VARCHAR, a.summary
FROM alerts a
WHERE a.rule_id = $1 AND a.key = $2
  AND (SELECT arg_max(s.status, s.changed_at) FROM alert_status s WHERE s.alert_id = a.alert_id)
      <> 'resolved'
ORDER BY a.first_seen, a.alert_id;
