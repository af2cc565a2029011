-- Moves the staged batch into `events` when the writer found nothing to skip: no staged
-- id may be stored already (src/store/stored_ids.rs) and none repeats within the batch.
-- Otherwise merge_events.sql. $1: received_at of the batch, $2: batch id.
INSERT INTO events BY NAME
SELECT *, $1::TIMESTAMPTZ AS received_at, $2::UUID AS batch_id
FROM events_staging;
