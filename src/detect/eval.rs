//! `trustpath eval EVENTS LABELS`: how well the rules do on a labelled scenario.
//!
//! The events go through the real ingest path into a scratch store, batch by batch, and the
//! engine runs after each commit, as it would live. Then each alert is matched to the
//! labels (ground truth from `trustpath simulate`): an alert of rule R finds a label of R
//! when their evidence shares an event. Per rule the report gives the labelled attacks
//! found and missed, the alerts that match no label of the rule (false positives; those on
//! another label's events are counted apart, as the same events can break several rules),
//! the detection delay in event time (first evidence → the hit that raised the alert) and
//! the processing latency (event received → alert recorded).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use duckdb::params;
use serde::{Deserialize, Serialize};

use super::engine::Engine;
use super::rule::Rule;
use crate::bench::percentile;
use crate::collect::file::NdjsonReader;
use crate::config::{CorrelateConfig, StoreConfig};
use crate::normalize::Normalizer;
use crate::pipeline::Ingest;
use crate::store::{Collector, Store, StoreError};

const EVAL_ALERTS: &str = include_str!("../../queries/detect/eval_alerts.sql");
const EVENT_TIMES: &str = include_str!("../../queries/detect/event_times.sql");

/// The labels file `trustpath simulate` writes.
#[derive(Debug, Deserialize)]
pub struct Labels {
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub rule_ids: Vec<String>,
    pub evidence: Vec<String>,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub events: usize,
    pub labels: usize,
    pub alerts: usize,
    pub rules: Vec<RuleEval>,
}

