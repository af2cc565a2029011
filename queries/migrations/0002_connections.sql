-- trustpath store, schema version 2: connections and their trust paths (DOMAIN.md §3).
-- Maintained by the writer in the same transaction as the batch that changed them
-- (src/correlate/), so what is stored is always consistent with `events`.

-- Issued tokens (successful `token.issue`) and the connection each belongs to. A token
-- without a parent (an authorization-code, client-credentials or token-exchange grant)
-- starts a connection; a refresh grant joins its parent's connection once the parent's
-- issue is stored, whatever the arrival order. `connection_id` is NULL until then.
CREATE TABLE connection_tokens (
    event_id          VARCHAR NOT NULL,
    connection_id     VARCHAR,
    time              TIMESTAMPTZ NOT NULL,
    token_id          VARCHAR NOT NULL,
    token_parent_id   VARCHAR,
    token_refresh_id  VARCHAR,
    issuer            VARCHAR,
    client_id         VARCHAR,
    subject           VARCHAR,
    resource          VARCHAR,
    grant_type        VARCHAR,
    ip                VARCHAR,
    batch_id          UUID NOT NULL
);
CREATE INDEX connection_tokens_token_id ON connection_tokens (token_id);
CREATE INDEX connection_tokens_refresh_id ON connection_tokens (token_refresh_id);

-- Every event that belongs to an approval chain, and which connection it was attached to
-- and how (`via`): `token` (it carries an issued token's id: exact), `session` (it shares
-- a gateway session with an exactly attached event), `window` (same issuer, client and
-- subject as a connection's first token, shortly before it). NULL while unattached.
CREATE TABLE connection_members (
    event_id       VARCHAR NOT NULL,
    connection_id  VARCHAR,
    via            VARCHAR,
    kind           VARCHAR NOT NULL,
    time           TIMESTAMPTZ NOT NULL,
    outcome        VARCHAR,
    session        VARCHAR,
    token_id       VARCHAR,
    issuer         VARCHAR,
    client_id      VARCHAR,
    subject        VARCHAR,
    resource       VARCHAR,
    -- What an incident timeline shows of the event, so it is drawn from this narrow table.
    reason         VARCHAR,
    source_name    VARCHAR,
    tool           VARCHAR,
    ip             VARCHAR,
    batch_id       UUID NOT NULL
);

-- Each client's pinned document: the first client document fetch (or DCR registration)
-- seen with status 200, whatever the arrival order.
CREATE TABLE client_pins (
    client_id      VARCHAR PRIMARY KEY,
    event_id       VARCHAR NOT NULL,
    time           TIMESTAMPTZ NOT NULL,
    kind           VARCHAR NOT NULL,
    issuer         VARCHAR,
    registration   VARCHAR,
    sha256         VARCHAR,
    redirect_uris  VARCHAR[],
    http_status    SMALLINT,
    http_bytes     BIGINT,
    resolved_ip    VARCHAR,
    redirected     BOOLEAN
);

-- One row per connection with its latest trust path (the nine links of DOMAIN.md §3,
-- in order, each with verdict, evidence event ids, facts and an explanation).
CREATE TABLE connections (
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
    trust_path      JSON NOT NULL,
    evaluated_at    TIMESTAMPTZ NOT NULL
);

-- Each time a link became or stopped being `violated` (at first evaluation or later, when a
-- late event or new evidence changed it). `time` is the event time of the newest evidence
-- of the link, so incident timelines place the change where it happened.
CREATE TABLE verdict_changes (
    connection_id   VARCHAR NOT NULL,
    link            VARCHAR NOT NULL,
    verdict_before  VARCHAR,
    verdict_after   VARCHAR NOT NULL,
    explanation     VARCHAR NOT NULL,
    time            TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    batch_id        UUID NOT NULL
);
