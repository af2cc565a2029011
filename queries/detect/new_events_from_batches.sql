-- The events of the batches under evaluation. $1: JSON array of batch ids; $2, $3: the
-- least and greatest of them. Batch ids are UUIDv7, so the range prunes the scan to the
-- row groups those batches were appended to.
CREATE OR REPLACE TEMP TABLE new_events AS
SELECT * FROM events
WHERE batch_id BETWEEN $2::UUID AND $3::UUID
  AND batch_id IN (SELECT unnest($1::JSON::VARCHAR[])::UUID);
