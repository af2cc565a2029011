-- id: TP007
-- name: issuer-not-advertised
-- severity: critical
-- kind: sequence
-- description: A resource accepted a token issued by an authorization server that its Protected Resource Metadata in force does not list in authorization_servers (nor trusted_issuers names for it): a mix-up, spoofed metadata or a rogue issuer got access.
-- reference: MCP Authorization (2025-11-25), Authorization Server Discovery (the PRM's authorization_servers name the issuers the resource trusts)
-- reference: MCP Authorization (2025-11-25), Token Audience Binding and Validation (servers must only accept tokens issued for them by their authorization servers)
-- reference: RFC 9728 §2 and §7.6 (authorization_servers; authorization server mix-up)
-- reference: RFC 9700 §4.4 and RFC 9207 (mix-up attacks; issuer identification)
-- reference: OWASP NHI4:2025 Insecure Authentication
-- key: resource | issuer
-- dedup: 24h
-- lookback: 24h
-- param: clock_skew = 5s
-- param: trusted_issuers = {}

-- trusted_issuers: a JSON object, resource URI → issuers it accepts besides its PRM's (for
-- federations, or resources that publish no PRM; such a resource is then judged on the list
-- alone). The PRM in force is the resource's latest metadata.fetch with status 200 and
-- authorization_servers at or before the use plus clock_skew; with neither a PRM in the
-- lookback nor a trusted_issuers entry the use is not judged. The token's issuer is the one
-- its token.issue names (connection_tokens), else the one the gateway read from the token.
-- Only uses at the resource the token was issued for are judged (the trust path's "issuer
-- advertised" link); a use elsewhere is TP009's (audience) or TP010's (replay) finding.
-- One hit per successful use (the trigger), whichever of use, token issue or PRM arrives last.
WITH settings AS (
    SELECT e.key AS resource, e.value AS issuers
    FROM (SELECT unnest(map_entries(coalesce($trusted_issuers::JSON, '{}')::MAP(VARCHAR, VARCHAR[]))) AS e)
),
new_tokens AS (
    SELECT event_id, token_id, issuer
    FROM new_events
    WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success' AND token_id IS NOT NULL
),
-- A new PRM can only be in force for the uses after it.
new_prm AS (
    SELECT resource, min(epoch_us(time)) - $clock_skew AS since_us
    FROM new_events
    WHERE kind = 'metadata.fetch' AND resource IS NOT NULL
    GROUP BY resource
),
uses AS (
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon, resource, token_id, issuer,
           subject, client_id, tool
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'resource.access' AND coalesce(outcome, 'success') = 'success'
      AND resource IS NOT NULL
      AND token_id IN (SELECT token_id FROM new_tokens)
    UNION
    SELECT e.event_id, e.time, epoch_us(e.time) + $clock_skew AS horizon, e.resource, e.token_id,
           e.issuer, e.subject, e.client_id, e.tool
    FROM events e
    JOIN new_prm p ON p.resource = e.resource AND epoch_us(e.time) >= p.since_us
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'resource.access' AND coalesce(e.outcome, 'success') = 'success'
    UNION
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon, resource, token_id, issuer,
           subject, client_id, tool
    FROM new_events
    WHERE kind = 'resource.access' AND coalesce(outcome, 'success') = 'success'
      AND resource IS NOT NULL
),
issues AS (
    SELECT token_id, arg_min(event_id, (time, event_id)) AS event_id,
           arg_min(issuer, (time, event_id)) AS issuer,
           arg_min(resource, (time, event_id)) AS resource
    FROM (SELECT token_id, event_id, time, issuer, resource FROM connection_tokens
          WHERE token_id IN (SELECT token_id FROM uses)
          UNION
          SELECT token_id, event_id, time, issuer, resource FROM new_events
          WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
            AND token_id IN (SELECT token_id FROM uses))
    GROUP BY token_id
),
prm AS (
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_authorization_servers AS servers
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND resource IN (SELECT resource FROM uses)
      AND len(metadata_authorization_servers) > 0 AND coalesce(http_status, 200) = 200
    UNION
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_authorization_servers AS servers
    FROM new_events
    WHERE kind = 'metadata.fetch' AND resource IS NOT NULL
      AND len(metadata_authorization_servers) > 0 AND coalesce(http_status, 200) = 200
),
judged AS (
    SELECT u.event_id, u.time, u.resource, u.token_id, u.subject, u.client_id, u.tool,
           i.event_id AS issue_id, i.resource AS issued_for,
           coalesce(i.issuer, u.issuer) AS token_issuer,
           p.event_id AS prm_id, p.metadata_sha256, p.servers,
           s.issuers AS configured
    FROM uses u
    LEFT JOIN issues i ON i.token_id = u.token_id
    ASOF LEFT JOIN prm p ON u.resource = p.resource AND u.horizon >= p.time_us
    LEFT JOIN settings s ON s.resource = u.resource
)
SELECT event_id,
       resource || ' | ' || token_issuer AS key,
       time,
       list_filter([issue_id, prm_id, event_id], lambda e: e IS NOT NULL) AS evidence,
       concat(
           'token ', coalesce(token_id, '?'), ' issued by ', token_issuer,
           coalesce(' to ' || client_id, ''), coalesce(' for ' || subject, ''),
           ' was accepted at ', resource, coalesce(' (tool ' || tool || ')', ''), ' at ',
           strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'), ', but ',
           CASE WHEN prm_id IS NOT NULL
                THEN 'its PRM (' || prm_id || coalesce(', sha256 ' || left(metadata_sha256, 12) || '…', '')
                     || ') lists only ' || array_to_string(servers, ' ')
                ELSE 'no PRM was seen' END,
           CASE WHEN configured IS NOT NULL
                THEN ' and trusted_issuers allows [' || array_to_string(configured, ' ') || ']' END,
           '; revoke the token and make the resource reject issuers it does not list'
       ) AS summary,
       NULL AS severity
FROM judged
WHERE token_issuer IS NOT NULL
  AND coalesce(issued_for, resource) = resource
  AND (prm_id IS NOT NULL OR configured IS NOT NULL)
  AND NOT list_contains(coalesce(servers, []), token_issuer)
  AND NOT list_contains(coalesce(configured, []), token_issuer)
  AND (event_id IN (SELECT event_id FROM new_events)
       OR issue_id IN (SELECT event_id FROM new_events)
       OR prm_id IN (SELECT event_id FROM new_events))
