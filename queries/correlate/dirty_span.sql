-- The time span of the events of the connections to evaluate.
SELECT min(time)::VARCHAR, max(time)::VARCHAR
FROM connection_members
WHERE connection_id IN (SELECT connection_id FROM dirty_connections);
