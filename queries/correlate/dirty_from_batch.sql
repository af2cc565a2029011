-- Connections this pass may have changed: those of its tokens and members, and those
-- whose evidence it adds to (a PRM for the resource, AS metadata for the issuer, a client
-- document or registration for the client, at or before one of their tokens, allowing
-- for clock skew). A token is reached by the pass's earliest evidence for its key, so the
-- join is one row per key, however many fetches the pass holds.
-- $1, $2: the first and last batch of the pass (setup.sql), $3: clock skew (seconds),
-- $4: the pass's earliest event time less the skew (no token before it can be affected).
INSERT INTO dirty_connections
WITH evidence AS (
    SELECT kind, resource, issuer, client_id, epoch_us(time) AS time_us
    FROM events
    WHERE batch_id BETWEEN $1::UUID AND $2::UUID
      AND batch_id IN (SELECT batch_id FROM correlating_batches)
      AND kind IN ('metadata.fetch', 'as_metadata.fetch', 'client.document.fetch',
                   'client.register')
),
first_prm AS (
    SELECT resource, min(time_us) AS time_us FROM evidence
    WHERE kind = 'metadata.fetch' GROUP BY resource
),
first_as_metadata AS (
    SELECT issuer, min(time_us) AS time_us FROM evidence
    WHERE kind = 'as_metadata.fetch' GROUP BY issuer
),
first_document AS (
    SELECT client_id, min(time_us) AS time_us FROM evidence
    WHERE kind IN ('client.document.fetch', 'client.register') GROUP BY client_id
),
later_tokens AS (
    SELECT connection_id, resource, issuer, client_id,
           epoch_us(time) + $3::BIGINT * 1000000 AS horizon
    FROM connection_tokens
    WHERE time >= $4::TIMESTAMPTZ AND connection_id IS NOT NULL
)
SELECT connection_id FROM connection_tokens
WHERE batch_id BETWEEN $1::UUID AND $2::UUID
  AND batch_id IN (SELECT batch_id FROM correlating_batches) AND connection_id IS NOT NULL
UNION ALL
SELECT connection_id FROM connection_members
WHERE batch_id BETWEEN $1::UUID AND $2::UUID
  AND batch_id IN (SELECT batch_id FROM correlating_batches) AND connection_id IS NOT NULL
UNION ALL
SELECT t.connection_id FROM later_tokens t JOIN first_prm e USING (resource)
WHERE t.horizon >= e.time_us
UNION ALL
SELECT t.connection_id FROM later_tokens t JOIN first_as_metadata e USING (issuer)
WHERE t.horizon >= e.time_us
UNION ALL
SELECT t.connection_id FROM later_tokens t JOIN first_document e USING (client_id)
WHERE t.horizon >= e.time_us;