impl EvalReport {
    /// Every labelled attack found and no alert on unlabelled (benign) events.
    pub fn meets_floor(&self) -> bool {
        self.rules
            .iter()
            .all(|r| r.missed.is_empty() && r.false_positives == 0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleEval {
    pub rule_id: String,
    pub name: String,
    pub injected: usize,
    pub found: usize,
    /// Descriptions of the labelled attacks no alert of the rule found.
    pub missed: Vec<String>,
    /// Alerts of the rule on events no label names.
    pub false_positives: usize,
    /// Alerts of the rule on events of another rule's label.
    pub on_other_attacks: usize,
    /// Event time from a found attack's first evidence to its first alerting hit (s).
    pub delay_p50_s: Option<f64>,
    pub delay_max_s: Option<f64>,
    /// Wall time from receiving a trigger event to recording its hit (ms).
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Example summaries of false positives, to see why.
    pub false_positive_examples: Vec<String>,
}

/// One alert as the eval sees it.
struct Found {
    rule_id: String,
    evidence: BTreeSet<String>,
    first_hit_us: i64,
    summary: String,
}

/// Ingests `events` (NDJSON) into a scratch store next to `scratch_dir` and scores the
/// alerts against `labels`.
pub async fn run(
    rules: Vec<Rule>,
    events: &Path,
    labels: &Labels,
    scratch_dir: &Path,
    batch_events: usize,
) -> anyhow::Result<EvalReport> {
    let path = scratch_dir.join(format!("trustpath-eval-{}.duckdb", uuid::Uuid::now_v7()));
    let result = score(rules.clone(), events, labels, &path, batch_events).await;
    for leftover in [
        path.clone(),
        PathBuf::from(format!("{}.wal", path.display())),
    ] {
        let _ = std::fs::remove_file(leftover);
    }
    result
}

async fn score(
    rules: Vec<Rule>,
    events: &Path,
    labels: &Labels,
    path: &Path,
    batch_events: usize,
) -> anyhow::Result<EvalReport> {
    let store = Store::open(&StoreConfig {
        path: path.to_owned(),
        ..StoreConfig::default()
    })?;
    let mut db = store.connection()?;
    let names: BTreeMap<String, String> = rules
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    let mut engine = Engine::new(rules, Vec::new());
    let (writer, thread) = store.writer(2, CorrelateConfig::default(), None)?;
    let ingest = Ingest::new(Normalizer::new(64 * 1024), writer);
    let file = tokio::fs::File::open(events).await?;
    let mut reader = NdjsonReader::new(file, events.display().to_string(), "native", 64 * 1024);
    let mut count = 0;
    loop {
        let records = reader.next_chunk(batch_events).await?;
        if records.is_empty() {
            break;
        }
        let records: Vec<_> = records.into_iter().map(|(_, record)| record).collect();
        let report = ingest.ingest(Collector::File, records).await?;
        count += report.commit.accepted;
        let (back, detected) = tokio::task::spawn_blocking(move || {
            let detected = engine.detect_pending(&db);
            ((engine, db), detected)
        })
        .await?;
        (engine, db) = back;
        let detected = detected?;
        if let Some((rule, error)) = detected.rule_failures.into_iter().next() {
            anyhow::bail!("rule {rule} failed: {error}");
        }
    }
    drop(ingest);
    tokio::task::spawn_blocking(move || thread.join()).await?;

    let mut alerts: Vec<Found> = Vec::new();
    let mut latencies: HashMap<String, Vec<f64>> = HashMap::new();
    {
        let mut statement = db.prepare(EVAL_ALERTS)?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        for row in rows {
            let (rule_id, evidence, first_hit_us, summary, hit_latencies) = row?;
            let evidence: BTreeSet<String> = serde_json::from_str(&evidence)?;
            let hit_latencies: Vec<f64> = serde_json::from_str(&hit_latencies)?;
            latencies
                .entry(rule_id.clone())
                .or_default()
                .extend(hit_latencies);
            alerts.push(Found {
                rule_id,
                evidence,
                first_hit_us,
                summary,
            });
        }
    }
    let times = event_times(&db, labels)?;

    let mut rules: Vec<RuleEval> = Vec::new();
    for (rule_id, name) in &names {
        let mine: Vec<&Label> = labels
            .labels
            .iter()
            .filter(|l| l.rule_ids.contains(rule_id))
            .collect();
        let alerts_of: Vec<&Found> = alerts.iter().filter(|a| &a.rule_id == rule_id).collect();
        let mut missed = Vec::new();
        let mut delays = Vec::new();
        for label in &mine {
            let hits: Vec<&&Found> = alerts_of
                .iter()
                .filter(|a| label.evidence.iter().any(|id| a.evidence.contains(id)))
                .collect();
            match hits.iter().map(|a| a.first_hit_us).min() {
                None => missed.push(label.description.clone()),
                Some(first_hit) => {
                    let start = label.evidence.iter().filter_map(|id| times.get(id)).min();
                    if let Some(start) = start {
                        delays.push((first_hit - start) as f64 / 1e6);
                    }
                }
            }
        }
        let mut false_positives = 0;
        let mut on_other_attacks = 0;
        let mut examples = Vec::new();
        for alert in &alerts_of {
            let on_mine = mine
                .iter()
                .any(|l| l.evidence.iter().any(|id| alert.evidence.contains(id)));
            if on_mine {
                continue;
            }
            let on_other = labels
                .labels
                .iter()
                .any(|l| l.evidence.iter().any(|id| alert.evidence.contains(id)));
            if on_other {
                on_other_attacks += 1;
            } else {
                false_positives += 1;
                if examples.len() < 3 {
                    examples.push(alert.summary.clone());
                }
            }
        }
        let mut rule_latencies = latencies.remove(rule_id).unwrap_or_default();
        rules.push(RuleEval {
            rule_id: rule_id.clone(),
            name: name.clone(),
            injected: mine.len(),
            found: mine.len() - missed.len(),
            missed,
            false_positives,
            on_other_attacks,
            delay_p50_s: percentile(&mut delays, 0.5),
            delay_max_s: percentile(&mut delays, 1.0),
            latency_p50_ms: percentile(&mut rule_latencies, 0.5),
            latency_p99_ms: percentile(&mut rule_latencies, 0.99),
            false_positive_examples: examples,
        });
    }
    Ok(EvalReport {
        events: count,
        labels: labels.labels.len(),
        alerts: alerts.len(),
        rules,
    })
}

fn event_times(
    db: &duckdb::Connection,
    labels: &Labels,
) -> Result<HashMap<String, i64>, StoreError> {
    let ids: Vec<&str> = labels
        .labels
        .iter()
        .flat_map(|l| l.evidence.iter().map(String::as_str))
        .collect();
    let ids = serde_json::to_string(&ids).map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut statement = db.prepare(EVENT_TIMES)?;
    let rows = statement.query_map(params![ids], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The report as a table.
pub fn render(report: &EvalReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} events, {} labelled attacks, {} alerts\n",
        report.events, report.labels, report.alerts
    );
    let _ = writeln!(
        out,
        "{:<6} {:<30} {:>8} {:>5} {:>6} {:>4} {:>6} {:>10} {:>10} {:>11}",
        "rule",
        "name",
        "injected",
        "found",
        "missed",
        "fp",
        "other",
        "delay p50",
        "delay max",
        "latency p50"
    );
    let seconds = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s"));
    for r in &report.rules {
        let _ = writeln!(
            out,
            "{:<6} {:<30} {:>8} {:>5} {:>6} {:>4} {:>6} {:>10} {:>10} {:>11}",
            r.rule_id,
            r.name,
            r.injected,
            r.found,
            r.missed.len(),
            r.false_positives,
            r.on_other_attacks,
            seconds(r.delay_p50_s),
            seconds(r.delay_max_s),
            r.latency_p50_ms
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0} ms")),
        );
    }
    for r in &report.rules {
        for missed in &r.missed {
            let _ = writeln!(out, "missed by {}: {missed}", r.rule_id);
        }
        for example in &r.false_positive_examples {
            let _ = writeln!(out, "false positive of {}: {example}", r.rule_id);
        }
    }
    out
}
