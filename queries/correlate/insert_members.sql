-- The pass's events that belong to an approval chain, unattached for now. A PRM fetch
-- outside any gateway session is evidence shared by all connections at the resource, not
-- a member of one. $1, $2: the first and last batch of the pass (setup.sql).
INSERT INTO connection_members BY NAME
SELECT event_id, NULL AS connection_id, NULL AS via, kind, time, outcome,
       connection_id AS session, token_id, issuer, client_id, subject, resource, reason,
       source_name, tool, ip, batch_id
FROM events
WHERE batch_id BETWEEN $1::UUID AND $2::UUID
  AND batch_id IN (SELECT batch_id FROM correlating_batches)
  AND kind IN ('resource.challenge', 'metadata.fetch', 'authorization.request',
               'consent.grant', 'consent.deny', 'token.issue', 'token.revoke',
               'resource.access')
  AND NOT (kind = 'metadata.fetch' AND connection_id IS NULL);
