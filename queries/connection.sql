-- name: connection
-- description: One connection: its summary (the shape of a GET /v1/connections row) and
-- its stored trust path.
-- params:
--   $1  connection_id  VARCHAR
SELECT
    connection_summary(connections)::VARCHAR AS connection,
    trust_path::VARCHAR,
    strftime(evaluated_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ')
FROM connections
WHERE connection_id = $1::VARCHAR;
