-- The first chain record that holds a row of the export: the start of its chain slice.
-- Same parameters as events.sql, plus $7: whether rejected input is exported.
SELECT min(c.seq)
FROM chain c
WHERE c.batch_id IN (
    SELECT batch_id FROM events
    WHERE time >= $1::TIMESTAMPTZ AND time < $2::TIMESTAMPTZ
      AND ($3::VARCHAR IS NULL OR subject = $3::VARCHAR)
      AND ($4::VARCHAR IS NULL OR client_id = $4::VARCHAR)
      AND ($5::VARCHAR IS NULL OR resource = $5::VARCHAR)
      AND ($6::VARCHAR IS NULL OR issuer = $6::VARCHAR)
    UNION ALL
    SELECT batch_id FROM rejected
    WHERE $7::BOOLEAN AND received_at >= $1::TIMESTAMPTZ AND received_at < $2::TIMESTAMPTZ);
