-- The earliest and latest issue times (epoch µs) among the tokens of the connections to
-- evaluate.
SELECT epoch_us(min(time)), epoch_us(max(time))
FROM connection_tokens
WHERE connection_id IN (SELECT connection_id FROM dirty_connections);
