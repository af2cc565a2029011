-- The events of an export (macro exported_events), oldest first.
-- $1 from, $2 to (TIMESTAMPTZ); $3 subject, $4 client_id, $5 resource, $6 issuer (NULL: any).
SELECT * REPLACE (attributes::VARCHAR AS attributes, batch_id::VARCHAR AS batch_id)
FROM exported_events($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR)
ORDER BY time, event_id;
