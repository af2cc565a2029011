-- Every alert with its evidence, its earliest hit (event time, epoch µs), its summary, and
-- each hit's processing latency (ms from the trigger event's arrival to the hit's record).
SELECT a.rule_id,
       to_json(a.evidence)::VARCHAR,
       (SELECT min(epoch_us(h.time)) FROM alert_hits h WHERE h.alert_id = a.alert_id),
       a.summary,
       to_json((SELECT coalesce(list((epoch_us(h.detected_at) - epoch_us(e.received_at)) / 1000.0), [])
                FROM alert_hits h JOIN events e USING (event_id)
                WHERE h.alert_id = a.alert_id))::VARCHAR
FROM alerts a
ORDER BY a.rule_id, a.first_seen;
