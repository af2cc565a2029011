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
WITH touched AS (
    SELECT DISTINCT coalesce(resource, token_audience[1]) AS resource
    FROM new_events
    WHERE kind IN ('token.issue', 'metadata.fetch')
),
prm AS (
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_scopes_supported AS supported
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND resource IN (SELECT resource FROM touched)
      AND metadata_scopes_supported IS NOT NULL AND coalesce(http_status, 200) = 200
    UNION
    SELECT event_id, time, epoch_us(time) AS time_us, resource, metadata_sha256,
           metadata_scopes_supported AS supported
    FROM new_events
    WHERE kind = 'metadata.fetch' AND resource IS NOT NULL
      AND metadata_scopes_supported IS NOT NULL AND coalesce(http_status, 200) = 200
),
tokens AS (
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon,
           coalesce(resource, token_audience[1]) AS resource, token_id, subject, client_id,
           issuer, scopes_granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND scopes_granted IS NOT NULL
      AND coalesce(resource, token_audience[1]) IN (SELECT resource FROM touched)
    UNION
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon,
           coalesce(resource, token_audience[1]) AS resource, token_id, subject, client_id,
           issuer, scopes_granted
    FROM new_events
    WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND scopes_granted IS NOT NULL
),
judged AS (
    SELECT t.*, p.event_id AS prm_id, p.time AS prm_time, p.metadata_sha256, p.supported,
           list_sort(list_distinct(list_filter(t.scopes_granted,
                                               lambda s: NOT list_contains(p.supported, s)))) AS outside
    FROM tokens t
    ASOF JOIN prm p ON t.resource = p.resource AND t.horizon >= p.time_us
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
