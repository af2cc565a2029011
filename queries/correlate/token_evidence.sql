-- For each token of the connections to evaluate, the evidence in force when it was issued
-- (latest at or before the issue time, allowing for clock skew between sources, and no
-- older than the evidence lookback):
--   prm:         the resource's Protected Resource Metadata;
--   as_metadata: the issuer's authorization server metadata, preferring the copy served
--                to the address the token was requested from (the client's own fetch);
--   document:    the client's metadata document (or DCR registration), preferring the
--                copy the issuing authorization server fetched; a DCR registration stays
--                in force however old (client_pins keeps it);
--   pinned:      the client's first document seen with status 200 (client_pins).
-- Of copies fetched at the same instant (logs with second or millisecond timestamps have
-- such ties), the one with the greatest event id is in force, so the choice does not
-- depend on the order the events arrived in: each ASOF join orders its side by (time, event
-- id), and a token's `latest` is the first such key past its horizon.
-- $1: clock skew (seconds), $2: oldest evidence considered, $3: the latest issue time of
-- the tokens plus the clock skew, past which no evidence can be in force (TIMESTAMPTZ; the
-- two bounds prune the scans of `events`).
WITH tokens AS (
    SELECT event_id, connection_id, epoch_us(time) + $1::BIGINT * 1000000 AS horizon,
           {'t': horizon + 1, 'id': ''} AS latest,
           issuer, client_id, resource, ip
    FROM connection_tokens
    WHERE connection_id IN (SELECT connection_id FROM dirty_connections)
),
prm AS (
    SELECT resource, epoch_us(time) AS time_us, event_id,
           {'event_id': event_id, 'time_us': epoch_us(time), 'url': metadata_url,
            'sha256': metadata_sha256, 'authorization_servers': metadata_authorization_servers,
            'scopes_supported': metadata_scopes_supported, 'http_status': http_status} AS doc
    FROM events
    WHERE time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ AND kind = 'metadata.fetch'
      AND resource IN (SELECT resource FROM tokens)
),
as_metadata AS (
    SELECT issuer, ip, epoch_us(time) AS time_us, event_id,
           {'event_id': event_id, 'time_us': epoch_us(time), 'issuer': issuer,
            'attributes': attributes, 'http_status': http_status} AS doc
    FROM events
    WHERE time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ AND kind = 'as_metadata.fetch'
      AND issuer IN (SELECT issuer FROM tokens)
),
documents AS (
    SELECT client_id, issuer, epoch_us(time) AS time_us, event_id,
           {'event_id': event_id, 'time_us': epoch_us(time), 'kind': kind,
            'client_id': client_id, 'issuer': issuer, 'registration': client_registration,
            'sha256': client_doc_sha256, 'redirect_uris': client_redirect_uris,
            'http_status': http_status, 'http_bytes': http_bytes,
            'resolved_ip': http_resolved_ip, 'redirected': http_redirected} AS doc
    FROM events
    WHERE time BETWEEN $2::TIMESTAMPTZ AND $3::TIMESTAMPTZ
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IN (SELECT client_id FROM tokens)
),
pinned AS (
    SELECT client_id, epoch_us(time) AS time_us, kind,
           {'event_id': event_id, 'time_us': epoch_us(time), 'kind': kind,
            'client_id': client_id, 'issuer': issuer, 'registration': registration,
            'sha256': sha256, 'redirect_uris': redirect_uris, 'http_status': http_status,
            'http_bytes': http_bytes, 'resolved_ip': resolved_ip,
            'redirected': redirected} AS doc
    FROM client_pins
    WHERE client_id IN (SELECT client_id FROM tokens)
)
SELECT t.connection_id,
       json_object('token_event_id', t.event_id,
                   'prm', to_json(prm.doc),
                   'as_metadata', to_json(coalesce(asm_client.doc, asm.doc)),
                   'document', to_json(coalesce(
                       same_issuer.doc, any_issuer.doc,
                       CASE WHEN pinned.kind = 'client.register' AND pinned.time_us <= t.horizon
                            THEN pinned.doc END)),
                   'pinned', to_json(pinned.doc))::VARCHAR
FROM tokens t
ASOF LEFT JOIN prm
    ON t.resource = prm.resource AND t.latest > {'t': prm.time_us, 'id': prm.event_id}
ASOF LEFT JOIN as_metadata asm_client
    ON t.issuer = asm_client.issuer AND t.ip = asm_client.ip
   AND t.latest > {'t': asm_client.time_us, 'id': asm_client.event_id}
ASOF LEFT JOIN as_metadata asm
    ON t.issuer = asm.issuer AND t.latest > {'t': asm.time_us, 'id': asm.event_id}
ASOF LEFT JOIN documents same_issuer
    ON t.client_id = same_issuer.client_id AND t.issuer = same_issuer.issuer
   AND t.latest > {'t': same_issuer.time_us, 'id': same_issuer.event_id}
ASOF LEFT JOIN documents any_issuer
    ON t.client_id = any_issuer.client_id
   AND t.latest > {'t': any_issuer.time_us, 'id': any_issuer.event_id}
LEFT JOIN pinned ON pinned.client_id = t.client_id;
