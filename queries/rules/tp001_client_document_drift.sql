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
WITH touched AS (
    SELECT DISTINCT client_id
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register') AND client_id IS NOT NULL
),
docs AS (
    SELECT event_id, time, kind, client_id, issuer, client_name,
           client_doc_sha256 AS sha, client_redirect_uris AS uris
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IN (SELECT client_id FROM touched)
      AND client_doc_sha256 IS NOT NULL
      AND coalesce(http_status, 200) = 200
    UNION
    SELECT event_id, time, kind, client_id, issuer, client_name,
           client_doc_sha256 AS sha, client_redirect_uris AS uris
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register')
      AND client_id IS NOT NULL
      AND client_doc_sha256 IS NOT NULL
      AND coalesce(http_status, 200) = 200
),
seq AS (
    SELECT d.*,
           row_number() OVER w AS n,
           lag(event_id) OVER w AS prev_id,
           lag(time) OVER w AS prev_time,
           lag(sha) OVER w AS prev_sha,
           lag(uris) OVER w AS prev_uris,
           lag(client_name) OVER w AS prev_name
    FROM docs d
    WINDOW w AS (PARTITION BY client_id ORDER BY time, event_id)
),
paired AS (
    SELECT s.event_id, s.time, s.kind, s.client_id, s.issuer, s.sha, s.client_name,
           coalesce(s.uris, []) AS uris,
           CASE WHEN s.n = 1 THEN p.event_id ELSE s.prev_id END AS prev_id,
           CASE WHEN s.n = 1 THEN p.time ELSE s.prev_time END AS prev_time,
           CASE WHEN s.n = 1 THEN p.sha256 ELSE s.prev_sha END AS prev_sha,
           coalesce(CASE WHEN s.n = 1 THEN p.redirect_uris ELSE s.prev_uris END, []) AS prev_uris,
           CASE WHEN s.n = 1 THEN NULL ELSE s.prev_name END AS prev_name
    FROM seq s
    LEFT JOIN client_pins p
      ON s.n = 1 AND p.client_id = s.client_id AND p.time < $from::TIMESTAMPTZ
),
changed AS (
    SELECT *,
           list_sort(list_filter(uris, lambda u: NOT list_contains(prev_uris, u))) AS added,
           list_sort(list_filter(prev_uris, lambda u: NOT list_contains(uris, u))) AS removed
    FROM paired
    WHERE prev_sha IS NOT NULL AND sha <> prev_sha
      AND (event_id IN (SELECT event_id FROM new_events)
           OR prev_id IN (SELECT event_id FROM new_events))
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
