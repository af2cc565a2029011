//! The chain: one record ([`Link`]) per committed batch and per purge, each hashing its
//! fields and the previous record's hash; checkpoints sign the head with the store's key.
//!
//! The writer thread owns a [`Chain`]: it links each batch inside the batch's transaction
//! (so a batch and its record commit together), signs the head when a checkpoint is due,
//! and runs retention purges. [`load`] reads the chain back for `verify` and exports.

use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound as _, Utc};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::canonical::{self, RowsDigest};
use super::keys::{PublicKey, Signer};
use crate::config::RetentionConfig;
use crate::store::{StoreError, from_micros, in_transaction, rfc3339};

const BATCH_EVENTS: &str = include_str!("../../queries/integrity/batch_events.sql");
const BATCH_REJECTED: &str = include_str!("../../queries/integrity/batch_rejected.sql");
const INSERT_LINK: &str = include_str!("../../queries/integrity/insert_link.sql");
const LINKS: &str = include_str!("../../queries/integrity/links.sql");
const INSERT_CHECKPOINT: &str = include_str!("../../queries/integrity/insert_checkpoint.sql");
const FIRST_UNPURGED: &str = include_str!("../../queries/integrity/first_unpurged.sql");
const EARLIER_BATCHES: &str = include_str!("../../queries/integrity/earlier_batches.sql");
const CHECKPOINTS: &str = include_str!("../../queries/integrity/checkpoints.sql");
const PURGE_EVENTS: &str = include_str!("../../queries/integrity/purge_events.sql");
const PURGE_DERIVED: &str = include_str!("../../queries/integrity/purge_derived.sql");
const PURGE_REJECTED: &str = include_str!("../../queries/integrity/purge_rejected.sql");

/// The `prev_sha256` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a chain record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A committed batch: the digests of its `events` and `rejected` rows.
    Batch,
    /// A retention purge: the rows it deleted and the cut-offs.
    Purge,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Batch => "batch",
            LinkKind::Purge => "purge",
        }
    }
}

/// One chain record, as stored in `chain` and exported in `chain.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub seq: i64,
    pub kind: LinkKind,
    pub batch_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    /// Batch: its rows in `events`. Purge: the event rows deleted.
    pub events: i64,
    /// Batch: the canonical digest of its event rows. Purge: the digest of the batch
    /// records whose events it deleted (see [`covered_digest`]).
    pub events_sha256: String,
    pub rejected: i64,
    pub rejected_sha256: String,
    /// Purge: events of batches recorded before this time were deleted.
    pub events_before: Option<DateTime<Utc>>,
    /// Purge: rejected records of batches recorded before this time were deleted.
    pub rejected_before: Option<DateTime<Utc>>,
    pub prev_sha256: String,
    pub sha256: String,
}

impl Link {
    /// The record's hash: SHA-256 of the compact JSON array
    /// `["trustpath.chain.v1", seq, kind, batch_id, recorded_at µs, events, events_sha256,
    /// rejected, rejected_sha256, events_before µs, rejected_before µs, prev_sha256]`.
    pub fn expected_sha256(&self) -> String {
        let encoded = json!([
            "trustpath.chain.v1",
            self.seq,
            self.kind.as_str(),
            self.batch_id.map(|id| id.to_string()),
            self.recorded_at.timestamp_micros(),
            self.events,
            self.events_sha256,
            self.rejected,
            self.rejected_sha256,
            self.events_before.map(|t| t.timestamp_micros()),
            self.rejected_before.map(|t| t.timestamp_micros()),
            self.prev_sha256,
        ]);
        hex::encode(Sha256::digest(encoded.to_string()))
    }

    pub(crate) fn sealed(mut self) -> Link {
        self.sha256 = self.expected_sha256();
        self
    }

    /// The cut-off this purge applied to `table`, if it purged that table.
    pub fn purged_before(&self, table: Table) -> Option<DateTime<Utc>> {
        match (self.kind, table) {
            (LinkKind::Purge, Table::Events) => self.events_before,
            (LinkKind::Purge, Table::Rejected) => self.rejected_before,
            (LinkKind::Batch, _) => None,
        }
    }

    /// The recorded count and digest of `table`'s rows (a batch's, or a purge's deleted).
    pub fn rows(&self, table: Table) -> (i64, &str) {
        match table {
            Table::Events => (self.events, &self.events_sha256),
            Table::Rejected => (self.rejected, &self.rejected_sha256),
        }
    }
}

/// The chained tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    Events,
    Rejected,
}

