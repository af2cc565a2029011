-- trustpath store, schema version 6: trust paths compressed with zstd.
-- A trust path is ≈ 5 KB of JSON per connection and was most of a store's size (≈ 430 of
-- ≈ 615 bytes per event at 1 M events). DuckDB stores long strings uncompressed unless told;
-- zstd makes them ≈ 15× smaller. Files written by DuckDB's v1.0 storage format (stores
-- created before trustpath set `storage_compatibility_version`) cannot hold zstd strings and
-- keep them uncompressed; `trustpath compact` rewrites such a store in the current format.
CREATE TABLE connections_v6 (
    connection_id   VARCHAR PRIMARY KEY,
    root_token_id   VARCHAR NOT NULL,
    issuer          VARCHAR,
    client_id       VARCHAR,
    subject         VARCHAR,
    resource        VARCHAR,
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    events          INTEGER NOT NULL,
    tokens          INTEGER NOT NULL,
    verdict         VARCHAR NOT NULL,
    violated        VARCHAR[] NOT NULL,
    unknown         VARCHAR[] NOT NULL,
    trust_path      JSON NOT NULL USING COMPRESSION zstd,
    evaluated_at    TIMESTAMPTZ NOT NULL
);
INSERT INTO connections_v6 SELECT * FROM connections;
DROP TABLE connections;
ALTER TABLE connections_v6 RENAME TO connections;
