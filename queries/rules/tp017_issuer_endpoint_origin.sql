-- id: TP017
-- name: issuer-endpoint-origin
-- severity: high
-- kind: match
-- description: Authorization server metadata whose `issuer` does not echo the issuer it was fetched for, or whose endpoints are not https or sit on another origin than the issuer: a mix-up or spoofed-metadata setup that sends users' codes, credentials and tokens to an attacker's endpoint.
-- reference: MCP Authorization (2025-11-25), Authorization Server Metadata Discovery; Security Considerations: Communication Security
-- reference: RFC 8414 (OAuth 2.0 Authorization Server Metadata), 3.3 Authorization Server Metadata Validation (issuer must be identical); 6 Security Considerations
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 4.4 Mix-Up Attacks
-- reference: RFC 9207 (OAuth 2.0 Authorization Server Issuer Identification)
-- reference: OWASP NHI4:2025 Insecure Authentication
-- key: the issuer the metadata was fetched for
-- dedup: 24h
-- lookback: 1m
WITH
-- The trust path's `issuer echo` link, on each successful as_metadata.fetch of the batch:
-- attributes.advertised_issuer must equal `issuer` exactly (a missing one is unknown, not a
-- hit), and every attributes.endpoints URL must be https on the issuer's origin (scheme,
-- host and port; default ports and userinfo ignored, host case-insensitive). One event
-- shows it all, so history is not read.
fetched AS (
    SELECT e.event_id, e.time, e.issuer, e.source_name, e.ip, e.attributes,
           e.attributes ->> 'advertised_issuer' AS advertised,
           e.attributes ->> 'metadata_url' AS metadata_url
    FROM new_events e
    WHERE e.kind = 'as_metadata.fetch'
      AND coalesce(e.outcome, 'success') = 'success'
      AND (e.http_status IS NULL OR e.http_status = 200)
      AND e.issuer IS NOT NULL
),
endpoint AS (
    SELECT event_id, name,
           json_extract_string(attributes, '$.endpoints."' || name || '"') AS url
    FROM (
        SELECT event_id, attributes, unnest(json_keys(attributes, '$.endpoints')) AS name
        FROM fetched
        WHERE json_type(attributes, '$.endpoints') = 'OBJECT'
    )
),
origins AS (
    SELECT *,
           lower(regexp_extract(u, '^([A-Za-z][A-Za-z0-9+.-]*)://', 1)) AS scheme,
           lower(regexp_replace(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)', 1),
                                '^.*@', '')) AS hostport
    FROM (
        SELECT event_id, name, url AS u FROM endpoint WHERE url IS NOT NULL
        UNION ALL
        SELECT event_id, '(issuer)' AS name, issuer AS u FROM fetched
    )
),
origin AS (
    SELECT event_id, name, u AS url, scheme,
           CASE WHEN scheme = '' OR hostport = '' THEN NULL
                ELSE scheme || '://' || CASE
                    WHEN scheme = 'https' AND hostport LIKE '%:443' THEN left(hostport, -4)
                    WHEN scheme = 'http' AND hostport LIKE '%:80' THEN left(hostport, -3)
                    ELSE hostport END
           END AS origin
    FROM origins
),
stray AS (
    SELECT o.event_id,
           list(o.name || ' ' || o.url ORDER BY o.name) AS endpoints
    FROM origin o
    JOIN origin i ON i.event_id = o.event_id AND i.name = '(issuer)'
    WHERE o.name <> '(issuer)'
      AND (o.scheme IS DISTINCT FROM 'https' OR o.origin IS NULL
           OR o.origin IS DISTINCT FROM i.origin)
    GROUP BY o.event_id
)
SELECT
    f.event_id,
    f.issuer AS key,
    f.time,
    [f.event_id] AS evidence,
    format(
        'the authorization server metadata fetched for {} from {} at {} (by {}, client {}) {}; '
        || 'clients must reject it (RFC 8414 3.3): check who serves {} and whether tokens were '
        || 'issued after it',
        f.issuer,
        coalesce(f.metadata_url, '?'),
        strftime(f.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(f.source_name, '?'),
        coalesce(f.ip, '?'),
        concat_ws('; and ',
            CASE WHEN f.advertised IS NOT NULL AND f.advertised <> f.issuer
                 THEN 'advertises issuer ' || f.advertised || ' instead of echoing ' || f.issuer END,
            CASE WHEN s.endpoints IS NOT NULL
                 THEN 'puts endpoints off the issuer''s https origin: '
                      || array_to_string(s.endpoints, ', ') END),
        coalesce(f.metadata_url, 'the metadata')
    ) AS summary
FROM fetched f
LEFT JOIN stray s ON s.event_id = f.event_id
WHERE (f.advertised IS NOT NULL AND f.advertised <> f.issuer)
   OR s.endpoints IS NOT NULL
