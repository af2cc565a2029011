-- Events of earlier windows (event time before $1, same filters) in the batches of an
-- export's chain slice, per batch with the newest such time: late arrivals that an earlier
-- export, made before they were committed, cannot hold. $1 window start; $2 subject,
-- $3 client_id, $4 resource, $5 issuer (NULL: any); $6 the slice's first seq; $7 the
-- smallest batch id in the slice (every slice batch is at or above it; prunes the scan).
SELECT c.seq, count(*) AS rows, epoch_us(max(e.time)) AS newest_us
FROM exported_events('-infinity'::TIMESTAMPTZ, $1::TIMESTAMPTZ, $2::VARCHAR, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR) e
JOIN chain c USING (batch_id)
WHERE e.batch_id >= $7::UUID AND c.seq >= $6::BIGINT
GROUP BY c.seq
ORDER BY c.seq;