impl Table {
    pub const ALL: [Table; 2] = [Table::Events, Table::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Events => "events",
            Table::Rejected => "rejected",
        }
    }

    /// The batch's rows of this table, digested as stored now.
    pub fn digest(self, db: &Connection, batch_id: Uuid) -> Result<RowsDigest, StoreError> {
        let sql = match self {
            Table::Events => BATCH_EVENTS,
            Table::Rejected => BATCH_REJECTED,
        };
        let mut statement = db.prepare(sql)?;
        let batches: Vec<RecordBatch> = statement
            .query_arrow(params![batch_id.to_string()])?
            .collect();
        canonical::digest(&batches).map_err(StoreError::Internal)
    }
}

/// A signature of the chain head at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub sha256: String,
    pub signed_at: DateTime<Utc>,
    /// The signing key's raw public key, hex.
    pub public_key: String,
    /// Ed25519 signature of [`Checkpoint::message`], hex.
    pub signature: String,
}

impl Checkpoint {
    /// What is signed: the compact JSON array
    /// `["trustpath.checkpoint.v1", seq, sha256, signed_at µs]`.
    pub fn message(seq: i64, sha256: &str, signed_at: DateTime<Utc>) -> Vec<u8> {
        json!([
            "trustpath.checkpoint.v1",
            seq,
            sha256,
            signed_at.timestamp_micros()
        ])
        .to_string()
        .into_bytes()
    }

    pub fn sign(signer: &Signer, head: &Link, signed_at: DateTime<Utc>) -> Checkpoint {
        let signature = signer.sign(&Checkpoint::message(head.seq, &head.sha256, signed_at));
        Checkpoint {
            seq: head.seq,
            sha256: head.sha256.clone(),
            signed_at,
            public_key: signer.public().key_id(),
            signature: hex::encode(signature),
        }
    }

    pub fn verifies(&self, key: &PublicKey) -> bool {
        let message = Checkpoint::message(self.seq, &self.sha256, self.signed_at);
        hex::decode(&self.signature).is_ok_and(|s| key.verifies(&message, &s))
    }
}

/// The purge records among `links`, in order: what [`purging`] and [`newly_covered`]
/// search (collected once, so looking up every batch stays linear in the chain).
pub fn purges(links: &[Link]) -> Vec<&Link> {
    links.iter().filter(|l| l.kind == LinkKind::Purge).collect()
}

/// The batch records a purge of `table` at `purge` covers for the first time: recorded
/// before its cut-off, before it in the chain, and not covered by an earlier purge.
pub fn newly_covered<'a>(
    links: &'a [Link],
    purges: &[&Link],
    purge: &Link,
    table: Table,
) -> Vec<&'a Link> {
    let Some(before) = purge.purged_before(table) else {
        return Vec::new();
    };
    links
        .iter()
        .filter(|l| l.kind == LinkKind::Batch && l.seq < purge.seq && l.recorded_at < before)
        .filter(|l| purging(purges, l, table).is_none_or(|p| p.seq == purge.seq))
        .collect()
}

/// The first of `purges` after `batch` whose cut-off for `table` covers it.
pub fn purging<'a>(purges: &[&'a Link], batch: &Link, table: Table) -> Option<&'a Link> {
    purges.iter().copied().find(|p| {
        p.seq > batch.seq
            && p.purged_before(table)
                .is_some_and(|before| batch.recorded_at < before)
    })
}

