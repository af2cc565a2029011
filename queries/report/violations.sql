-- Report: connections active in [$1, $2) whose trust path does not hold, with the links
-- that broke.
SELECT connection_id,
       coalesce(subject, '') AS subject,
       coalesce(client_id, '') AS client_id,
       coalesce(resource, '') AS resource,
       strftime((first_seen)::TIMESTAMP, '%Y-%m-%d %H:%M:%S') AS first_seen,
       array_to_string(violated, ', ') AS violated_links
FROM connections
WHERE first_seen < $2::TIMESTAMPTZ AND last_seen >= $1::TIMESTAMPTZ AND verdict = 'violated'
ORDER BY first_seen, connection_id;
