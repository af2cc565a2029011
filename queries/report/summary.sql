-- Report: one row of counts for the window [$1, $2).
SELECT
    (SELECT count(*) FROM events WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ) AS events,
    (SELECT count(*) FROM connections
     WHERE first_seen < $2::TIMESTAMPTZ AND last_seen >= $1::TIMESTAMPTZ) AS connections,
    (SELECT count(*) FROM connections
     WHERE first_seen < $2::TIMESTAMPTZ AND last_seen >= $1::TIMESTAMPTZ AND verdict = 'violated')
        AS violated_connections,
    (SELECT count(*) FROM alerts
     WHERE first_seen < $2::TIMESTAMPTZ AND last_seen >= $1::TIMESTAMPTZ) AS alerts,
    (SELECT count(*) FROM rejected
     WHERE received_at >= $1::TIMESTAMPTZ AND received_at < $2::TIMESTAMPTZ) AS rejected_records;
