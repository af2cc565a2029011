-- Chain records with $1 <= seq <= $2 (NULL: unbounded), in order; times as epoch µs.
SELECT seq, kind, batch_id::VARCHAR, epoch_us(recorded_at), events, events_sha256, rejected,
       rejected_sha256, epoch_us(events_before), epoch_us(rejected_before), prev_sha256, sha256
FROM chain
WHERE ($1::BIGINT IS NULL OR seq >= $1::BIGINT)
  AND ($2::BIGINT IS NULL OR seq <= $2::BIGINT)
ORDER BY seq;
