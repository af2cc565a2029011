-- A rule's alerts as fixtures state them. $1: rule id.
SELECT key, severity, count, to_json(evidence)::VARCHAR
FROM alerts WHERE rule_id = $1
ORDER BY key, first_seen;
