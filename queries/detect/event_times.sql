-- Event times (epoch µs) of the given events. $1: JSON array of event ids.
SELECT event_id, epoch_us(time) FROM events
WHERE event_id IN (SELECT unnest($1::JSON::VARCHAR[]));
