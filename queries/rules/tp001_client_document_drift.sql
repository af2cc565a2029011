-- id: TP001
-- name: client-document-drift
-- severity: high
-- kind: drift
-- description: A client's metadata document (CIMD fetch or DCR registration, status 200) has another SHA-256 than the client's previous one, so what the user approved is no longer what the authorization server trusts; critical when the redirect_uris changed, since codes can then be sent elsewhere.
-- reference: MCP Authorization (2025-11-25), Client ID Metadata Documents (the document at the client_id URL is the client's identity; changes can invalidate consent)
-- reference: draft-ietf-oauth-client-id-metadata-document (Client ID Metadata Document)
-- reference: RFC 7591 §2 (client metadata: redirect_uris, jwks, token_endpoint_auth_method)
-- reference: RFC 9700 §4.1 (insufficient redirect URI validation)
-- reference: OWASP NHI3:2025 Vulnerable Third-Party NHI (the client's identity is a document its host can change)
-- reference: OWASP NHI2:2025 Secret Leakage (a redirect added to a trusted identity leaks authorization codes)
-- key: the client id
-- dedup: 24h
-- lookback: 7d

-- Each document is compared with the client's previous one (by time, then event id) in the
-- lookback; the first one in the lookback is compared with the client's pin (client_pins,
-- its first document with status 200) when that is older than the lookback. The trigger is
-- the changed document, so a late previous document yields the same hit.
-- Cost: a batch document is compared with its neighbours only. The client's documents from
-- 2h before the batch on (`near`: the lookback is 7d, so from + 7d - 2h; keep 597600000000
-- µs = lookback - 2h in step with the lookback; the batch's events are stored events, so it
-- holds them) are ordered per client; a batch document with none before it there takes its
-- previous one from the rest of the lookback (`far`, rare), else the pin. So the cost
-- follows the batch and the documents after it, not the 7 days before.
WITH near AS (
    SELECT event_id, time, kind, client_id, issuer, client_name,
           client_doc_sha256 AS sha, coalesce(client_redirect_uris, []) AS uris,
           event_id IN (SELECT event_id FROM new_events) AS is_new
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IN (SELECT client_id FROM new_events
                        WHERE kind IN ('client.document.fetch', 'client.register'))
      AND client_doc_sha256 IS NOT NULL
      AND coalesce(http_status, 200) = 200
),
seq AS (
    SELECT *,
           lag(event_id) OVER w AS prev_id,
           lag(time) OVER w AS prev_time,
           lag(sha) OVER w AS prev_sha,
           lag(uris) OVER w AS prev_uris,
           lag(client_name) OVER w AS prev_name,
           lag(is_new) OVER w AS prev_new
    FROM near
    WINDOW w AS (PARTITION BY client_id ORDER BY time, event_id)
),
far AS (
    SELECT s.event_id,
           arg_max({'event_id': e.event_id, 'time': e.time, 'sha': e.client_doc_sha256,
                    'uris': e.client_redirect_uris, 'client_name': e.client_name},
                   (e.time, e.event_id)) AS prev
    FROM seq s
    JOIN events e ON e.client_id = s.client_id
    WHERE s.is_new AND s.prev_id IS NULL
      AND e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND e.kind IN ('client.document.fetch', 'client.register')
      AND e.client_doc_sha256 IS NOT NULL
      AND coalesce(e.http_status, 200) = 200
    GROUP BY s.event_id
),
-- The first document in the lookback is compared with the pin, when that is older.
paired AS (
    SELECT s.event_id, s.time, s.kind, s.client_id, s.issuer, s.sha, s.client_name, s.uris,
           coalesce(s.prev_id, f.prev.event_id, p.event_id) AS prev_id,
           coalesce(s.prev_time, f.prev.time, p.time) AS prev_time,
           coalesce(s.prev_sha, f.prev.sha, p.sha256) AS prev_sha,
           CASE WHEN s.prev_id IS NOT NULL THEN s.prev_uris
                WHEN f.prev IS NOT NULL THEN coalesce(f.prev.uris, [])
                ELSE coalesce(p.redirect_uris, []) END AS prev_uris,
           CASE WHEN s.prev_id IS NOT NULL THEN s.prev_name ELSE f.prev.client_name END AS prev_name
    FROM seq s
    LEFT JOIN far f ON f.event_id = s.event_id
    LEFT JOIN client_pins p
      ON s.prev_id IS NULL AND f.prev IS NULL
     AND p.client_id = s.client_id AND p.time < $from::TIMESTAMPTZ
    WHERE s.is_new OR s.prev_new
),
changed AS (
    SELECT *,
           list_sort(list_filter(uris, lambda u: NOT list_contains(prev_uris, u))) AS added,
           list_sort(list_filter(prev_uris, lambda u: NOT list_contains(uris, u))) AS removed
    FROM paired
    WHERE prev_sha IS NOT NULL AND sha <> prev_sha
)
SELECT event_id,
       client_id AS key,
       time,
       [prev_id, event_id] AS evidence,
       concat(
           'client ', client_id, ' changed its document: sha256 ',
           left(prev_sha, 12), '… → ', left(sha, 12), '…',
           CASE WHEN len(added) > 0 THEN ', redirect_uris added ' || array_to_string(added, ' ') END,
           CASE WHEN len(removed) > 0 THEN ', redirect_uris removed ' || array_to_string(removed, ' ') END,
           CASE WHEN prev_name IS NOT NULL AND client_name IS NOT NULL AND prev_name <> client_name
                THEN ', client_name ' || prev_name || ' → ' || client_name END,
           CASE WHEN len(added) = 0 AND len(removed) = 0 THEN ', redirect_uris unchanged' END,
           ' (', CASE WHEN kind = 'client.register' THEN 'registered' ELSE 'fetched' END,
           coalesce(' by ' || issuer, ''), ' at ', strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           '; previous ', prev_id, ' at ', strftime(prev_time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           '): re-check consent and the new redirect URIs before trusting it'
       ) AS summary,
       CASE WHEN len(added) > 0 OR len(removed) > 0 THEN 'critical' END AS severity
FROM changed
