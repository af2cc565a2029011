-- The batch's rejected records, appended to `rejected_staging` by the writer. The same bytes
-- under the same delivery_key (a NATS message delivered again, a file ingested again) are
-- kept once; records without a key (HTTP) are all kept. One statement for the batch, and
-- no `INSERT OR IGNORE`: DuckDB pins a block per such statement until the transaction
-- ends (a row at a time ran out of memory on a batch of thousands), and within one
-- statement it also drops rows whose NULL key repeats.
-- $1: received_at of the batch, $2: batch id.
INSERT INTO rejected (received_at, origin, format, reason, raw, raw_sha256, delivery_key, batch_id)
SELECT $1::TIMESTAMPTZ, origin, format, reason, raw, raw_sha256, delivery_key, $2::UUID
FROM rejected_staging s
WHERE delivery_key IS NULL
   OR NOT EXISTS (SELECT 1 FROM rejected r
                  WHERE r.delivery_key = s.delivery_key AND r.raw_sha256 = s.raw_sha256)
QUALIFY delivery_key IS NULL
     OR row_number() OVER (PARTITION BY delivery_key, raw_sha256 ORDER BY rowid) = 1;