/// The digest a purge record holds for `table`: SHA-256 over `[seq, sha256]\n` of each
/// batch record it covers, in chain order.
pub fn covered_digest(covered: &[&Link], table: Table) -> String {
    let mut hasher = Sha256::new();
    for link in covered {
        hasher.update(json!([link.seq, link.rows(table).1]).to_string());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// The whole chain, in `seq` order.
pub fn load(db: &Connection) -> Result<Vec<Link>, StoreError> {
    load_range(db, None, None)
}

/// The newest chain record.
pub fn head(db: &Connection) -> Result<Option<Link>, StoreError> {
    let last: Option<i64> = db.query_row("SELECT max(seq) FROM chain", [], |row| row.get(0))?;
    match last {
        Some(seq) => Ok(load_range(db, Some(seq), Some(seq))?.pop()),
        None => Ok(None),
    }
}

/// The chain records with `from <= seq <= to`.
pub fn load_range(
    db: &Connection,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Vec<Link>, StoreError> {
    let mut statement = db.prepare(LINKS)?;
    let rows = statement.query_map(params![from, to], |row| {
        Ok(StoredLink {
            seq: row.get(0)?,
            kind: row.get(1)?,
            batch_id: row.get(2)?,
            recorded_us: row.get(3)?,
            events: row.get(4)?,
            events_sha256: row.get(5)?,
            rejected: row.get(6)?,
            rejected_sha256: row.get(7)?,
            events_before_us: row.get(8)?,
            rejected_before_us: row.get(9)?,
            prev_sha256: row.get(10)?,
            sha256: row.get(11)?,
        })
    })?;
    rows.map(|row| row?.into_link()).collect()
}

/// A `chain` row as read, before its times and ids are checked.
struct StoredLink {
    seq: i64,
    kind: String,
    batch_id: Option<String>,
    recorded_us: i64,
    events: i64,
    events_sha256: String,
    rejected: i64,
    rejected_sha256: String,
    events_before_us: Option<i64>,
    rejected_before_us: Option<i64>,
    prev_sha256: String,
    sha256: String,
}

impl StoredLink {
    fn into_link(self) -> Result<Link, StoreError> {
        let seq = self.seq;
        let kind = match self.kind.as_str() {
            "purge" => LinkKind::Purge,
            "batch" => LinkKind::Batch,
            other => {
                return Err(StoreError::Refused(format!(
                    "chain record seq {seq} has the kind `{other}`, which trustpath never \
                     writes: the chain table was edited"
                )));
            }
        };
        let time = |us: Option<i64>| us.map(from_micros).transpose();
        Ok(Link {
            seq,
            kind,
            batch_id: self
                .batch_id
                .map(|id| id.parse())
                .transpose()
                .map_err(|e| StoreError::Internal(format!("chain seq {seq}: batch id: {e}")))?,
            recorded_at: from_micros(self.recorded_us)?,
            events: self.events,
            events_sha256: self.events_sha256,
            rejected: self.rejected,
            rejected_sha256: self.rejected_sha256,
            events_before: time(self.events_before_us)?,
            rejected_before: time(self.rejected_before_us)?,
            prev_sha256: self.prev_sha256,
            sha256: self.sha256,
        })
    }
}

/// Every checkpoint, in `seq` order.
pub fn checkpoints(db: &Connection) -> Result<Vec<Checkpoint>, StoreError> {
    checkpoints_range(db, None, None)
}

/// The newest checkpoint.
pub fn last_checkpoint(db: &Connection) -> Result<Option<Checkpoint>, StoreError> {
    let last: Option<i64> = db.query_row("SELECT max(seq) FROM chain_checkpoints", [], |row| {
        row.get(0)
    })?;
    match last {
        Some(seq) => Ok(checkpoints_range(db, Some(seq), Some(seq))?.pop()),
        None => Ok(None),
    }
}

/// The checkpoints with `from <= seq <= to`, in order.
pub fn checkpoints_range(
    db: &Connection,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Vec<Checkpoint>, StoreError> {
    let mut statement = db.prepare(CHECKPOINTS)?;
    let rows = statement.query_map(params![from, to], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
        ))
    })?;
    let mut checkpoints = Vec::new();
    for row in rows {
        let (seq, sha256, signed_at, public_key, signature) = row?;
        checkpoints.push(Checkpoint {
            seq,
            sha256,
            signed_at: from_micros(signed_at)?,
            public_key,
            signature,
        });
    }
    Ok(checkpoints)
}

fn insert_link(db: &Connection, link: &Link) -> Result<(), StoreError> {
    db.execute(
        INSERT_LINK,
        params![
            link.seq,
            link.kind.as_str(),
            link.batch_id.map(|id| id.to_string()),
            rfc3339(link.recorded_at),
            link.events,
            link.events_sha256,
            link.rejected,
            link.rejected_sha256,
            link.events_before.map(rfc3339),
            link.rejected_before.map(rfc3339),
            link.prev_sha256,
            link.sha256,
        ],
    )?;
    Ok(())
}

fn insert_checkpoint(db: &Connection, checkpoint: &Checkpoint) -> Result<(), StoreError> {
    db.execute(
        INSERT_CHECKPOINT,
        params![
            checkpoint.seq,
            checkpoint.sha256,
            rfc3339(checkpoint.signed_at),
            checkpoint.public_key,
            checkpoint.signature,
        ],
    )?;
    Ok(())
}

/// What a purge deleted.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    pub seq: i64,
    pub events_before: Option<DateTime<Utc>>,
    pub rejected_before: Option<DateTime<Utc>>,
    pub events: i64,
    pub rejected: i64,
    pub batches: usize,
}

/// The writer's side of the chain: the head, the key, when the head was last signed.
pub struct Chain {
    head: Option<Link>,
    signer: Option<Signer>,
    every: Duration,
    signed_seq: Option<i64>,
    signed_at: Instant,
}

