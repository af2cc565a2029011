-- id: TP006
-- name: scope-outside-metadata
-- severity: medium
-- kind: match
-- description: A token is granted a scope that the resource's Protected Resource Metadata in force does not list in scopes_supported: the authorization server hands out privileges the resource never declared (misconfiguration or a forged scope).
-- reference: MCP Authorization (2025-11-25), Scope Selection Strategy (scopes come from the challenge or the PRM's scopes_supported)
-- reference: MCP Authorization (2025-11-25), Access Token Privilege Restriction
-- reference: RFC 9728 §2 (scopes_supported of the protected resource)
-- reference: RFC 9700 §2.3 (privilege restriction)
-- reference: OWASP NHI5:2025 Overprivileged NHI
-- key: resource and the unlisted scopes
-- dedup: 24h
-- lookback: 24h
-- param: clock_skew = 5s

-- The PRM in force is the resource's latest metadata.fetch with status 200 and a
-- scopes_supported list at or before the issue time plus clock_skew (the trust path's
-- evidence). A token with no PRM in the lookback is not judged (the trust path says
-- "unknown"). One hit per token (the trigger), whether the token or the PRM arrives last.
-- Cost: only tokens from the batch on can be new or have a new PRM in force (from
-- from + 24h - clock_skew: the lookback is 24h). Their PRM in force is looked for among the
-- fetches from 1h before the batch on (`near`: from + 24h - 1h; keep 82800000000 µs =
-- lookback - 1h in step with the lookback; the batch's events are stored events), and in
-- the rest of the lookback only for a resource with no fetch there before one of them
-- (`far`, rare). So the cost follows the batch, not the lookback.
WITH touched AS (
    SELECT DISTINCT coalesce(resource, token_audience[1]) AS resource
    FROM new_events
    WHERE kind IN ('token.issue', 'metadata.fetch')
),
tokens AS (
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon,
           coalesce(resource, token_audience[1]) AS resource, token_id, subject, client_id,
           issuer, scopes_granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 86400000000 - $clock_skew)::TIMESTAMPTZ
      AND kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND scopes_granted IS NOT NULL
      AND coalesce(resource, token_audience[1]) IN (SELECT resource FROM touched)
),
near AS (
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_scopes_supported AS supported
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 82800000000)::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND resource IN (SELECT resource FROM touched)
      AND metadata_scopes_supported IS NOT NULL AND coalesce(http_status, 200) = 200
),
lacking AS (
    SELECT t.resource
    FROM tokens t
    LEFT JOIN (SELECT resource, min(time_us) AS first_us FROM near GROUP BY resource) n
      ON n.resource = t.resource
    WHERE n.first_us IS NULL OR t.horizon < n.first_us
),
prm AS (
    SELECT * FROM near
    UNION ALL
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_scopes_supported AS supported
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 82800000000)::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND resource IN (SELECT resource FROM lacking)
      AND metadata_scopes_supported IS NOT NULL AND coalesce(http_status, 200) = 200
),
-- Tokens worth matching to their PRM: one of the resource's PRMs (in the window) leaves out
-- one of their scopes. Any other token is within whichever PRM is in force.
risky AS (
    SELECT t.*
    FROM tokens t
    JOIN (SELECT resource, list(DISTINCT supported) AS variants FROM prm GROUP BY resource) v
      ON v.resource = t.resource
    WHERE list_bool_or(list_transform(v.variants, lambda x:
              len(list_filter(t.scopes_granted, lambda s: NOT list_contains(x, s))) > 0))
),
judged AS (
    SELECT t.*, p.event_id AS prm_id, p.time AS prm_time, p.metadata_sha256, p.supported,
           list_sort(list_distinct(list_filter(t.scopes_granted,
                                               lambda s: NOT list_contains(p.supported, s)))) AS outside
    FROM risky t
    -- Of PRMs fetched at the same instant, the one with the greatest event id (as the trust
    -- path's evidence).
    ASOF JOIN prm p
        ON t.resource = p.resource
       AND {'t': t.horizon + 1, 'id': ''} > {'t': p.time_us, 'id': p.event_id}
)
SELECT event_id,
       resource || ' ' || array_to_string(outside, ' ') AS key,
       time,
       [prm_id, event_id] AS evidence,
       concat(
           'token ', coalesce(token_id, '?'), coalesce(' issued by ' || issuer, ''),
           coalesce(' to ' || client_id, ''), coalesce(' for ' || subject, ''),
           ' (', strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'), ') grants ',
           array_to_string(outside, ' '), ', which the PRM of ', resource, ' (', prm_id,
           coalesce(', sha256 ' || left(metadata_sha256, 12) || '…', ''),
           ') does not list in scopes_supported [', array_to_string(supported, ' '),
           ']; remove the scope from the authorization server or declare it in the PRM'
       ) AS summary,
       NULL AS severity
FROM judged
WHERE len(outside) > 0
  AND (event_id IN (SELECT event_id FROM new_events) OR prm_id IN (SELECT event_id FROM new_events))
