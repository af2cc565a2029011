-- id: TP012
-- name: revoked-token-use
-- severity: critical
-- kind: sequence
-- description: A token kept working after it was revoked or expired (a successful MCP request with a revoked or expired access token, or a refresh grant presenting a revoked refresh token): the resource or authorization server does not enforce revocation or expiry, so a stolen or offboarded credential stays usable.
-- reference: MCP Authorization (2025-11-25), Security Considerations: Token Theft; Access Token Usage (resource servers MUST validate access tokens)
-- reference: RFC 7009 (OAuth 2.0 Token Revocation), section 2 (a revoked token must no longer be accepted; revoking a refresh token)
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 4.10 Misuse of Stolen Access Tokens; 4.14 Refresh Token Protection
-- reference: RFC 6750 (Bearer Token Usage), 3.1 invalid_token (expired or revoked)
-- reference: OWASP NHI1:2025 Improper Offboarding
-- reference: OWASP NHI7:2025 Long-Lived Secrets
-- key: the token id (the refresh token id for a refresh after revocation)
-- dedup: 24h
-- lookback: 7d
-- param: clock_skew = 5s
-- param: expiry_leeway = 2m
WITH
-- The trust path's `liveness` link (src/correlate/trust_path.rs), per event:
-- * a successful resource.access of token X later than the first successful revocation of
--   X by more than `clock_skew`: hit on the use, evidence [revoke, use];
-- * otherwise, a successful use later than X's `expires_at` (from its successful issue) by
--   more than `expiry_leeway` (the exp leeway resource servers commonly allow, RFC 7519
--   4.1.4): hit on the use, evidence [issue, use];
-- * a successful token.issue whose parent (the refresh token presented) was revoked more
--   than `clock_skew` before: hit on that refresh grant, evidence [revoke, grant].
-- The trigger is always the use, whichever event is new: a late revoke or issue finds the
-- uses after it in history.
touched AS (
    SELECT token_id AS id FROM new_events
    WHERE token_id IS NOT NULL AND kind IN ('token.issue', 'token.revoke', 'resource.access')
    UNION
    SELECT token_parent_id FROM new_events
    WHERE token_parent_id IS NOT NULL AND kind = 'token.issue'
),
revoked AS MATERIALIZED (
    SELECT e.token_id, e.event_id, e.time
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'token.revoke'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.token_id IN (SELECT id FROM touched)
    QUALIFY row_number() OVER (PARTITION BY e.token_id ORDER BY e.time, e.event_id) = 1
),
-- The first successful issue of each touched token: connection_tokens holds every
-- successful token.issue with a token id (the narrow table, read by token id), then the
-- expiry is read from that one event (a join on time and id prunes the scan).
first_issue AS (
    SELECT c.token_id, c.event_id, c.time
    FROM connection_tokens c
    WHERE c.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND c.token_id IN (SELECT id FROM touched)
    QUALIFY row_number() OVER (PARTITION BY c.token_id ORDER BY c.time, c.event_id) = 1
),
issued AS MATERIALIZED (
    SELECT e.token_id, e.event_id, e.time, e.token_expires_at, e.issuer
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND (e.time, e.event_id) IN (SELECT time, event_id FROM first_issue)
),
-- A hit whose events are all old was reported when the last of them arrived, so only uses
-- that are new, or that come after a new revoke (so after the batch's first event) or
-- after the expiry of a newly issued token, are read.
use_from AS (
    SELECT to_timestamp((least(
               (SELECT epoch_us(min(time)) FROM new_events),
               (SELECT min(epoch_us(i.token_expires_at)) + $expiry_leeway FROM issued i
                WHERE i.event_id IN (SELECT event_id FROM new_events))
           ) - 1000) / 1000000.0) AS t
),
used AS MATERIALIZED (
    SELECT e.event_id, e.time, e.token_id, e.resource, e.tool, e.ip, e.subject, e.client_id
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time >= (SELECT t FROM use_from)
      AND e.kind = 'resource.access'
      AND coalesce(e.outcome, 'success') = 'success'
      AND e.token_id IN (SELECT id FROM touched)
),
revoke_detail AS (
    SELECT e.event_id, e.client_id, e.subject
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND (e.time, e.event_id) IN (
          SELECT r.time, r.event_id FROM revoked r
          WHERE EXISTS (SELECT 1 FROM used u
                        WHERE u.token_id = r.token_id
                          AND epoch_us(u.time) > epoch_us(r.time) + $clock_skew))
),
after_revoke AS (
    SELECT u.event_id, u.token_id AS key, u.time, [r.event_id, u.event_id] AS evidence,
           format(
               'token {} was revoked at {} ({}) but succeeded at {}{} at {} from {} ({} for {}); '
               || 'make {} check revocation (introspection or revocation list) and find who '
               || 'still holds the token',
               u.token_id,
               strftime(r.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
               r.event_id,
               coalesce(u.resource, '?'),
               CASE WHEN u.tool IS NULL THEN '' ELSE ' (tool ' || u.tool || ')' END,
               strftime(u.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
               coalesce(u.ip, '?'),
               coalesce(u.client_id, d.client_id, '?'),
               coalesce(u.subject, d.subject, '?'),
               coalesce(u.resource, 'the resource')
           ) AS summary
    FROM used u
    JOIN revoked r ON r.token_id = u.token_id
    LEFT JOIN revoke_detail d ON d.event_id = r.event_id
    WHERE epoch_us(u.time) > epoch_us(r.time) + $clock_skew
),
after_expiry AS (
    SELECT u.event_id, u.token_id AS key, u.time, [i.event_id, u.event_id] AS evidence,
           format(
               'token {} (issued by {}, {}) expired at {} but succeeded at {}{} at {} from {} '
               || '({} for {}); make {} check the exp claim',
               u.token_id,
               coalesce(i.issuer, '?'),
               i.event_id,
               strftime(i.token_expires_at::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
               coalesce(u.resource, '?'),
               CASE WHEN u.tool IS NULL THEN '' ELSE ' (tool ' || u.tool || ')' END,
               strftime(u.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
               coalesce(u.ip, '?'),
               coalesce(u.client_id, '?'),
               coalesce(u.subject, '?'),
               coalesce(u.resource, 'the resource')
           ) AS summary
    FROM used u
    JOIN issued i ON i.token_id = u.token_id
    WHERE i.token_expires_at IS NOT NULL
      AND epoch_us(u.time) > epoch_us(i.token_expires_at) + $expiry_leeway
      AND u.event_id NOT IN (SELECT event_id FROM after_revoke)
),
-- Grants presenting a touched refresh token: new ones, or ones after a new revoke (so at
-- or after the batch's first event).
grants AS MATERIALIZED (
    SELECT g.event_id, g.time, g.token_parent_id, g.token_id, g.issuer, g.client_id,
           g.subject, g.ip
    FROM events g
    WHERE g.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND g.time >= (SELECT min(time) FROM new_events)
      AND g.kind = 'token.issue'
      AND coalesce(g.outcome, 'success') = 'success'
      AND g.token_parent_id IN (SELECT id FROM touched)
),
refresh_after_revoke AS (
    SELECT g.event_id, g.token_parent_id AS key, g.time, [r.event_id, g.event_id] AS evidence,
           format(
               'refresh token {} was revoked at {} ({}) but {} still accepted it at {} and '
               || 'issued access token {} to {} for {} (from {}); revoke the whole grant and '
               || 'fix revocation at the authorization server',
               g.token_parent_id,
               strftime(r.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
               r.event_id,
               coalesce(g.issuer, 'the authorization server'),
               strftime(g.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
               coalesce(g.token_id, '?'),
               coalesce(g.client_id, '?'),
               coalesce(g.subject, '?'),
               coalesce(g.ip, '?')
           ) AS summary
    FROM grants g
    JOIN revoked r ON r.token_id = g.token_parent_id
    WHERE epoch_us(g.time) > epoch_us(r.time) + $clock_skew
)
SELECT * FROM after_revoke
UNION ALL
SELECT * FROM after_expiry
UNION ALL
SELECT * FROM refresh_after_revoke
