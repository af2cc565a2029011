-- name: tokens_per_issuer
-- description: Tokens issued per authorization server and grant type, with failures, distinct clients and subjects.
-- param: from TIMESTAMPTZ optional Events at or after this time.
-- param: to TIMESTAMPTZ optional Events before this time.
SELECT
    issuer,
    grant_type,
    count(*) FILTER (WHERE outcome = 'success') AS issued,
    count(*) FILTER (WHERE outcome = 'failure') AS failed,
    count(DISTINCT client_id) AS clients,
    count(DISTINCT subject) AS subjects
FROM events
WHERE kind = 'token.issue'
  AND ($from IS NULL OR time >= $from::TIMESTAMPTZ)
  AND ($to IS NULL OR time < $to::TIMESTAMPTZ)
GROUP BY issuer, grant_type
ORDER BY issued DESC, issuer, grant_type;
