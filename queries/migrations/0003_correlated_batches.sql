-- trustpath store, schema version 3: which committed batches the correlation has seen.
-- The writer records each batch here in the batch's own transaction; at start it
-- correlates any batch missing (a store that held events before schema 2), oldest first.
CREATE TABLE correlated_batches (
    batch_id  UUID PRIMARY KEY
);

-- A store already correlating (schema 2 wrote connection members) has seen every batch.
INSERT INTO correlated_batches
SELECT batch_id FROM ingest_log
WHERE EXISTS (SELECT 1 FROM connection_members);
