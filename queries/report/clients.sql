-- Report: clients approved in [$1, $2) (a token issued to them), with every client
-- metadata document hash seen for them up to the end of the window; more than one is drift.
WITH approved AS (
    SELECT client_id,
           count(*) AS tokens_issued,
           count(DISTINCT subject) AS subjects,
           any_value(client_name) FILTER (WHERE client_name IS NOT NULL) AS client_name,
           any_value(client_registration) FILTER (WHERE client_registration IS NOT NULL) AS registration
    FROM events
    WHERE kind = 'token.issue' AND outcome = 'success' AND client_id IS NOT NULL
      AND time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
    GROUP BY client_id
),
documents AS (
    SELECT client_id, client_doc_sha256, min(time) AS first_seen
    FROM events
    WHERE client_doc_sha256 IS NOT NULL AND time < $2::TIMESTAMPTZ
      AND client_id IN (SELECT client_id FROM approved)
    GROUP BY ALL
)
SELECT a.client_id,
       coalesce(a.client_name, '') AS name,
       coalesce(a.registration, '') AS registration,
       a.tokens_issued,
       a.subjects,
       coalesce(string_agg(left(d.client_doc_sha256, 16) || '… since ' || strftime((d.first_seen)::TIMESTAMP, '%Y-%m-%d %H:%M'), '; '
                           ORDER BY d.first_seen), '(no document seen)') AS document_sha256,
       CASE WHEN count(d.client_doc_sha256) > 1 THEN 'DRIFT: ' || count(d.client_doc_sha256) || ' documents'
            ELSE '' END AS drift
FROM approved a
LEFT JOIN documents d USING (client_id)
GROUP BY a.client_id, a.client_name, a.registration, a.tokens_issued, a.subjects
ORDER BY count(d.client_doc_sha256) > 1 DESC, a.tokens_issued DESC, a.client_id;
