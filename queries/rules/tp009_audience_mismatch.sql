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
token AS (
    SELECT * FROM seen
    WHERE kind = 'token.issue' AND token_audience IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY token_id ORDER BY time, event_id) = 1
),
hit AS MATERIALIZED (
    SELECT u.event_id, u.time, u.token_id, u.resource, t.event_id AS issue_id, t.token_audience
    FROM seen u JOIN token t ON t.token_id = u.token_id
    WHERE u.kind = 'resource.access' AND u.resource IS NOT NULL
      AND NOT list_contains(t.token_audience, u.resource)
),
detail AS (
    SELECT e.event_id, e.issuer, e.client_id, e.subject, e.tool, e.ip, e.source_name
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind IN ('token.issue', 'resource.access')
      AND e.event_id IN (SELECT event_id FROM hit UNION ALL SELECT issue_id FROM hit)
      AND EXISTS (SELECT 1 FROM hit)
)
SELECT
    h.event_id,
    h.token_id AS key,
    h.time,
    [h.issue_id, h.event_id] AS evidence,
    format(
        'token {} (issued by {} to {} for {}, audience [{}]) was accepted at {}{} at {} (logged by {}, caller {}): '
        || 'the resource must reject tokens not issued for it; check {} for token passthrough '
        || 'and revoke the token',
        h.token_id,
        coalesce(t.issuer, '?'),
        coalesce(t.client_id, u.client_id, '?'),
        coalesce(t.subject, u.subject, '?'),
        array_to_string(h.token_audience, ', '),
        h.resource,
        CASE WHEN u.tool IS NULL THEN '' ELSE ' (tool ' || u.tool || ')' END,
        strftime(h.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(u.source_name, '?'),
        coalesce(u.ip, '?'),
        h.resource
    ) AS summary
FROM hit h
JOIN detail u ON u.event_id = h.event_id
JOIN detail t ON t.event_id = h.issue_id
