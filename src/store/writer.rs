//! The single writer. One OS thread owns the write connection; collectors send it whole
//! batches and wait for the [`CommitReport`]. One batch is one transaction: its events,
//! its rejected records and its `ingest_log` row commit together or not at all, so a
//! collector that acks after the report can never lose or half-store a batch.
//!
//! The batch's correlation (connections, trust paths) joins that transaction, unless more
//! batches follow ([`Batch::more_follows`]: a full file chunk or NATS pull): then the
//! writer commits them first and correlates them after, in order, in passes of several batches
//! with a transaction each ([`Backlog`], bounded by `correlate.max_lag`).
//! A burst is acknowledged at the speed of the event commit; reads of connections lag it
//! by a small multiple of that setting at most. The detector reads only correlated batches.
//!
//! The same transaction appends the batch's chain record ([`Chain`]); after it commits, the
//! head is signed when a checkpoint is due. Retention purges run here too, so every write
//! to the chained tables goes through this one thread.

use std::collections::{HashMap, VecDeque};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use duckdb::{Connection, params};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::stored_ids::StoredIds;
use super::{Batch, CommitPhases, CommitReport, StoreError, arrow, in_transaction};
use crate::config::{CorrelateConfig, RetentionConfig};
use crate::correlate::maintain;
use crate::detect::Detector;
use crate::integrity::chain::Table;
use crate::integrity::{Chain, Checkpoint, PurgeReport};
use crate::normalize::Rejected;

const CREATE_STAGING: &str = include_str!("../../queries/ingest/create_staging.sql");
const MERGE_EVENTS: &str = include_str!("../../queries/ingest/merge_events.sql");
const FIND_STORED: &str = include_str!("../../queries/ingest/find_stored.sql");
const FIND_CONFLICTS: &str = include_str!("../../queries/ingest/find_conflicts.sql");
const INSERT_REJECTED: &str = include_str!("../../queries/ingest/insert_rejected.sql");
const INSERT_INGEST_LOG: &str = include_str!("../../queries/ingest/insert_ingest_log.sql");

enum Job {
    Commit {
        batch: Batch,
        reply: oneshot::Sender<Result<CommitReport, StoreError>>,
    },
    Checkpoint {
        reply: oneshot::Sender<Result<Option<Checkpoint>, StoreError>>,
    },
    Purge {
        retention: RetentionConfig,
        reply: oneshot::Sender<Result<Option<PurgeReport>, StoreError>>,
    },
    CatchUp {
        reply: oneshot::Sender<()>,
    },
}

/// Handle to the writer thread. Clone freely; the thread stops when the last handle drops
/// (after committing what it was sent) and checkpoints the store on its way out.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

/// A [`Writer`] handle that lets the writer stop once every strong handle is gone.
#[derive(Clone)]
pub struct WeakWriter(mpsc::WeakSender<Job>);

impl WeakWriter {
    /// The writer, unless it has stopped or is stopping.
    pub fn upgrade(&self) -> Result<Writer, StoreError> {
        self.0
            .upgrade()
            .map(|jobs| Writer { jobs })
            .ok_or(StoreError::WriterStopped)
    }
}

/// A batch handed to the writer; [`PendingCommit::report`] waits until it is durable.
pub struct PendingCommit(oneshot::Receiver<Result<CommitReport, StoreError>>);

impl PendingCommit {
    pub async fn report(self) -> Result<CommitReport, StoreError> {
        self.0.await.map_err(|_| StoreError::WriterStopped)?
    }
}

/// The writer thread itself; [`WriterThread::join`] waits until every [`Writer`] handle
/// is dropped and the last batch and the checkpoint are done.
pub struct WriterThread(thread::JoinHandle<()>);

impl WriterThread {
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("the store writer thread panicked");
        }
    }
}

