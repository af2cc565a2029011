//! detect: the rules of DOMAIN.md §4 run over each committed batch and raise alerts.
//!
//! - [`rule`]: rule files (header + SQL body), the built-in pack, `rules.dir` overrides.
//! - [`engine`]: evaluation over `new_events` plus each rule's lookback; hits → alerts
//!   (once per rule and trigger, deduplicated per key and window), outbox rows for sinks.
//! - [`sinks`]: delivery of new alerts to NATS and webhooks, retried with backoff.
//! - [`fixtures`]: `trustpath rules test`, each rule's cases in scratch stores.
//! - [`eval`]: `trustpath eval`, a labelled scenario's precision, recall and delay per rule.
//!
//! The detector is its own thread with its own connection: the writer wakes it after each
//! commit and never waits for it, so a slow or failing rule never holds up ingest. It takes
//! every committed batch missing from `detected_batches`, so batches committed while it
//! was busy, or before a restart, are examined too.

pub mod engine;
pub mod eval;
pub mod fixtures;
pub mod rule;
pub mod sinks;

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use duckdb::Connection;
use serde::Serialize;
use tokio::sync::oneshot;

pub use engine::{DetectReport, Engine, Hit, SinkTarget};
pub use rule::{Rule, RuleError, RuleSet, Severity};
pub use sinks::Sinks;

use crate::store::StoreError;

enum Command {
    /// Batches were committed.
    Wake,
    Replay {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rules: Option<Vec<String>>,
        reply: oneshot::Sender<Result<DetectReport, StoreError>>,
    },
}

/// What the detector has done since start, for `GET /v1/rules` and the logs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectorStatus {
    pub evaluations: usize,
    pub events: usize,
    pub hits: usize,
    pub new_alerts: usize,
    /// The last failure of each rule that failed (file:line: message).
    pub rule_failures: std::collections::BTreeMap<String, String>,
    pub last_error: Option<String>,
}

/// Handle to the detector thread. Clone freely; the thread examines what is left and stops
/// when the last handle drops.
#[derive(Clone)]
pub struct Detector {
    commands: SyncSender<Command>,
    status: Arc<Mutex<DetectorStatus>>,
    rules: Arc<Vec<Rule>>,
    rule_errors: Arc<Vec<RuleError>>,
}

pub struct DetectorThread(thread::JoinHandle<DetectorStatus>);

impl DetectorThread {
    /// Waits until every [`Detector`] handle is dropped and the last batches are examined;
    /// returns what the detector did.
    pub fn join(self) -> DetectorStatus {
        self.0.join().unwrap_or_else(|_| {
            tracing::error!("the detector thread panicked");
            DetectorStatus::default()
        })
    }
}

/// How long replay slices are (event time examined per evaluation).
pub const REPLAY_SLICE: Duration = Duration::from_secs(3600);
/// After a failed pass, how long until the detector tries again without a new commit.
const RETRY_AFTER: Duration = Duration::from_secs(10);

impl Detector {
    /// Starts the detector on `db` (a connection of its own). `rule_errors`: the rule files
    /// that could not be loaded, reported with the status.
    pub fn spawn(
        db: Connection,
        mut engine: Engine,
        rule_errors: Vec<RuleError>,
    ) -> Result<(Detector, DetectorThread), StoreError> {
        let rules = Arc::new(engine.rules().to_vec());
        let (commands, inbox) = mpsc::sync_channel::<Command>(16);
        let status = Arc::new(Mutex::new(DetectorStatus::default()));
        let shared = status.clone();
        let thread = thread::Builder::new()
            .name("detector".to_owned())
            .spawn(move || {
                // Batches committed before this start (or while stopped) first.
                let mut healthy = pass(&mut engine, &db, &shared);
                loop {
                    let command = match inbox.recv_timeout(RETRY_AFTER) {
                        Ok(command) => command,
                        Err(RecvTimeoutError::Timeout) if healthy => continue,
                        Err(RecvTimeoutError::Timeout) => Command::Wake,
                        Err(RecvTimeoutError::Disconnected) => break,
                    };
                    match command {
                        Command::Wake => {
                            // Wakes that queued up while this pass ran are served by it; a
                            // replay behind them is kept for after it.
                            let mut deferred = Vec::new();
                            while let Ok(next) = inbox.try_recv() {
                                if !matches!(next, Command::Wake) {
                                    deferred.push(next);
                                }
                            }
                            healthy = pass(&mut engine, &db, &shared);
                            for command in deferred {
                                if let Command::Replay {
                                    from,
                                    to,
                                    rules,
                                    reply,
                                } = command
                                {
                                    let report = engine.replay(
                                        &db,
                                        from,
                                        to,
                                        REPLAY_SLICE,
                                        rules.as_deref(),
                                    );
                                    let _ = reply.send(report);
                                }
                            }
                        }
                        Command::Replay {
                            from,
                            to,
                            rules,
                            reply,
                        } => {
                            let report =
                                engine.replay(&db, from, to, REPLAY_SLICE, rules.as_deref());
                            let _ = reply.send(report);
                        }
                    }
                }
                pass(&mut engine, &db, &shared);
                shared.lock().map(|s| s.clone()).unwrap_or_default()
            })
            .map_err(|_| StoreError::Internal("cannot start the detector thread".into()))?;
        let detector = Detector {
            commands,
            status,
            rules,
            rule_errors: Arc::new(rule_errors),
        };
        Ok((detector, DetectorThread(thread)))
    }

    /// Says batches were committed; returns at once.
    pub fn wake(&self) {
        // A full queue already holds a wake; a stopped detector has nothing to wake.
        if let Err(TrySendError::Disconnected(_)) = self.commands.try_send(Command::Wake) {
            tracing::warn!("the detector has stopped; alerts wait for the next start");
        }
    }

    /// Re-runs rules over stored events in `[from, to)` without duplicating alerts.
    pub async fn replay(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        rules: Option<Vec<String>>,
    ) -> Result<DetectReport, StoreError> {
        let (reply, answer) = oneshot::channel();
        let commands = self.commands.clone();
        let command = Command::Replay {
            from,
            to,
            rules,
            reply,
        };
        tokio::task::spawn_blocking(move || commands.send(command))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
            .map_err(|_| StoreError::DetectorStopped)?;
        answer.await.map_err(|_| StoreError::DetectorStopped)?
    }

    /// The rules running.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule files that could not be loaded, with file and line.
    pub fn rule_errors(&self) -> &[RuleError] {
        &self.rule_errors
    }

    pub fn status(&self) -> DetectorStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// One pass over the unexamined batches; false when it failed (to be retried).
fn pass(engine: &mut Engine, db: &Connection, status: &Mutex<DetectorStatus>) -> bool {
    let result = engine.detect_pending(db);
    let healthy = result.is_ok();
    let Ok(mut status) = status.lock() else {
        return healthy;
    };
    match result {
        Ok(report) => {
            if report.new_alerts > 0 {
                tracing::info!(
                    new_alerts = report.new_alerts,
                    hits = report.hits,
                    events = report.events,
                    "alerts raised"
                );
            }
            status.evaluations += report.evaluations;
            status.events += report.events;
            status.hits += report.hits;
            status.new_alerts += report.new_alerts;
            status.rule_failures.extend(report.rule_failures);
            status.last_error = None;
        }
        Err(error) => {
            // The batches stay unexamined and are taken again at the next wake.
            tracing::error!(%error, "detection pass failed; it is retried shortly");
            status.last_error = Some(error.to_string());
        }
    }
    healthy
}
