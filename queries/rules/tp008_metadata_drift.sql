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
-- Cost: a batch fetch is compared with its neighbours only. The fetches from 1h before the
-- batch on (`near`: the lookback is 7d, so from + 7d - 1h; keep 601200000000 µs = lookback
-- - 1h in step with the lookback; the batch's events are stored events, so it holds them)
-- are ordered per resource; a batch fetch with none before
-- it there takes its previous one from the rest of the lookback (`far`, rare). So the cost
-- follows the batch and the fetches after it, not the 7 days before.
WITH near AS (
    SELECT event_id, time, resource, metadata_sha256 AS sha,
           list_sort(list_distinct(coalesce(metadata_authorization_servers, []))) AS servers,
           list_sort(list_distinct(coalesce(metadata_scopes_supported, []))) AS scopes,
           event_id IN (SELECT event_id FROM new_events) AS is_new
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 601200000000)::TIMESTAMPTZ
      AND kind = 'metadata.fetch' AND coalesce(http_status, 200) = 200
      AND (metadata_sha256 IS NOT NULL OR metadata_authorization_servers IS NOT NULL)
      AND resource IN (SELECT resource FROM new_events WHERE kind = 'metadata.fetch')
),
seq AS (
    SELECT *,
           lag(event_id) OVER w AS prev_id,
           lag(time) OVER w AS prev_time,
           lag(sha) OVER w AS prev_sha,
           lag(servers) OVER w AS prev_servers,
           lag(scopes) OVER w AS prev_scopes,
           lag(is_new) OVER w AS prev_new
    FROM near
    WINDOW w AS (PARTITION BY resource ORDER BY time, event_id)
),
far AS (
    SELECT s.event_id,
           arg_max({'event_id': e.event_id, 'time': e.time, 'sha': e.metadata_sha256,
                    'servers': e.metadata_authorization_servers,
                    'scopes': e.metadata_scopes_supported}, (e.time, e.event_id)) AS prev
    FROM seq s
    JOIN events e ON e.resource = s.resource
    WHERE s.is_new AND s.prev_id IS NULL
      AND e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 601200000000)::TIMESTAMPTZ
      AND e.kind = 'metadata.fetch' AND coalesce(e.http_status, 200) = 200
      AND (e.metadata_sha256 IS NOT NULL OR e.metadata_authorization_servers IS NOT NULL)
    GROUP BY s.event_id
),
normal AS (
    SELECT s.event_id, s.time, s.resource, s.sha, s.servers, s.scopes,
           coalesce(s.prev_id, f.prev.event_id) AS prev_id,
           coalesce(s.prev_time, f.prev.time) AS prev_time,
           CASE WHEN s.prev_id IS NOT NULL THEN s.prev_sha ELSE f.prev.sha END AS prev_sha,
           CASE WHEN s.prev_id IS NOT NULL THEN s.prev_servers
                ELSE list_sort(list_distinct(coalesce(f.prev.servers, []))) END AS prev_servers,
           CASE WHEN s.prev_id IS NOT NULL THEN s.prev_scopes
                ELSE list_sort(list_distinct(coalesce(f.prev.scopes, []))) END AS prev_scopes
    FROM seq s
    LEFT JOIN far f ON f.event_id = s.event_id
    WHERE s.is_new OR s.prev_new
),
changed AS (
    SELECT *,
           list_filter(servers, lambda s: NOT list_contains(prev_servers, s)) AS servers_added,
           list_filter(prev_servers, lambda s: NOT list_contains(servers, s)) AS servers_removed,
           list_filter(scopes, lambda s: NOT list_contains(prev_scopes, s)) AS scopes_added,
           list_filter(prev_scopes, lambda s: NOT list_contains(scopes, s)) AS scopes_removed
    FROM normal
    WHERE prev_id IS NOT NULL
      AND CASE WHEN sha IS NOT NULL AND prev_sha IS NOT NULL THEN sha <> prev_sha
               ELSE servers <> prev_servers OR scopes <> prev_scopes END
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
