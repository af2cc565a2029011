-- trustpath store, schema version 4: detections (DOMAIN.md §4). Written by the detection
-- engine (src/detect/) after each committed batch, in one transaction per evaluation;
-- alert lifecycle changes come from the API and CLI and are only ever appended.

-- Committed batches the rules have examined. The engine takes batches that are committed
-- (and so correlated) but missing here, oldest first, at start and after every commit.
CREATE TABLE detected_batches (
    batch_id     UUID PRIMARY KEY,
    detected_at  TIMESTAMPTZ NOT NULL
);

-- One row per alert: the hits of one rule for one key, deduplicated within the rule's
-- window (`count` grows instead of a new alert). Times are event times, except
-- `created_at`/`updated_at` (when trustpath raised and last updated it).
CREATE TABLE alerts (
    alert_id       VARCHAR PRIMARY KEY,
    rule_id        VARCHAR NOT NULL,
    rule_name      VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL,
    key            VARCHAR NOT NULL,
    first_seen     TIMESTAMPTZ NOT NULL,
    last_seen      TIMESTAMPTZ NOT NULL,
    count          INTEGER NOT NULL,
    evidence       VARCHAR[] NOT NULL,
    connection_id  VARCHAR,
    summary        VARCHAR NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Every hit exactly once: a rule fires once per trigger event, however often the events
-- around it are evaluated (late events, restarts, `trustpath rules replay`).
CREATE TABLE alert_hits (
    rule_id      VARCHAR NOT NULL,
    event_id     VARCHAR NOT NULL,
    alert_id     VARCHAR NOT NULL,
    time         TIMESTAMPTZ NOT NULL,
    detected_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule_id, event_id)
);

-- The lifecycle, append-only: `open` when raised, then `acknowledged` / `resolved` (or back
-- to `open`), each with who and when. An alert's status is its latest row.
CREATE TABLE alert_status (
    alert_id    VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    actor       VARCHAR NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    note        VARCHAR
);

-- The outbox: one row per alert and sink, written with the alert. A sink that fails is
-- retried with backoff until it takes the alert; ingest never waits for it.
CREATE TABLE alert_deliveries (
    alert_id         VARCHAR NOT NULL,
    sink             VARCHAR NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    last_error       VARCHAR,
    PRIMARY KEY (alert_id, sink)
);

-- A store that already holds events starts detecting with its next batch: raising alerts
-- (and notifying every sink) for all of its history at the first start would bury the
-- new ones. `trustpath rules replay --from … --to …` backfills history on purpose.
INSERT INTO detected_batches
SELECT batch_id, now() FROM ingest_log WHERE accepted > 0;