impl Writer {
    pub(super) fn spawn(
        db: Connection,
        queue: usize,
        correlate: CorrelateConfig,
        detector: Option<Detector>,
        mut chain: Chain,
    ) -> Result<(Writer, WriterThread), StoreError> {
        db.execute_batch(CREATE_STAGING)?;
        let mut stored = StoredIds::load(&db)?;
        maintain::setup(&db)?;
        if maintain::catch_up(&db, &correlate)? > 0
            && let Some(detector) = &detector
        {
            // Batches that predate correlation are now correlated: examine them too.
            detector.wake();
        }
        let (jobs, mut inbox) = mpsc::channel::<Job>(queue.max(1));
        // Only for waiting on the inbox with a timeout; the work itself is synchronous.
        let idle_timer = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Internal(format!("writer timer: {e}")))?;
        let thread = thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || {
                let mut backlog = Backlog::new(correlate.max_lag);
                let mut announced = false;
                loop {
                    let job = if backlog.is_empty() {
                        inbox.blocking_recv()
                    } else {
                        if backlog.is_overdue() {
                            // Too far behind: one pass of correlation before each commit.
                            backlog.correlate_pass(&db, &correlate, detector.as_ref());
                        }
                        // A collector with more input sends its next batch right after
                        // the last report; give it a moment before starting on the backlog.
                        let wait = if announced {
                            ANNOUNCED.min(backlog.time_left())
                        } else {
                            IDLE
                        };
                        let next = idle_timer
                            .block_on(async { tokio::time::timeout(wait, inbox.recv()).await });
                        match next {
                            Ok(job) => job,
                            Err(_) => {
                                announced = false;
                                while !backlog.is_empty() && inbox.is_empty() {
                                    backlog.correlate_pass(&db, &correlate, detector.as_ref());
                                }
                                continue;
                            }
                        }
                    };
                    let Some(job) = job else { break };
                    // The caller may have given up waiting (shutdown); what was done stands.
                    match job {
                        Job::Commit { batch, reply } => {
                            // With more input announced (or older batches still
                            // uncorrelated, which keeps the order), commit first and
                            // correlate after. A steady stream that the writer keeps up
                            // with is correlated in each commit, for detection's sake.
                            let defer = !correlate.max_lag.is_zero()
                                && (batch.more_follows || !backlog.is_empty());
                            let received_at = batch.received_at;
                            // Any collector's batch decides: one without more behind it
                            // (a lone HTTP post, say) gives the backlog its turn sooner.
                            announced = batch.more_follows;
                            let result =
                                commit(&db, &correlate, defer, &mut chain, &mut stored, batch);
                            match &result {
                                Ok(report) if report.accepted > 0 => {
                                    if !report.correlated {
                                        backlog.push(report.batch_id, received_at, report.accepted);
                                    } else if let Some(detector) = &detector {
                                        detector.wake();
                                    }
                                }
                                Ok(_) => {}
                                Err(error) => {
                                    tracing::error!(%error, "batch commit failed; nothing of it was stored");
                                    // Unless DuckDB reported a COMMIT failed that did commit:
                                    // the store says which batches still need correlating.
                                    if let Err(error) = backlog.resync(&db) {
                                        tracing::error!(%error, "re-reading the uncorrelated batches failed");
                                    }
                                }
                            }
                            let _ = reply.send(result);
                        }
                        Job::Checkpoint { reply } => {
                            let _ = reply.send(chain.checkpoint(&db));
                        }
                        Job::Purge { retention, reply } => {
                            // A purge looks at whole batches: correlate the backlog first.
                            backlog.correlate_all(&db, &correlate, detector.as_ref());
                            let result = chain.purge(&db, &retention, chrono::Utc::now());
                            match &result {
                                Ok(Some(purge)) => tracing::info!(
                                    seq = purge.seq,
                                    events = purge.events,
                                    rejected = purge.rejected,
                                    batches = purge.batches,
                                    "retention purge recorded and signed"
                                ),
                                Ok(None) => {}
                                Err(error) => tracing::error!(%error, "retention purge failed; nothing was deleted"),
                            }
                            let _ = reply.send(result);
                        }
                        Job::CatchUp { reply } => {
                            backlog.correlate_all(&db, &correlate, detector.as_ref());
                            let _ = reply.send(());
                        }
                    }
                }
                backlog.correlate_all(&db, &correlate, detector.as_ref());
                if let Err(error) = chain.checkpoint(&db) {
                    tracing::warn!(%error, "signing the chain head at shutdown failed");
                }
                if let Err(error) = checkpoint_at_shutdown(&db) {
                    tracing::warn!(%error, "checkpoint at shutdown failed; the WAL will be replayed at next open");
                }
            })
            .map_err(|_| StoreError::WriterStopped)?;
        Ok((Writer { jobs }, WriterThread(thread)))
    }

    /// Commits `batch` in one transaction. Returns once it is durable.
    pub async fn commit(&self, batch: Batch) -> Result<CommitReport, StoreError> {
        self.submit(batch).await?.report().await
    }

    /// Hands `batch` to the writer and returns without waiting for its commit, so a caller
    /// with more input can prepare and hand over the next batch while this one commits.
    /// Batches commit in the order they are submitted.
    pub async fn submit(&self, batch: Batch) -> Result<PendingCommit, StoreError> {
        let (reply, report) = oneshot::channel();
        self.send(Job::Commit { batch, reply }).await?;
        Ok(PendingCommit(report))
    }

    /// Signs the chain head now, unless it is signed already (or the store has no key).
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Checkpoint { reply }).await?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Applies `retention`: deletes the batches it no longer keeps and records the purge.
    pub async fn purge(
        &self,
        retention: RetentionConfig,
    ) -> Result<Option<PurgeReport>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Purge { retention, reply }).await?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Returns once every batch committed before the call is correlated (connections and
    /// trust paths include its events), so a reader that needs events and connections to
    /// agree (an export, a replay) does not see a burst's deferred batches half done. A
    /// batch whose correlation fails stays uncorrelated (logged and counted) until the next
    /// start.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::CatchUp { reply }).await?;
        answer.await.map_err(|_| StoreError::WriterStopped)
    }

    /// A handle that does not keep the writer running: for a task that may outlive the
    /// service's shutdown (an export job) and needs the writer only now and then.
    pub fn downgrade(&self) -> WeakWriter {
        WeakWriter(self.jobs.downgrade())
    }

    async fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)
    }
}

