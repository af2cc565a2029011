//! `trustpath bench`: latency of the reads investigators wait on, measured on a real
//! store. Reports percentiles; it asserts nothing (machines differ; compare runs).

pub mod all;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use duckdb::params;
use serde::Serialize;

use crate::pipeline::IngestReport;
use crate::store::connections::TimelineFilter;
use crate::store::{Reader, StoreError};

/// The simulated organisation every bench runs on: 2,000 users, 60 clients, 10 resources.
pub const ORGANISATION: crate::simulate::world::Size = crate::simulate::world::Size {
    users: 2_000,
    clients: 60,
    resources: 10,
};

const SAMPLE_TOKENS: &str = include_str!("../../queries/bench/sample_tokens.sql");
const SAMPLE_SUBJECTS: &str = include_str!("../../queries/bench/sample_subjects.sql");

/// Percentiles of one kind of read.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub what: &'static str,
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(what: &'static str, times: Vec<Duration>) -> Latency {
        let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        let mut at = |q: f64| percentile(&mut ms, q).unwrap_or(0.0);
        Latency {
            what,
            samples: times.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// The `q` quantile (nearest rank) of `values`, which it sorts; None when empty.
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// The store's size and the latencies of token trust paths and 24 h subject timelines.
#[derive(Debug, Clone, Serialize)]
pub struct ReadReport {
    pub events: i64,
    pub connections: i64,
    pub latencies: Vec<Latency>,
}

/// Looks up `samples` token trust paths and `samples` one-subject 24 h timelines, each
/// once to warm up and then `rounds` times.
pub fn reads(reader: &Reader, samples: usize, rounds: usize) -> Result<ReadReport, StoreError> {
    let db = reader.connection()?;
    let tokens: Vec<String> = db
        .prepare(SAMPLE_TOKENS)?
        .query_map(params![samples as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let subjects: Vec<(String, String)> = db
        .prepare(SAMPLE_SUBJECTS)?
        .query_map(params![samples as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let stats = reader.stats()?;

    let mut trust_paths = Vec::new();
    for round in 0..=rounds {
        for token in &tokens {
            let started = Instant::now();
            reader.token_trust_path(token)?;
            if round > 0 {
                trust_paths.push(started.elapsed());
            }
        }
    }
    let mut timelines = Vec::new();
    for round in 0..=rounds {
        for (subject, at) in &subjects {
            let at: DateTime<Utc> = at
                .parse()
                .map_err(|e| StoreError::Internal(format!("sampled time {at}: {e}")))?;
            let filter = TimelineFilter {
                subject: Some(subject.clone()),
                from: Some(at - chrono::Duration::hours(12)),
                to: Some(at + chrono::Duration::hours(12)),
                ..TimelineFilter::default()
            };
            let started = Instant::now();
            reader.timeline(&filter)?;
            if round > 0 {
                timelines.push(started.elapsed());
            }
        }
    }
    Ok(ReadReport {
        events: stats.events,
        connections: stats.connections,
        latencies: vec![
            Latency::of(
                "token trust path (GET /v1/tokens/{id}/trust-path)",
                trust_paths,
            ),
            Latency::of("one-subject 24 h timeline (GET /v1/timeline)", timelines),
        ],
    })
}

const SAMPLE_BATCHES: &str = include_str!("../../queries/bench/sample_batches.sql");

/// What evaluating the rule pack over one committed batch costs on this store.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCostReport {
    pub events: i64,
    pub batches: usize,
    pub events_per_batch: f64,
    /// All rules over one batch.
    pub per_batch: Latency,
    /// Each rule's median over the batches, slowest first.
    pub per_rule_p50_ms: Vec<(String, f64)>,
}

/// Times the rules over the `batches` most recent batches of the store (nothing is
/// recorded), after one warm-up pass.
pub fn rule_cost(
    reader: &Reader,
    rules: Vec<crate::detect::Rule>,
    batches: usize,
) -> Result<RuleCostReport, StoreError> {
    let db = reader.connection()?;
    let sampled: Vec<(String, i64)> = db
        .prepare(SAMPLE_BATCHES)?
        .query_map(params![batches as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    if sampled.is_empty() {
        return Err(StoreError::BadParameter(
            "the store has no committed batches to time the rules on; ingest events first".into(),
        ));
    }
    let mut engine = crate::detect::Engine::new(rules, Vec::new());
    let mut totals = Vec::new();
    let mut per_rule: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
    for (round, (batch, _)) in std::iter::once(&sampled[0]).chain(&sampled).enumerate() {
        let timings = engine.profile_batch(&db, batch)?;
        if round == 0 {
            continue;
        }
        totals.push(timings.iter().map(|(_, took, _)| *took).sum());
        for (rule, took, _) in timings {
            per_rule.entry(rule).or_default().push(took);
        }
    }
    let mut per_rule_p50_ms: Vec<(String, f64)> = per_rule
        .into_iter()
        .map(|(rule, times)| (rule, Latency::of("rule", times).p50_ms))
        .collect();
    per_rule_p50_ms.sort_by(|a, b| b.1.total_cmp(&a.1));
    let events: i64 = sampled.iter().map(|(_, n)| n).sum();
    Ok(RuleCostReport {
        events: reader.stats()?.events,
        batches: sampled.len(),
        events_per_batch: events as f64 / sampled.len().max(1) as f64,
        per_batch: Latency::of("all rules over one batch", totals),
        per_rule_p50_ms,
    })
}

/// Publish → alert latency while a steady stream flows through NATS.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionLatencyReport {
    pub published: usize,
    pub target_rate: f64,
    pub achieved_rate: f64,
    pub stored: i64,
    pub alerts: usize,
    /// From publishing an alert's last evidence event to receiving the alert on NATS.
    pub latency: Latency,
    /// Cores the process (trustpath and the publisher) kept busy from the first publish
    /// until every event was stored.
    pub cores_busy: f64,
    /// What the pipeline's stages did meanwhile, from trustpath's own metrics.
    pub stages: Stages,
}

/// The stages an alert waits for, averaged over a run: from the deltas of trustpath's
/// metrics (`GET /metrics`) between its start and end.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stages {
    /// Batches the NATS collector committed.
    pub batches: f64,
    /// Events a batch stored, on average.
    pub events_per_batch: f64,
    /// Mean time of a commit (with its correlation when the writer is not behind).
    pub commit_ms: f64,
    /// Detection passes.
    pub detection_passes: f64,
    /// Events a pass examined, on average.
    pub events_per_pass: f64,
    /// Mean time of a pass (every rule, and recording the alerts).
    pub detection_pass_ms: f64,
}

/// Cumulative values of the metrics `Stages` are made of.
#[derive(Debug, Clone, Copy, Default)]
struct StageCounters {
    batches: f64,
    records: f64,
    commit_s: f64,
    passes: f64,
    pass_events: f64,
    pass_s: f64,
}

/// The series of the events the NATS collector stored, as `GET /metrics` renders it.
const NATS_ACCEPTED: &str = r#"trustpath_records_total{collector="nats",result="accepted"}"#;

/// The value of `series` (name and labels exactly as rendered) in the process's metrics
/// as `GET /metrics` renders them; 0 when it has not been recorded yet (the test
/// `stage_counters_read_the_series_trustpath_records` keeps the names in step with
/// `crate::metrics`). Rendering them runs in the bench process but queries no store.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(name, _)| *name == series)
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

impl StageCounters {
    fn now() -> StageCounters {
        let text = crate::metrics::handle().render();
        let value = |series: &str| metric(&text, series);
        StageCounters {
            batches: value(r#"trustpath_batches_total{collector="nats"}"#),
            records: value(NATS_ACCEPTED),
            commit_s: value(r#"trustpath_batch_commit_seconds_sum{collector="nats"}"#),
            passes: value("trustpath_detection_pass_seconds_count"),
            pass_events: value("trustpath_detection_events_total"),
            pass_s: value("trustpath_detection_pass_seconds_sum"),
        }
    }

    fn since(&self, start: &StageCounters) -> Stages {
        let per = |total: f64, count: f64| if count > 0.0 { total / count } else { 0.0 };
        let batches = self.batches - start.batches;
        let passes = self.passes - start.passes;
        Stages {
            batches,
            events_per_batch: per(self.records - start.records, batches),
            commit_ms: per(self.commit_s - start.commit_s, batches) * 1e3,
            detection_passes: passes,
            events_per_pass: per(self.pass_events - start.pass_events, passes),
            detection_pass_ms: per(self.pass_s - start.pass_s, passes) * 1e3,
        }
    }
}

/// `config` for one detection-latency run: a fresh store at `store`, the API on a loopback
/// port of its own, and a stream, subjects and consumer of its own, so earlier runs on the
/// same NATS server do not overlap.
pub fn detection_config(
    config: &crate::config::Config,
    store: std::path::PathBuf,
) -> crate::config::Config {
    let mut config = config.clone();
    config.store.path = store;
    config.http.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let run = uuid::Uuid::now_v7().simple().to_string();
    config.nats.stream = format!("TRUSTPATH_BENCH_{run}");
    config.nats.subjects = vec![format!("trustpath.bench.{run}.>")];
    config.nats.consumer = format!("bench-{run}");
    config
}

/// Runs trustpath on `config` (its store should be fresh; `nats.url` must be set), publishes
/// a simulated organisation's events with attacks at `rate` events/s for about `seconds`,
/// and times each alert from the publish of its last evidence event to its arrival on
/// `<alerts.nats_subject>.>`.
pub async fn detection_latency(
    config: crate::config::Config,
    rate: f64,
    seconds: f64,
    seed: u64,
) -> anyhow::Result<DetectionLatencyReport> {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use futures::StreamExt as _;

    use crate::simulate::{self, Attack, encode_native};

    let url = config
        .nats
        .url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the latency bench needs --nats-url"))?;
    let target = (rate * seconds) as usize;
    // About 15 events per approval chain; an attack of each kind every ~400 chains.
    let flows = (target / 15).max(100);
    let per_attack = (flows / 400).max(1);
    let simulation = simulate::generate(&simulate::Options {
        seed,
        flows,
        size: ORGANISATION,
        start: "2026-11-01T00:00:00Z".parse()?,
        days: (seconds / 3_600.0).max(2.0),
        attacks: Attack::ALL.iter().map(|&a| (a, per_attack)).collect(),
    });

    let stream = config.nats.stream.clone();
    let config_subject = config
        .nats
        .subjects
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("nats.subjects is empty"))?;
    let alerts_subject = format!("{}.>", config.alerts.nats_subject);
    let app = crate::serve::App::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        let answer = http.get(format!("{base}/readyz")).send().await;
        if matches!(answer, Ok(r) if r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !ready {
        shutdown.cancel();
        let _ = server.await;
        anyhow::bail!("trustpath's NATS consumer did not become ready in 30 s; the log says why");
    }
    // Events go to the first subject the stream captures (its `>` replaced).
    let subject = config_subject.trim_end_matches('>').to_owned() + "events";

    let client = async_nats::connect(&url).await?;
    let mut alerts = client.subscribe(alerts_subject).await?;
    client.flush().await?;
    let published: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let receiver = {
        let published = published.clone();
        let latencies = latencies.clone();
        tokio::spawn(async move {
            while let Some(message) = alerts.next().await {
                let arrived = Instant::now();
                let Ok(alert) = serde_json::from_slice::<serde_json::Value>(&message.payload)
                else {
                    continue;
                };
                let published = published.lock().unwrap_or_else(|p| p.into_inner());
                let last = alert["evidence"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|id| id.as_str().and_then(|id| published.get(id)))
                    .max();
                if let Some(last) = last {
                    latencies
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(arrived.duration_since(*last));
                }
            }
        })
    };

    let js = async_nats::jetstream::new(client.clone());
    let events: Vec<_> = simulation.events.iter().take(target).collect();
    let counters = StageCounters::now();
    let tick = Duration::from_millis(10);
    let per_tick = (rate * tick.as_secs_f64()).max(1.0) as usize;
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // Acks are awaited by a task of their own: JetStream limits unacknowledged publishes,
    // and the pacing loop must never wait on them.
    let (acks, mut pending) =
        tokio::sync::mpsc::unbounded_channel::<async_nats::jetstream::context::PublishAckFuture>();
    let acker = tokio::spawn(async move {
        while let Some(ack) = pending.recv().await {
            ack.await?;
        }
        Ok::<(), anyhow::Error>(())
    });
    let watch = Stopwatch::start();
    for chunk in events.chunks(per_tick) {
        interval.tick().await;
        for event in chunk {
            let ack = js
                .publish(subject.clone(), encode_native(event).into())
                .await?;
            published
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(event.event.id.clone(), Instant::now());
            acks.send(ack)?;
        }
    }
    drop(acks);
    acker.await??;
    let elapsed = watch.round().wall;
    // Let the last batches through (watched through the metrics: no query of the store).
    let mut stored = 0;
    for _ in 0..300 {
        stored = (StageCounters::now().records - counters.records) as i64;
        if stored as usize >= events.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let busy = watch.round();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stages = StageCounters::now().since(&counters);
    receiver.abort();
    shutdown.cancel();
    server.await??;
    // The stream goes with the run: it also captures the adapters' default subjects, which
    // the next run's stream could not then claim.
    js.delete_stream(&stream).await?;
    let latencies = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(DetectionLatencyReport {
        published: events.len(),
        target_rate: rate,
        achieved_rate: events.len() as f64 / elapsed.as_secs_f64(),
        stored,
        alerts: latencies.len(),
        latency: Latency::of("publish → alert on NATS", latencies),
        cores_busy: busy.cpu.as_secs_f64() / busy.wall.as_secs_f64().max(f64::EPSILON),
        stages,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{StageCounters, median_by_wall, percentile};
    use crate::store::{Collector, CommitReport};

    #[test]
    fn stage_counters_read_the_series_trustpath_records() {
        let start = StageCounters::now();
        let report = CommitReport {
            batch_id: uuid::Uuid::nil(),
            accepted: 7,
            duplicates: 0,
            rejected: 0,
            correlated: true,
            phases: Default::default(),
        };
        crate::metrics::batch_committed(Collector::Nats, &report, Duration::from_millis(5));
        crate::metrics::detection_pass(7, 0, Duration::from_millis(3));
        let end = StageCounters::now();
        // Other tests of this process may record too: each series must have moved at least
        // by what was recorded here.
        assert!(end.batches - start.batches >= 1.0, "{end:?}");
        assert!(end.records - start.records >= 7.0, "{end:?}");
        assert!(end.commit_s - start.commit_s >= 0.004, "{end:?}");
        assert!(end.passes - start.passes >= 1.0, "{end:?}");
        assert!(end.pass_events - start.pass_events >= 7.0, "{end:?}");
        assert!(end.pass_s - start.pass_s >= 0.002, "{end:?}");
    }

    #[test]
    fn the_median_round_is_the_lower_of_an_even_count() {
        let walls = [4, 1, 3, 2].map(Duration::from_secs);
        assert_eq!(median_by_wall(&walls, |w| *w), Duration::from_secs(2));
        assert_eq!(median_by_wall(&walls[..3], |w| *w), Duration::from_secs(3));
        let mut values = walls.map(|w| w.as_secs_f64()).to_vec();
        assert_eq!(percentile(&mut values, 0.5), Some(2.0));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut values, 0.5), Some(50.0));
        assert_eq!(percentile(&mut values, 0.99), Some(99.0));
        assert_eq!(percentile(&mut values, 1.0), Some(100.0));
        assert_eq!(percentile(&mut [], 0.5), None);
    }
}

/// The CPU time (user and system, every thread) this process has used so far.
fn process_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike as _;
    // getrusage fails only on an invalid `who` or pointer, neither of which nix can pass.
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage(RUSAGE_SELF)");
    let micros = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// One round of one side of a row: its wall time, and the CPU time every thread of this
/// process used meanwhile (the sides run one after the other, so it is the side's own).
#[derive(Debug, Clone, Copy, Default)]
pub struct Round {
    pub wall: Duration,
    pub cpu: Duration,
}

/// Times a round from its start: wall clock and this process's CPU.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: process_cpu(),
        }
    }

    /// The round so far.
    pub fn round(&self) -> Round {
        Round {
            wall: self.wall.elapsed(),
            cpu: process_cpu().saturating_sub(self.cpu),
        }
    }
}

/// One side of a side-by-side bench row: its rounds and their median.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub what: &'static str,
    /// Each round's wall time, in the order they ran.
    pub seconds: Vec<f64>,
    pub median_s: f64,
    pub events_per_s: f64,
    /// Each round's CPU seconds (user and system, every thread of the bench process; a NATS
    /// server, a process of its own, is on neither side), in the order they ran.
    pub cpu_seconds: Vec<f64>,
    /// The CPU seconds of the median round (the one whose wall time is the median).
    pub median_cpu_s: f64,
}

impl Side {
    fn of(events: usize, what: &'static str, rounds: &[Round]) -> Side {
        let median = median_by_wall(rounds, |round| round.wall);
        let median_s = median.wall.as_secs_f64();
        Side {
            what,
            seconds: rounds.iter().map(|r| r.wall.as_secs_f64()).collect(),
            median_s,
            events_per_s: events as f64 / median_s.max(f64::EPSILON),
            cpu_seconds: rounds.iter().map(|r| r.cpu.as_secs_f64()).collect(),
            median_cpu_s: median.cpu.as_secs_f64(),
        }
    }

    /// CPU microseconds per event in the median round.
    pub fn cpu_us_per_event(&self, events: usize) -> f64 {
        self.median_cpu_s * 1e6 / events.max(1) as f64
    }

    /// How many cores the side kept busy on average (median CPU over median wall time).
    pub fn cores_busy(&self) -> f64 {
        self.median_cpu_s / self.median_s.max(f64::EPSILON)
    }
}

/// A bench row measured against its baseline on the same events in the same run
/// (`bench ingest`, `bench nats`).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub events: usize,
    /// The events' size as NDJSON.
    pub bytes: u64,
    pub trustpath: Side,
    pub baseline: Side,
    /// trustpath's events/s over the baseline's.
    pub ratio: f64,
    /// Where trustpath's median round spent its time, when the row measures it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<IngestPhases>,
    /// trustpath until every stored event is also correlated (connections and trust paths
    /// up to date): the writer defers correlation while batches wait (`correlate.max_lag`).
    pub correlated: Side,
    /// The baseline to a CHECKPOINT after its commit, when trustpath's `correlated` side
    /// ends with one too (file ingest: the writer checkpoints as it stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_checkpointed: Option<Side>,
    /// DuckDB storing the rows trustpath builds for these events, in trustpath's
    /// transactions and nothing else: about the least time trustpath's single writer can
    /// take (file ingest; see [`writer_floor`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer_floor: Option<Side>,
}

impl Comparison {
    fn new(events: &[Vec<u8>], trustpath: Side, correlated: Side, baseline: Side) -> Comparison {
        Comparison {
            correlated,
            baseline_checkpointed: None,
            writer_floor: None,
            events: events.len(),
            bytes: events.iter().map(|e| e.len() as u64 + 1).sum(),
            ratio: trustpath.events_per_s / baseline.events_per_s.max(f64::EPSILON),
            trustpath,
            baseline,
            phases: None,
        }
    }

    fn with_checkpointed_baseline(mut self, baseline: Side) -> Comparison {
        self.baseline_checkpointed = Some(baseline);
        self
    }

    fn with_writer_floor(mut self, floor: Side) -> Comparison {
        self.writer_floor = Some(floor);
        self
    }

    /// The highest committed ratio DuckDB's own storing of trustpath's rows allows: the
    /// baseline's time over the floor's, when the row measures the floor.
    pub fn writer_floor_bound(&self) -> Option<f64> {
        let floor = self.writer_floor.as_ref()?;
        Some(self.baseline.median_s / floor.median_s.max(f64::EPSILON))
    }

    /// trustpath's events/s to every batch correlated over the baseline's, to its
    /// checkpoint when trustpath's side includes one.
    pub fn correlated_ratio(&self) -> f64 {
        let baseline = self
            .baseline_checkpointed
            .as_ref()
            .unwrap_or(&self.baseline);
        self.correlated.events_per_s / baseline.events_per_s.max(f64::EPSILON)
    }

    /// The highest ratio trustpath's CPU time allows on `cores` cores: its median committed
    /// round cannot take less wall time than its CPU time spread over every core.
    pub fn ratio_bound(&self, cores: usize) -> f64 {
        self.baseline.median_s / self.cpu_floor_s(cores).max(f64::EPSILON)
    }

    /// The least wall time trustpath's median committed round could take on `cores` cores:
    /// its CPU time spread over all of them.
    pub fn cpu_floor_s(&self, cores: usize) -> f64 {
        self.trustpath.median_cpu_s / cores.max(1) as f64
    }

    fn with_phases(mut self, phases: IngestPhases) -> Comparison {
        self.phases = Some(phases);
        self
    }
}

const BASELINE_INGEST: &str = include_str!("../../queries/bench/baseline_ingest.sql");

/// `events` simulated native events (fixed seed), each one JSON line without its newline.
pub fn simulated_events(events: usize) -> Vec<Vec<u8>> {
    use crate::simulate::{self, Options};
    // About 15 events per approval chain; generate enough and keep the first `events`.
    let simulation = simulate::generate(&Options {
        seed: 11,
        flows: events / 12 + 10,
        size: ORGANISATION,
        start: DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .expect("a valid time")
            .with_timezone(&Utc),
        days: (events as f64 / 50_000.0).max(1.0),
        attacks: Vec::new(),
    });
    simulation
        .events
        .iter()
        .take(events)
        .map(simulate::encode_native)
        .collect()
}

/// One trustpath ingest: when the last batch was committed (every event in `events`) and
/// when its correlation had caught up (the writer stopped).
pub struct IngestRun {
    pub committed: Round,
    pub correlated: Round,
    pub stored: i64,
    pub phases: IngestPhases,
}

/// trustpath's side: the path of `trustpath ingest` (read in chunks, normalize, commit
/// with the chain, correlate), without the detector, which has its own row.
pub async fn ingest_trustpath(
    store: &std::path::Path,
    file: &std::path::Path,
    chunk: usize,
) -> anyhow::Result<IngestRun> {
    use crate::collect::file::NdjsonReader;
    use crate::config::{CorrelateConfig, StoreConfig};
    use crate::normalize::Normalizer;
    use crate::pipeline::Ingest;
    use crate::store::Store;
    let watch = Stopwatch::start();
    let store = Store::open(&StoreConfig {
        path: store.to_owned(),
        ..StoreConfig::default()
    })?;
    let (writer, thread) = store.writer(2, CorrelateConfig::default(), None)?;
    let ingest = Ingest::new(Normalizer::new(64 * 1024), writer);
    let input = tokio::fs::File::open(file).await?;
    let mut reader = NdjsonReader::new(input, file.display().to_string(), "native", 64 * 1024);
    let mut phases = IngestPhases::default();
    let mut committed = Round::default();
    reader
        .ingest_all(&ingest, chunk, |_, report| {
            phases.add(&report);
            committed = watch.round();
        })
        .await?;
    drop(ingest);
    // The writer stops once the batches it deferred are correlated.
    tokio::task::spawn_blocking(move || thread.join()).await?;
    let correlated = watch.round();
    phases.correlate_after_s = (correlated.wall.saturating_sub(committed.wall)).as_secs_f64();
    let db = store.connection()?;
    let stored: i64 = db.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
    let uncorrelated = crate::correlate::maintain::uncorrelated(&db)?.len();
    anyhow::ensure!(
        uncorrelated == 0,
        "{uncorrelated} batches were left uncorrelated"
    );
    Ok(IngestRun {
        committed,
        correlated,
        stored,
        phases,
    })
}

/// Where one trustpath ingest spent its time, summed over its batches, in seconds.
/// Normalizing overlaps the previous batch's commit, so the parts add up to more than the
/// wall time when the pipeline is full.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct IngestPhases {
    pub batches: usize,
    /// Parsing, schema validation and normalization, and building the batch's Arrow rows
    /// and their digest (a blocking thread, beside the writer).
    pub normalize_s: f64,
    /// The writer: the Arrow rows built before the transaction opens, for a batch that
    /// came without them.
    pub stage_s: f64,
    /// Appending the rows to `events` (or staging and merging them), rejected records,
    /// the ingest log.
    pub insert_s: f64,
    /// Connections and trust paths, in the batches' own transactions.
    pub correlate_s: f64,
    /// Correlation the writer deferred while batches waited, after the last commit.
    pub correlate_after_s: f64,
    /// Reading merged rows back and hashing them (appended rows come digested), the chain
    /// record.
    pub chain_s: f64,
    /// DuckDB's commit (WAL, and its checkpoints when the WAL is due).
    pub commit_s: f64,
}

impl IngestPhases {
    /// Each phase's name, as the reports print it, and its seconds.
    pub fn parts(&self) -> [(&'static str, f64); 7] {
        [
            ("normalize", self.normalize_s),
            ("stage", self.stage_s),
            ("insert", self.insert_s),
            ("correlate in the commit", self.correlate_s),
            ("chain", self.chain_s),
            ("commit", self.commit_s),
            ("correlate after the last commit", self.correlate_after_s),
        ]
    }

    fn add(&mut self, report: &IngestReport) {
        let phases = &report.commit.phases;
        self.batches += 1;
        self.normalize_s += report.normalize.as_secs_f64();
        self.stage_s += phases.stage.as_secs_f64();
        self.insert_s += phases.insert.as_secs_f64();
        self.correlate_s += phases.correlate.as_secs_f64();
        self.chain_s += phases.chain.as_secs_f64();
        self.commit_s += phases.commit.as_secs_f64();
    }
}

/// The baseline: a store with the same schema, and one `INSERT … SELECT` from
/// `read_ndjson` through the same DuckDB build. Returns the round to its commit, the round
/// to the end of a CHECKPOINT after it, and the events stored.
pub fn ingest_baseline(
    store: &std::path::Path,
    file: &std::path::Path,
) -> anyhow::Result<(Round, Round, i64)> {
    use crate::config::StoreConfig;
    // The schema, as trustpath creates it; then DuckDB on its own (file access on).
    drop(crate::store::Store::open(&StoreConfig {
        path: store.to_owned(),
        ..StoreConfig::default()
    })?);
    // The same memory limit as trustpath's side.
    let memory = StoreConfig::default().memory_limit;
    let mut settings = duckdb::Config::default();
    if !memory.is_empty() {
        settings = settings.max_memory(&memory)?;
    }
    let db = duckdb::Connection::open_with_flags(store, settings)?;
    let watch = Stopwatch::start();
    db.execute(BASELINE_INGEST, params![file.display().to_string()])?;
    let committed = watch.round();
    db.execute_batch("CHECKPOINT")?;
    let checkpointed = watch.round();
    let stored: i64 = db.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
    Ok((committed, checkpointed, stored))
}

/// The writer's floor: DuckDB appending the rows trustpath builds for `lines` (normalized
/// and built beforehand, outside the timing) into `events` of a fresh store with trustpath's
/// settings, one transaction of `chunk` events at a time as the writer commits them, and
/// nothing else: no parsing, no deduplication, no chain, no correlation. trustpath's single
/// writer does at least this work on the same rows, so its committed round should not be
/// shorter. Every batch's rows are held at once: memory grows with `lines`. Returns the
/// round to the last commit and the events stored.
pub fn writer_floor(
    store: &std::path::Path,
    lines: &[Vec<u8>],
    chunk: usize,
) -> anyhow::Result<(Round, i64)> {
    use bytes::Bytes;

    use crate::config::StoreConfig;
    use crate::normalize::{Normalizer, RawRecord};
    use crate::store::arrow::Prepared;
    let normalizer = Normalizer::new(64 * 1024);
    let chunk = chunk.max(1);
    let mut batches = Vec::new();
    for (part, records) in lines.chunks(chunk).enumerate() {
        let events = records
            .iter()
            .enumerate()
            .map(|(line, raw)| {
                normalizer.normalize(RawRecord {
                    raw: Bytes::copy_from_slice(raw),
                    origin: format!("file:bench:{}", part * chunk + line + 1),
                    delivery_key: None,
                    format: "native".to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|rejected| {
                anyhow::anyhow!("a simulated event was rejected: {}", rejected.reason)
            })?;
        let prepared = Prepared::build(&events, Utc::now())?;
        batches.push(prepared.stored(uuid::Uuid::now_v7())?);
    }
    let store = crate::store::Store::open(&StoreConfig {
        path: store.to_owned(),
        ..StoreConfig::default()
    })?;
    let db = store.connection()?;
    let watch = Stopwatch::start();
    for rows in batches {
        db.execute_batch("BEGIN TRANSACTION")?;
        let mut appender = db.appender("events")?;
        appender.append_record_batch(rows)?;
        appender.flush()?;
        drop(appender);
        db.execute_batch("COMMIT")?;
    }
    let committed = watch.round();
    let stored: i64 = db.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
    Ok((committed, stored))
}

/// `bench ingest`: trustpath's file ingest against DuckDB's own NDJSON import of the same
/// file into the same table, `rounds` times, alternating, in scratch stores under `dir`.
pub async fn ingest(
    dir: &std::path::Path,
    events: usize,
    rounds: usize,
    chunk: usize,
) -> anyhow::Result<Comparison> {
    std::fs::create_dir_all(dir)?;
    let lines = Arc::new(simulated_events(events));
    let file = dir.join("events.ndjson");
    let mut ndjson = lines.join(&b'\n');
    ndjson.push(b'\n');
    std::fs::write(&file, ndjson)?;
    let (mut ours, mut correlated, mut phases) = (Vec::new(), Vec::new(), Vec::new());
    let (mut theirs, mut theirs_checkpointed, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let store = dir.join(format!("trustpath-{round}.duckdb"));
        let run = ingest_trustpath(&store, &file, chunk).await?;
        phases.push((run.committed.wall, run.phases));
        anyhow::ensure!(
            run.stored as usize == lines.len(),
            "trustpath stored {} of {} events",
            run.stored,
            lines.len()
        );
        ours.push(run.committed);
        correlated.push(run.correlated);
        let store = dir.join(format!("baseline-{round}.duckdb"));
        let (elapsed, checkpointed, stored) = {
            let (store, file) = (store.clone(), file.clone());
            tokio::task::spawn_blocking(move || ingest_baseline(&store, &file)).await??
        };
        theirs_checkpointed.push(checkpointed);
        anyhow::ensure!(
            stored as usize == lines.len(),
            "the baseline stored {stored} of {} events",
            lines.len()
        );
        theirs.push(elapsed);
        let store = dir.join(format!("floor-{round}.duckdb"));
        let (floor_round, stored) = {
            let lines = Arc::clone(&lines);
            tokio::task::spawn_blocking(move || writer_floor(&store, &lines, chunk)).await??
        };
        anyhow::ensure!(
            stored as usize == lines.len(),
            "the writer's floor stored {stored} of {} events",
            lines.len()
        );
        floor.push(floor_round);
    }
    Ok(Comparison::new(
        &lines,
        Side::of(
            lines.len(),
            "trustpath ingest: every event committed (normalize, dedupe, chain)",
            &ours,
        ),
        Side::of(
            lines.len(),
            "trustpath ingest: every batch correlated (connections, trust paths)",
            &correlated,
        ),
        Side::of(
            lines.len(),
            "DuckDB read_ndjson + INSERT … SELECT, committed",
            &theirs,
        ),
    )
    .with_phases(median_by_wall(&phases, |(wall, _)| *wall).1)
    .with_checkpointed_baseline(Side::of(
        lines.len(),
        "DuckDB, committed and checkpointed (as trustpath's writer is when it stops)",
        &theirs_checkpointed,
    ))
    .with_writer_floor(Side::of(
        lines.len(),
        "DuckDB appending trustpath's prebuilt rows (the writer's floor)",
        &floor,
    )))
}

/// The item of the round whose wall time is the median (of an even count, the lower one,
/// as [`percentile`] takes it).
fn median_by_wall<T: Copy + Default>(rounds: &[T], wall: impl Fn(&T) -> Duration) -> T {
    let mut sorted = rounds.to_vec();
    sorted.sort_by_key(|round| wall(round));
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

/// `bench nats`: trustpath consuming a JetStream stream end to end against a bare consumer
/// that only acks, on the same messages, `rounds` times; each round publishes the events
/// to a stream of its own on the NATS server of `config.nats.url`; scratch stores under
/// `dir`.
pub async fn nats_end_to_end(
    config: &crate::config::Config,
    dir: &std::path::Path,
    events: usize,
    rounds: usize,
) -> anyhow::Result<Comparison> {
    use async_nats::jetstream::{self, consumer, stream};
    use futures::StreamExt as _;

    let url = config
        .nats
        .url
        .clone()
        .ok_or_else(|| anyhow::anyhow!("bench nats needs a NATS server: --nats-url"))?;
    let lines = simulated_events(events);
    let events = lines.len();
    let js = jetstream::new(async_nats::connect(&url).await?);
    let (mut ours, mut correlated, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        // A stream of its own per round, holding the events before either side starts.
        let run = uuid::Uuid::now_v7().simple().to_string();
        let name = format!("TRUSTPATH_BENCH_{run}");
        let subjects = vec![format!("trustpath.bench.{run}.>")];
        let stream = js
            .create_stream(stream::Config {
                name: name.clone(),
                subjects: subjects.clone(),
                ..Default::default()
            })
            .await?;
        let subject = format!("trustpath.bench.{run}.in");
        let mut acks = futures::stream::FuturesUnordered::new();
        for line in &lines {
            let payload = bytes::Bytes::copy_from_slice(line);
            acks.push(js.publish(subject.clone(), payload).await?.into_future());
            if acks.len() >= 2_000 {
                acks.next().await.transpose()?;
            }
        }
        while acks.next().await.transpose()?.is_some() {}

        // trustpath: the service (collector, writer, detector), from its start until every
        // event is stored.
        let mut service = config.clone();
        service.store.path = dir.join(format!("trustpath-{round}.duckdb"));
        service.http.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        service.nats.stream = name.clone();
        service.nats.subjects = subjects;
        service.nats.consumer = format!("trustpath-{run}");
        let app = crate::serve::App::build(service).await?;
        let stats = format!("http://{}/v1/stats", app.local_addr());
        let shutdown = tokio_util::sync::CancellationToken::new();
        // Until every event is stored the side is watched through its metrics, which query
        // no store; then through `GET /v1/stats` (a query on its store) for correlation.
        let accepted = || metric(&crate::metrics::handle().render(), NATS_ACCEPTED);
        let accepted_before = accepted();
        let watch = Stopwatch::start();
        let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let http = reqwest::Client::new();
        let mut stored = None;
        loop {
            if stored.is_none() && accepted() - accepted_before >= events as f64 {
                stored = Some(watch.round());
            }
            if stored.is_some() {
                let answer: serde_json::Value = http.get(&stats).send().await?.json().await?;
                if answer["uncorrelated_batches"].as_i64() == Some(0) {
                    break;
                }
            }
            anyhow::ensure!(
                watch.round().wall < Duration::from_secs(3_600),
                "trustpath did not store and correlate the events within an hour"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ours.extend(stored);
        correlated.push(watch.round());
        shutdown.cancel();
        server.await??;

        // The baseline: a bare pull consumer on the same stream that only acks.
        let bare = stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some(format!("bare-{run}")),
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await?;
        let watch = Stopwatch::start();
        let mut messages = bare.messages().await?;
        for _ in 0..events {
            let message = messages
                .next()
                .await
                .ok_or_else(|| anyhow::anyhow!("the bare consumer's messages ended"))?
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            message.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        theirs.push(watch.round());
        drop(messages);
        js.delete_stream(&name).await?;
    }
    Ok(Comparison::new(
        &lines,
        Side::of(
            events,
            "trustpath: every event committed (consume, normalize, commit, ack)",
            &ours,
        ),
        Side::of(events, "trustpath: every batch correlated", &correlated),
        Side::of(events, "async-nats pull consumer that only acks", &theirs),
    ))
}
