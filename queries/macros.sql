-- Run at every open (not a migration: the shape may change between releases).
-- event_document(e): one stored event as the JSON object GET /v1/events returns.
CREATE OR REPLACE MACRO event_document(e) AS json_object(
    'event_id', e.event_id,
    'time', strftime(e.time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'received_at', strftime(e.received_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'kind', e.kind,
    'outcome', e.outcome,
    'reason', e.reason,
    'source_type', e.source_type,
    'source_name', e.source_name,
    'connection_id', e.connection_id,
    'subject', e.subject,
    'client_id', e.client_id,
    'client_registration', e.client_registration,
    'client_name', e.client_name,
    'client_doc_sha256', e.client_doc_sha256,
    'client_redirect_uris', e.client_redirect_uris,
    'resource', e.resource,
    'metadata_url', e.metadata_url,
    'metadata_sha256', e.metadata_sha256,
    'metadata_authorization_servers', e.metadata_authorization_servers,
    'metadata_scopes_supported', e.metadata_scopes_supported,
    'issuer', e.issuer,
    'scopes_requested', e.scopes_requested,
    'scopes_granted', e.scopes_granted,
    'token_id', e.token_id,
    'token_parent_id', e.token_parent_id,
    'token_refresh_id', e.token_refresh_id,
    'token_audience', e.token_audience,
    'grant_type', e.grant_type,
    'token_expires_at', strftime(e.token_expires_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'redirect_uri', e.redirect_uri,
    'consent', e.consent,
    'tool', e.tool,
    'ip', e.ip,
    'user_agent', e.user_agent,
    'http_status', e.http_status,
    'http_bytes', e.http_bytes,
    'http_resolved_ip', e.http_resolved_ip,
    'http_redirected', e.http_redirected,
    'attributes', e.attributes,
    'raw_sha256', e.raw_sha256,
    'format', e.format,
    'schema_version', e.schema_version,
    'batch_id', e.batch_id::VARCHAR
);

-- connection_summary(c): one `connections` row as GET /v1/connections returns it. Pass a
-- row without `trust_path` (`SELECT * EXCLUDE (trust_path) FROM connections`) unless the
-- query reads the trust path anyway: a whole row drags the compressed column in.
CREATE OR REPLACE MACRO connection_summary(c) AS json_object(
    'connection_id', c.connection_id,
    'root_token_id', c.root_token_id,
    'issuer', c.issuer,
    'client_id', c.client_id,
    'subject', c.subject,
    'resource', c.resource,
    'first_seen', strftime(c.first_seen::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'last_seen', strftime(c.last_seen::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'events', c.events,
    'tokens', c.tokens,
    'verdict', c.verdict,
    'violated', c.violated,
    'unknown', c.unknown
);

-- event_summary(e): what an incident timeline shows of an event (no lists, no attributes:
-- a day's scan stays cheap); the whole event is one GET /v1/events?… away. Takes a row
-- with the member columns of `connection_members` (`session` is the gateway session).
CREATE OR REPLACE MACRO event_summary(e) AS json_object(
    'event_id', e.event_id,
    'time', strftime(e.time::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'kind', e.kind,
    'outcome', e.outcome,
    'reason', e.reason,
    'source_name', e.source_name,
    'connection_id', e.session,
    'resource', e.resource,
    'token_id', e.token_id,
    'tool', e.tool,
    'ip', e.ip
);

-- unexamined_batches(): the committed batches the detector has not examined yet, whether
-- correlated or not. Their events are not "old" to an evaluation (`$old_newest`,
-- queries/detect/old_newest_*.sql): the evaluation that examines them is still to come.
CREATE OR REPLACE MACRO unexamined_batches() AS TABLE
    SELECT batch_id FROM ingest_log ANTI JOIN detected_batches USING (batch_id);

-- alert_current_status(): each alert's current lifecycle status, `status` (a struct of its
-- latest `alert_status` row). Join it once: `alert_document` refers to its status four
-- times, and a correlated subquery in its place is run once per reference.
CREATE OR REPLACE MACRO alert_current_status() AS TABLE
SELECT s.alert_id, arg_max(s, s.changed_at) AS status
FROM alert_status s
GROUP BY s.alert_id;

-- alert_document(a, status): one `alerts` row with its current lifecycle status (a struct
-- of the latest `alert_status` row) as GET /v1/alerts and the sinks send it.
CREATE OR REPLACE MACRO alert_document(a, status) AS json_object(
    'alert_id', a.alert_id,
    'rule_id', a.rule_id,
    'rule_name', a.rule_name,
    'severity', a.severity,
    'key', a.key,
    'first_seen', strftime(a.first_seen::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'last_seen', strftime(a.last_seen::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'count', a.count,
    'evidence', a.evidence,
    'connection_id', a.connection_id,
    'summary', a.summary,
    'created_at', strftime(a.created_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'updated_at', strftime(a.updated_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'status', status.status,
    'status_by', status.actor,
    'status_at', strftime(status.changed_at::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%fZ'),
    'status_note', status.note
);

-- exported_events(...): the events an export holds (queries/export/): event time in
-- [from_, to_), and each filter NULL (any) or equal. One definition, so every file of an
-- export selects the same events.
CREATE OR REPLACE MACRO exported_events(from_, to_, subject_, client_, resource_, issuer_) AS TABLE
SELECT *
FROM events
WHERE time >= from_ AND time < to_
  AND (subject_ IS NULL OR subject = subject_)
  AND (client_ IS NULL OR client_id = client_)
  AND (resource_ IS NULL OR resource = resource_)
  AND (issuer_ IS NULL OR issuer = issuer_);

-- exported_alerts(...): the alerts an export holds: seen in [from_, to_); with any filter
-- set, only those with evidence among exported_events.
CREATE OR REPLACE MACRO exported_alerts(from_, to_, subject_, client_, resource_, issuer_) AS TABLE
SELECT a.*
FROM alerts a
WHERE a.first_seen < to_ AND a.last_seen >= from_
  AND ((subject_ IS NULL AND client_ IS NULL AND resource_ IS NULL AND issuer_ IS NULL)
       OR EXISTS (
           SELECT 1
           FROM exported_events(from_, to_, subject_, client_, resource_, issuer_) e
           WHERE list_contains(a.evidence, e.event_id)));
