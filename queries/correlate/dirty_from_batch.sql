-- Connections this batch may have changed: those of its tokens and members, and those
-- whose evidence it adds to (a PRM for the resource, AS metadata for the issuer, a client
-- document or registration for the client, at or before one of their tokens).
-- $1: batch id, $2: clock skew (seconds), $3: the batch's earliest event time less the
-- skew (no token before it can be affected).
INSERT INTO dirty_connections
SELECT connection_id FROM connection_tokens
WHERE batch_id = $1::UUID AND connection_id IS NOT NULL
UNION ALL
SELECT connection_id FROM connection_members
WHERE batch_id = $1::UUID AND connection_id IS NOT NULL
UNION ALL
SELECT t.connection_id
FROM events ev JOIN connection_tokens t ON t.resource = ev.resource
WHERE ev.batch_id = $1::UUID AND ev.kind = 'metadata.fetch'
  AND t.time >= $3::TIMESTAMPTZ AND t.connection_id IS NOT NULL AND epoch_us(t.time) >= epoch_us(ev.time) - $2::BIGINT * 1000000
UNION ALL
SELECT t.connection_id
FROM events ev JOIN connection_tokens t ON t.issuer = ev.issuer
WHERE ev.batch_id = $1::UUID AND ev.kind = 'as_metadata.fetch'
  AND t.time >= $3::TIMESTAMPTZ AND t.connection_id IS NOT NULL AND epoch_us(t.time) >= epoch_us(ev.time) - $2::BIGINT * 1000000
UNION ALL
SELECT t.connection_id
FROM events ev JOIN connection_tokens t ON t.client_id = ev.client_id
WHERE ev.batch_id = $1::UUID AND ev.kind IN ('client.document.fetch', 'client.register')
  AND t.time >= $3::TIMESTAMPTZ AND t.connection_id IS NOT NULL AND epoch_us(t.time) >= epoch_us(ev.time) - $2::BIGINT * 1000000;
