-- Events of earlier windows (event time before $1, same filters) in the batches of an
-- export's chain slice: late arrivals that an earlier export, made before they were
-- committed, cannot hold. $1 window start; $2 subject, $3 client_id, $4 resource, $5 issuer
-- (NULL: any); $6 the slice's first seq, $7 its first batch id (batch ids grow with
-- commits, so the scan is pruned).
SELECT c.seq, count(*) AS rows
FROM exported_events('-infinity'::TIMESTAMPTZ, $1::TIMESTAMPTZ, $2::VARCHAR, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR) e
JOIN chain c USING (batch_id)
WHERE e.batch_id >= $7::UUID AND c.seq >= $6::BIGINT
GROUP BY c.seq
ORDER BY c.seq;
