-- A retention purge, step 2: what correlation drew from the purged events (the same batch
-- ids), and the connections left without any member. Alerts are kept: they are findings,
-- not input.
DELETE FROM connection_members
WHERE batch_id IN (SELECT batch_id FROM purge_batches WHERE tbl = 'events');
DELETE FROM connection_tokens
WHERE batch_id IN (SELECT batch_id FROM purge_batches WHERE tbl = 'events');
DELETE FROM verdict_changes
WHERE batch_id IN (SELECT batch_id FROM purge_batches WHERE tbl = 'events');
DELETE FROM connections
WHERE connection_id NOT IN (
    SELECT connection_id FROM connection_members WHERE connection_id IS NOT NULL);
