-- Attachment by context, for events no token id ties to a connection:
--   session: an event of a gateway session (events.connection_id) belongs to the
--            connection of the session's earliest exactly attached event within the
--            window around it;
--   window:  an authorization request, consent or failed token request belongs to the
--            first connection of the same issuer, client and subject (and resource, when
--            the event names one) that starts within the window after it.
-- Both depend only on events within the window of the event, so only events within the
-- window of what this batch added or moved are planned again: a late event moves an
-- attachment to where it belongs, whatever the arrival order.
-- $1, $2: events to re-plan (the attach span widened by window and skew);
-- $3, $4: candidates (that span widened once more); $5: clock skew (s); $6: window (s).
CREATE OR REPLACE TEMP TABLE attach AS
WITH open_members AS (
    SELECT event_id, kind, time, session, issuer, client_id, subject, resource
    FROM connection_members
    WHERE time BETWEEN $1::TIMESTAMPTZ AND $2::TIMESTAMPTZ
      AND (connection_id IS NULL OR via IN ('session', 'window'))
),
exact AS (
    SELECT event_id, connection_id, time, session
    FROM connection_members
    WHERE time BETWEEN $3::TIMESTAMPTZ AND $4::TIMESTAMPTZ
      AND via = 'token' AND session IS NOT NULL
),
by_session AS (
    SELECT m.event_id, arg_min(x.connection_id, (x.time, x.event_id)) AS connection_id,
           'session' AS via, 1 AS preference
    FROM open_members m
    JOIN exact x
      ON x.session = m.session
     AND epoch_us(x.time) BETWEEN epoch_us(m.time) - $6::BIGINT * 1000000
                              AND epoch_us(m.time) + $6::BIGINT * 1000000
    GROUP BY m.event_id
),
roots AS (
    SELECT connection_id, time, issuer, client_id, subject, resource
    FROM connection_tokens
    WHERE time BETWEEN $3::TIMESTAMPTZ AND $4::TIMESTAMPTZ
      AND token_parent_id IS NULL
),
by_window AS (
    SELECT m.event_id, arg_min(r.connection_id, (r.time, r.connection_id)) AS connection_id,
           'window' AS via, 2 AS preference
    FROM open_members m
    JOIN roots r
      ON r.issuer = m.issuer AND r.client_id = m.client_id AND r.subject = m.subject
     AND (m.resource IS NULL OR r.resource = m.resource)
     AND epoch_us(r.time) >= epoch_us(m.time) - $5::BIGINT * 1000000
     AND epoch_us(r.time) <= epoch_us(m.time) + $6::BIGINT * 1000000
    WHERE m.kind IN ('authorization.request', 'consent.grant', 'consent.deny', 'token.issue')
    GROUP BY m.event_id
)
SELECT event_id, arg_min(connection_id, preference) AS connection_id,
       arg_min(via, preference) AS via
FROM (SELECT * FROM by_session UNION ALL SELECT * FROM by_window)
GROUP BY event_id;
