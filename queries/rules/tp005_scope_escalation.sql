-- id: TP005
-- name: scope-escalation
-- severity: high
-- kind: sequence
-- description: A refresh grants scopes its parent token did not have, or a new grant gives a (subject, client, resource) scopes beyond those it held before without a consent covering the added scopes: privileges grew without the user approving them.
-- reference: MCP Authorization (2025-11-25), Scope Selection Strategy and Step-Up Authorization Flow (wider scopes go through a new authorization with consent)
-- reference: MCP Authorization (2025-11-25), Access Token Privilege Restriction
-- reference: RFC 6749 §6 (a refresh must not include any scope not originally granted)
-- reference: RFC 9700 §2.3 and §4.14 (privilege restriction; refresh token protection)
-- reference: OWASP NHI5:2025 Overprivileged NHI
-- key: subject | client id | resource
-- dedup: 24h
-- lookback: 7d
-- param: clock_skew = 5s
-- param: settle = 5m

-- Refresh: the parent is the token whose refresh_token_id the refresh presented (its
-- token.parent_id); the hit is the refresh, whoever arrives last. New grant (any grant other
-- than refresh_token, with a subject): "held before" is every scope granted to the same
-- (subject, client, resource) by earlier successful tokens in the lookback; a first token
-- holds nothing to escalate from (that is TP011's ground). Covered means a successful
-- consent.grant of the same subject and client (and resource, when both name one) listing
-- every added scope, in the lookback and at or before the token plus clock_skew; remembered
-- consent counts. A step-up with consent therefore raises nothing.
-- (b) looks for something missing (the consent), so a new grant T is judged only once the
-- store holds events at least `settle` later than T (a consent delivered a little after its
-- token, even in a later batch, is not missing): when T, or an earlier token of its triple,
-- is new and the store already reaches T + `settle`, or when this batch is the first to
-- reach T + `settle` (the store's newest old event, `old_max`, is the engine's
-- $old_newest). A consent arriving more than `settle` late cannot withdraw a hit.
-- (a) is not about an absence (the parent is there or the refresh is not judged), so it is
-- judged as soon as both tokens are stored.
-- Cost: the tokens around the batch are found in connection_tokens (the successful
-- token.issue events with a token id, one narrow row each), issued from 2h before the batch
-- on (the lookback is 7d: from + 7d - 2h; keep 597600000000 µs = lookback - 2h in step with
-- the lookback; the batch's events are stored events); their scopes are then read for those
-- events only. A refresh's parent is nearly always there (refresh tokens are used within the
-- hour); one that is not is looked for in the rest of the lookback (a child is issued after
-- its parent, so never before the window). A new grant whose every scope a consent in the
-- window covers cannot be an escalation (what it adds is a part of what it grants); only the
-- others (rare) are judged on the whole lookback (`open`). The tokens this batch settles are
-- read from connection_tokens between `old_max` - `settle` and the batch's end - `settle`
-- (just before the batch when events come in order). So the cost follows the batch, not the
-- 7 days.
WITH span AS (
    SELECT epoch_us(max(time)) AS new_max
    FROM new_events
),
-- `old_max`: the store's newest event before this batch (within the lookback, not new),
-- which the engine binds as $old_newest.
marks AS (
    SELECT s.new_max,
           epoch_us($old_newest::TIMESTAMPTZ) AS old_max,
           greatest(s.new_max, epoch_us($old_newest::TIMESTAMPTZ)) AS store_max
    FROM span s
),
-- New grants this batch settles: T + settle is past the newest old event and within the batch.
settling AS (
    SELECT t.event_id, t.time, t.subject, t.client_id, t.resource, t.token_id, t.token_parent_id,
           t.token_refresh_id, t.grant_type
    FROM connection_tokens t, marks m
    WHERE t.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND t.time <= make_timestamp(epoch_us($to::TIMESTAMPTZ) - 604800000000 - $settle + 1000)::TIMESTAMPTZ
      AND t.time >= coalesce(make_timestamp(epoch_us($old_newest::TIMESTAMPTZ) - $settle - 1000)::TIMESTAMPTZ,
                             $from::TIMESTAMPTZ)
      AND epoch_us(t.time) + $settle <= m.new_max
      AND (m.old_max IS NULL OR epoch_us(t.time) + $settle > m.old_max)
      AND t.token_parent_id IS NULL AND coalesce(t.grant_type, '') <> 'refresh_token'
      AND t.subject IS NOT NULL AND t.client_id IS NOT NULL
),
fresh AS (
    SELECT event_id, time, subject, client_id, resource, token_id, token_parent_id,
           token_refresh_id, grant_type, coalesce(scopes_granted, []) AS granted
    FROM new_events
    WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND token_id IS NOT NULL
),
near AS (
    SELECT event_id, time, subject, client_id, resource, token_id, token_parent_id,
           token_refresh_id, grant_type
    FROM connection_tokens
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND (token_refresh_id IN (SELECT token_parent_id FROM fresh)
           OR token_parent_id IN (SELECT token_refresh_id FROM fresh)
           OR (subject, client_id) IN (SELECT subject, client_id FROM fresh))
),
-- Parents not in the window (a refresh is issued after its parent, so its children are).
strays AS (
    SELECT token_parent_id AS refresh_id FROM fresh
    WHERE token_parent_id IS NOT NULL
      AND token_parent_id NOT IN (SELECT token_refresh_id FROM near WHERE token_refresh_id IS NOT NULL)
),
far AS (
    SELECT event_id, time, subject, client_id, resource, token_id, token_parent_id,
           token_refresh_id, grant_type
    FROM connection_tokens
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND token_refresh_id IN (SELECT refresh_id FROM strays)
),
issued AS (
    SELECT * FROM near
    UNION ALL
    SELECT * FROM far
),
links AS (
    SELECT c.event_id, c.time, c.subject, c.client_id, c.resource, c.token_id,
           c.token_parent_id, p.event_id AS parent_event_id, p.token_id AS parent_token_id
    FROM issued c
    JOIN issued p ON p.token_refresh_id = c.token_parent_id
    WHERE c.token_parent_id IS NOT NULL
      AND (c.event_id IN (SELECT event_id FROM fresh) OR p.event_id IN (SELECT event_id FROM fresh))
),
-- (b) new grants the store has settled that are new, or that follow a new token of their
-- triple, or that this batch settles.
pool AS (
    SELECT * FROM issued
    UNION
    SELECT * FROM settling
),
new_grants AS (
    SELECT t.*
    FROM pool t, marks m
    WHERE t.token_parent_id IS NULL AND coalesce(t.grant_type, '') <> 'refresh_token'
      AND t.subject IS NOT NULL AND t.client_id IS NOT NULL
      AND epoch_us(t.time) + $settle <= m.store_max
      AND (t.event_id IN (SELECT event_id FROM fresh)
           OR t.event_id IN (SELECT event_id FROM settling)
           OR EXISTS (SELECT 1 FROM fresh f
                      WHERE f.subject = t.subject AND f.client_id = t.client_id
                        AND f.resource IS NOT DISTINCT FROM t.resource
                        AND (f.time, f.event_id) < (t.time, t.event_id)))
),
wanted AS (
    SELECT event_id FROM links UNION SELECT parent_event_id FROM links
    UNION SELECT event_id FROM new_grants
),
scoped AS (
    SELECT event_id, coalesce(scopes_granted, []) AS granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND kind = 'token.issue'
      AND event_id IN (SELECT event_id FROM wanted)
    UNION ALL
    SELECT event_id, coalesce(scopes_granted, []) AS granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND kind = 'token.issue'
      AND event_id IN (SELECT event_id FROM far
                       UNION ALL
                       SELECT event_id FROM settling
                       WHERE time < make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ)
),
-- (a) a refresh wider than its parent: the refresh is new, or its (late) parent is.
refreshed AS (
    SELECT l.*, c.granted, p.granted AS held,
           list_sort(list_filter(c.granted, lambda s: NOT list_contains(p.granted, s))) AS added
    FROM links l
    JOIN scoped c ON c.event_id = l.event_id
    JOIN scoped p ON p.event_id = l.parent_event_id
),
candidates AS (
    SELECT g.*, s.granted FROM new_grants g JOIN scoped s ON s.event_id = g.event_id
),
near_consents AS (
    SELECT time, subject, client_id, resource, coalesce(scopes_granted, []) AS scopes
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND time >= make_timestamp(epoch_us($from::TIMESTAMPTZ) + 597600000000)::TIMESTAMPTZ
      AND kind = 'consent.grant' AND coalesce(outcome, 'success') = 'success'
      AND (subject, client_id) IN (SELECT subject, client_id FROM fresh
                                   UNION ALL SELECT subject, client_id FROM settling)
    UNION ALL
    SELECT time, subject, client_id, resource, coalesce(scopes_granted, [])
    FROM new_events
    WHERE kind = 'consent.grant' AND coalesce(outcome, 'success') = 'success'
),
open AS (
    SELECT t.*
    FROM candidates t
    WHERE len(t.granted) > 0
      AND NOT EXISTS (
          SELECT 1 FROM near_consents c
          WHERE c.subject = t.subject AND c.client_id = t.client_id
            AND (c.resource IS NULL OR t.resource IS NULL OR c.resource = t.resource)
            AND epoch_us(c.time) <= epoch_us(t.time) + $clock_skew
            AND list_has_all(c.scopes, t.granted))
),
-- The whole lookback, for the open grants only.
history AS (
    SELECT event_id, time, subject, client_id, resource, token_id, token_parent_id,
           token_refresh_id, grant_type, coalesce(scopes_granted, []) AS granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND token_id IS NOT NULL
      AND (subject, client_id) IN (SELECT subject, client_id FROM open)
    UNION
    SELECT * FROM fresh
    WHERE (subject, client_id) IN (SELECT subject, client_id FROM open)
),
grants AS (
    SELECT t.event_id, t.time, t.subject, t.client_id, t.resource, t.token_id, t.granted,
           list_distinct(flatten(list(h.granted))) AS held,
           arg_max(h.event_id, (h.time, h.event_id)) AS prior_event_id
    FROM open t
    JOIN history h
      ON h.subject = t.subject AND h.client_id = t.client_id
     AND h.resource IS NOT DISTINCT FROM t.resource
     AND (h.time, h.event_id) < (t.time, t.event_id)
    GROUP BY t.event_id, t.time, t.subject, t.client_id, t.resource, t.token_id, t.granted
),
widened AS (
    SELECT *,
           list_sort(list_filter(granted, lambda s: NOT list_contains(held, s))) AS added
    FROM grants
    WHERE event_id IN (SELECT event_id FROM fresh) OR prior_event_id IN (SELECT event_id FROM fresh)
       OR event_id IN (SELECT event_id FROM settling)
),
consents AS (
    SELECT event_id, time, subject, client_id, resource, scopes_granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'consent.grant' AND coalesce(outcome, 'success') = 'success'
      AND (subject, client_id) IN (SELECT subject, client_id FROM widened)
    UNION
    SELECT event_id, time, subject, client_id, resource, scopes_granted
    FROM new_events
    WHERE kind = 'consent.grant' AND coalesce(outcome, 'success') = 'success'
),
unconsented AS (
    SELECT w.*
    FROM widened w
    WHERE len(w.added) > 0
      AND NOT EXISTS (
          SELECT 1 FROM consents c
          WHERE c.subject = w.subject AND c.client_id = w.client_id
            AND (c.resource IS NULL OR w.resource IS NULL OR c.resource = w.resource)
            AND epoch_us(c.time) <= epoch_us(w.time) + $clock_skew
            AND list_has_all(coalesce(c.scopes_granted, []), w.added))
)
SELECT event_id,
       concat_ws(' | ', coalesce(subject, '?'), coalesce(client_id, '?'), coalesce(resource, '?')) AS key,
       time,
       [parent_event_id, event_id] AS evidence,
       concat(
           'refresh token ', token_parent_id, ' of ', coalesce(subject, '?'), ' for ', coalesce(client_id, '?'),
           ' at ', coalesce(resource, '?'), ' got token ', token_id, ' (',
           strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'), ') widening [', array_to_string(list_sort(held), ' '),
           '] of its parent ', parent_token_id, ' to [', array_to_string(list_sort(granted), ' '),
           ']: added ', array_to_string(added, ' '),
           ' without consent; revoke the refresh chain and check the authorization server''s refresh scope handling'
       ) AS summary,
       NULL AS severity
FROM refreshed
WHERE len(added) > 0
UNION ALL
SELECT event_id,
       concat_ws(' | ', subject, client_id, coalesce(resource, '?')) AS key,
       time,
       [prior_event_id, event_id] AS evidence,
       concat(
           'token ', token_id, ' of ', subject, ' for ', client_id, ' at ', coalesce(resource, '?'), ' (',
           strftime(time::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'), ') grants ', array_to_string(added, ' '),
           ' beyond what it held before ([', array_to_string(list_sort(held), ' '),
           '], last in ', prior_event_id, ') and no consent covers them; confirm with the user or revoke'
       ) AS summary,
       NULL AS severity
FROM unconsented
