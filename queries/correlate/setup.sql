-- The writer connection's scratch tables, emptied per pass: the batches a correlation pass
-- covers (one committed batch, or a backlog the writer deferred; the queries take its
-- first and last batch id too, and as batch ids are UUIDv7 that range prunes their scans),
-- connections the pass may have changed, and evaluated connections on their way in.
CREATE TEMP TABLE IF NOT EXISTS correlating_batches (batch_id UUID NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS dirty_connections (connection_id VARCHAR);
CREATE TEMP TABLE IF NOT EXISTS evaluated_connections (
    connection_id   VARCHAR,
    root_token_id   VARCHAR,
    issuer          VARCHAR,
    client_id       VARCHAR,
    subject         VARCHAR,
    resource        VARCHAR,
    first_seen      VARCHAR,
    last_seen       VARCHAR,
    events          INTEGER,
    tokens          INTEGER,
    verdict         VARCHAR,
    violated        VARCHAR,
    unknown         VARCHAR,
    trust_path      VARCHAR,
    evaluated_at    VARCHAR
);
