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
-- How it is evaluated: nothing is read unless the batch holds a registration or a metadata
-- fetch; the metadata fetches are read narrow, their attributes only for the one in force.
fetched_issuers AS (
    SELECT DISTINCT issuer FROM new_events
    WHERE kind = 'as_metadata.fetch' AND issuer IS NOT NULL
),
registered AS MATERIALIZED (
    SELECT e.event_id, e.time, epoch_us(e.time) AS us, e.issuer
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'client.register'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.issuer IS NOT NULL
      AND (e.event_id IN (SELECT event_id FROM new_events WHERE kind = 'client.register')
           OR e.issuer IN (SELECT issuer FROM fetched_issuers))
      AND EXISTS (SELECT 1 FROM new_events
                  WHERE kind IN ('client.register', 'as_metadata.fetch'))
),
metadata AS MATERIALIZED (
    SELECT e.time, epoch_us(e.time) AS us, e.issuer
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'as_metadata.fetch'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.issuer IN (SELECT issuer FROM registered)
),
-- The time of the fetch in force for each registration (its event is read after).
in_force AS MATERIALIZED (
    SELECT r.event_id, r.time, r.issuer,
           coalesce(
               max(m.time) FILTER (WHERE m.us <= r.us + $clock_skew),
               min(m.time) FILTER (WHERE m.us > r.us + $clock_skew)
           ) AS metadata_time
    FROM registered r
    JOIN metadata m
      ON m.issuer = r.issuer
     AND m.us BETWEEN r.us - $metadata_window AND r.us + $metadata_window
    GROUP BY ALL
),
-- The fetch in force and its attributes (of fetches at the same instant, the greatest id).
attrs AS MATERIALIZED (
    SELECT f.event_id, f.time,
           max(e.event_id) AS metadata_id,
           arg_max(e.attributes ->> 'cimd_supported', e.event_id) AS cimd,
           arg_max(e.attributes ->> 'metadata_url', e.event_id) AS metadata_url
    FROM events e
    JOIN in_force f ON f.metadata_time = e.time AND f.issuer = e.issuer
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'as_metadata.fetch'
      AND coalesce(e.outcome, 'success') = 'success'
    GROUP BY ALL
),
hit AS MATERIALIZED (
    SELECT a.event_id, a.time, a.metadata_id, a.metadata_url
    FROM attrs a
    WHERE a.cimd = 'true'
),
detail AS (
    SELECT e.event_id, e.time, e.issuer, e.client_id, e.client_name, e.client_redirect_uris,
           e.ip
    FROM events e
    JOIN hit h0 ON h0.event_id = e.event_id AND h0.time = e.time
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'client.register'
)
SELECT
    r.event_id,
    r.issuer AS key,
    r.time,
    [h.metadata_id, r.event_id] AS evidence,
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
        coalesce(h.metadata_url, '?'),
        h.metadata_id
    ) AS summary
FROM hit h
JOIN detail r ON r.event_id = h.event_id
