-- The batch's rejected records, appended to `rejected_staging` by the writer. The same bytes
-- under the same delivery_key (a NATS message delivered again, a file ingested again) are
-- kept once; records without a key (HTTP) are all kept. No index keeps them so (DuckDB
-- holds an index it writes to in memory whole: migration 7), this anti-join does. One
-- statement for the batch: a row at a time, as `INSERT OR IGNORE` against the old index,
-- DuckDB pinned a block per statement until commit and a batch of thousands of bad
-- records ran out of memory.
-- $1: received_at of the batch, $2: batch id.
INSERT INTO rejected (received_at, origin, format, reason, raw, raw_sha256, delivery_key, batch_id)
SELECT $1::TIMESTAMPTZ, origin, format, reason, raw, raw_sha256, delivery_key, $2::UUID
FROM rejected_staging s
WHERE delivery_key IS NULL
   OR NOT EXISTS (SELECT 1 FROM rejected r
                  WHERE r.delivery_key = s.delivery_key AND r.raw_sha256 = s.raw_sha256)
QUALIFY delivery_key IS NULL
     OR row_number() OVER (PARTITION BY delivery_key, raw_sha256 ORDER BY rowid) = 1;
