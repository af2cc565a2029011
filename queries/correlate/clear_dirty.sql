-- Empties the pass's scratch tables at its start: its batches and the connections to
-- evaluate.
DELETE FROM correlating_batches;
DELETE FROM dirty_connections;
