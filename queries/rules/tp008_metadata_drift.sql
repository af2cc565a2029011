-- id: TP008
-- name: metadata-drift
-- severity: high
-- kind: drift
-- description: A resource's Protected Resource Metadata changed from its previous fetch (another SHA-256, authorization_servers or scopes_supported): clients will now trust whatever issuers it names, so an unexpected change is how mix-up and metadata spoofing start.
-- reference: MCP Authorization (2025-11-25), Authorization Server Discovery (clients follow the PRM's authorization_servers)
-- reference: RFC 9728 §3 and §7 (obtaining PRM; security considerations: metadata integrity, mix-up)
-- reference: RFC 8414 §6 (authorization server metadata changes)
-- reference: RFC 9700 §4.4 (mix-up attacks)
-- reference: OWASP NHI4:2025 Insecure Authentication
-- key: the resource
-- dedup: 24h
-- lookback: 7d

-- Each metadata.fetch with status 200 is compared with the resource's previous one (by
-- time, then event id) in the lookback; it drifted when the document hash differs or, with
-- either hash missing, when authorization_servers or scopes_supported differ as sets. The
-- trigger is the changed fetch, so a late previous fetch yields the same hit. A change back
-- is a change too (it fires again, into the same alert while it is open).
WITH touched AS (
    SELECT DISTINCT resource FROM new_events
    WHERE kind = 'metadata.fetch' AND resource IS NOT NULL
),
prm AS (
    SELECT event_id, time, resource, metadata_url, metadata_sha256 AS sha,
           list_sort(list_distinct(coalesce(metadata_authorization_servers, []))) AS servers,
           list_sort(list_distinct(coalesce(metadata_scopes_supported, []))) AS scopes
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND resource IN (SELECT resource FROM touched)
      AND coalesce(http_status, 200) = 200
      AND (metadata_sha256 IS NOT NULL OR metadata_authorization_servers IS NOT NULL)
    UNION
    SELECT event_id, time, resource, metadata_url, metadata_sha256 AS sha,
           list_sort(list_distinct(coalesce(metadata_authorization_servers, []))) AS servers,
           list_sort(list_distinct(coalesce(metadata_scopes_supported, []))) AS scopes
    FROM new_events
    WHERE kind = 'metadata.fetch' AND resource IS NOT NULL
      AND coalesce(http_status, 200) = 200
      AND (metadata_sha256 IS NOT NULL OR metadata_authorization_servers IS NOT NULL)
),
seq AS (
    SELECT p.*,
           lag(event_id) OVER w AS prev_id,
           lag(time) OVER w AS prev_time,
           lag(sha) OVER w AS prev_sha,
           lag(servers) OVER w AS prev_servers,
           lag(scopes) OVER w AS prev_scopes
    FROM prm p
    WINDOW w AS (PARTITION BY resource ORDER BY time, event_id)
),
changed AS (
    SELECT *,
           list_filter(servers, lambda s: NOT list_contains(prev_servers, s)) AS servers_added,
           list_filter(prev_servers, lambda s: NOT list_contains(servers, s)) AS servers_removed,
           list_filter(scopes, lambda s: NOT list_contains(prev_scopes, s)) AS scopes_added,
           list_filter(prev_scopes, lambda s: NOT list_contains(scopes, s)) AS scopes_removed
    FROM seq
    WHERE prev_id IS NOT NULL
      AND CASE WHEN sha IS NOT NULL AND prev_sha IS NOT NULL THEN sha <> prev_sha
               ELSE servers <> prev_servers OR scopes <> prev_scopes END
      AND (event_id IN (SELECT event_id FROM new_events) OR prev_id IN (SELECT event_id FROM new_events))
)
SELECT event_id,
       resource AS key,
       time,
       [prev_id, event_id] AS evidence,
       concat(
           'the PRM of ', resource, ' changed at ', strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           ': sha256 ', coalesce(left(prev_sha, 12) || '…', '?'), ' → ', coalesce(left(sha, 12) || '…', '?'),
           ', authorization_servers now [', array_to_string(servers, ' '), ']',
           CASE WHEN len(servers_added) > 0 THEN ', added ' || array_to_string(servers_added, ' ') END,
           CASE WHEN len(servers_removed) > 0 THEN ', removed ' || array_to_string(servers_removed, ' ') END,
           CASE WHEN len(scopes_added) > 0 THEN ', scopes_supported added ' || array_to_string(scopes_added, ' ') END,
           CASE WHEN len(scopes_removed) > 0 THEN ', scopes_supported removed ' || array_to_string(scopes_removed, ' ') END,
           ' (previous ', prev_id, ' at ', strftime(prev_time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           '); confirm the change with the resource owner before clients follow it'
       ) AS summary,
       NULL AS severity
FROM changed
