-- Event ids stored more than once (the first 100). No index keeps them unique (migration
-- 7): the writer does, so a repeat is a row added behind its back (which the chain
-- reports too) or a bug in it.
SELECT event_id, string_agg(DISTINCT batch_id::VARCHAR, ', ' ORDER BY batch_id::VARCHAR), count(*)
FROM events
GROUP BY event_id
HAVING count(*) > 1
ORDER BY event_id
LIMIT 100;