/// Commits `batch`, with its correlation in the same transaction unless `defer`.
fn commit(
    db: &Connection,
    correlate: &CorrelateConfig,
    defer: bool,
    chain: &mut Chain,
    stored: &mut StoredIds,
    mut batch: Batch,
) -> Result<CommitReport, StoreError> {
    let span = tracing::debug_span!(
        "commit",
        collector = batch.collector.as_str(),
        records = batch.records()
    );
    let _entered = span.enter();
    let started = Instant::now();

    let batch_id = Uuid::now_v7();
    let mut clock = Clock::start();
    // Finished before the transaction opens so the write lock is held as briefly as
    // possible, unless the collector finished them already (Batch::prepare).
    let prepared = batch.take_prepared()?;
    let stage = clock.lap();
    let outcome = in_transaction(db, || {
        let mut phases = CommitPhases {
            stage,
            ..CommitPhases::default()
        };
        let (report, appended) = write(
            db,
            correlate,
            defer,
            stored,
            &batch,
            &prepared,
            batch_id,
            &mut phases,
            &mut clock,
        )?;
        // Rows appended as they are have their digest already: no need to read them back.
        let events = appended.then(|| prepared.digest.clone());
        if cfg!(debug_assertions) && appended {
            // What `verify` will recompute must be what was digested (tests run this).
            let stored = Table::Events.digest(db, batch_id)?;
            if stored != prepared.digest {
                return Err(StoreError::Internal(format!(
                    "batch {batch_id}: the rows as stored digest to {} but were digested as \
                     appended to {}",
                    stored.sha256, prepared.digest.sha256
                )));
            }
        }
        let link = chain.link_batch(db, batch_id, events)?;
        phases.chain = clock.lap();
        Ok::<_, StoreError>((report, link, phases))
    });
    // Whatever the outcome: DuckDB can report a COMMIT as failed that did commit (its
    // automatic checkpoint failing). An id recorded in vain only costs a lookup, and the
    // chain goes on from the head the store holds.
    for event in batch.events() {
        stored.record(&event.id);
    }
    if outcome.is_err()
        && let Err(error) = chain.reload_head(db)
    {
        tracing::error!(%error, "re-reading the chain head after a failed commit failed");
    }
    let (mut report, link, mut phases) = outcome?;
    phases.commit = clock.lap();
    report.phases = phases;
    chain.committed(link);
    crate::metrics::batch_committed(batch.collector, &report, started.elapsed());
    tracing::debug!(
        stage_ms = phases.stage.as_millis() as u64,
        insert_ms = phases.insert.as_millis() as u64,
        correlate_ms = phases.correlate.as_millis() as u64,
        chain_ms = phases.chain.as_millis() as u64,
        commit_ms = phases.commit.as_millis() as u64,
        "batch committed"
    );
    if let Err(error) = chain.checkpoint_if_due(db) {
        // The batch stands; the head is signed at the next checkpoint.
        tracing::warn!(%error, "signing the chain head failed");
    }
    Ok(report)
}