impl Chain {
    /// Loads the head and when it was last signed.
    pub fn open(
        db: &Connection,
        signer: Option<Signer>,
        every: Duration,
    ) -> Result<Chain, StoreError> {
        Ok(Chain {
            head: head(db)?,
            signer,
            every,
            signed_seq: last_checkpoint(db)?.map(|c| c.seq),
            signed_at: Instant::now(),
        })
    }

    /// Links the batches of a store from before the chain (schema version 4), in commit
    /// order, in one transaction; `Store::open` calls it while the chain is empty, so
    /// whichever command opens such a store first links them (the first checkpoint after
    /// signs them).
    pub fn link_earlier_batches(db: &Connection) -> Result<(), StoreError> {
        let mut chain = Chain::open(db, None, Duration::MAX)?;
        if chain.head.is_some() {
            return Ok(());
        }
        chain.link_earlier(db)
    }

    fn link_earlier(&mut self, db: &Connection) -> Result<(), StoreError> {
        let mut statement = db.prepare(EARLIER_BATCHES)?;
        let batches: Vec<String> = statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if batches.is_empty() {
            return Ok(());
        }
        let linked = in_transaction(db, || {
            batches.iter().try_for_each(|id| {
                let id: Uuid = id
                    .parse()
                    .map_err(|e| StoreError::Internal(format!("ingest_log batch id {id}: {e}")))?;
                let link = self.link_batch(db, id, None)?;
                self.head = Some(link);
                Ok(())
            })
        });
        if linked.is_err() {
            self.head = None;
        } else {
            tracing::info!(
                batches = batches.len(),
                "linked the store's earlier batches into the chain, from their rows as stored now"
            );
        }
        linked
    }

    pub fn head(&self) -> Option<&Link> {
        self.head.as_ref()
    }

    fn next(&self, kind: LinkKind, recorded_at: DateTime<Utc>) -> Link {
        Link {
            seq: self.head.as_ref().map_or(1, |h| h.seq + 1),
            kind,
            batch_id: None,
            recorded_at,
            events: 0,
            events_sha256: canonical::EMPTY_SHA256.to_owned(),
            rejected: 0,
            rejected_sha256: canonical::EMPTY_SHA256.to_owned(),
            events_before: None,
            rejected_before: None,
            prev_sha256: self
                .head
                .as_ref()
                .map_or_else(|| GENESIS.to_owned(), |h| h.sha256.clone()),
            sha256: String::new(),
        }
    }

    /// Records the batch `batch_id` (its rows as stored in the open transaction) after the
    /// head. `events` is the digest of its `events` rows when the caller appended them as
    /// they are and digested them as appended ([`canonical::digest`] of the rows in the
    /// chain's column order); `None` reads them back from the store. The caller commits,
    /// then calls [`Chain::committed`].
    pub fn link_batch(
        &self,
        db: &Connection,
        batch_id: Uuid,
        events: Option<RowsDigest>,
    ) -> Result<Link, StoreError> {
        let events = match events {
            Some(digest) => digest,
            None => Table::Events.digest(db, batch_id)?,
        };
        let rejected = Table::Rejected.digest(db, batch_id)?;
        let link = Link {
            batch_id: Some(batch_id),
            events: events.rows,
            events_sha256: events.sha256,
            rejected: rejected.rows,
            rejected_sha256: rejected.sha256,
            ..self.next(LinkKind::Batch, Utc::now())
        }
        .sealed();
        insert_link(db, &link)?;
        Ok(link)
    }

    /// The transaction that wrote `link` committed: it is the head now.
    pub fn committed(&mut self, link: Link) {
        self.head = Some(link);
    }

    /// Re-reads the head from the store, after a transaction whose outcome is not known
    /// for sure: DuckDB can report a COMMIT as failed that did commit (its automatic
    /// checkpoint failing), and the next link must follow the head the store holds.
    pub fn reload_head(&mut self, db: &Connection) -> Result<(), StoreError> {
        self.head = head(db)?;
        Ok(())
    }

    /// Signs the head when it is unsigned and `checkpoint_every` has passed.
    pub fn checkpoint_if_due(&mut self, db: &Connection) -> Result<(), StoreError> {
        if self.signed_at.elapsed() >= self.every {
            self.checkpoint(db)?;
        }
        Ok(())
    }

    /// Signs the head now, if it is not signed yet and there is a key.
    pub fn checkpoint(&mut self, db: &Connection) -> Result<Option<Checkpoint>, StoreError> {
        let (Some(signer), Some(head)) = (&self.signer, &self.head) else {
            return Ok(None);
        };
        if self.signed_seq == Some(head.seq) {
            return Ok(None);
        }
        let checkpoint = Checkpoint::sign(signer, head, Utc::now());
        insert_checkpoint(db, &checkpoint)?;
        self.signed_seq = Some(checkpoint.seq);
        self.signed_at = Instant::now();
        Ok(Some(checkpoint))
    }

