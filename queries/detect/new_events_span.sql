-- How many events are under evaluation and their event-time span (epoch µs).
SELECT count(*), epoch_us(min(time)), epoch_us(max(time)) FROM new_events;
