-- The pass's issued tokens. A token without a parent starts a connection whose id is
-- derived from its issuer and id (stable whatever the arrival order); a refresh grant's
-- connection is found by resolve_lineage.sql.
-- $1, $2: the first and last batch of the pass (setup.sql).
INSERT INTO connection_tokens
SELECT
    event_id,
    CASE WHEN token_parent_id IS NULL
         THEN 'c-' || left(sha256(coalesce(issuer, '') || chr(10) || token_id), 20) END,
    time, token_id, token_parent_id, token_refresh_id, issuer, client_id, subject, resource,
    grant_type, ip, batch_id
FROM events
WHERE batch_id BETWEEN $1::UUID AND $2::UUID
  AND batch_id IN (SELECT batch_id FROM correlating_batches)
  AND kind = 'token.issue'
  AND coalesce(outcome, 'success') = 'success'
  AND token_id IS NOT NULL;
