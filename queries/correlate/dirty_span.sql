-- The time span (epoch µs) of the events of the connections to evaluate.
SELECT epoch_us(min(time)), epoch_us(max(time))
FROM connection_members
WHERE connection_id IN (SELECT connection_id FROM dirty_connections);
