-- Stored events with event times in [$1, $2) (RFC 3339), for `trustpath rules replay`.
CREATE OR REPLACE TEMP TABLE new_events AS
SELECT * FROM events
WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ;
