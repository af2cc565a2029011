-- The stored copies of staged events whose id the writer's filter of stored ids could not
-- rule out (src/store/stored_ids.rs), into `stored_copies` for the merge and the conflict
-- check. A redelivery repeats its copy's time, so the staged events' time span is searched
-- first, which the zonemaps of `events.time` keep to a few row groups; only ids not found
-- there (a reused id with another time, or the filter's rare false positive) are looked up
-- in the whole table.
-- $1: JSON array of the ids, $2, $3: the earliest and latest time of their staged events.
INSERT INTO stored_copies
WITH wanted AS (SELECT unnest($1::JSON::VARCHAR[]) AS event_id),
in_span AS MATERIALIZED (
    SELECT event_id, raw_sha256 FROM events
    WHERE time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ
      AND event_id IN (SELECT event_id FROM wanted)
)
SELECT event_id, raw_sha256 FROM in_span
UNION ALL
SELECT event_id, raw_sha256 FROM events
WHERE event_id IN (SELECT event_id FROM wanted EXCEPT SELECT event_id FROM in_span);
