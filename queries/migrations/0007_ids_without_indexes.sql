-- trustpath store, schema version 7: `events` without the primary-key index on event_id,
-- `rejected` without the unique index on (delivery_key, raw_sha256).
-- DuckDB keeps an index it writes to entirely in memory and cannot evict it: ≈ 45 bytes per
-- key, so a store of 10 M events needs ≈ 0.45 GB for the events' alone, and an ingest under
-- `store.memory_limit` stopped out of memory once it filled the pool; a flood of bad records
-- would do the same through `rejected`'s. The writer keeps both unique itself: event ids
-- with a Bloom filter of the stored ids and a lookup of the few it cannot rule out
-- (src/store/stored_ids.rs), rejected records with an anti-join on the batch's keys
-- (queries/ingest/insert_rejected.sql). Nothing else changes.
CREATE TABLE events_v7 (
    event_id                        VARCHAR NOT NULL,
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
INSERT INTO events_v7 SELECT * FROM events;
DROP TABLE events;
ALTER TABLE events_v7 RENAME TO events;

CREATE TABLE rejected_v7 (
    received_at   TIMESTAMPTZ NOT NULL,
    origin        VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    raw           BLOB NOT NULL,
    raw_sha256    VARCHAR NOT NULL,
    delivery_key  VARCHAR,
    batch_id      UUID NOT NULL
);
INSERT INTO rejected_v7 SELECT * FROM rejected;
DROP TABLE rejected;
ALTER TABLE rejected_v7 RENAME TO rejected;
