-- Where an export's chain slice starts: the first record committed at or after the
-- window's start, or the first batch holding an exported row if that is earlier.
-- Parameters as in events.sql, plus $7: whether rejected input is exported.
SELECT min(seq)
FROM (
    SELECT min(seq) AS seq FROM chain WHERE recorded_at >= $1::TIMESTAMPTZ
    UNION ALL
    SELECT min(c.seq)
    FROM chain c
    WHERE c.batch_id IN (
        SELECT batch_id FROM exported_events($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR)
        UNION ALL
        SELECT batch_id FROM rejected
        WHERE $7::BOOLEAN AND received_at >= $1::TIMESTAMPTZ AND received_at < $2::TIMESTAMPTZ)
);
