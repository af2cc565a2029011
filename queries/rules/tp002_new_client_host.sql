-- id: TP002
-- name: new-client-host
-- severity: medium
-- kind: first-seen
-- description: A client identified by an https client_id (CIMD, or a URL-named DCR client) whose host is outside trusted_hosts or, with no allowlist, whose host had no document before the end of the learning period: a new party is now trusted only because its metadata said so.
-- reference: MCP Authorization (2025-11-25), Client ID Metadata Documents (authorization servers decide which client_id hosts they trust; allowlists are recommended)
-- reference: draft-ietf-oauth-client-id-metadata-document, Security Considerations (trust policies for client_id URLs)
-- reference: RFC 6819 §5.2.3 (validate the client's identity before trusting it)
-- reference: OWASP NHI3:2025 Vulnerable Third-Party NHI
-- key: the client id's host
-- dedup: 7d
-- lookback: 1h
-- param: learning_period = 24h
-- param: trusted_hosts = []

-- Without an allowlist (learning mode): a host is seen when one of its clients' documents is
-- first stored with status 200 (the client's pin, client_pins); the trigger is the host's
-- earliest pin, so the hit does not depend on which of its later events arrives first, and
-- it fires once per host, when that first document came after data_start + learning_period.
-- (Only a document of the host that is older than one already evaluated, arriving late,
-- can make a second hit; dedup folds it into the same alert.)
-- With trusted_hosts (entries match a host exactly, or a suffix when written
-- "*.example.com"): every document of a host outside the list is a hit (trigger: that
-- document), until the host is added to the list or the client is blocked.
-- Clients known only by tokens (pre-registered) have no document and never fire.
WITH settings AS (
    SELECT list_transform(coalesce($trusted_hosts::JSON::VARCHAR[], []), lambda h: lower(h)) AS allow,
           epoch_us($data_start::TIMESTAMPTZ) + $learning_period AS learned_us
),
new_hosts AS (
    SELECT DISTINCT lower(regexp_extract(client_id, '^https?://(?:[^/?#@]*@)?([^/?#:]+)', 1)) AS host
    FROM new_events
    WHERE client_id IS NOT NULL AND regexp_matches(client_id, '^https?://')
),
documents AS (
    SELECT client_id, event_id, time, kind, issuer, sha256, redirect_uris
    FROM client_pins
    UNION
    SELECT client_id, event_id, time, kind, issuer, client_doc_sha256, client_redirect_uris
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register')
      AND client_id IS NOT NULL
      AND coalesce(http_status, 200) = 200
),
by_host AS (
    SELECT lower(regexp_extract(client_id, '^https?://(?:[^/?#@]*@)?([^/?#:]+)', 1)) AS host, *
    FROM documents
    WHERE regexp_matches(client_id, '^https?://')
),
first_seen AS (
    SELECT host,
           arg_min(event_id, (time, event_id)) AS event_id,
           min(time) AS time,
           arg_min(client_id, (time, event_id)) AS client_id,
           arg_min(kind, (time, event_id)) AS kind,
           arg_min(issuer, (time, event_id)) AS issuer,
           arg_min(sha256, (time, event_id)) AS sha256,
           arg_min(redirect_uris, (time, event_id)) AS redirect_uris
    FROM by_host
    WHERE host IN (SELECT host FROM new_hosts)
    GROUP BY host
),
listed AS (
    SELECT lower(regexp_extract(client_id, '^https?://(?:[^/?#@]*@)?([^/?#:]+)', 1)) AS host,
           client_id, event_id, time, kind, issuer, client_doc_sha256 AS sha256,
           client_redirect_uris AS redirect_uris
    FROM new_events
    WHERE kind IN ('client.document.fetch', 'client.register')
      AND coalesce(http_status, 200) = 200
      AND regexp_matches(client_id, '^https?://')
      AND (SELECT len(allow) > 0 FROM settings)
),
candidates AS (
    SELECT host, event_id, time, client_id, kind, issuer, sha256, redirect_uris FROM first_seen
    WHERE (SELECT len(allow) = 0 FROM settings)
    UNION ALL
    SELECT host, event_id, time, client_id, kind, issuer, sha256, redirect_uris FROM listed
),
judged AS (
    SELECT f.*,
           len(s.allow) > 0 AS with_allowlist,
           len(list_filter(s.allow, lambda a: a = f.host
                                    OR (starts_with(a, '*.') AND ends_with(f.host, substr(a, 2))))) > 0 AS allowed,
           epoch_us(f.time) >= s.learned_us AS after_learning
    FROM candidates f, settings s
)
SELECT event_id,
       host AS key,
       time,
       [event_id] AS evidence,
       concat(
           'client ', client_id, ' from ',
           CASE WHEN with_allowlist THEN 'host ' || host || ', which is not in trusted_hosts,'
                ELSE 'the never-seen host ' || host END,
           CASE WHEN kind = 'client.register' THEN ' registered' ELSE ' had its document fetched' END,
           coalesce(' by ' || issuer, ''), ' at ', strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
           ' (', event_id, ', sha256 ', coalesce(left(sha256, 12) || '…', '?'),
           ', redirect_uris ', coalesce(array_to_string(redirect_uris, ' '), '?'),
           '): confirm who runs it, then add ', host, ' to trusted_hosts or block the client'
       ) AS summary,
       NULL AS severity
FROM judged
WHERE CASE WHEN with_allowlist THEN NOT allowed ELSE after_learning END
