-- Moves the batch's evaluated connections (appended as text) into `connections`.
INSERT OR REPLACE INTO connections
SELECT connection_id, root_token_id, issuer, client_id, subject, resource,
       first_seen::TIMESTAMPTZ, last_seen::TIMESTAMPTZ, events, tokens, verdict,
       violated::JSON::VARCHAR[], unknown::JSON::VARCHAR[], trust_path::JSON,
       evaluated_at::TIMESTAMPTZ
FROM evaluated_connections;
DELETE FROM evaluated_connections;
