-- name: connection_summary
-- description: One connection's summary (the shape of a GET /v1/connections row).
-- params:
--   $1  connection_id  VARCHAR
SELECT connection_summary(connections)::VARCHAR
FROM connections
WHERE connection_id = $1::VARCHAR;
