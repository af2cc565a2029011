-- name: connections_by_id
-- description: Summaries of the given connections (the shape of GET /v1/connections rows).
-- params:
--   $1  connection_ids  VARCHAR      a JSON array of connection ids
SELECT connection_summary(connections)::VARCHAR
FROM connections
WHERE connection_id IN (SELECT unnest($1::JSON::VARCHAR[]));
