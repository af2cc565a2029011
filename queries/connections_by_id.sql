-- name: connections_by_id
-- description: Summaries of the given connections (the shape of GET /v1/connections rows).
-- params:
--   $1  connection_ids  VARCHAR      a JSON array of connection ids
-- Summaries from a projection without `trust_path` (see connection_summary in macros.sql).
SELECT connection_summary(c)::VARCHAR
FROM (SELECT * EXCLUDE (trust_path) FROM connections) AS c
WHERE connection_id IN (SELECT unnest($1::JSON::VARCHAR[]));
