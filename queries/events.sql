-- name: events
-- description: Stored events, newest first, one JSON object per row (the shape of GET /v1/events).
-- Every filter is optional (NULL = no filter). `token_id` matches an event whose access
-- token, parent token or refresh token has that id, so one token's whole lineage shows.
-- Pagination is a keyset over (time, event_id): pass the last row's values to get the next page.
-- The page is chosen first and only its rows are rendered as JSON, so DuckDB can pick the
-- top rows from the sort columns alone.
-- params:
--   $1  from            TIMESTAMPTZ  events at or after
--   $2  to              TIMESTAMPTZ  events before
--   $3  kind            VARCHAR
--   $4  subject         VARCHAR
--   $5  client_id       VARCHAR
--   $6  resource        VARCHAR
--   $7  issuer          VARCHAR
--   $8  token_id        VARCHAR
--   $9  connection_id   VARCHAR
--   $10 outcome         VARCHAR
--   $11 before_time_us  BIGINT       cursor: time of the last row seen (epoch µs)
--   $12 before_id       VARCHAR      cursor: event_id of the last row seen
--   $13 limit           BIGINT
WITH page AS (
    SELECT *
    FROM events
    WHERE ($1::TIMESTAMPTZ IS NULL OR time >= $1::TIMESTAMPTZ)
      AND ($2::TIMESTAMPTZ IS NULL OR time < $2::TIMESTAMPTZ)
      AND ($3::VARCHAR IS NULL OR kind = $3::VARCHAR)
      AND ($4::VARCHAR IS NULL OR subject = $4::VARCHAR)
      AND ($5::VARCHAR IS NULL OR client_id = $5::VARCHAR)
      AND ($6::VARCHAR IS NULL OR resource = $6::VARCHAR)
      AND ($7::VARCHAR IS NULL OR issuer = $7::VARCHAR)
      AND ($8::VARCHAR IS NULL OR $8::VARCHAR IN (token_id, token_parent_id, token_refresh_id))
      AND ($9::VARCHAR IS NULL OR connection_id = $9::VARCHAR)
      AND ($10::VARCHAR IS NULL OR outcome = $10::VARCHAR)
      AND ($11::BIGINT IS NULL
           OR epoch_us(time) < $11::BIGINT
           OR (epoch_us(time) = $11::BIGINT AND event_id < $12::VARCHAR))
    ORDER BY time DESC, event_id DESC
    LIMIT $13::BIGINT
)

SELECT
    epoch_us(time) AS time_us,
    event_id,
    event_document(page)::VARCHAR AS event
FROM page
ORDER BY time DESC, event_id DESC;
