INSERT INTO ingest_log (batch_id, collector, received_at, committed_at, records, accepted, duplicates, rejected)
VALUES ($1::UUID, $2, $3::TIMESTAMPTZ, now(), $4, $5, $6, $7);
