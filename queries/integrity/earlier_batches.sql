-- The batches committed before this store had a chain (before migration 5 was applied),
-- in commit order. Later batches were linked when they committed; they are never linked
-- again, so wiping the chain cannot launder them.
SELECT batch_id::VARCHAR
FROM ingest_log
WHERE committed_at < (SELECT applied_at FROM schema_migrations WHERE version = 5)
ORDER BY committed_at, batch_id;
