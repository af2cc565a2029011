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

-- Refresh: the parent is the token whose refresh_token_id the refresh presented (its
-- token.parent_id); the hit is the refresh, whoever arrives last. New grant (any grant other
-- than refresh_token, with a subject): "held before" is every scope granted to the same
-- (subject, client, resource) by earlier successful tokens in the lookback; a first token
-- holds nothing to escalate from (that is TP011's ground). Covered means a successful
-- consent.grant of the same subject and client (and resource, when both name one) listing
-- every added scope, in the lookback and at or before the token plus clock_skew; remembered
-- consent counts. A step-up with consent therefore raises nothing.
WITH fresh AS (
    SELECT event_id, time, subject, client_id, resource, issuer, token_id, token_parent_id,
           token_refresh_id, grant_type, coalesce(scopes_granted, []) AS granted
    FROM new_events
    WHERE kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND token_id IS NOT NULL
),
-- The batch's tokens, their parents and children, and the earlier tokens of their
-- (subject, client).
issued AS (
    SELECT event_id, time, subject, client_id, resource, issuer, token_id, token_parent_id,
           token_refresh_id, grant_type, coalesce(scopes_granted, []) AS granted
    FROM events
    WHERE time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND kind = 'token.issue' AND coalesce(outcome, 'success') = 'success'
      AND token_id IS NOT NULL
      AND (token_refresh_id IN (SELECT token_parent_id FROM fresh)
           OR token_parent_id IN (SELECT token_refresh_id FROM fresh)
           OR (subject, client_id) IN (SELECT subject, client_id FROM fresh))
    UNION
    SELECT * FROM fresh
),
-- (a) a refresh wider than its parent: the refresh is new, or its (late) parent is.
refreshed AS (
    SELECT c.event_id, c.time, c.subject, c.client_id, c.resource, c.token_id,
           c.token_parent_id, c.granted, p.event_id AS parent_event_id,
           p.token_id AS parent_token_id, p.granted AS held,
           list_sort(list_filter(c.granted, lambda s: NOT list_contains(p.granted, s))) AS added
    FROM issued c
    JOIN issued p ON p.token_refresh_id = c.token_parent_id
    WHERE c.token_parent_id IS NOT NULL
      AND (c.event_id IN (SELECT event_id FROM fresh) OR p.event_id IN (SELECT event_id FROM fresh))
),
-- (b) a new grant wider than what the triple held before, without a covering consent.
grants AS (
    SELECT t.event_id, t.time, t.subject, t.client_id, t.resource, t.token_id, t.granted,
           list_distinct(flatten(list(h.granted))) AS held,
           arg_max(h.event_id, (h.time, h.event_id)) AS prior_event_id
    FROM issued t
    JOIN issued h
      ON h.subject = t.subject AND h.client_id = t.client_id
     AND h.resource IS NOT DISTINCT FROM t.resource
     AND (h.time, h.event_id) < (t.time, t.event_id)
    WHERE t.token_parent_id IS NULL AND coalesce(t.grant_type, '') <> 'refresh_token'
      AND t.subject IS NOT NULL AND t.client_id IS NOT NULL
      AND (t.subject, t.client_id) IN (SELECT subject, client_id FROM fresh)
    GROUP BY t.event_id, t.time, t.subject, t.client_id, t.resource, t.token_id, t.granted
),
widened AS (
    SELECT *,
           list_sort(list_filter(granted, lambda s: NOT list_contains(held, s))) AS added
    FROM grants
    WHERE event_id IN (SELECT event_id FROM fresh) OR prior_event_id IN (SELECT event_id FROM fresh)
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
