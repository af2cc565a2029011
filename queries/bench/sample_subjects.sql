-- Subjects with a moment they were active, spread over the store deterministically.
-- $1: how many.
SELECT subject, strftime(time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ')
FROM events
WHERE subject IS NOT NULL
ORDER BY hash(event_id), event_id
LIMIT $1::BIGINT;
