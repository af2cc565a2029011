-- The earliest stored event time (epoch µs), the start of rules' learning periods.
SELECT epoch_us(min(time)) FROM events;
