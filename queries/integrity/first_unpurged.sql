-- The first batch record whose rows some table still holds (no purge after it covers it
-- for both events and rejected): a purge needs the chain only from here on.
SELECT min(c.seq)
FROM chain c
WHERE c.kind = 'batch'
  AND NOT (
      EXISTS (SELECT 1 FROM chain p
              WHERE p.kind = 'purge' AND p.seq > c.seq AND p.events_before > c.recorded_at)
      AND EXISTS (SELECT 1 FROM chain p
                  WHERE p.kind = 'purge' AND p.seq > c.seq AND p.rejected_before > c.recorded_at));
