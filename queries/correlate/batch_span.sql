-- The time span of the batch's events (epoch µs). $1: batch id.
SELECT epoch_us(min(time)), epoch_us(max(time)) FROM events WHERE batch_id = $1::UUID;
