-- Moves the staged batch into `events`. An event id already stored (a redelivery) or
-- repeated within the batch is stored once: the first copy wins.
-- $1: received_at of the batch, $2: batch id.
INSERT OR IGNORE INTO events BY NAME
SELECT *, $1::TIMESTAMPTZ AS received_at, $2::UUID AS batch_id
FROM events_staging
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY rowid) = 1;
