-- id: TP014
-- name: step-up-loop
-- severity: low
-- kind: threshold
-- description: One (subject, client, resource) got `threshold` or more insufficient_scope challenges within `window`: the client keeps calling tools its token does not cover instead of stepping up once, a sign of a broken client, an agent probing for privileges, or a user being nagged into over-broad consent.
-- reference: MCP Authorization (2025-11-25), Scope Challenge Handling (Step-Up Authorization Flow); Scope Selection Strategy
-- reference: RFC 6750 (Bearer Token Usage), 3.1 insufficient_scope
-- reference: RFC 9700 (OAuth 2.0 Security Best Current Practice), 2.3 Access Token Privilege Restriction
-- reference: OWASP NHI5:2025 Overprivileged NHI
-- key: subject, client id and resource, as "<subject> | <client id> | <resource>"
-- dedup: 24h
-- lookback: 1h
-- param: threshold = 5
-- param: window = 10m
WITH
-- A hit is each challenge that is at least the `threshold`-th of its key within the
-- `window` ending at it (ties in time ordered by event id). The batch's challenges bring in
-- their keys' challenges within the lookback (keep `window` within it); a hit is reported
-- when a new challenge lies in its window, so a late challenge that pushes later ones over
-- the threshold reports them too. Evidence: the `threshold` latest challenges of the window.
challenge AS (
    SELECT e.event_id, e.time, epoch_us(e.time) AS us, e.subject, e.client_id, e.resource,
           e.token_id, e.scopes_requested, e.scopes_granted, e.ip,
           coalesce(e.subject, '?') || ' | ' || coalesce(e.client_id, '?') || ' | ' || e.resource
               AS key
    FROM events e
    WHERE e.time BETWEEN $from::TIMESTAMPTZ AND $to::TIMESTAMPTZ
      AND e.kind = 'resource.challenge'
      AND e.reason = 'insufficient_scope'
      AND e.resource IS NOT NULL
      AND (e.subject IS NOT NULL OR e.client_id IS NOT NULL)
),
fresh AS (
    SELECT c.key, c.us, c.event_id
    FROM challenge c
    WHERE c.event_id IN (SELECT event_id FROM new_events)
),
counted AS (
    SELECT
        c.event_id, c.key, c.time, c.us, c.subject, c.client_id, c.resource, c.token_id,
        c.scopes_requested,
        count(*) AS n,
        list(w.event_id ORDER BY w.us DESC, w.event_id DESC) AS ids,
        min(w.us) AS first_us,
        list(DISTINCT w.token_id) AS tokens
    FROM challenge c
    JOIN challenge w
      ON w.key = c.key
     AND w.us >= c.us - $window
     AND (w.us < c.us OR (w.us = c.us AND w.event_id <= c.event_id))
    WHERE EXISTS (
        SELECT 1 FROM fresh f
        WHERE f.key = c.key
          AND f.us >= c.us - $window
          AND (f.us < c.us OR (f.us = c.us AND f.event_id <= c.event_id))
    )
    GROUP BY ALL
)
SELECT
    event_id,
    key,
    time,
    list_slice(ids, 1, $threshold) AS evidence,
    format(
        '{} got {} insufficient_scope challenges at {} within {} (since {}), latest asking '
        || 'for [{}] with token(s) {}; check whether client {} handles step-up (one consent '
        || 'for the needed scope) or is probing for privileges',
        coalesce(subject, 'an unknown subject'),
        n,
        resource,
        CASE WHEN $window % 60000000 = 0 THEN CAST($window // 60000000 AS VARCHAR) || ' min'
             ELSE CAST($window // 1000000 AS VARCHAR) || ' s' END,
        strftime(make_timestamp(first_us)::TIMESTAMP, '%Y-%m-%d %H:%M:%SZ'),
        coalesce(array_to_string(scopes_requested, ' '), ''),
        coalesce(array_to_string(tokens, ', '), '?'),
        coalesce(client_id, '?')
    ) AS summary
FROM counted
WHERE n >= $threshold
