-- Attachment by context, for events no token id ties to a connection:
--   session: a gateway session (events.connection_id) shared with exactly attached
--            events belongs to the connection of the earliest of them;
--   window:  an authorization request, consent or failed token request belongs to the
--            first connection of the same issuer, client and subject (and resource, when
--            the event names one) that starts within the window after it.
-- Re-plans only what this batch can have changed: unattached events, session members
-- of sessions the batch has events of, and window members within reach of the batch's
-- new first tokens; so a late event moves an attachment to where it now belongs.
-- $1: batch id, $2: clock skew (seconds), $3: window (seconds).
CREATE OR REPLACE TEMP TABLE attach AS
WITH batch_sessions AS (
    SELECT DISTINCT session
    FROM connection_members
    WHERE batch_id = $1::UUID AND session IS NOT NULL
    UNION
    SELECT session FROM touched_sessions
),
batch_roots AS (
    SELECT issuer, client_id, subject, epoch_us(time) AS time_us
    FROM connection_tokens
    WHERE batch_id = $1::UUID AND token_parent_id IS NULL
),
open_members AS (
    SELECT m.*
    FROM connection_members m
    WHERE m.connection_id IS NULL
       OR (m.via = 'session' AND m.session IN (SELECT session FROM batch_sessions))
       OR (m.via = 'window' AND EXISTS (
               SELECT 1 FROM batch_roots r
               WHERE r.issuer = m.issuer AND r.client_id = m.client_id
                 AND r.subject = m.subject
                 AND epoch_us(m.time) BETWEEN r.time_us - $3::BIGINT * 1000000
                                          AND r.time_us + $2::BIGINT * 1000000))
),
sessions AS (
    SELECT session, arg_min(connection_id, (time, event_id)) AS connection_id
    FROM connection_members
    WHERE via = 'token'
      AND session IN (SELECT session FROM open_members WHERE session IS NOT NULL)
    GROUP BY session
),
by_session AS (
    SELECT m.event_id, s.connection_id, 'session' AS via, 1 AS preference
    FROM open_members m JOIN sessions s USING (session)
),
roots AS (
    SELECT connection_id, time, issuer, client_id, subject, resource
    FROM connection_tokens
    WHERE token_parent_id IS NULL
      AND (issuer, client_id, subject) IN (SELECT (issuer, client_id, subject) FROM open_members)
),
by_window AS (
    SELECT m.event_id, arg_min(r.connection_id, (r.time, r.connection_id)) AS connection_id,
           'window' AS via, 2 AS preference
    FROM open_members m
    JOIN roots r
      ON r.issuer = m.issuer AND r.client_id = m.client_id AND r.subject = m.subject
     AND (m.resource IS NULL OR r.resource = m.resource)
     AND epoch_us(r.time) >= epoch_us(m.time) - $2::BIGINT * 1000000
     AND epoch_us(r.time) <= epoch_us(m.time) + $3::BIGINT * 1000000
    WHERE m.kind IN ('authorization.request', 'consent.grant', 'consent.deny', 'token.issue')
    GROUP BY m.event_id
)
SELECT event_id, arg_min(connection_id, preference) AS connection_id,
       arg_min(via, preference) AS via
FROM (SELECT * FROM by_session UNION ALL SELECT * FROM by_window)
GROUP BY event_id;
