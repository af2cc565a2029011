-- Report: scopes granted per resource in [$1, $2): how many tokens carry each, to how many
-- users and clients.
SELECT coalesce(resource, '(no resource)') AS resource,
       scope,
       count(*) AS tokens,
       count(DISTINCT subject) AS subjects,
       count(DISTINCT client_id) AS clients
FROM (
    SELECT resource, subject, client_id, unnest(scopes_granted) AS scope
    FROM events
    WHERE kind = 'token.issue' AND outcome = 'success'
      AND time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
)
GROUP BY ALL
ORDER BY resource, tokens DESC, scope;
