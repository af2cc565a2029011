-- id: TP013
-- name: refresh-token-reuse
-- severity: high
-- kind: sequence
-- description: A refresh token that was already exchanged (rotated out) was presented again and accepted: either the token was stolen and replayed or rotation is not enforced; raised to critical when the second presentation came from another address or client.
-- reference: MCP Authorization (2025-11-25), Security Considerations: Token Theft (refresh token rotation for public clients)
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 4.14.2 Refresh Token Protection (rotation and reuse detection)
-- reference: RFC 6749 (OAuth 2.0), 10.4 Refresh Tokens
-- reference: OWASP NHI2:2025 Secret Leakage
-- reference: OWASP NHI7:2025 Long-Lived Secrets
-- key: the refresh token id (the parent id presented twice)
-- dedup: 24h
-- lookback: 14d
WITH
-- The trust path's `liveness` link: successful token.issue events sharing a
-- `token_parent_id` (the refresh token presented). In (time, event_id) order, the second
-- and every later presentation is a hit, with the first one as evidence. A late first
-- presentation finds the later one in history, so the trigger does not depend on arrival.
touched AS (
    SELECT DISTINCT token_parent_id AS id FROM new_events
    WHERE kind = 'token.issue' AND token_parent_id IS NOT NULL
),
-- Narrow first (time, id and parent only): the lookback is long, so the wide columns are
-- read only for the hits and their first presentations (a join on time and id, which
-- prunes the scan to their time span; none when there is no hit).
presented AS (
    SELECT e.event_id, e.time, e.token_parent_id
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'token.issue'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.token_parent_id IN (SELECT id FROM touched)
),
ranked AS (
    SELECT *,
           row_number() OVER w AS nth,
           first_value(event_id) OVER w AS first_id,
           first_value(time) OVER w AS first_time
    FROM presented
    WINDOW w AS (PARTITION BY token_parent_id ORDER BY time, event_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
hit AS (
    SELECT * FROM ranked WHERE nth >= 2
),
detail AS (
    SELECT e.event_id, e.time, e.token_id, e.issuer, e.client_id, e.subject, e.ip, e.resource
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND (e.time, e.event_id) IN (SELECT time, event_id FROM hit
                                   UNION ALL
                                   SELECT first_time, first_id FROM hit)
)
SELECT
    h.event_id,
    h.token_parent_id AS key,
    h.time,
    [h.first_id, h.event_id] AS evidence,
    format(
        'refresh token {} ({} for {} at {}) was presented {} times: first at {} from {} (new '
        || 'token {}), again at {} from {}{} (new token {}); revoke the whole token family at {} '
        || 'and enforce rotation with reuse detection',
        h.token_parent_id,
        coalesce(d.client_id, '?'),
        coalesce(d.subject, '?'),
        coalesce(d.resource, '?'),
        h.nth,
        strftime(h.first_time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(f.ip, '?'),
        coalesce(f.token_id, '?'),
        strftime(h.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(d.ip, '?'),
        CASE WHEN d.client_id IS DISTINCT FROM f.client_id
             THEN ' by another client ' || coalesce(d.client_id, '?') ELSE '' END,
        coalesce(d.token_id, '?'),
        coalesce(d.issuer, 'the issuer')
    ) AS summary,
    CASE WHEN d.ip IS DISTINCT FROM f.ip OR d.client_id IS DISTINCT FROM f.client_id
         THEN 'critical' END AS severity
FROM hit h
JOIN detail d ON d.event_id = h.event_id
JOIN detail f ON f.event_id = h.first_id
