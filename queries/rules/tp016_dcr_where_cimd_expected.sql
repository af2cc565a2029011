-- id: TP016
-- name: dcr-where-cimd-expected
-- severity: low
-- kind: match
-- description: A client registered itself by Dynamic Client Registration at an authorization server whose metadata says it supports Client ID Metadata Documents: DCR is only the fallback, and an anonymous self-registered client id where a verifiable https client id was possible is how impersonating or throw-away clients get in.
-- reference: MCP Authorization (2025-11-25), Client Registration Approaches; Client ID Metadata Documents; Dynamic Client Registration (fallback)
-- reference: RFC 7591 (OAuth 2.0 Dynamic Client Registration), 5 Security Considerations
-- reference: draft-ietf-oauth-client-id-metadata-document (client_id_metadata_document_supported)
-- reference: RFC 8414 (OAuth 2.0 Authorization Server Metadata), 2 Authorization Server Metadata
-- reference: OWASP NHI3:2025 Vulnerable Third-Party NHI
-- reference: OWASP NHI1:2025 Improper Offboarding
-- key: the issuer (authorization server) that accepted the registration
-- dedup: 24h
-- lookback: 2d
-- param: metadata_window = 24h
-- param: clock_skew = 5s
WITH
-- A successful client.register at issuer I is a hit when the authorization server metadata
-- of I in force says `cimd_supported` (attributes of as_metadata.fetch, as the trust path's
-- issuer link reads them). In force: the latest fetch for I from `metadata_window` before
-- the registration to `clock_skew` after; without one, the first fetch up to
-- `metadata_window` after it. A late metadata fetch re-judges the registrations of its
-- issuer within `metadata_window`, so either arrival order gives the same hit. Keep
-- `metadata_window` within half the lookback.
fetched_issuers AS (
    SELECT DISTINCT issuer FROM new_events
    WHERE kind = 'as_metadata.fetch' AND issuer IS NOT NULL
),
registered AS (
    SELECT e.event_id, e.time, epoch_us(e.time) AS us, e.issuer, e.client_id, e.client_name,
           e.client_redirect_uris, e.ip, e.user_agent
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'client.register'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.issuer IS NOT NULL
      AND (e.event_id IN (SELECT event_id FROM new_events)
           OR e.issuer IN (SELECT issuer FROM fetched_issuers))
),
metadata AS (
    SELECT e.event_id, epoch_us(e.time) AS us, e.issuer,
           e.attributes ->> 'cimd_supported' AS cimd,
           e.attributes ->> 'metadata_url' AS metadata_url
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'as_metadata.fetch'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.issuer IN (SELECT issuer FROM registered)
),
in_force AS (
    SELECT r.event_id,
           coalesce(
               arg_max(m.event_id, m.us) FILTER (WHERE m.us <= r.us + $clock_skew),
               arg_min(m.event_id, m.us) FILTER (WHERE m.us > r.us + $clock_skew)
           ) AS metadata_id
    FROM registered r
    JOIN metadata m
      ON m.issuer = r.issuer
     AND m.us BETWEEN r.us - $metadata_window AND r.us + $metadata_window
    GROUP BY r.event_id
)
SELECT
    r.event_id,
    r.issuer AS key,
    r.time,
    [m.event_id, r.event_id] AS evidence,
    format(
        'client {} ({}, redirect_uris [{}]) registered by DCR at {} from {} at {}, although '
        || 'its metadata ({}, {}) advertises Client ID Metadata Document support; prefer a '
        || 'CIMD https client id, or review and disable DCR at this authorization server',
        coalesce(r.client_id, '?'),
        coalesce(r.client_name, 'no name'),
        coalesce(array_to_string(r.client_redirect_uris, ', '), ''),
        r.issuer,
        coalesce(r.ip, '?'),
        strftime(r.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(m.metadata_url, '?'),
        m.event_id
    ) AS summary
FROM registered r
JOIN in_force f ON f.event_id = r.event_id
JOIN metadata m ON m.event_id = f.metadata_id
WHERE m.cimd = 'true'
