-- Per-connection scratch table the writer appends an Arrow batch to when some of its ids
-- may repeat, to merge it into `events` (merge_events.sql). Same columns and order as
-- `events`, less the ones the batch sets (received_at, batch_id); `attributes` travels as
-- text and becomes JSON on insert.
CREATE TEMP TABLE IF NOT EXISTS events_staging AS
SELECT * EXCLUDE (received_at, batch_id) REPLACE (attributes::VARCHAR AS attributes)
FROM events
LIMIT 0;

-- The stored copies of the staged events that repeat a stored id (find_stored.sql).
CREATE TEMP TABLE IF NOT EXISTS stored_copies (event_id VARCHAR NOT NULL, raw_sha256 VARCHAR NOT NULL);

-- The batch's rejected records on their way into `rejected` (insert_rejected.sql).
CREATE TEMP TABLE IF NOT EXISTS rejected_staging (
    origin        VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    raw           BLOB NOT NULL,
    raw_sha256    VARCHAR NOT NULL,
    delivery_key  VARCHAR
);
