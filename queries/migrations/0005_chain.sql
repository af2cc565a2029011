-- trustpath store, schema version 5: the tamper-evidence chain (src/integrity/).

-- One record per committed batch and per retention purge, in commit order. A batch record
-- holds the count and canonical digest of the batch's `events` and `rejected` rows; a
-- purge record the rows it deleted and the cut-offs. Each record's sha256 covers its
-- fields and the previous record's sha256 (README, "Compliance").
CREATE TABLE chain (
    seq              BIGINT PRIMARY KEY,
    kind             VARCHAR NOT NULL,
    batch_id         UUID,
    recorded_at      TIMESTAMPTZ NOT NULL,
    events           BIGINT NOT NULL,
    events_sha256    VARCHAR NOT NULL,
    rejected         BIGINT NOT NULL,
    rejected_sha256  VARCHAR NOT NULL,
    events_before    TIMESTAMPTZ,
    rejected_before  TIMESTAMPTZ,
    prev_sha256      VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL
);

-- The chain head at `seq`, signed with the store's Ed25519 key.
CREATE TABLE chain_checkpoints (
    seq          BIGINT PRIMARY KEY,
    sha256       VARCHAR NOT NULL,
    signed_at    TIMESTAMPTZ NOT NULL,
    public_key   VARCHAR NOT NULL,
    signature    VARCHAR NOT NULL
);
