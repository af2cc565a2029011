-- id: TP003
-- name: unsafe-client-document-fetch
-- severity: high
-- kind: sequence
-- description: An authorization server fetched a client metadata document unsafely (client_id not https, a status other than 200, a followed redirect, more than 5 KB, or a loopback/private/link-local/special-use address) and still issued a token on it: the fetch was open to SSRF or a swapped document.
-- reference: MCP Authorization (2025-11-25), Client ID Metadata Documents (https only; no redirects; status 200; bounded size; never fetch special-use addresses)
-- reference: MCP Security Best Practices (2025-11-25), Server-Side Request Forgery
-- reference: draft-ietf-oauth-client-id-metadata-document, Security Considerations (SSRF, document size)
-- reference: RFC 9700 §4.1 and RFC 6819 §5.2.3.5 (validate client metadata before relying on it)
-- reference: OWASP NHI4:2025 Insecure Authentication
-- key: the client id
-- dedup: 24h
-- lookback: 24h
-- param: clock_skew = 5s
-- param: max_document_bytes = 5120

-- "Used" follows the trust path (queries/correlate/token_evidence.sql): a successful token
-- is issued to the client while the fetch is its document in force, i.e. the latest document
-- (fetch or DCR registration) at or before the issue time plus clock_skew, preferring the
-- issuing authorization server's own fetch. One hit per unsafe document, whose trigger is
-- the fetch; evidence is the fetch and the first token issued on it.
-- Cost: only an unsafe document that is new, or in force for a new token, can raise a hit.
-- So the documents in force are first found for the batch's tokens only; the tokens of the
-- whole lookback are read, and matched to their documents, only for the clients of such an
-- unsafe document (rare). The batch's events are stored events, so `docs` holds them.
WITH touched AS (
    SELECT DISTINCT client_id
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register', 'token.issue')
      AND client_id IS NOT NULL
),
docs AS (
    SELECT event_id, time, epoch_us(time) AS time_us, kind, client_id, issuer,
           http_status, http_bytes, http_resolved_ip, http_redirected, client_doc_sha256
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind BETWEEN 'client.document.fetch' AND 'client.register'
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IN (SELECT client_id FROM touched)
),
new_tokens AS (
    SELECT event_id, epoch_us(time) + $clock_skew AS horizon, client_id, issuer
    FROM new_events
    WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND token_id IS NOT NULL AND client_id IS NOT NULL
),
new_in_force AS (
    SELECT coalesce(arg_max(d.event_id, (d.time_us, d.event_id)) FILTER (WHERE d.issuer = t.issuer),
                    arg_max(d.event_id, (d.time_us, d.event_id))) AS doc_id
    FROM new_tokens t
    JOIN docs d ON d.client_id = t.client_id AND d.time_us <= t.horizon
    GROUP BY t.event_id
),
candidates AS (
    SELECT * FROM docs
    WHERE event_id IN (SELECT event_id FROM new_events)
       OR event_id IN (SELECT doc_id FROM new_in_force)
),
addressed AS (
    SELECT *,
           lower(trim(http_resolved_ip, '[]')) AS ip,
           CASE WHEN regexp_matches(lower(trim(http_resolved_ip, '[]')), '^(::ffff:)?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$')
                THEN regexp_replace(lower(trim(http_resolved_ip, '[]')), '^::ffff:', '') END AS v4
    FROM candidates
    WHERE kind = 'client.document.fetch'
),
classified AS (
    SELECT *,
           CASE
               WHEN v4 IS NOT NULL THEN (
                   CASE
                       WHEN a = 127 THEN 'loopback'
                       WHEN a = 10 OR (a = 172 AND b BETWEEN 16 AND 31) OR (a = 192 AND b = 168) THEN 'private'
                       WHEN a = 169 AND b = 254 THEN 'link-local'
                       WHEN a = 0 OR v4 = '255.255.255.255' THEN 'unspecified'
                       WHEN a = 100 AND b BETWEEN 64 AND 127 THEN 'shared (CGNAT)'
                   END)
               WHEN ip = '::1' THEN 'loopback'
               WHEN ip = '::' THEN 'unspecified'
               WHEN regexp_matches(ip, '^f[cd][0-9a-f]{0,2}:') THEN 'private (unique local)'
               WHEN regexp_matches(ip, '^fe[89ab][0-9a-f]?:') THEN 'link-local'
           END AS special
    FROM (SELECT *, TRY_CAST(split_part(v4, '.', 1) AS INTEGER) AS a,
                    TRY_CAST(split_part(v4, '.', 2) AS INTEGER) AS b
          FROM addressed)
),
unsafe AS (
    SELECT *,
           CASE
               WHEN NOT starts_with(client_id, 'https://')
                   THEN 'was fetched from ' || client_id || ', not an https URL'
               WHEN http_status IS NOT NULL AND http_status <> 200
                   THEN 'answered HTTP ' || http_status
               WHEN http_redirected THEN 'followed a redirect'
               WHEN http_bytes > $max_document_bytes
                   THEN 'was ' || http_bytes || ' bytes, above the ' || $max_document_bytes || '-byte limit'
               WHEN special IS NOT NULL
                   THEN 'resolved to ' || special || ' address ' || http_resolved_ip
           END AS problem
    FROM classified
),
-- The whole lookback, for the clients of the unsafe candidates only.
tokens AS (
    SELECT event_id, time, epoch_us(time) + $clock_skew AS horizon, client_id, issuer, token_id
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND token_id IS NOT NULL
      AND client_id IN (SELECT client_id FROM unsafe WHERE problem IS NOT NULL)
),
in_force AS (
    SELECT t.event_id AS token_event_id, t.time AS token_time, t.token_id, t.issuer AS token_issuer,
           coalesce(arg_max(d.event_id, (d.time_us, d.event_id)) FILTER (WHERE d.issuer = t.issuer),
                    arg_max(d.event_id, (d.time_us, d.event_id))) AS doc_id
    FROM tokens t
    JOIN docs d ON d.client_id = t.client_id AND d.time_us <= t.horizon
    GROUP BY ALL
),
used AS (
    SELECT u.event_id, u.time, u.client_id, u.issuer, u.problem, u.client_doc_sha256,
           arg_min(f.token_event_id, (f.token_time, f.token_event_id)) AS first_token_event,
           arg_min(f.token_id, (f.token_time, f.token_event_id)) AS first_token_id,
           arg_min(f.token_issuer, (f.token_time, f.token_event_id)) AS first_token_issuer,
           bool_or(f.token_event_id IN (SELECT event_id FROM new_events)) AS token_is_new
    FROM unsafe u
    JOIN in_force f ON f.doc_id = u.event_id
    WHERE u.problem IS NOT NULL
    GROUP BY ALL
)
SELECT event_id,
       client_id AS key,
       time,
       [event_id, first_token_event] AS evidence,
       concat(
           'the document of ', client_id,
           coalesce(' fetched by ' || issuer, ''), ' at ', strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           coalesce(' (sha256 ' || left(client_doc_sha256, 12) || '…)', ''),
           ' ', problem, ', and was still used: token ', first_token_id,
           coalesce(' from ' || first_token_issuer, ''),
           ' was issued on it; revoke the tokens issued on this document and fix the authorization server''s fetch policy'
       ) AS summary,
       NULL AS severity
FROM used
WHERE event_id IN (SELECT event_id FROM new_events) OR token_is_new
