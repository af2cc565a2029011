//! store: the DuckDB file. One writer thread commits whole batches; readers use their own
//! connections (DuckDB's MVCC), so a query never blocks ingest.
//!
//! - [`migrate`]: versioned DDL from `queries/migrations/`, applied at open.
//! - [`arrow`]: events → Arrow record batch (the only way rows enter `events`).
//! - [`writer`]: the single writer: batch in, one transaction, [`CommitReport`] out.
//! - [`read`]: the queries the API and CLI answer from.
//! - [`connections`]: connections, trust paths and timelines (maintained by `correlate`).
//! - [`named`]: the named queries of `queries/named/` and their typed parameters.
//! - [`sandbox`]: analysts' ad-hoc SQL, checked, read-only, limited.
//! - [`alerts`]: alerts and their lifecycle (raised by `detect`).

pub mod alerts;
pub mod arrow;
pub mod compact;
pub mod connections;
pub mod migrate;
pub mod named;
pub mod read;
pub mod sandbox;
mod stored_ids;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use duckdb::Connection;
use serde::Serialize;
use uuid::Uuid;

use crate::config::{CorrelateConfig, RulesConfig, StoreConfig};
use crate::detect::{Detector, DetectorThread, Engine, RuleSet, SinkTarget};
use crate::event::Event;
use crate::integrity::keys::KeyError;
use crate::integrity::{Chain, Signer};
use crate::normalize::{RawRecord, Rejected};

pub use read::Reader;

const MACROS: &str = include_str!("../../queries/macros.sql");
pub use writer::{PendingCommit, WeakWriter, Writer};

