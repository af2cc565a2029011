-- Which of these trigger events already fired the rule. $1: rule id; $2: JSON array of
-- event ids.
SELECT event_id FROM alert_hits
WHERE rule_id = $1 AND event_id IN (SELECT unnest($2::JSON::VARCHAR[]));
