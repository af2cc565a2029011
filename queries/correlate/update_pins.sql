-- The pass's client documents that are earlier than a client's pinned one (or the first
-- for the client) become its pin.
-- $1, $2: the first and last batch of the pass (setup.sql).
INSERT OR REPLACE INTO client_pins
SELECT b.*
FROM (
    SELECT client_id,
           arg_min(event_id, (time, event_id)) AS event_id,
           min(time) AS time,
           arg_min(kind, (time, event_id)) AS kind,
           arg_min(issuer, (time, event_id)) AS issuer,
           arg_min(client_registration, (time, event_id)) AS registration,
           arg_min(client_doc_sha256, (time, event_id)) AS sha256,
           arg_min(client_redirect_uris, (time, event_id)) AS redirect_uris,
           arg_min(http_status, (time, event_id)) AS http_status,
           arg_min(http_bytes, (time, event_id)) AS http_bytes,
           arg_min(http_resolved_ip, (time, event_id)) AS resolved_ip,
           arg_min(http_redirected, (time, event_id)) AS redirected
    FROM events
    WHERE batch_id BETWEEN $1::UUID AND $2::UUID
      AND batch_id IN (SELECT batch_id FROM correlating_batches)
      AND kind IN ('client.document.fetch', 'client.register')
      AND client_id IS NOT NULL
      AND coalesce(http_status, 200) = 200
    GROUP BY client_id
) b
LEFT JOIN client_pins p USING (client_id)
WHERE p.client_id IS NULL OR (b.time, b.event_id) < (p.time, p.event_id);
