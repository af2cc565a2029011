-- Staged events whose id is stored with other content: before this batch (stored_copies)
-- or by an earlier copy within it. Run only when a batch had duplicates. A conflicting
-- copy is not stored as an event but kept in `rejected`. One row per staged copy, however
-- many stored copies it differs from.
-- $1: the batch id.
SELECT s.event_id, s.raw_sha256 AS staged_sha256, min(e.raw_sha256) AS stored_sha256
FROM events_staging s
JOIN (
    SELECT event_id, raw_sha256 FROM stored_copies
    UNION ALL
    SELECT event_id, raw_sha256 FROM events WHERE batch_id = $1::UUID
) e USING (event_id)
WHERE s.raw_sha256 <> e.raw_sha256
GROUP BY s.rowid, s.event_id, s.raw_sha256;
