-- Per-connection scratch table the writer appends each Arrow batch to before it is merged
-- into `events`. Same columns and order as `events`, less the ones the batch sets
-- (received_at, batch_id); `attributes` travels as text and becomes JSON on insert.
CREATE TEMP TABLE IF NOT EXISTS events_staging AS
SELECT * EXCLUDE (received_at, batch_id) REPLACE (attributes::VARCHAR AS attributes)
FROM events
LIMIT 0;
