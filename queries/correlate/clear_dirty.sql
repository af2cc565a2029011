-- Empties the set of connections to evaluate, at the start of each batch.
DELETE FROM dirty_connections;
