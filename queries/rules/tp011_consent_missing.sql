-- id: TP011
-- name: consent-missing
-- severity: medium
-- kind: first-seen
-- description: A user's first authorization-code token for a client was issued after an authorization request with no consent grant ever recorded for that (subject, client): the client got delegated access the user never approved (raised to high when the user denied consent).
-- reference: MCP Authorization (2025-11-25), Security Considerations: Confused Deputy Problem (per-client user consent)
-- reference: MCP Security Best Practices (2025-11-25), Confused Deputy Problem: Per-Client Consent Storage
-- reference: RFC 6749 (OAuth 2.0), 4.1.1-4.1.2 (the resource owner grants or denies the request)
-- reference: OWASP NHI4:2025 Insecure Authentication
-- reference: OWASP NHI5:2025 Overprivileged NHI
-- key: subject and client id, as "<subject> -> <client id>"
-- dedup: 24h
-- lookback: 7d
-- param: flow_window = 1h
-- param: history = 7d
-- param: settle = 5m
-- param: clock_skew = 5s
WITH
-- The trust path's `consent` link, for first-seen pairs only. A token T is a hit when:
-- * it is a successful authorization-code grant (no parent) with a subject and a client;
-- * an authorization request R of the same (subject, client) precedes it within
--   `flow_window` (without R the trust path says `unknown`, not `violated`);
-- * no successful consent.grant of the pair exists from `history` before T to T + `clock_skew`;
-- * no earlier successful token of the pair exists within `history` (first-seen pair: a
--   later token may rest on a remembered consent the server does not log again).
-- This rule looks for something missing, so T is judged only once the store holds events
-- at least `settle` later than T (a consent delivered a little after its token is not
-- missing): when T or a request before it is new and the store already reaches
-- T + `settle`, or when this batch is the first to reach T + `settle`. The trigger is T.
-- A late request (its token already stored) completes the pattern; a consent arriving
-- more than `settle` late cannot withdraw a hit. Keep `history` and `flow_window` within
-- the lookback.
head AS (
    -- The newest events of the window: enough to know the newest event time in the store
    -- and the newest one that is not in this batch.
    SELECT event_id, epoch_us(time) AS us
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
    ORDER BY time DESC, event_id DESC
    LIMIT (SELECT count(*) + 1 FROM new_events)
),
marks AS (
    SELECT max(us) AS store_max,
           max(us) FILTER (WHERE event_id NOT IN (SELECT event_id FROM new_events)) AS old_max,
           (SELECT max(epoch_us(time)) FROM new_events) AS new_max
    FROM head
),
candidate AS (
    SELECT e.event_id, e.time, e.subject, e.client_id, e.issuer, e.resource, e.token_id,
           e.scopes_granted, e.ip, e.redirect_uri
    FROM events e, marks m
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'token.issue'
      AND coalesce(e.outcome, 'success') = 'success'
      AND coalesce(e.grant_type, 'authorization_code') = 'authorization_code'
      AND e.token_parent_id IS NULL
      AND e.subject IS NOT NULL AND e.client_id IS NOT NULL
      AND epoch_us(e.time) + $settle <= m.store_max
      AND (
          e.event_id IN (SELECT event_id FROM new_events)
          OR EXISTS (
              SELECT 1 FROM new_events r
              WHERE r.kind = 'authorization.request'
                AND r.subject = e.subject AND r.client_id = e.client_id
                AND epoch_us(r.time) BETWEEN epoch_us(e.time) - $flow_window
                                         AND epoch_us(e.time) + $clock_skew
          )
          OR (epoch_us(e.time) + $settle <= m.new_max
              AND (m.old_max IS NULL OR epoch_us(e.time) + $settle > m.old_max))
      )
),
pair_events AS (
    SELECT e.event_id, e.time, e.kind, e.outcome, e.subject, e.client_id, e.redirect_uri,
           e.scopes_requested
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind IN ('authorization.request', 'consent.grant', 'consent.deny', 'token.issue')
      AND EXISTS (SELECT 1 FROM candidate t
                  WHERE t.subject = e.subject AND t.client_id = e.client_id)
),
judged AS (
    SELECT
        t.*,
        (SELECT arg_max(r.event_id, epoch_us(r.time))
         FROM pair_events r
         WHERE r.kind = 'authorization.request'
           AND r.subject = t.subject AND r.client_id = t.client_id
           AND epoch_us(r.time) BETWEEN epoch_us(t.time) - $flow_window
                                    AND epoch_us(t.time) + $clock_skew) AS request_id,
        (SELECT arg_max(d.event_id, epoch_us(d.time))
         FROM pair_events d
         WHERE d.kind = 'consent.deny'
           AND d.subject = t.subject AND d.client_id = t.client_id
           AND epoch_us(d.time) BETWEEN epoch_us(t.time) - $flow_window
                                    AND epoch_us(t.time) + $clock_skew) AS denial_id,
        EXISTS (
            SELECT 1 FROM pair_events c
            WHERE c.kind = 'consent.grant'
              AND coalesce(c.outcome, 'success') = 'success'
              AND c.subject = t.subject AND c.client_id = t.client_id
              AND epoch_us(c.time) BETWEEN epoch_us(t.time) - $history
                                       AND epoch_us(t.time) + $clock_skew
        ) AS consented,
        EXISTS (
            SELECT 1 FROM pair_events p
            WHERE p.kind = 'token.issue'
              AND coalesce(p.outcome, 'success') = 'success'
              AND p.subject = t.subject AND p.client_id = t.client_id
              AND epoch_us(p.time) >= epoch_us(t.time) - $history
              AND (p.time < t.time OR (p.time = t.time AND p.event_id < t.event_id))
        ) AS seen_before
    FROM candidate t
)
SELECT
    j.event_id,
    j.subject || ' -> ' || j.client_id AS key,
    j.time,
    [j.request_id] || CASE WHEN j.denial_id IS NULL THEN [] ELSE [j.denial_id] END
        || [j.event_id] AS evidence,
    format(
        'token {} for {} was issued by {} to {} (scopes [{}], resource {}) at {} after '
        || 'authorization request {}, but {}; revoke the token and find how the authorization '
        || 'server skipped the consent step',
        coalesce(j.token_id, '?'),
        j.subject,
        coalesce(j.issuer, '?'),
        j.client_id,
        coalesce(array_to_string(j.scopes_granted, ' '), ''),
        coalesce(j.resource, '?'),
        strftime(j.time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        j.request_id,
        CASE WHEN j.denial_id IS NULL
             THEN 'the user never consented to this client (first token of the pair, no consent event)'
             ELSE 'the user DENIED consent (' || j.denial_id || ') and never granted it'
        END
    ) AS summary,
    CASE WHEN j.denial_id IS NOT NULL THEN 'high' END AS severity
FROM judged j
WHERE j.request_id IS NOT NULL
  AND NOT j.consented
  AND NOT j.seen_before