    /// Deletes the batches older than `retention` allows, records the purge in the chain
    /// and signs it, all in one transaction. Nothing to delete: no record.
    pub fn purge(
        &mut self,
        db: &Connection,
        retention: &RetentionConfig,
        now: DateTime<Utc>,
    ) -> Result<Option<PurgeReport>, StoreError> {
        if !retention.is_set() {
            return Ok(None);
        }
        let Some(signer) = &self.signer else {
            return Err(StoreError::Refused(
                "retention needs a signing key to sign its purge records; set store.signing_key"
                    .to_owned(),
            ));
        };
        let cut_off = |keep: Option<Duration>| -> Result<Option<DateTime<Utc>>, StoreError> {
            keep.map(|keep| {
                chrono::Duration::from_std(keep)
                    .ok()
                    .and_then(|keep| now.checked_sub_signed(keep))
                    .ok_or_else(|| {
                        StoreError::BadParameter(format!("retention {keep:?} is too long"))
                    })
            })
            .transpose()
        };
        // Microseconds, as the store keeps times: the cut-off verify reads back is the one
        // that decided.
        let now = now.trunc_subsecs(6);
        let mut purge = Link {
            events_before: cut_off(retention.events)?,
            rejected_before: cut_off(retention.rejected)?,
            ..self.next(LinkKind::Purge, now)
        };
        // Batches before the first one still holding rows are purged already.
        let first: Option<i64> = db.query_row(
            FIRST_UNPURGED,
            params![retention.events.is_some(), retention.rejected.is_some()],
            |row| row.get(0),
        )?;
        let Some(first) = first else {
            return Ok(None);
        };
        let links = load_range(db, Some(first), None)?;
        let covered: Vec<(Table, Vec<&Link>)> = Table::ALL
            .iter()
            .map(|&table| (table, newly_covered(&links, &purges(&links), &purge, table)))
            .collect();
        if covered.iter().all(|(_, batches)| batches.is_empty()) {
            return Ok(None);
        }
        // What a purge deletes must be what was committed: otherwise it would launder an
        // earlier change. The batches are re-hashed first.
        let mut to_delete: Vec<&Link> = covered
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        to_delete.sort_by_key(|l| l.seq);
        to_delete.dedup_by_key(|l| l.seq);
        let check = crate::integrity::verify::check_batches(db, &links, &to_delete)?;
        if let Some(finding) = check.findings.first() {
            return Err(StoreError::Refused(format!(
                "the retention purge did not run: a batch it would delete no longer matches its \
                 chain record ({finding}); run `trustpath verify --store` and investigate \
                 before anything is deleted"
            )));
        }
        let batches = covered.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
        let (link, checkpoint) = in_transaction(db, || -> Result<_, StoreError> {
            db.execute_batch(
                "CREATE OR REPLACE TEMP TABLE purge_batches (tbl VARCHAR, batch_id UUID)",
            )?;
            {
                let mut appender =
                    db.appender_to_catalog_and_db("purge_batches", "temp", "main")?;
                for (table, batches) in &covered {
                    for link in batches {
                        let id = link.batch_id.map(|id| id.to_string());
                        appender.append_row(params![table.as_str(), id])?;
                    }
                }
                appender.flush()?;
            }
            let events = db.execute(PURGE_EVENTS, [])? as i64;
            db.execute_batch(PURGE_DERIVED)?;
            let rejected = db.execute(PURGE_REJECTED, [])? as i64;
            for (table, batches) in &covered {
                let digest = covered_digest(batches, *table);
                match table {
                    Table::Events => (purge.events, purge.events_sha256) = (events, digest),
                    Table::Rejected => (purge.rejected, purge.rejected_sha256) = (rejected, digest),
                }
            }
            let link = purge.clone().sealed();
            insert_link(db, &link)?;
            let checkpoint = Checkpoint::sign(signer, &link, now);
            insert_checkpoint(db, &checkpoint)?;
            db.execute_batch("DROP TABLE purge_batches")?;
            Ok((link, checkpoint))
        })?;
        let report = PurgeReport {
            seq: link.seq,
            events_before: link.events_before,
            rejected_before: link.rejected_before,
            events: link.events,
            rejected: link.rejected,
            batches,
        };
        self.head = Some(link);
        self.signed_seq = Some(checkpoint.seq);
        self.signed_at = Instant::now();
        Ok(Some(report))
    }
}
