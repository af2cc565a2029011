-- id: TP015
-- name: auth-failure-burst
-- severity: medium
-- kind: threshold
-- description: `threshold` or more failed authorization or token requests within `window` from one IP address or for one client id: credential stuffing, a brute-forced client secret or code, or a stolen client identity being tried; the key names the IP when the IP crossed the threshold, otherwise the client.
-- reference: MCP Authorization (2025-11-25), Error Handling; Security Considerations: Authorization Code Protection; Token Theft
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 4.5 Authorization Code Injection; 2.5 Client Authentication
-- reference: RFC 6749 (OAuth 2.0), 5.2 Error Response (invalid_client, invalid_grant); 10.10 Credentials-Guessing Attacks
-- reference: OWASP NHI4:2025 Insecure Authentication
-- key: "ip <address>" when that IP reached the threshold, else "client <client id>"
-- dedup: 1h
-- lookback: 1h
-- param: threshold = 10
-- param: window = 5m
WITH
-- Failures: token.issue and authorization.request events with outcome failure or denied.
-- A hit is each failure that is at least the `threshold`-th of its IP, or of its client id,
-- within the `window` ending at it (ties in time ordered by event id). The batch's failures
-- bring in their IPs' and clients' failures within the lookback (keep `window` within it);
-- a hit is reported when a new failure lies in its window, so a late failure that pushes
-- later ones over the threshold reports them too. Evidence: the `threshold` latest
-- failures of the dimension that crossed (the IP first).
failure AS (
    SELECT e.event_id, e.time, epoch_us(e.time) AS us, e.kind, e.reason, e.client_id, e.ip,
           e.issuer, e.grant_type, e.subject
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind IN ('token.issue', 'authorization.request')
      AND e.outcome IN ('failure', 'denied')
      AND (e.client_id IS NOT NULL OR e.ip IS NOT NULL)
),
fresh AS (
    SELECT f.event_id, f.us, f.client_id, f.ip
    FROM failure f
    WHERE f.event_id IN (SELECT event_id FROM new_events)
),
by_ip AS (
    SELECT c.event_id,
           count(*) AS n,
           list(w.event_id ORDER BY w.us DESC, w.event_id DESC) AS ids,
           min(w.us) AS first_us,
           list(DISTINCT w.client_id) AS clients,
           list(DISTINCT w.reason) AS reasons
    FROM failure c
    JOIN failure w
      ON w.ip = c.ip
     AND w.us >= c.us - $window
     AND (w.us < c.us OR (w.us = c.us AND w.event_id <= c.event_id))
    WHERE EXISTS (
        SELECT 1 FROM fresh f
        WHERE f.ip = c.ip
          AND f.us >= c.us - $window
          AND (f.us < c.us OR (f.us = c.us AND f.event_id <= c.event_id))
    )
    GROUP BY c.event_id
),
by_client AS (
    SELECT c.event_id,
           count(*) AS n,
           list(w.event_id ORDER BY w.us DESC, w.event_id DESC) AS ids,
           min(w.us) AS first_us,
           list(DISTINCT w.ip) AS ips,
           list(DISTINCT w.reason) AS reasons
    FROM failure c
    JOIN failure w
      ON w.client_id = c.client_id
     AND w.us >= c.us - $window
     AND (w.us < c.us OR (w.us = c.us AND w.event_id <= c.event_id))
    WHERE EXISTS (
        SELECT 1 FROM fresh f
        WHERE f.client_id = c.client_id
          AND f.us >= c.us - $window
          AND (f.us < c.us OR (f.us = c.us AND f.event_id <= c.event_id))
    )
    GROUP BY c.event_id
),
judged AS (
    SELECT f.*,
           coalesce(i.n, 0) AS ip_n, i.ids AS ip_ids, i.first_us AS ip_first, i.clients,
           i.reasons AS ip_reasons,
           coalesce(c.n, 0) AS client_n, c.ids AS client_ids, c.first_us AS client_first,
           c.ips, c.reasons AS client_reasons,
           coalesce(i.n, 0) >= $threshold AS by_ip
    FROM failure f
    LEFT JOIN by_ip i ON i.event_id = f.event_id
    LEFT JOIN by_client c ON c.event_id = f.event_id
    WHERE coalesce(i.n, 0) >= $threshold OR coalesce(c.n, 0) >= $threshold
)
SELECT
    event_id,
    CASE WHEN by_ip THEN 'ip ' || ip ELSE 'client ' || client_id END AS key,
    time,
    list_slice(CASE WHEN by_ip THEN ip_ids ELSE client_ids END, 1, $threshold) AS evidence,
    CASE WHEN by_ip THEN format(
        '{} failed authorization/token requests from {} within {} (since {}; reasons {}; '
        || 'client(s) {}; {} for client {} in the window), latest {} at {}; block or '
        || 'rate-limit {} and check the client''s credentials',
        ip_n, ip,
        CASE WHEN $window % 60000000 = 0 THEN CAST($window // 60000000 AS VARCHAR) || ' min'
             ELSE CAST($window // 1000000 AS VARCHAR) || ' s' END,
        strftime(make_timestamp(ip_first)::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(array_to_string(ip_reasons, ', '), '?'),
        coalesce(array_to_string(clients, ', '), '?'),
        client_n, coalesce(client_id, '?'),
        kind, coalesce(issuer, '?'),
        ip
    ) ELSE format(
        '{} failed authorization/token requests for client {} within {} (since {}; reasons {}; '
        || 'from {}), latest {} at {} from {}; check whether the client''s credentials are '
        || 'being guessed or its identity is misused',
        client_n, client_id,
        CASE WHEN $window % 60000000 = 0 THEN CAST($window // 60000000 AS VARCHAR) || ' min'
             ELSE CAST($window // 1000000 AS VARCHAR) || ' s' END,
        strftime(make_timestamp(client_first)::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(array_to_string(client_reasons, ', '), '?'),
        coalesce(array_to_string(ips, ', '), '?'),
        kind, coalesce(issuer, '?'), coalesce(ip, '?')
    ) END AS summary
FROM judged
