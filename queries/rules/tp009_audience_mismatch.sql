-- id: TP009
-- name: audience-mismatch
-- severity: critical
-- kind: match
-- description: A token succeeded at a resource that is not in its audience: the MCP server (or a gateway) accepted a token minted for another resource, so it is passing tokens through or can be used as a confused deputy.
-- reference: MCP Authorization (2025-11-25), Security Considerations: Token Audience Binding and Validation
-- reference: MCP Authorization (2025-11-25), Resource Parameter Implementation; MCP Security Best Practices: Token Passthrough, Confused Deputy Problem
-- reference: RFC 8707 (Resource Indicators for OAuth 2.0), sections 2 and 3
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 2.3 Access Token Privilege Restriction
-- reference: OWASP NHI9:2025 NHI Reuse
-- key: the token id
-- dedup: 24h
-- lookback: 1d
WITH
-- Same definition as the trust path's `audience` link (src/correlate/trust_path.rs): a
-- successful `resource.access` whose `resource` is not one of the `token_audience` of the
-- successful `token.issue` of that token id. A token whose issue names no audience (or whose
-- issue is not in the lookback) is unknown there and is not a hit here. The trigger is the
-- use, so a late issue that arrives after its misuse finds the same use.
touched AS (
    SELECT DISTINCT token_id FROM new_events
    WHERE token_id IS NOT NULL AND kind IN ('token.issue', 'resource.access')
),
issued AS (
    SELECT e.event_id, e.time, e.token_id, e.token_audience, e.resource, e.issuer,
           e.client_id, e.subject
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'token.issue'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.token_id IN (SELECT token_id FROM touched)
      AND e.token_audience IS NOT NULL
),
-- One issue per token id (a repeated issue event of the same id: the earliest wins).
token AS (
    SELECT * FROM issued
    QUALIFY row_number() OVER (PARTITION BY token_id ORDER BY time, event_id) = 1
),
used AS (
    SELECT e.event_id, e.time, e.token_id, e.resource, e.tool, e.subject, e.client_id,
           e.ip, e.source_name
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'resource.access'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.token_id IN (SELECT token_id FROM touched)
      AND e.resource IS NOT NULL
)
SELECT
    u.event_id,
    u.token_id AS key,
    u.time,
    [t.event_id, u.event_id] AS evidence,
    format(
        'token {} (issued by {} to {} for {}, audience [{}]) was accepted at {}{} at {} (logged by {}, caller {}): '
        || 'the resource must reject tokens not issued for it; check {} for token passthrough '
        || 'and revoke the token',
        u.token_id,
        coalesce(t.issuer, '?'),
        coalesce(t.client_id, u.client_id, '?'),
        coalesce(t.subject, u.subject, '?'),
        array_to_string(t.token_audience, ', '),
        u.resource,
        CASE WHEN u.tool IS NULL THEN '' ELSE ' (tool ' || u.tool || ')' END,
        strftime(u.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(u.source_name, '?'),
        coalesce(u.ip, '?'),
        u.resource
    ) AS summary
FROM used u
JOIN token t ON t.token_id = u.token_id
WHERE NOT list_contains(t.token_audience, u.resource)
