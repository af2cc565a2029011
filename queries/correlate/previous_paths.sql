-- The stored trust paths of the connections to evaluate, to record verdict changes.
SELECT connection_id, trust_path::VARCHAR
FROM connections
WHERE connection_id IN (SELECT connection_id FROM dirty_connections);
