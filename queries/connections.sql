-- name: connections
-- description: Connections (approval chains) with their overall verdict, most recently
-- active first (the shape of GET /v1/connections). Every filter is optional.
-- A connection matches the time range when it was active in it (first_seen < to and
-- last_seen >= from). Keyset pagination over (last_seen, connection_id).
-- params:
--   $1  from            TIMESTAMPTZ
--   $2  to              TIMESTAMPTZ
--   $3  subject         VARCHAR
--   $4  client_id       VARCHAR
--   $5  resource        VARCHAR
--   $6  issuer          VARCHAR
--   $7  verdict         VARCHAR      ok | unknown | violated (the overall verdict)
--   $8  link            VARCHAR      only connections where this link is violated
--   $9  before_time_us  BIGINT       cursor: last_seen of the last row seen (epoch µs)
--   $10 before_id       VARCHAR      cursor: connection_id of the last row seen
--   $11 limit           BIGINT
-- Summaries from a projection without `trust_path` (see connection_summary in macros.sql).
SELECT
    epoch_us(last_seen) AS last_seen_us,
    connection_id,
    connection_summary(c)::VARCHAR AS connection
FROM (SELECT * EXCLUDE (trust_path) FROM connections) AS c
WHERE ($1::TIMESTAMPTZ IS NULL OR last_seen >= $1::TIMESTAMPTZ)
  AND ($2::TIMESTAMPTZ IS NULL OR first_seen < $2::TIMESTAMPTZ)
  AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
  AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
  AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
  AND ($6::VARCHAR IS NULL OR issuer = $6::VARCHAR)
  AND ($7::VARCHAR IS NULL OR verdict = $7::VARCHAR)
  AND ($8::VARCHAR IS NULL OR list_contains(violated, $8::VARCHAR))
  AND ($9::BIGINT IS NULL
       OR epoch_us(last_seen) < $9::BIGINT
       OR (epoch_us(last_seen) = $9::BIGINT AND connection_id < $10::VARCHAR))
ORDER BY last_seen DESC, connection_id DESC
LIMIT $11::BIGINT;