/// DuckDB refuses a CHECKPOINT while another connection's transaction holds its checkpoint
/// lock (one that updates rows or changes the catalog, as the detector's alert updates
/// do): the detector may still be on the batches the last correlation pass woke it for, so
/// wait for it a little. (`FORCE CHECKPOINT` would wait without bound.) The refusal is told
/// by its text, which a unit test pins.
fn checkpoint_at_shutdown(db: &Connection) -> Result<(), duckdb::Error> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match db.execute_batch("CHECKPOINT") {
            Err(error)
                if error.to_string().contains("other write transactions")
                    && Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// How long the writer waits for a collector's next batch before it starts on the backlog.
const IDLE: Duration = Duration::from_millis(25);

/// The same after a batch that announced more right behind it ([`Batch::more_follows`]):
/// the collector may take longer to normalize its next batch than the writer took to
/// commit this one, and a correlation pass started meanwhile would hold that batch up.
/// It never runs past the backlog's `correlate.max_lag`.
const ANNOUNCED: Duration = Duration::from_millis(500);

/// Batches committed without their correlation because more batches followed, oldest
/// first. The writer correlates them in order, in passes of up to [`PASS_EVENTS`] events
/// with a transaction each, when no batch waits, or one pass before each commit once the
/// oldest is `correlate.max_lag` old. A batch still here when trustpath stops is found by
/// `maintain::catch_up` at the next start.
struct Backlog {
    batches: VecDeque<Deferred>,
    max_lag: Duration,
}

struct Deferred {
    batch_id: Uuid,
    received_at: DateTime<Utc>,
    events: usize,
    committed: Instant,
}

/// Most events one pass over the backlog correlates: a connection several batches touch
/// is then evaluated once, while a pass still ends soon enough for the next commit.
const PASS_EVENTS: usize = 40_000;

impl Backlog {
    fn new(max_lag: Duration) -> Self {
        Backlog {
            batches: VecDeque::new(),
            max_lag,
        }
    }

    fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// How long until the oldest batch is `max_lag` old.
    fn time_left(&self) -> Duration {
        self.batches.front().map_or(self.max_lag, |oldest| {
            self.max_lag.saturating_sub(oldest.committed.elapsed())
        })
    }

    fn is_overdue(&self) -> bool {
        self.batches
            .front()
            .is_some_and(|oldest| oldest.committed.elapsed() >= self.max_lag)
    }

    fn push(&mut self, batch_id: Uuid, received_at: DateTime<Utc>, events: usize) {
        self.batches.push_back(Deferred {
            batch_id,
            received_at,
            events,
            committed: Instant::now(),
        });
        self.publish_metrics();
    }

    fn correlate_all(
        &mut self,
        db: &Connection,
        correlate: &CorrelateConfig,
        detector: Option<&Detector>,
    ) {
        while !self.is_empty() {
            self.correlate_pass(db, correlate, detector);
        }
    }

    /// Correlates the oldest batches, up to [`PASS_EVENTS`] events, in one pass. When the
    /// pass fails, its batches are tried one by one, so one bad batch holds back only
    /// itself (see [`failed`]).
    fn correlate_pass(
        &mut self,
        db: &Connection,
        correlate: &CorrelateConfig,
        detector: Option<&Detector>,
    ) {
        // The oldest batch, and those after it while the pass stays within PASS_EVENTS.
        let mut take = 0;
        let mut events = 0;
        for batch in &self.batches {
            events += batch.events;
            if take > 0 && events > PASS_EVENTS {
                break;
            }
            take += 1;
        }
        let pass: Vec<Deferred> = self.batches.drain(..take).collect();
        let (Some(oldest), Some(newest)) = (pass.first(), pass.last()) else {
            return;
        };
        let batches: Vec<Uuid> = pass.iter().map(|batch| batch.batch_id).collect();
        let started = Instant::now();
        let outcome = match maintain::apply_committed(db, correlate, &batches, newest.received_at) {
            Err(error) if pass.len() > 1 => {
                // Find the batch that fails: the others are correlated one by one.
                tracing::warn!(%error, batches = pass.len(), "a correlation pass failed; correlating its batches one by one");
                for batch in &pass {
                    if let Err(error) = maintain::apply_committed(
                        db,
                        correlate,
                        &[batch.batch_id],
                        batch.received_at,
                    ) {
                        failed(&[batch.batch_id], &error);
                    }
                }
                Ok(0)
            }
            outcome => outcome,
        };
        match outcome {
            Ok(evaluated) => {
                tracing::debug!(
                    batches = batches.len(),
                    evaluated,
                    correlate_ms = started.elapsed().as_millis() as u64,
                    lag_ms = oldest.committed.elapsed().as_millis() as u64,
                    "deferred batches correlated"
                );
                if let Some(detector) = detector {
                    detector.wake();
                }
            }
            Err(error) => failed(&batches, &error),
        }
        self.publish_metrics();
    }

    /// Replaces the backlog with what the store holds uncorrelated, oldest first.
    fn resync(&mut self, db: &Connection) -> Result<(), StoreError> {
        let known: HashMap<Uuid, Instant> = self
            .batches
            .iter()
            .map(|batch| (batch.batch_id, batch.committed))
            .collect();
        self.batches = maintain::uncorrelated(db)?
            .into_iter()
            .map(|(batch_id, received_at, events)| Deferred {
                batch_id,
                received_at,
                events,
                committed: known.get(&batch_id).copied().unwrap_or_else(Instant::now),
            })
            .collect();
        self.publish_metrics();
        Ok(())
    }

    fn publish_metrics(&self) {
        let oldest = self.batches.front().map(|b| b.committed.elapsed());
        crate::metrics::correlation_backlog(self.batches.len(), oldest.unwrap_or_default());
    }
}

/// A deferred correlation that failed is logged and counted, never retried in a loop: the
/// batches' events stand, and `maintain::catch_up` tries again at the next start.
fn failed(batches: &[Uuid], error: &StoreError) {
    crate::metrics::correlation_failed();
    tracing::error!(
        batches = ?batches,
        %error,
        "correlating committed batches failed; their events are stored, and their \
         connections are brought up to date when trustpath next starts"
    );
}

/// Time since the last lap.
struct Clock(Instant);

impl Clock {
    fn start() -> Self {
        Clock(Instant::now())
    }

    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let took = now - self.0;
        self.0 = now;
        took
    }
}

