-- id: TP004
-- name: redirect-not-registered
-- severity: high
-- kind: sequence
-- description: An authorization request that the authorization server accepted names a redirect_uri that the client's metadata document (or DCR registration) in force does not list: the authorization code can be sent to whoever controls that URI.
-- reference: MCP Authorization (2025-11-25), Client ID Metadata Documents (redirect_uri must exactly match one of the document's redirect_uris)
-- reference: MCP Authorization (2025-11-25), Open Redirection
-- reference: RFC 6749 §3.1.2 and §10.6 (redirection endpoint; authorization code redirection URI manipulation)
-- reference: RFC 9700 §2.1 and §4.1 (exact redirect URI matching; insufficient redirect URI validation)
-- reference: OWASP NHI2:2025 Secret Leakage
-- key: the client id
-- dedup: 24h
-- lookback: 24h
-- param: clock_skew = 5s

-- The document in force is the client's latest document with redirect_uris and status 200
-- at or before the request time plus clock_skew, preferring the one fetched by the same
-- authorization server (as the trust path's redirect link does); with none in the lookback,
-- the client's pin when it is older. Requests the server refused (outcome failure/denied)
-- and requests without a redirect_uri are not judged. One hit per request (the trigger).
WITH touched AS (
    SELECT DISTINCT client_id
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register', 'authorization.request')
      AND client_id IS NOT NULL
),
docs AS (
    SELECT event_id, time, epoch_us(time) AS time_us, kind, client_id, issuer,
           client_doc_sha256 AS sha, client_redirect_uris AS uris
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IN (SELECT client_id FROM touched)
      AND client_redirect_uris IS NOT NULL AND coalesce(http_status, 200) = 200
    UNION
    SELECT event_id, time, epoch_us(time) AS time_us, kind, client_id, issuer,
           client_doc_sha256 AS sha, client_redirect_uris AS uris
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register')
      AND client_id IS NOT NULL
      AND client_redirect_uris IS NOT NULL AND coalesce(http_status, 200) = 200
),
requests AS (
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon, client_id, issuer,
           subject, resource, redirect_uri
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'authorization.request'
      AND client_id IN (SELECT client_id FROM touched)
      AND redirect_uri IS NOT NULL AND coalesce(outcome, 'success') = 'success'
    UNION
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon, client_id, issuer,
           subject, resource, redirect_uri
    FROM new_events
    WHERE kind = 'authorization.request' AND client_id IS NOT NULL
      AND redirect_uri IS NOT NULL AND coalesce(outcome, 'success') = 'success'
),
judged AS (
    SELECT r.*,
           coalesce(same_issuer.event_id, any_issuer.event_id, pin.event_id) AS doc_id,
           coalesce(same_issuer.time, any_issuer.time, pin.time) AS doc_time,
           coalesce(same_issuer.kind, any_issuer.kind, pin.kind) AS doc_kind,
           coalesce(same_issuer.sha, any_issuer.sha, pin.sha256) AS doc_sha,
           coalesce(same_issuer.uris, any_issuer.uris, pin.redirect_uris) AS registered
    FROM requests r
    ASOF LEFT JOIN docs same_issuer
      ON r.client_id = same_issuer.client_id AND r.issuer = same_issuer.issuer
     AND r.horizon >= same_issuer.time_us
    ASOF LEFT JOIN docs any_issuer
      ON r.client_id = any_issuer.client_id AND r.horizon >= any_issuer.time_us
    LEFT JOIN client_pins pin
      ON pin.client_id = r.client_id AND pin.redirect_uris IS NOT NULL
     AND pin.time < $from::TIMESTAMPTZ
)
SELECT event_id,
       client_id AS key,
       time,
       [doc_id, event_id] AS evidence,
       concat(
           'authorization request for ', client_id,
           coalesce(' by ' || subject, ''), coalesce(' to ' || resource, ''),
           coalesce(' at ' || issuer, ''), ' (', strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           ') redirects to ', redirect_uri, ', which its ',
           CASE WHEN doc_kind = 'client.register' THEN 'DCR registration' ELSE 'document' END,
           ' (', doc_id, coalesce(', sha256 ' || left(doc_sha, 12) || '…', ''),
           ') does not list: registered ', array_to_string(registered, ' '),
           '; the code may go to an attacker: revoke tokens of this flow and make the server match redirect URIs exactly'
       ) AS summary,
       NULL AS severity
FROM judged
WHERE doc_id IS NOT NULL
  AND NOT list_contains(registered, redirect_uri)
  AND (event_id IN (SELECT event_id FROM new_events) OR doc_id IN (SELECT event_id FROM new_events))
