-- Staged events whose id is already stored with other content. Run only when a batch had
-- duplicates. A conflicting copy is not stored as an event but kept in `rejected`.
SELECT s.event_id, s.raw_sha256 AS staged_sha256, e.raw_sha256 AS stored_sha256
FROM events_staging s
JOIN events e USING (event_id)
WHERE s.raw_sha256 <> e.raw_sha256;