/// The batch's rows into `events` (appended as built, or merged past the ids stored
/// already), its rejected records, its ingest log row, and its correlation unless `defer`.
/// Also returns whether the rows were appended as built, so their digest is the prepared one.
fn write(
    db: &Connection,
    correlate: &CorrelateConfig,
    defer: bool,
    stored: &StoredIds,
    batch: &Batch,
    prepared: &arrow::Prepared,
    batch_id: Uuid,
    phases: &mut CommitPhases,
    clock: &mut Clock,
) -> Result<(CommitReport, bool), StoreError> {
    let batch_id_text = batch_id.to_string();
    let received_at = super::rfc3339(batch.received_at);

    let mut accepted = 0;
    let mut appended = false;
    let mut rejected: Vec<Rejected> = Vec::new();
    if prepared.num_rows() > 0 {
        if find_stored(db, stored, batch)? == 0 && ids_unique(batch) {
            // Nothing to skip (no id stored before, none repeated in the batch): the rows
            // go straight into `events`.
            let mut appender = db.appender("events")?;
            appender.append_record_batch(prepared.stored(batch_id)?)?;
            // Flush explicitly: a failure on drop would be silent.
            appender.flush()?;
            accepted = prepared.num_rows();
            appended = true;
        } else {
            (accepted, rejected) = merge(db, batch, prepared, &received_at, &batch_id_text)?;
        }
    }
    let repeated = batch.events().len() - accepted;
    phases.insert = clock.lap();
    let correlated = accepted == 0 || !defer;
    if accepted > 0 && correlated {
        maintain::apply(db, correlate, &[batch_id], batch.received_at)?;
    }
    phases.correlate = clock.lap();

    rejected.extend(batch.rejected.iter().cloned());
    if !rejected.is_empty() {
        let mut appender = db.appender_to_catalog_and_db("rejected_staging", "temp", "main")?;
        for Rejected {
            record,
            reason,
            raw_sha256,
        } in &rejected
        {
            appender.append_row(params![
                record.origin,
                record.format,
                reason,
                record.raw.as_ref(),
                raw_sha256,
                record.delivery_key,
            ])?;
        }
        appender.flush()?;
        drop(appender);
        // A record kept before (same delivery key, same bytes) is not stored again, but it
        // is still a rejected record of this batch.
        db.execute(INSERT_REJECTED, params![received_at, batch_id_text])?;
        db.execute_batch("DELETE FROM rejected_staging")?;
    }
    let conflicts = rejected.len() - batch.rejected.len();
    let report = CommitReport {
        batch_id,
        accepted,
        duplicates: repeated.saturating_sub(conflicts),
        rejected: rejected.len(),
        correlated,
        phases: CommitPhases::default(),
    };
    db.execute(
        INSERT_INGEST_LOG,
        params![
            batch_id_text,
            batch.collector.as_str(),
            received_at,
            batch.records() as i64,
            report.accepted as i64,
            report.duplicates as i64,
            report.rejected as i64,
        ],
    )?;
    phases.insert += clock.lap();
    Ok((report, appended))
}

