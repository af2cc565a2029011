-- The events of the connections to evaluate, one row each, by connection and oldest first:
-- the fields the trust-path links read (correlate::trust_path::Fact, read column by column
-- in maintain.rs), a narrower shape than event_document (macros.sql) because this runs
-- for every connection a batch touches.
-- $1, $2: the time span of those events (bounds the scan of `events`).
SELECT m.connection_id, e.event_id, epoch_us(e.time), e.kind, e.outcome, e.subject,
       e.client_id, e.client_registration, e.resource, e.issuer, e.scopes_requested,
       e.scopes_granted, e.token_id, e.token_parent_id, e.token_refresh_id, e.token_audience,
       e.grant_type, epoch_us(e.token_expires_at), e.redirect_uri, e.consent
FROM connection_members m
JOIN events e USING (event_id)
WHERE m.connection_id IN (SELECT connection_id FROM dirty_connections)
  AND m.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
  AND e.time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
ORDER BY m.connection_id, e.time, e.event_id;
