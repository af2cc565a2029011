-- id: TP010
-- name: token-replay-across-resources
-- severity: high
-- kind: sequence
-- description: One access token succeeded at two or more different MCP servers, each within its audience: a multi-audience (or audience-less) token is being replayed from one resource to another, so whoever holds it, including a server that received it, can act at the others.
-- reference: MCP Authorization (2025-11-25), Security Considerations: Token Audience Binding and Validation; Token Theft
-- reference: MCP Authorization (2025-11-25), Resource Parameter Implementation (one canonical resource per token)
-- reference: RFC 8707 (Resource Indicators for OAuth 2.0), section 2 (audience-restricted tokens)
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 2.3 Access Token Privilege Restriction; 4.10 Misuse of Stolen Access Tokens
-- reference: OWASP NHI9:2025 NHI Reuse
-- reference: OWASP NHI2:2025 Secret Leakage
-- key: the token id
-- dedup: 24h
-- lookback: 1d
WITH
-- Every successful use of a token touched by the batch (issue or use), in time order. A
-- use at a resource outside the token's audience is TP009's (critical) and is left out
-- here, so one misuse raises one alert. A use is a hit when it is the first use of the
-- token at its resource and an earlier use was at another resource: the first use at the
-- second resource, the first at the third, and so on. Evidence: the latest earlier use at
-- another resource, and the hit. Both orders of arrival name the same use with the same
-- evidence: a late earlier use finds the later first use at the other resource.
-- How it is evaluated: one narrow scan of the lookback reads the issues and uses of the
-- tokens the batch touches; the wide columns of the summary are read for the hits only.
touched AS (
    SELECT DISTINCT token_id FROM new_events
    WHERE token_id IS NOT NULL AND kind IN ('token.issue', 'resource.access')
),
seen AS MATERIALIZED (
    SELECT e.event_id, e.time, e.kind, e.token_id, e.resource, e.token_audience
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind IN ('token.issue', 'resource.access')
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.token_id IN (SELECT token_id FROM touched)
),
-- One issue per token id (a repeated issue event of the same id: the earliest wins).
token AS MATERIALIZED (
    SELECT event_id, token_id, token_audience FROM seen
    WHERE kind = 'token.issue'
    QUALIFY row_number() OVER (PARTITION BY token_id ORDER BY time, event_id) = 1
),
used AS MATERIALIZED (
    SELECT s.event_id, s.time, s.token_id, s.resource
    FROM seen s
    LEFT JOIN token t ON t.token_id = s.token_id
    WHERE s.kind = 'resource.access'
      AND s.resource IS NOT NULL
      AND (t.token_audience IS NULL OR list_contains(t.token_audience, s.resource))
),
-- The first use of each (token, resource); only tokens used at two resources or more.
firsts AS (
    SELECT * FROM used
    WHERE token_id IN (SELECT token_id FROM used GROUP BY token_id
                       HAVING count(DISTINCT resource) >= 2)
    QUALIFY row_number() OVER (PARTITION BY token_id, resource ORDER BY time, event_id) = 1
),
ranked AS (
    SELECT f.*,
           row_number() OVER (PARTITION BY f.token_id ORDER BY f.time, f.event_id) AS nth,
           list(f.resource) OVER w AS earlier_resources
    FROM firsts f
    WINDOW w AS (PARTITION BY f.token_id ORDER BY f.time, f.event_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
hit AS MATERIALIZED (
    SELECT r.event_id, r.time, r.token_id, r.resource, r.nth, r.earlier_resources,
           arg_max(p.event_id, (epoch_us(p.time), p.event_id)) AS before_id
    FROM ranked r
    JOIN used p
      ON p.token_id = r.token_id
     AND p.resource <> r.resource
     AND (p.time < r.time OR (p.time = r.time AND p.event_id < r.event_id))
    WHERE r.nth >= 2
    GROUP BY ALL
),
detail AS (
    SELECT e.event_id, e.ip, e.client_id, e.subject
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind IN ('token.issue', 'resource.access')
      AND e.event_id IN (SELECT event_id FROM hit UNION ALL SELECT before_id FROM hit
                         UNION ALL SELECT event_id FROM token
                         WHERE token_id IN (SELECT token_id FROM hit))
      AND EXISTS (SELECT 1 FROM hit)
)
SELECT
    h.event_id,
    h.token_id AS key,
    h.time,
    [h.before_id, h.event_id] AS evidence,
    format(
        'token {} ({} for {}, audience [{}]) used at {} resources: {} at {} from {} after {} '
        || '(last from {}); audience-bind tokens to one MCP server (RFC 8707 resource) and '
        || 'revoke this one',
        h.token_id,
        coalesce(td.client_id, u.client_id, '?'),
        coalesce(td.subject, u.subject, '?'),
        coalesce(array_to_string(t.token_audience, ', '), 'unknown'),
        h.nth,
        h.resource,
        strftime(h.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(u.ip, '?'),
        array_to_string(h.earlier_resources, ', '),
        coalesce(b.ip, '?')
    ) AS summary
FROM hit h
JOIN detail u ON u.event_id = h.event_id
JOIN detail b ON b.event_id = h.before_id
LEFT JOIN token t ON t.token_id = h.token_id
LEFT JOIN detail td ON td.event_id = t.event_id