/// Stores the batch's events past the ids stored already or repeated within it (the first
/// copy wins), through the staging table. Returns how many it stored, and a rejection for
/// each copy whose id is stored with other content.
fn merge(
    db: &Connection,
    batch: &Batch,
    prepared: &arrow::Prepared,
    received_at: &str,
    batch_id: &str,
) -> Result<(usize, Vec<Rejected>), StoreError> {
    let mut appender = db.appender_to_catalog_and_db("events_staging", "temp", "main")?;
    appender.append_record_batch(prepared.staged())?;
    appender.flush()?;
    drop(appender);
    let accepted = db.execute(MERGE_EVENTS, params![received_at, batch_id])?;
    let conflicts = if accepted < batch.events().len() {
        conflicts(db, batch, batch_id)?
    } else {
        Vec::new()
    };
    db.execute_batch("DELETE FROM events_staging; DELETE FROM stored_copies")?;
    Ok((accepted, conflicts))
}

/// Whether no event id repeats within the batch.
fn ids_unique(batch: &Batch) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(batch.events().len());
    batch.events().iter().all(|e| seen.insert(e.id.as_str()))
}

/// Looks up the stored copies of the batch's events whose id the filter cannot rule out.
/// Returns how many ids it looked up.
fn find_stored(db: &Connection, stored: &StoredIds, batch: &Batch) -> Result<usize, StoreError> {
    let mut ids = Vec::new();
    let mut span: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for event in batch.events().iter().filter(|e| stored.may_hold(&e.id)) {
        let time = event.time;
        span = Some(span.map_or((time, time), |(from, to)| (from.min(time), to.max(time))));
        ids.push(event.id.as_str());
    }
    let Some((from, to)) = span else {
        return Ok(0);
    };
    let suspects = ids.len();
    let ids = serde_json::to_string(&ids).expect("a list of strings serializes");
    db.prepare_cached(FIND_STORED)?.execute(params![
        ids,
        super::rfc3339(from),
        super::rfc3339(to)
    ])?;
    Ok(suspects)
}

/// Events of this batch whose id is stored with other content: a collector bug or someone
/// reusing ids to hide an event. The stored event is kept; the newcomer goes to `rejected`.
fn conflicts(db: &Connection, batch: &Batch, batch_id: &str) -> Result<Vec<Rejected>, StoreError> {
    let mut statement = db.prepare_cached(FIND_CONFLICTS)?;
    let rows = statement.query_map([batch_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let by_key: HashMap<(&str, &str), &super::Received> = batch
        .events()
        .iter()
        .map(|e| ((e.id.as_str(), e.raw_sha256.as_str()), e))
        .collect();
    let mut found = Vec::new();
    for row in rows {
        let (event_id, staged_sha256, stored_sha256) = row?;
        let Some(event) = by_key.get(&(event_id.as_str(), staged_sha256.as_str())) else {
            continue;
        };
        found.push(Rejected::new(
            event.record.clone(),
            format!(
                "event id `{event_id}` is already stored with different content (stored sha256 \
                 {stored_sha256}, this record {staged_sha256}); the stored event is kept"
            ),
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `checkpoint_at_shutdown` recognises DuckDB's refusal by its text: should a DuckDB
    /// upgrade reword it, the writer would give up at once and leave the WAL to be replayed.
    #[test]
    fn a_checkpoint_at_shutdown_waits_for_another_connections_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Connection::open(dir.path().join("store.duckdb")).unwrap();
        db.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        // An update holds DuckDB's checkpoint lock until its transaction ends (as the
        // detector's alert updates do).
        let other = db.try_clone().unwrap();
        other
            .execute_batch("BEGIN TRANSACTION; UPDATE t SET v = 2")
            .unwrap();
        let refused = db.execute_batch("CHECKPOINT").unwrap_err().to_string();
        assert!(refused.contains("other write transactions"), "{refused}");

        let committer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            other.execute_batch("COMMIT").unwrap();
        });
        checkpoint_at_shutdown(&db).unwrap();
        committer.join().unwrap();
        let stored: i32 = db
            .query_row("SELECT v FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, 2);
    }
}
