-- How many of the given uncorrelated batches (src/correlate/maintain.rs, `uncorrelated`)
-- hold events of an export's window: a burst's deferred batches, or a store stopped in the
-- middle of one. The connections of those events would be missing from the export.
-- $1 from, $2 to (TIMESTAMPTZ); $3 subject, $4 client_id, $5 resource, $6 issuer (NULL: any);
-- $7 the uncorrelated batch ids, a JSON array.
SELECT count(DISTINCT batch_id)
FROM exported_events($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR)
WHERE batch_id IN (SELECT unnest($7::JSON::VARCHAR[])::UUID);
