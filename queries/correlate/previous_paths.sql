-- The stored verdicts of the connections to evaluate (violated and unknown link names;
-- the others were ok), to record verdict changes.
SELECT connection_id, to_json(violated)::VARCHAR, to_json(unknown)::VARCHAR
FROM connections
WHERE connection_id IN (SELECT connection_id FROM dirty_connections);
