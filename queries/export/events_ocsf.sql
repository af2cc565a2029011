-- The events of an export as stored documents, for rendering as OCSF (parameters as in
-- events.sql).
SELECT event_document(e)::VARCHAR
FROM exported_events($1::TIMESTAMPTZ, $2::TIMESTAMPTZ, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR) e
ORDER BY time, event_id;
