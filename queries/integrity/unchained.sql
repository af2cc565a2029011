-- Rows whose batch no chain record names (or that name no batch at all): inserted behind
-- the writer's back.
SELECT 'events' AS tbl, coalesce(batch_id::VARCHAR, 'NULL'), count(*)
FROM events
WHERE batch_id IS NULL
   OR NOT EXISTS (SELECT 1 FROM chain c WHERE c.batch_id = events.batch_id)
GROUP BY ALL
UNION ALL
SELECT 'rejected', coalesce(batch_id::VARCHAR, 'NULL'), count(*)
FROM rejected
WHERE batch_id IS NULL
   OR NOT EXISTS (SELECT 1 FROM chain c WHERE c.batch_id = rejected.batch_id)
GROUP BY ALL
ORDER BY 1, 2;
