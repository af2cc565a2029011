-- name: verdict_changes
-- description: When links of the given connections became or stopped being violated,
-- oldest first, optionally within a time range.
-- params:
--   $1  connection_ids  VARCHAR      a JSON array of connection ids
--   $2  from            TIMESTAMPTZ
--   $3  to              TIMESTAMPTZ
SELECT json_object(
    'connection_id', connection_id,
    'link', link,
    'before', verdict_before,
    'after', verdict_after,
    'explanation', explanation,
    'time', strftime(time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'recorded_at', strftime(recorded_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ')
)::VARCHAR
FROM verdict_changes
WHERE connection_id IN (SELECT unnest($1::JSON::VARCHAR[]))
  AND ($2::TIMESTAMPTZ IS NULL OR time >= $2::TIMESTAMPTZ)
  AND ($3::TIMESTAMPTZ IS NULL OR time < $3::TIMESTAMPTZ)
ORDER BY time, connection_id, link;
