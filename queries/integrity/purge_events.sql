-- A retention purge, step 1: the events of the batches in `purge_batches` (tbl = 'events'),
-- with what correlation drew from them. The count returned is the events deleted.
DELETE FROM events
WHERE batch_id IN (SELECT batch_id FROM purge_batches WHERE tbl = 'events');
