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
-- Cost: only requests from the batch on can be new or have a new document in force (from
-- from + 24h - clock_skew: the lookback is 24h; the batch's events are stored events). The
-- document in force is first looked for among the client's documents of the 6h before the
-- request, and among its older ones only when none is there (rare but for DCR clients,
-- which have few documents), so the matching stays small.
WITH touched AS (
    SELECT DISTINCT client_id
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register', 'authorization.request')
      AND client_id IS NOT NULL
),
requests AS (
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon, client_id, issuer,
           subject, resource, redirect_uri
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 86400000000 - $clock_skew)::TIMESTAMPTZ
      AND kind = 'authorization.request'
      AND client_id IN (SELECT client_id FROM touched)
      AND redirect_uri IS NOT NULL AND coalesce(outcome, 'success') = 'success'
),
docs AS (
    SELECT event_id, time, epoch_us(time) AS time_us, kind, client_id, issuer,
           client_doc_sha256 AS sha, client_redirect_uris AS uris
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind BETWEEN 'client.document.fetch' AND 'client.register'
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IN (SELECT client_id FROM requests)
      AND client_redirect_uris IS NOT NULL AND coalesce(http_status, 200) = 200
),
-- Requests worth matching to their document: one of the client's documents (in the lookback)
-- or its pin does not list the redirect_uri. Any other request is fine whichever is in force.
risky AS (
    SELECT r.*
    FROM requests r
    LEFT JOIN (SELECT client_id, list(DISTINCT uris) AS variants FROM docs GROUP BY client_id) v
      ON v.client_id = r.client_id
    LEFT JOIN client_pins pin
      ON pin.client_id = r.client_id AND pin.redirect_uris IS NOT NULL
     AND pin.time < $from::TIMESTAMPTZ
    WHERE NOT coalesce(list_bool_and(list_transform(v.variants,
                       lambda x: list_contains(x, r.redirect_uri))), true)
       OR (pin.client_id IS NOT NULL AND NOT list_contains(pin.redirect_uris, r.redirect_uri))
),
recent AS (
    SELECT r.event_id,
           arg_max(d.event_id, (d.time_us, d.event_id)) FILTER (WHERE d.issuer = r.issuer) AS same_id,
           arg_max(d.event_id, (d.time_us, d.event_id)) AS any_id
    FROM risky r
    JOIN docs d ON d.client_id = r.client_id AND d.time_us <= r.horizon
     AND d.time_us > r.horizon - 21600000000
    GROUP BY r.event_id
),
older AS (
    SELECT r.event_id,
           arg_max(d.event_id, (d.time_us, d.event_id)) FILTER (WHERE d.issuer = r.issuer) AS same_id,
           arg_max(d.event_id, (d.time_us, d.event_id)) AS any_id
    FROM risky r
    LEFT JOIN recent n ON n.event_id = r.event_id
    JOIN docs d ON d.client_id = r.client_id AND d.time_us <= r.horizon - 21600000000
    WHERE n.same_id IS NULL
    GROUP BY r.event_id
),
judged AS (
    SELECT r.*,
           coalesce(same_issuer.event_id, any_issuer.event_id, pin.event_id) AS doc_id,
           coalesce(same_issuer.time, any_issuer.time, pin.time) AS doc_time,
           coalesce(same_issuer.kind, any_issuer.kind, pin.kind) AS doc_kind,
           coalesce(same_issuer.sha, any_issuer.sha, pin.sha256) AS doc_sha,
           coalesce(same_issuer.uris, any_issuer.uris, pin.redirect_uris) AS registered
    FROM risky r
    LEFT JOIN recent n ON n.event_id = r.event_id
    LEFT JOIN older o ON o.event_id = r.event_id
    LEFT JOIN docs same_issuer ON same_issuer.event_id = coalesce(n.same_id, o.same_id)
    LEFT JOIN docs any_issuer ON any_issuer.event_id = coalesce(n.any_id, o.any_id)
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
