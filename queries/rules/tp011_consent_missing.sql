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
-- * no successful consent of the pair exists from `history` before T to T + `clock_skew`: a
--   consent.grant, or an authorization request that records the consent given on its
--   login screen (`consent` set; Keycloak's LOGIN logs consent so);
-- * no earlier successful token of the pair exists within `history` (first-seen pair: a
--   later token may rest on a remembered consent the server does not log again).
-- This rule looks for something missing, so T is judged only once the store holds events
-- at least `settle` later than T (a consent delivered a little after its token is not
-- missing): when T or a request before it is new and the store already reaches
-- T + `settle`, or when this batch is the first to reach T + `settle`. The trigger is T.
-- A late request (its token already stored) completes the pattern; a consent arriving
-- more than `settle` late cannot withdraw a hit. Keep `history` and `flow_window` within
-- the lookback.
-- How it is evaluated (the cost follows the batch, not the lookback): the store's newest
-- old event (`old_max`) is the engine's $old_newest, read in pruned spans; candidates are
-- read only from the span where they can be (new tokens, tokens a new request may belong
-- to, tokens the batch settles); the request, denial and a recent consent are looked up in
-- the short span around the candidates; only candidates still unconsented after that (few:
-- first tokens without a consent nearby) are checked against the `history`.
span AS (
    SELECT epoch_us(max(time)) AS new_max
    FROM new_events
),
-- Constant bounds below (to_timestamp of $from or $to and 604800000000 µs, the 7d lookback:
-- keep in step with the header) are the batch's span as the engine binds $from and $to
-- (the lookback before its first event, after its last), with 1 ms margins; they prune
-- the scans, the exact tests use `span`. `old_max` is the store's newest event before this
-- batch (within the lookback, not new), which the engine binds as $old_newest.
marks AS (
    SELECT s.new_max,
           epoch_us($old_newest::TIMESTAMPTZ) AS old_max,
           greatest(s.new_max, epoch_us($old_newest::TIMESTAMPTZ)) AS store_max
    FROM span s
),
-- Candidates: new tokens (read from the batch), tokens a new request may belong to (from
-- `clock_skew` before the batch to `flow_window` after it), and tokens this batch settles
-- (their time + `settle` is past the newest old event and within the batch).
issues AS (
    SELECT e.event_id, e.time, e.subject, e.client_id, e.issuer, e.resource, e.token_id,
           e.scopes_granted, e.kind, e.outcome, e.grant_type, e.token_parent_id
    FROM new_events e
    UNION ALL
    SELECT e.event_id, e.time, e.subject, e.client_id, e.issuer, e.resource, e.token_id,
           e.scopes_granted, e.kind, e.outcome, e.grant_type, e.token_parent_id
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time BETWEEN to_timestamp((epoch_us($from::TIMESTAMPTZ) + 604800000000 - $clock_skew - 1000) / 1000000.0)
                     AND to_timestamp((epoch_us($to::TIMESTAMPTZ) - 604800000000 + $flow_window + 1000) / 1000000.0)
      AND e.kind = 'token.issue'
      AND e.event_id NOT IN (SELECT event_id FROM new_events)
    UNION ALL
    SELECT e.event_id, e.time, e.subject, e.client_id, e.issuer, e.resource, e.token_id,
           e.scopes_granted, e.kind, e.outcome, e.grant_type, e.token_parent_id
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time < to_timestamp((epoch_us($from::TIMESTAMPTZ) + 604800000000 - $clock_skew - 1000) / 1000000.0)
      AND e.time <= to_timestamp((epoch_us($to::TIMESTAMPTZ) - 604800000000 - $settle + 1000) / 1000000.0)
      AND e.time >= coalesce(to_timestamp((epoch_us($old_newest::TIMESTAMPTZ) - $settle - 1000) / 1000000.0),
                             $from::TIMESTAMPTZ)
      AND e.kind = 'token.issue'
),
candidate AS MATERIALIZED (
    SELECT e.event_id, e.time, epoch_us(e.time) AS us, e.subject, e.client_id, e.issuer,
           e.resource, e.token_id, e.scopes_granted
    FROM issues e, marks m
    WHERE e.kind = 'token.issue'
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
-- The pair's requests, denials and consents around the candidates (`flow_window` before
-- to `clock_skew` after; a consent there settles `consented`). The candidates' span bounds
-- the scan exactly but, as a subquery, does not prune it; the constant bounds before it
-- do: the candidates lie from the earliest token the batch settles (old_max - `settle`)
-- or `clock_skew` before the batch, to `flow_window` after it.
near AS MATERIALIZED (
    SELECT e.event_id, epoch_us(e.time) AS us, e.kind, e.outcome, e.subject, e.client_id,
           e.kind = 'consent.grant' OR (e.kind = 'authorization.request' AND e.consent IS NOT NULL)
               AS consents
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.time >= to_timestamp((least(coalesce(epoch_us($old_newest::TIMESTAMPTZ) - $settle,
                                                 epoch_us($from::TIMESTAMPTZ)),
                                        epoch_us($from::TIMESTAMPTZ) + 604800000000 - $clock_skew)
                                  - $flow_window - 1000) / 1000000.0)
      AND e.time <= to_timestamp((epoch_us($to::TIMESTAMPTZ) - 604800000000 + $flow_window
                                  + $clock_skew + 1000) / 1000000.0)
      AND e.time >= (SELECT to_timestamp((min(us) - $flow_window - 1000) / 1000000.0)
                     FROM candidate)
      AND e.time <= (SELECT to_timestamp((max(us) + $clock_skew + 1000) / 1000000.0)
                     FROM candidate)
      AND e.kind IN ('authorization.request', 'consent.grant', 'consent.deny')
      AND EXISTS (SELECT 1 FROM candidate t
                  WHERE t.subject = e.subject AND t.client_id = e.client_id)
),
judged AS MATERIALIZED (
    SELECT t.*, n.request_id, n.denial_id, coalesce(n.consented_recently, false) AS consented_recently
    FROM candidate t
    LEFT JOIN (
        SELECT t.event_id,
               arg_max(r.event_id, (r.us, r.event_id)) FILTER (WHERE r.kind = 'authorization.request') AS request_id,
               arg_max(r.event_id, (r.us, r.event_id)) FILTER (WHERE r.kind = 'consent.deny') AS denial_id,
               bool_or(r.consents
                       AND coalesce(r.outcome, 'success') = 'success'
                       AND r.us >= t.us - least($history, $flow_window)) AS consented_recently
        FROM candidate t
        JOIN near r
          ON r.subject = t.subject AND r.client_id = t.client_id
         AND r.us BETWEEN t.us - $flow_window AND t.us + $clock_skew
        GROUP BY t.event_id
    ) n ON n.event_id = t.event_id
),
open AS MATERIALIZED (
    SELECT * FROM judged
    WHERE request_id IS NOT NULL AND NOT consented_recently
),
-- The whole `history` of the pairs still open: any consent, any earlier token. An inner
-- join (not EXISTS), so the scan is skipped when no pair is open (the usual batch).
pair_events AS MATERIALIZED (
    SELECT e.event_id, e.time, epoch_us(e.time) AS us, e.kind, e.subject, e.client_id
    FROM events e
    JOIN (SELECT DISTINCT subject, client_id FROM open) t
      ON t.subject = e.subject AND t.client_id = e.client_id
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND (e.kind IN ('consent.grant', 'token.issue')
           OR (e.kind = 'authorization.request' AND e.consent IS NOT NULL))
      AND coalesce(e.outcome, 'success') = 'success'
),
final AS (
    SELECT o.*
    FROM open o
    WHERE NOT EXISTS (
            SELECT 1 FROM pair_events c
            WHERE c.kind <> 'token.issue'
              AND c.subject = o.subject AND c.client_id = o.client_id
              AND c.us BETWEEN o.us - $history AND o.us + $clock_skew)
      AND NOT EXISTS (
            SELECT 1 FROM pair_events p
            WHERE p.kind = 'token.issue'
              AND p.subject = o.subject AND p.client_id = o.client_id
              AND p.us >= o.us - $history
              AND (p.time < o.time OR (p.time = o.time AND p.event_id < o.event_id)))
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
FROM final j
