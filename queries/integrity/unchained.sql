-- Rows whose batch no chain record names: inserted behind the writer's back.
SELECT 'events' AS tbl, batch_id::VARCHAR, count(*)
FROM events
WHERE batch_id NOT IN (SELECT batch_id FROM chain WHERE batch_id IS NOT NULL)
GROUP BY ALL
UNION ALL
SELECT 'rejected', batch_id::VARCHAR, count(*)
FROM rejected
WHERE batch_id NOT IN (SELECT batch_id FROM chain WHERE batch_id IS NOT NULL)
GROUP BY ALL
ORDER BY 1, 2;
