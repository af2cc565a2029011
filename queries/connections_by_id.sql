-- name: connections_by_id
-- description: Summaries of the given connections (the shape of GET /v1/connections rows).
-- params:
--   $1  connection_ids  VARCHAR      a JSON array of connection ids
-- The summary reads its columns from a projection without `trust_path`: passed the
-- table's whole row, DuckDB would decompress every scanned row's trust path (zstd,
-- ≈ 5 KB each) only to drop it.
SELECT connection_summary(connections)::VARCHAR
FROM (SELECT * EXCLUDE (trust_path) FROM connections) AS connections
WHERE connection_id IN (SELECT unnest($1::JSON::VARCHAR[]));
