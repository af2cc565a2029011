-- The events of one batch in the chain's canonical column order (README, "Compliance").
-- Every column of `events` but batch_id (the chain record names the batch), in table
-- order; times as epoch microseconds, attributes as its stored JSON text.
-- $1: batch id.
SELECT
    event_id, epoch_us(time), epoch_us(received_at), kind, outcome, reason, source_type,
    source_name, connection_id, subject, client_id, client_registration, client_name,
    client_doc_sha256, client_redirect_uris, resource, metadata_url, metadata_sha256,
    metadata_authorization_servers, metadata_scopes_supported, issuer, scopes_requested,
    scopes_granted, token_id, token_parent_id, token_refresh_id, token_audience, grant_type,
    epoch_us(token_expires_at), redirect_uri, consent, tool, ip, user_agent, http_status,
    http_bytes, http_resolved_ip, http_redirected, attributes::VARCHAR, raw_sha256, format,
    schema_version
FROM events
WHERE batch_id = $1::UUID;
