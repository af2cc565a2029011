-- The first batch record whose rows a purge may still delete: one that some table being
-- purged still holds (no purge after it covers it for that table). A purge needs the
-- chain only from here on. $1: events are purged, $2: rejected records are purged.
SELECT min(c.seq)
FROM chain c
WHERE c.kind = 'batch'
  AND (($1::BOOLEAN AND NOT EXISTS (
           SELECT 1 FROM chain p
           WHERE p.kind = 'purge' AND p.seq > c.seq AND p.events_before > c.recorded_at))
       OR ($2::BOOLEAN AND NOT EXISTS (
           SELECT 1 FROM chain p
           WHERE p.kind = 'purge' AND p.seq > c.seq AND p.rejected_before > c.recorded_at)));
