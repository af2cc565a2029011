-- A retention purge, step 3: the rejected records of the batches in `purge_batches`
-- (tbl = 'rejected'). The count returned is the records deleted.
DELETE FROM rejected
WHERE batch_id IN (SELECT batch_id FROM purge_batches WHERE tbl = 'rejected');
