-- The events of the connections to evaluate, oldest first: the fields the trust-path links
-- read (correlate::trust_path::Fact), a narrower shape than event_document (macros.sql)
-- because this runs for every connection a batch touches.
-- $1, $2: the time span of those events (bounds the scan of `events`).
SELECT m.connection_id,
       '[' || string_agg(json_object(
               'event_id', e.event_id,
               'time', strftime(e.time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
               'kind', e.kind,
               'outcome', e.outcome,
               'subject', e.subject,
               'client_id', e.client_id,
               'client_registration', e.client_registration,
               'resource', e.resource,
               'issuer', e.issuer,
               'scopes_requested', e.scopes_requested,
               'scopes_granted', e.scopes_granted,
               'token_id', e.token_id,
               'token_parent_id', e.token_parent_id,
               'token_refresh_id', e.token_refresh_id,
               'token_audience', e.token_audience,
               'grant_type', e.grant_type,
               'token_expires_at', strftime(e.token_expires_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
               'redirect_uri', e.redirect_uri,
               'consent', e.consent)::VARCHAR, ','
           ORDER BY e.time, e.event_id) || ']'
FROM connection_members m
JOIN events e USING (event_id)
WHERE m.connection_id IN (SELECT connection_id FROM dirty_connections)
  AND m.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
  AND e.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
GROUP BY m.connection_id;
