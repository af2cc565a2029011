-- The connections to evaluate, once each.
CREATE OR REPLACE TEMP TABLE dirty_connections AS
SELECT DISTINCT connection_id FROM dirty_connections WHERE connection_id IS NOT NULL;
