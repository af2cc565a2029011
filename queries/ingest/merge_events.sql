-- Moves the staged batch into `events` when some of its ids may repeat: stored already (a
-- redelivery, found by find_stored.sql) or repeated within the batch. Such an event is
-- stored once: the first copy wins. A batch without either goes straight into `events`
-- (src/store/writer.rs, `write`).
-- $1: received_at of the batch, $2: batch id.
INSERT INTO events BY NAME
SELECT *, $1::TIMESTAMPTZ AS received_at, $2::UUID AS batch_id
FROM events_staging
WHERE event_id NOT IN (SELECT event_id FROM stored_copies)
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY rowid) = 1;
