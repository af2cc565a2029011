-- trustpath store, schema version 1: normalized events, rejected input, the ingest log.
-- Applied once per database file, in one transaction, by src/store/migrate.rs.

-- One row per trustpath.event.v1 event (DOMAIN.md §2). `event_id` is the idempotency key:
-- an event delivered twice is stored once.
CREATE TABLE events (
    event_id                        VARCHAR PRIMARY KEY,
    time                            TIMESTAMPTZ NOT NULL,
    received_at                     TIMESTAMPTZ NOT NULL,
    kind                            VARCHAR NOT NULL,
    outcome                         VARCHAR,
    reason                          VARCHAR,
    source_type                     VARCHAR NOT NULL,
    source_name                     VARCHAR,
    connection_id                   VARCHAR,
    subject                         VARCHAR,
    client_id                       VARCHAR,
    client_registration             VARCHAR,
    client_name                     VARCHAR,
    client_doc_sha256               VARCHAR,
    client_redirect_uris            VARCHAR[],
    resource                        VARCHAR,
    metadata_url                    VARCHAR,
    metadata_sha256                 VARCHAR,
    metadata_authorization_servers  VARCHAR[],
    metadata_scopes_supported       VARCHAR[],
    issuer                          VARCHAR,
    scopes_requested                VARCHAR[],
    scopes_granted                  VARCHAR[],
    token_id                        VARCHAR,
    token_parent_id                 VARCHAR,
    token_refresh_id                VARCHAR,
    token_audience                  VARCHAR[],
    grant_type                      VARCHAR,
    token_expires_at                TIMESTAMPTZ,
    redirect_uri                    VARCHAR,
    consent                         VARCHAR,
    tool                            VARCHAR,
    ip                              VARCHAR,
    user_agent                      VARCHAR,
    http_status                     SMALLINT,
    http_bytes                      BIGINT,
    http_resolved_ip                VARCHAR,
    http_redirected                 BOOLEAN,
    attributes                      JSON,
    raw_sha256                      VARCHAR NOT NULL,
    format                          VARCHAR NOT NULL,
    schema_version                  VARCHAR NOT NULL,
    batch_id                        UUID NOT NULL
);

-- Input that could not be stored as an event, byte for byte, with the reason.
-- `delivery_key` identifies a delivery that may be repeated (a NATS stream sequence, a
-- file line), so a redelivered or re-ingested bad record is kept once; together with the
-- bytes' hash, so different bytes under the same key are never dropped. NULL for HTTP.
CREATE TABLE rejected (
    received_at   TIMESTAMPTZ NOT NULL,
    origin        VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    raw           BLOB NOT NULL,
    raw_sha256    VARCHAR NOT NULL,
    delivery_key  VARCHAR,
    batch_id      UUID NOT NULL,
    UNIQUE (delivery_key, raw_sha256)
);

-- One row per committed batch: what came in, from where, and what became of it.
CREATE TABLE ingest_log (
    batch_id      UUID PRIMARY KEY,
    collector     VARCHAR NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    committed_at  TIMESTAMPTZ NOT NULL,
    records       INTEGER NOT NULL,
    accepted      INTEGER NOT NULL,
    duplicates    INTEGER NOT NULL,
    rejected      INTEGER NOT NULL
);