/// What went wrong in the store. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store {path} is held by another process ({detail}); stop that process, or run read \
         commands against its API with --server"
    )]
    Locked { path: PathBuf, detail: String },
    #[error("cannot open the store {path}: {source}")]
    Open {
        path: PathBuf,
        source: duckdb::Error,
    },
    #[error("cannot create the store's directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the store {path} has schema version {found}, newer than this trustpath knows ({known}); \
         upgrade trustpath"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: duckdb::Error,
    },
    #[error("store query failed: {0}{hint}", hint = memory_hint(.0))]
    Query(#[from] duckdb::Error),
    #[error("building the Arrow batch failed: {0}")]
    Arrow(#[from] duckdb::arrow::error::ArrowError),
    #[error("invalid query parameter: {0}")]
    BadParameter(String),
    #[error("{0}")]
    NotFound(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("the query was interrupted")]
    Interrupted,
    #[error("internal store error: {0}")]
    Internal(String),
    #[error("the store writer has stopped")]
    WriterStopped,
    #[error("the detector has stopped (the log says why); restart trustpath")]
    DetectorStopped,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("compacting {store} into {out} failed ({out} was removed): {source}")]
    Compact {
        store: PathBuf,
        out: PathBuf,
        source: duckdb::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Which collector a batch came through; recorded in `ingest_log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Collector {
    Nats,
    Http,
    File,
}

impl Collector {
    pub fn as_str(self) -> &'static str {
        match self {
            Collector::Nats => "nats",
            Collector::Http => "http",
            Collector::File => "file",
        }
    }
}

/// Everything one commit writes.
///
/// An event pushed into a batch becomes its row for the store at once and the typed event
/// is dropped: of each event the batch keeps that row and what the writer needs besides
/// ([`Received`]), so a batch in flight holds its events once.
#[derive(Debug)]
pub struct Batch {
    pub collector: Collector,
    pub received_at: DateTime<Utc>,
    pub rejected: Vec<Rejected>,
    /// The collector has more input right behind this batch (a full chunk of a file, a
    /// full pull from NATS): the writer then commits the next batch before correlating
    /// this one (`correlate.max_lag`).
    pub more_follows: bool,
    /// Each event's id, time and record as received, in the order of its row.
    received: Vec<Received>,
    rows: Rows,
}

/// The events' rows: built as they are pushed, then finished with their digest by
/// [`Batch::prepare`] (or by the writer, for a batch that was not prepared).
#[derive(Debug)]
enum Rows {
    Building(arrow::EventRows),
    Prepared(arrow::Prepared),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::Building(arrow::EventRows::default())
    }
}

/// What the writer needs of an event besides its row: its id and time, to find it among
/// the stored events, and the record as received with its hash, which is kept in
/// `rejected` should the id turn out to be stored with other content.
#[derive(Debug)]
pub struct Received {
    pub id: String,
    pub time: DateTime<Utc>,
    pub raw_sha256: String,
    pub record: RawRecord,
}

impl From<Event> for Received {
    fn from(event: Event) -> Self {
        Received {
            id: event.fields.id,
            time: event.fields.time,
            raw_sha256: event.raw_sha256,
            record: event.record,
        }
    }
}

impl Batch {
    pub fn new(collector: Collector) -> Self {
        Batch::with_capacity(collector, 0)
    }

    /// A batch sized for `events` events (more may be pushed).
    pub fn with_capacity(collector: Collector, events: usize) -> Self {
        Batch {
            collector,
            received_at: Utc::now(),
            rejected: Vec::new(),
            more_follows: false,
            received: Vec::with_capacity(events),
            rows: Rows::Building(arrow::EventRows::with_capacity(events)),
        }
    }

    /// Adds `event` as its row. Refused once the rows are prepared: they and their digest
    /// are final then.
    pub fn push(&mut self, event: Event) -> Result<(), StoreError> {
        let Rows::Building(rows) = &mut self.rows else {
            return Err(StoreError::Internal(format!(
                "event {} was added to a batch whose rows were already prepared",
                event.fields.id
            )));
        };
        rows.push(&event);
        self.received.push(Received::from(event));
        Ok(())
    }

    /// Finishes the events' rows for the store and their digest for the chain now, on this
    /// thread, so the writer does not have to. Call it once the batch is complete.
    pub fn prepare(&mut self) -> Result<(), StoreError> {
        if let Rows::Building(rows) = &mut self.rows {
            self.rows = Rows::Prepared(std::mem::take(rows).finish(self.received_at)?);
        }
        Ok(())
    }

    /// The prepared rows, taken out for the writer (finished now if they were not).
    fn take_prepared(&mut self) -> Result<arrow::Prepared, StoreError> {
        match std::mem::take(&mut self.rows) {
            Rows::Prepared(prepared) => Ok(prepared),
            Rows::Building(rows) => rows.finish(self.received_at),
        }
    }

    /// The events, one per row, in the rows' order.
    pub fn events(&self) -> &[Received] {
        &self.received
    }

    pub fn records(&self) -> usize {
        self.received.len() + self.rejected.len()
    }
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommitReport {
    pub batch_id: Uuid,
    /// New rows in `events`.
    pub accepted: usize,
    /// Events whose id was already stored (or repeated in the batch) with the same content.
    pub duplicates: usize,
    /// Records of this batch kept in `rejected` (id conflicts included). A record already
    /// kept under the same delivery key with the same bytes is counted but not stored again.
    pub rejected: usize,
    /// Whether the batch's correlation committed with it; `false` when the writer deferred
    /// it under a burst (`correlate.max_lag`).
    #[serde(skip)]
    pub correlated: bool,
    /// Where the writer's time went (for `trustpath bench` and the debug log).
    #[serde(skip)]
    pub phases: CommitPhases,
}

/// The writer's time for one batch, phase by phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitPhases {
    /// Building the batch's Arrow rows and their digest, before the transaction opens,
    /// when the collector did not ([`Batch::prepare`]).
    pub stage: Duration,
    /// Appending the rows to `events` (or staging and merging them, when an id may
    /// repeat), rejected records and the ingest log.
    pub insert: Duration,
    /// Bringing connections and trust paths up to date with the batch.
    pub correlate: Duration,
    /// Reading merged rows back for their digest (appended rows come digested), and
    /// appending the chain record.
    pub chain: Duration,
    /// DuckDB's commit (its WAL write, and a checkpoint when the WAL is due for one).
    pub commit: Duration,
}

/// An open store: the path and the connection new connections are cloned from.
pub struct Store {
    path: PathBuf,
    config: StoreConfig,
    db: Connection,
}

impl Store {
    /// Opens (creating if needed) and migrates the store.
    pub fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        let path = config.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let settings = settings(config)?;
        let db = Connection::open_with_flags(&path, settings)
            .map_err(|source| open_error(&path, source))?;
        migrate::apply(&db, &path)?;
        Chain::link_earlier_batches(&db)?;
        db.execute_batch(MACROS)?;
        Ok(Store {
            path,
            config: config.clone(),
            db,
        })
    }

    /// Opens an existing store read-only, as it is: nothing is created or migrated, so what
    /// `verify` sees is what the file holds.
    pub fn open_to_verify(config: &StoreConfig) -> Result<Store, StoreError> {
        let path = config.path.clone();
        if !path.is_file() {
            return Err(StoreError::NotFound(format!(
                "there is no store at {}; give the store's path with --store-path",
                path.display()
            )));
        }
        let settings = settings(config)?.access_mode(duckdb::AccessMode::ReadOnly)?;
        let db = Connection::open_with_flags(&path, settings)
            .map_err(|source| open_error(&path, source))?;
        let found: i64 = db
            .query_row("SELECT max(version) FROM schema_migrations", [], |row| {
                row.get(0)
            })
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        let known = migrate::current_version();
        if found > known {
            return Err(StoreError::TooNew { path, found, known });
        }
        if found < known {
            return Err(StoreError::Refused(format!(
                "the store {} has schema version {found}, older than this trustpath's \
                 ({known}); start trustpath on it once (serve, or ingest) so it is migrated \
                 (and batches from before the chain are linked), then verify",
                path.display()
            )));
        }
        Ok(Store {
            path,
            config: config.clone(),
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A reader with its own connections.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Ok(Reader::new(Arc::new(Mutex::new(self.db.try_clone()?))))
    }

    /// Starts the single writer thread on its own connection. `queue` batches may wait.
    /// `correlate` says how the writer maintains connections and trust paths; `detector`,
    /// when given, is woken after each commit.
    pub fn writer(
        &self,
        queue: usize,
        correlate: CorrelateConfig,
        detector: Option<Detector>,
    ) -> Result<(Writer, writer::WriterThread), StoreError> {
        let db = self.db.try_clone()?;
        let chain = Chain::open(&db, self.signer()?, self.config.checkpoint_every)?;
        Writer::spawn(db, queue, correlate, detector, chain)
    }

    /// The key that signs this store's checkpoints, purges and exports (created beside the
    /// store when missing and not configured). None for an in-memory store without one.
    pub fn signer(&self) -> Result<Option<Signer>, StoreError> {
        let signer = match (&self.config.signing_key, self.config.signing_key_path()) {
            // A configured key must exist: a typo must not start a new key silently.
            (Some(path), _) => Signer::load(path)?,
            (None, Some(path)) => Signer::load_or_create(&path)?,
            (None, None) => return Ok(None),
        };
        // Nothing signed with another key would verify with the key reviewers hold.
        let last = crate::integrity::chain::last_checkpoint(&self.db)?.map(|c| c.public_key);
        if let Some(last) = last.filter(|last| *last != signer.public().key_id()) {
            return Err(StoreError::Refused(format!(
                "the store's checkpoints are signed by key {}, but the signing key (store.\
                 signing_key) is {}: nothing signed now would verify with the key reviewers \
                 hold. Restore the store's key, or point store.signing_key at it",
                crate::integrity::verify::short(&last),
                crate::integrity::verify::short(&signer.public().key_id())
            )));
        }
        Ok(Some(signer))
    }

    /// A connection of its own (the detector's, the alert sinks').
    pub fn connection(&self) -> Result<Connection, StoreError> {
        Ok(self.db.try_clone()?)
    }

    /// Loads the rules (built-in pack, `rules.dir`, config), checks each against this
    /// store, and starts the detector thread with those that work. The rules that do not
    /// load or check are logged with their file and line (and kept on the detector, for
    /// `/v1/rules`); the others run regardless.
    pub fn detector(
        &self,
        rules: &RulesConfig,
        sinks: Vec<SinkTarget>,
        sink_wake: Option<Arc<tokio::sync::Notify>>,
    ) -> Result<(Detector, DetectorThread), StoreError> {
        let db = self.db.try_clone()?;
        let mut set = RuleSet::load(rules);
        Engine::check(&db, &mut set)?;
        for error in &set.errors {
            tracing::error!(%error, "rule not loaded; the other rules run");
        }
        let mut engine = Engine::new(set.rules, sinks);
        if let Some(wake) = sink_wake {
            engine = engine.with_sink_wake(wake);
        }
        Detector::spawn(db, engine, set.errors)
    }
}

/// The DuckDB storage format of files trustpath creates.
pub const STORAGE_VERSION: &str = "v1.5.0";

/// The instance settings every open uses. Nothing trustpath runs in SQL reads or writes
/// other files or the network, and analysts' queries (see `sandbox`) must not either: the
/// instance is opened with external access off and its configuration locked.
fn settings(config: &StoreConfig) -> Result<duckdb::Config, StoreError> {
    let mut settings = duckdb::Config::default()
        .enable_external_access(false)
        .and_then(|c| c.enable_autoload_extension(false))
        // New files in DuckDB's current storage format, which can compress long strings
        // (trust paths) with zstd; the v1.0 format DuckDB writes by default cannot. An
        // existing file keeps the format it was created with (`trustpath compact` rewrites it).
        .and_then(|c| c.with("storage_compatibility_version", STORAGE_VERSION))
        .and_then(|c| c.with("lock_configuration", "true"))?;
    if !config.wal_autocheckpoint.is_empty() {
        settings = settings
            .with("wal_autocheckpoint", &config.wal_autocheckpoint)
            .map_err(|source| StoreError::Open {
                path: config.path.clone(),
                source,
            })?;
    }
    if !config.memory_limit.is_empty() {
        settings = settings
            .max_memory(&config.memory_limit)
            .map_err(|source| StoreError::Open {
                path: config.path.clone(),
                source,
            })?;
    }
    Ok(settings)
}

/// Runs `work` in one transaction on `db`: committed when it succeeds, rolled back when it
/// fails (a read-only `work` gets one consistent snapshot either way).
pub(crate) fn in_transaction<T, E: From<duckdb::Error>>(
    db: &Connection,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    db.execute_batch("BEGIN TRANSACTION")?;
    match work() {
        Ok(value) => {
            db.execute_batch("COMMIT")?;
            Ok(value)
        }
        Err(error) => {
            // The failure may have aborted the transaction already; ROLLBACK then fails too.
            let _ = db.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// A time as RFC 3339 text with microseconds: how Rust hands times to queries, which cast
/// them with `::TIMESTAMPTZ` (the store's DuckDB has no ICU to bind them otherwise).
pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Epoch microseconds, as queries return times with `epoch_us`, as a time.
pub(crate) fn from_micros(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Internal(format!("time {us} µs is out of range")))
}

/// What to do when DuckDB ran out of the memory it may use. Most of it is a cache that is
/// evicted under pressure, but the indexes it writes to are not, and they grow with the store.
fn memory_hint(error: &duckdb::Error) -> &'static str {
    if error.to_string().contains("Out of Memory Error") {
        "\nDuckDB used all of `store.memory_limit`, which has to hold the indexes of the \
         connection tables besides the working memory of what runs: raise it \
         (TRUSTPATH_STORE_MEMORY_LIMIT or --store-memory-limit) and restart trustpath; a \
         batch whose commit failed was not acknowledged to its sender"
    } else {
        ""
    }
}

fn open_error(path: &Path, source: duckdb::Error) -> StoreError {
    let detail = source.to_string();
    if detail.contains("Could not set lock") || detail.contains("Conflicting lock") {
        StoreError::Locked {
            path: path.to_owned(),
            detail,
        }
    } else {
        StoreError::Open {
            path: path.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_duckdb_memory_says_which_setting_to_raise() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("SET memory_limit = '1MB'").unwrap();
        // An index DuckDB writes to cannot be evicted: the same failure a large store hits.
        db.execute_batch("CREATE TABLE t (v VARCHAR PRIMARY KEY)")
            .unwrap();
        let error: StoreError = db
            .execute_batch("INSERT INTO t SELECT range::VARCHAR FROM range(200000)")
            .unwrap_err()
            .into();
        let message = error.to_string();
        assert!(message.contains("Out of Memory Error"), "{message}");
        assert!(
            message.contains("raise it (TRUSTPATH_STORE_MEMORY_LIMIT"),
            "{message}"
        );

        let other: StoreError = db
            .execute_batch("SELECT * FROM missing")
            .unwrap_err()
            .into();
        assert!(!other.to_string().contains("memory_limit"), "{other}");
    }

    fn event(id: &str) -> Event {
        let raw = format!(
            r#"{{"id":"{id}","time":"2026-11-26T10:00:00Z","kind":"token.issue","source":{{"type":"authorization_server"}}}}"#
        );
        crate::normalize::Normalizer::new(1024)
            .normalize(RawRecord {
                raw: bytes::Bytes::from(raw),
                origin: format!("test:{id}"),
                delivery_key: None,
                format: "native".to_owned(),
            })
            .unwrap()
    }

    #[test]
    fn a_batch_keeps_each_event_as_its_row_and_what_the_writer_needs() {
        let events = [event("e1"), event("e2")];
        let whole = arrow::Prepared::build(&events, Utc::now()).unwrap();
        let mut batch = Batch::new(Collector::File);
        for event in events {
            batch.push(event).unwrap();
        }
        let received: Vec<_> = batch.events().iter().map(|e| e.id.as_str()).collect();
        assert_eq!(received, ["e1", "e2"]);
        assert_eq!(batch.events()[1].record.origin, "test:e2");
        batch.prepare().unwrap();
        // Pushed one by one, the rows are those of the events built together.
        let prepared = batch.take_prepared().unwrap();
        assert_eq!(prepared.num_rows(), 2);
        // (received_at, which differs, is not a staged column.)
        assert_eq!(prepared.staged(), whole.staged());
    }

    #[test]
    fn an_event_pushed_after_the_rows_are_prepared_is_refused() {
        let mut batch = Batch::new(Collector::Http);
        batch.push(event("e1")).unwrap();
        batch.prepare().unwrap();
        let refused = batch.push(event("e2")).unwrap_err().to_string();
        assert!(
            refused.contains("event e2 was added to a batch whose rows were already prepared"),
            "{refused}"
        );
        assert_eq!(batch.records(), 1);
        assert_eq!(batch.take_prepared().unwrap().num_rows(), 1);
    }
}
