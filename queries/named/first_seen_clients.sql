-- name: first_seen_clients
-- description: Clients by the day they were first seen, with their registration kind and how many subjects used them since.
-- param: since TIMESTAMPTZ optional Only clients first seen at or after this time.
SELECT
    date_trunc('day', first_seen::TIMESTAMP)::DATE AS day,
    client_id,
    registration,
    first_seen,
    subjects
FROM (
    SELECT client_id, any_value(client_registration) AS registration, min(time) AS first_seen,
           count(DISTINCT subject) AS subjects
    FROM events
    WHERE client_id IS NOT NULL
    GROUP BY client_id
)
WHERE $since IS NULL OR first_seen >= $since::TIMESTAMPTZ
ORDER BY first_seen DESC, client_id;
