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
-- Cost (the lookback is 24h; keep the µs constants below in step with it; the batch's
-- events are stored events, so the windows below hold them): the uses of a new token are
-- looked for from 1h before the batch on (a token is used after it is issued; from + 24h - 1h
-- = 82800000000 µs), the token's issue among the tokens issued from then on, and over all
-- of connection_tokens only for a token not found there (`strays`). A new PRM is in force
-- only for the uses after it and before the next PRM. The PRM in force is looked for among
-- the fetches from 1h before the batch on (`near_prm`), and in the rest of the lookback only
-- for a resource with no fetch there before one of the uses (rare). So the cost follows the
-- batch, not the lookback.
WITH settings AS (
    SELECT e.key AS resource, e.value AS issuers
    FROM (SELECT unnest(map_entries(coalesce($trusted_issuers::JSON, '{}')::MAP(VARCHAR, VARCHAR[]))) AS e)
),
new_tokens AS (
    SELECT event_id, token_id, issuer
    FROM new_events
    WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success' AND token_id IS NOT NULL
),
near_prm AS (
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_authorization_servers AS servers,
           event_id IN (SELECT event_id FROM new_events) AS is_new
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 82800000000)::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND len(metadata_authorization_servers) > 0
      AND coalesce(http_status, 200) = 200
),
-- Per resource with a new PRM: from the first new one to the next PRM after the last new one.
new_prm AS (
    SELECT n.resource, n.first_us, min(p.time_us) AS next_us
    FROM (SELECT resource, min(time_us) AS first_us, max(time_us) AS last_us
          FROM near_prm WHERE is_new GROUP BY resource) n
    LEFT JOIN near_prm p ON p.resource = n.resource AND p.time_us > n.last_us
    GROUP BY n.resource, n.first_us
),
-- The uses that can be judged anew: new ones, those of a new token, those a new PRM can be
-- in force for.
uses AS (
    SELECT e.event_id, e.time, epoch_us(e.time) + $clock_skew AS horizon, e.resource, e.token_id,
           e.issuer, e.subject, e.client_id, e.tool
    FROM events e
    LEFT JOIN new_prm p ON p.resource = e.resource
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 82800000000)::TIMESTAMPTZ
      AND e.kind = 'resource.access' AND coalesce(e.outcome, 'success') = 'success'
      AND e.resource IS NOT NULL
      AND (e.token_id IN (SELECT token_id FROM new_tokens)
           OR e.event_id IN (SELECT event_id FROM new_events)
           OR (epoch_us(e.time) + $clock_skew >= p.first_us
               AND (p.next_us IS NULL OR epoch_us(e.time) + $clock_skew < p.next_us)))
),
near_issues AS (
    SELECT token_id, event_id, time, issuer, resource FROM connection_tokens
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 82800000000)::TIMESTAMPTZ
      AND token_id IN (SELECT token_id FROM uses)
),
strays AS (
    SELECT token_id FROM uses
    WHERE token_id NOT IN (SELECT token_id FROM near_issues)
),
issues AS (
    SELECT token_id, arg_min(event_id, (time, event_id)) AS event_id,
           arg_min(issuer, (time, event_id)) AS issuer,
           arg_min(resource, (time, event_id)) AS resource
    FROM (SELECT * FROM near_issues
          UNION
          SELECT token_id, event_id, time, issuer, resource FROM connection_tokens
          WHERE token_id IN (SELECT token_id FROM strays)
          UNION
          SELECT token_id, event_id, time, issuer, resource FROM new_events
          WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
            AND token_id IN (SELECT token_id FROM uses))
    GROUP BY token_id
),
lacking AS (
    SELECT u.resource
    FROM uses u
    LEFT JOIN (SELECT resource, min(time_us) AS first_us FROM near_prm GROUP BY resource) n
      ON n.resource = u.resource
    WHERE n.first_us IS NULL OR u.horizon < n.first_us
),
prm AS (
    SELECT event_id, time, time_us, resource, metadata_sha256, servers FROM near_prm
    UNION ALL
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_authorization_servers AS servers
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 82800000000)::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND len(metadata_authorization_servers) > 0
      AND coalesce(http_status, 200) = 200
      AND resource IN (SELECT resource FROM lacking)
),
-- Uses worth matching to their PRM: a PRM of the resource (in the window) leaves the token's
-- issuer out, or none may be in force. Any other use passes whichever PRM is in force.
risky AS (
    SELECT u.*, i.event_id AS issue_id, i.resource AS issued_for,
           coalesce(i.issuer, u.issuer) AS token_issuer
    FROM uses u
    LEFT JOIN issues i ON i.token_id = u.token_id
    LEFT JOIN (SELECT resource, min(time_us) AS first_us,
                      list(DISTINCT servers) AS variants
               FROM prm GROUP BY resource) v ON v.resource = u.resource
    WHERE coalesce(i.issuer, u.issuer) IS NOT NULL
      AND coalesce(i.resource, u.resource) = u.resource
      AND (v.first_us IS NULL OR u.horizon < v.first_us
           OR NOT list_bool_and(list_transform(v.variants,
                  lambda x: list_contains(x, coalesce(i.issuer, u.issuer)))))
),
judged AS (
    SELECT u.event_id, u.time, u.resource, u.token_id, u.subject, u.client_id, u.tool,
           u.issue_id, u.issued_for, u.token_issuer,
           p.event_id AS prm_id, p.metadata_sha256, p.servers,
           s.issuers AS configured
    FROM risky u
    -- Of PRMs fetched at the same instant, the one with the greatest event id (as the trust
    -- path's evidence).
    ASOF LEFT JOIN prm p
        ON u.resource = p.resource
       AND {'t': u.horizon + 1, 'id': ''} > {'t': p.time_us, 'id': p.event_id}
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
