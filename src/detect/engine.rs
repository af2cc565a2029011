//! The engine: runs the rules over what is new and turns their hits into alerts.
//!
//! What is new is a set of committed batches (or, for a replay, a slice of event time),
//! copied into the connection's temp table `new_events`. Each rule reads it plus the
//! history within its `lookback` of the new events' times, so an evaluation costs what the
//! batch and the lookback hold, not what the store holds. A hit is recorded once per rule
//! and trigger event (`alert_hits`), so evaluating the same events again, after a restart
//! or in a replay, never counts twice. Hits for a key whose alert is still open and was
//! seen within the rule's `dedup` window add to that alert.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use duckdb::types::{TimeUnit, Value};
use duckdb::{Connection, params};
use serde::Serialize;
use tokio::sync::Notify;
use uuid::Uuid;

use super::rule::{Rule, RuleSet, Severity};
use crate::store::{StoreError, from_micros, rfc3339};

// Reads on the detector's long-lived connection are prepared afresh each time (writes may
// be cached): a cached prepared SELECT re-run on it after later commits by other
// connections returned rows of an earlier snapshot (seen with pending_batches).
const PENDING_BATCHES: &str = include_str!("../../queries/detect/pending_batches.sql");
const NEW_EVENTS_FROM_BATCHES: &str =
    include_str!("../../queries/detect/new_events_from_batches.sql");
const NEW_EVENTS_FROM_WINDOW: &str =
    include_str!("../../queries/detect/new_events_from_window.sql");
const NEW_EVENTS_SPAN: &str = include_str!("../../queries/detect/new_events_span.sql");
const DATA_START: &str = include_str!("../../queries/detect/data_start.sql");
const OLD_NEWEST_FROM: &str = include_str!("../../queries/detect/old_newest_from.sql");
const OLD_NEWEST_BEFORE: &str = include_str!("../../queries/detect/old_newest_before.sql");
const KNOWN_HITS: &str = include_str!("../../queries/detect/known_hits.sql");
const OPEN_ALERTS: &str = include_str!("../../queries/detect/open_alerts.sql");
const HIT_CONNECTION: &str = include_str!("../../queries/detect/hit_connection.sql");
const INSERT_ALERT: &str = include_str!("../../queries/detect/insert_alert.sql");
const UPDATE_ALERT: &str = include_str!("../../queries/detect/update_alert.sql");
const INSERT_HIT: &str = include_str!("../../queries/detect/insert_hit.sql");
const INSERT_STATUS: &str = include_str!("../../queries/detect/insert_status.sql");
const INSERT_DELIVERY: &str = include_str!("../../queries/detect/insert_delivery.sql");
const MARK_DETECTED: &str = include_str!("../../queries/detect/mark_detected.sql");

/// Most events examined in one evaluation when the engine is behind (several batches at
/// once are cheaper than one by one).
const MAX_EVENTS_PER_EVALUATION: i64 = 50_000;
/// Most evidence ids an alert keeps (the hits table keeps every trigger).
const MAX_EVIDENCE: usize = 100;
/// How far around a hit its connection is looked for in `connection_members`.
const CONNECTION_SEARCH: Duration = Duration::from_secs(24 * 3600);
/// How far before the new events `$old_newest` is looked for first (µs): in a live stream
/// the newest old event is seconds before them, and the rest of the lookback is read only
/// when this span holds nothing.
const OLD_NEWEST_NEAR_US: i64 = 10_000_000;

/// One finding of one rule: the trigger event and what it shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub rule_id: String,
    pub event_id: String,
    pub key: String,
    pub time: DateTime<Utc>,
    pub evidence: Vec<String>,
    pub summary: String,
    pub severity: Severity,
}

/// A sink that receives new alerts of at least `min_severity` (see `detect::sinks`).
#[derive(Debug, Clone)]
pub struct SinkTarget {
    pub name: String,
    pub min_severity: Severity,
}

/// What one pass of the engine did.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct DetectReport {
    pub evaluations: usize,
    pub events: usize,
    pub hits: usize,
    pub new_alerts: usize,
    pub updated_alerts: usize,
    /// Rules that failed on some evaluation, with DuckDB's error (the others still ran).
    pub rule_failures: BTreeMap<String, String>,
}

impl DetectReport {
    fn add(&mut self, other: DetectReport) {
        self.evaluations += other.evaluations;
        self.events += other.events;
        self.hits += other.hits;
        self.new_alerts += other.new_alerts;
        self.updated_alerts += other.updated_alerts;
        self.rule_failures.extend(other.rule_failures);
    }
}

/// What the rules found in one set of new events.
#[derive(Default)]
struct Evaluation {
    hits: Vec<Hit>,
    /// Rules that failed, with the error placed in their file.
    failures: BTreeMap<String, String>,
    /// Events examined.
    events: usize,
}

pub struct Engine {
    rules: Vec<Rule>,
    sinks: Vec<SinkTarget>,
    /// Told when new alerts wait in the outbox.
    sink_wake: Option<Arc<Notify>>,
    /// Earliest stored event time (µs), the start of learning periods; read once.
    data_start: Option<i64>,
}

impl Engine {
    pub fn new(rules: Vec<Rule>, sinks: Vec<SinkTarget>) -> Engine {
        Engine {
            rules,
            sinks,
            sink_wake: None,
            data_start: None,
        }
    }

    /// Wakes the sink task whenever new alerts are recorded.
    pub fn with_sink_wake(mut self, wake: Arc<Notify>) -> Engine {
        self.sink_wake = Some(wake);
        self
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs every rule of `set` once over no new events: a rule whose SQL does not parse,
    /// names a table or parameter that does not exist, or lacks a required column moves to
    /// `set.errors` with its file and line; the rest run.
    pub fn check(db: &Connection, set: &mut RuleSet) -> Result<(), StoreError> {
        db.execute(
            NEW_EVENTS_FROM_WINDOW,
            params!["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"],
        )?;
        let mut bounds = Bounds::new(0, 0, 0);
        let failed: Vec<(String, usize, String)> = set
            .rules
            .iter()
            .filter_map(|rule| {
                run_rule(db, rule, &mut bounds).err().map(|error| {
                    let (line, message) = error.place(rule);
                    (rule.id.clone(), line, message)
                })
            })
            .collect();
        for (id, line, message) in failed {
            set.reject(&id, line, message);
        }
        Ok(())
    }

    /// Examines every committed batch not yet examined, oldest first, a few batches per
    /// evaluation. Returns what it did.
    pub fn detect_pending(&mut self, db: &Connection) -> Result<DetectReport, StoreError> {
        let pending: Vec<(String, i64)> = db
            .prepare(PENDING_BATCHES)?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut report = DetectReport::default();
        let mut chunk: Vec<String> = Vec::new();
        let mut events = 0;
        for (batch_id, accepted) in pending {
            if !chunk.is_empty() && events + accepted > MAX_EVENTS_PER_EVALUATION {
                report.add(self.detect_batches(db, &chunk)?);
                chunk.clear();
                events = 0;
            }
            chunk.push(batch_id);
            events += accepted;
        }
        if !chunk.is_empty() {
            report.add(self.detect_batches(db, &chunk)?);
        }
        Ok(report)
    }

    fn detect_batches(
        &mut self,
        db: &Connection,
        batches: &[String],
    ) -> Result<DetectReport, StoreError> {
        let started = Instant::now();
        let ids = serde_json::to_string(batches).map_err(internal)?;
        let (least, greatest) = (
            batches.iter().min().cloned().unwrap_or_default(),
            batches.iter().max().cloned().unwrap_or_default(),
        );
        db.execute(NEW_EVENTS_FROM_BATCHES, params![ids, least, greatest])?;
        let evaluation = self.evaluate(db, None)?;
        let mut report = self.record(db, evaluation.hits, batches)?;
        report.events = evaluation.events;
        report.rule_failures = evaluation.failures;
        crate::metrics::detection_pass(report.events, report.hits, started.elapsed());
        Ok(report)
    }

    /// Re-runs the rules (all, or those in `only`) over stored events with event times in
    /// `[from, to)`, `slice` of event time at a time. Hits already recorded are skipped, so
    /// a replay after adding a rule adds only that rule's alerts.
    pub fn replay(
        &mut self,
        db: &Connection,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        slice: Duration,
        only: Option<&[String]>,
    ) -> Result<DetectReport, StoreError> {
        let step = chrono::Duration::from_std(slice).map_err(internal)?;
        let mut report = DetectReport::default();
        let mut start = from;
        while start < to {
            let end = (start + step).min(to);
            db.execute(
                NEW_EVENTS_FROM_WINDOW,
                params![rfc3339(start), rfc3339(end)],
            )?;
            let evaluation = self.evaluate(db, only)?;
            let mut recorded = self.record(db, evaluation.hits, &[])?;
            recorded.events = evaluation.events;
            recorded.rule_failures = evaluation.failures;
            report.add(recorded);
            start = end;
        }
        Ok(report)
    }

    /// The earliest stored event time (µs), read once, then kept up to date with `min`,
    /// the earliest new event.
    fn data_start(&mut self, db: &Connection, min: i64) -> Result<i64, StoreError> {
        let start = match self.data_start {
            Some(start) => start.min(min),
            None => db
                .query_row(DATA_START, [], |row| row.get::<_, Option<i64>>(0))?
                .unwrap_or(min),
        };
        self.data_start = Some(start);
        Ok(start)
    }

    /// Times each rule over one committed batch, recording nothing (`trustpath bench`).
    /// Returns (rule id, time, hits) per rule.
    pub fn profile_batch(
        &mut self,
        db: &Connection,
        batch_id: &str,
    ) -> Result<Vec<(String, Duration, usize)>, StoreError> {
        let ids = serde_json::to_string(&[batch_id]).map_err(internal)?;
        db.execute(NEW_EVENTS_FROM_BATCHES, params![ids, batch_id, batch_id])?;
        let (min, max): (Option<i64>, Option<i64>) =
            db.query_row(NEW_EVENTS_SPAN, [], |row| Ok((row.get(1)?, row.get(2)?)))?;
        let (Some(min), Some(max)) = (min, max) else {
            return Ok(Vec::new());
        };
        let mut bounds = Bounds::new(min, max, self.data_start(db, min)?);
        let mut timings = Vec::new();
        for rule in &self.rules {
            let started = Instant::now();
            let hits = run_rule(db, rule, &mut bounds)
                .map_err(|e| StoreError::Internal(format!("rule {}: {}", rule.id, e.0)))?;
            timings.push((rule.id.clone(), started.elapsed(), hits.len()));
        }
        Ok(timings)
    }

    /// Runs the rules over `new_events`.
    fn evaluate(
        &mut self,
        db: &Connection,
        only: Option<&[String]>,
    ) -> Result<Evaluation, StoreError> {
        let (count, min, max): (i64, Option<i64>, Option<i64>) =
            db.query_row(NEW_EVENTS_SPAN, [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
        let (Some(min), Some(max)) = (min, max) else {
            return Ok(Evaluation::default());
        };
        let mut bounds = Bounds::new(min, max, self.data_start(db, min)?);
        let mut hits = Vec::new();
        let mut failures = BTreeMap::new();
        for rule in &self.rules {
            if only.is_some_and(|ids| !ids.contains(&rule.id)) {
                continue;
            }
            let started = Instant::now();
            match run_rule(db, rule, &mut bounds) {
                Ok(found) => {
                    crate::metrics::rule_evaluated(&rule.id, found.len(), started.elapsed());
                    hits.extend(found);
                }
                Err(error) => {
                    let (line, message) = error.place(rule);
                    let remedy = format!(
                        "fix the rule, then `trustpath rules replay --from {} --to {} {}`",
                        rfc3339(from_micros(min)?),
                        rfc3339(from_micros(max.saturating_add(1))?),
                        rule.id
                    );
                    tracing::error!(rule = %rule.id, source = %rule.source, line, %message, %remedy, "rule failed; the other rules ran");
                    crate::metrics::rule_failed(&rule.id);
                    failures.insert(
                        rule.id.clone(),
                        format!("{}:{line}: {message}; {remedy}", rule.source),
                    );
                }
            }
        }
        Ok(Evaluation {
            hits,
            failures,
            events: usize::try_from(count).unwrap_or(0),
        })
    }

    /// Turns hits into alerts and marks `batches` examined, in one transaction.
    fn record(
        &self,
        db: &Connection,
        hits: Vec<Hit>,
        batches: &[String],
    ) -> Result<DetectReport, StoreError> {
        db.execute_batch("BEGIN TRANSACTION")?;
        match self.write(db, hits, batches) {
            Ok(report) => {
                if let Err(error) = db.execute_batch("COMMIT") {
                    let _ = db.execute_batch("ROLLBACK");
                    return Err(error.into());
                }
                if report.new_alerts + report.updated_alerts > 0
                    && let Some(wake) = &self.sink_wake
                {
                    wake.notify_one();
                }
                Ok(report)
            }
            Err(error) => {
                let _ = db.execute_batch("ROLLBACK");
                Err(error)
            }
        }
    }

    fn write(
        &self,
        db: &Connection,
        hits: Vec<Hit>,
        batches: &[String],
    ) -> Result<DetectReport, StoreError> {
        let now = rfc3339(Utc::now());
        let mut report = DetectReport {
            evaluations: 1,
            ..DetectReport::default()
        };
        // Per rule and key, in event-time order.
        let mut groups: BTreeMap<(String, String), Vec<Hit>> = BTreeMap::new();
        for hit in fresh_hits(db, hits)? {
            groups
                .entry((hit.rule_id.clone(), hit.key.clone()))
                .or_default()
                .push(hit);
        }
        let mut notify: Vec<(String, Option<Severity>, Severity)> = Vec::new();
        for ((rule_id, key), mut hits) in groups {
            let Some(rule) = self.rules.iter().find(|r| r.id == rule_id) else {
                continue;
            };
            hits.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
            // Every unresolved alert of the key, and those this write opens: a hit joins the
            // first whose window takes it, whatever order hits arrive in.
            let mut alerts = open_alerts(db, rule, &key)?;
            for hit in hits {
                report.hits += 1;
                let index = match alerts.iter().position(|a| a.takes(&hit, rule.dedup)) {
                    Some(index) => index,
                    None => {
                        alerts.push(OpenAlert::start(rule, &hit));
                        alerts.len() - 1
                    }
                };
                let alert = &mut alerts[index];
                alert.add(&hit);
                db.prepare_cached(INSERT_HIT)?.execute(params![
                    rule_id,
                    hit.event_id,
                    alert.id,
                    rfc3339(hit.time),
                    now
                ])?;
            }
            for alert in alerts.into_iter().filter(|a| a.changed) {
                notify.push((alert.id.clone(), alert.stored_severity, alert.severity));
                alert.save(db, &now, &mut report)?;
            }
        }
        for batch in batches {
            db.prepare_cached(MARK_DETECTED)?
                .execute(params![batch, now])?;
        }
        // New alerts, and alerts whose severity rose, wait in the outbox for every sink that
        // wants their (new) severity and did not already get them.
        for (alert_id, before, severity) in notify {
            let newly = |sink: &&SinkTarget| {
                severity >= sink.min_severity && before.is_none_or(|b| b < sink.min_severity)
            };
            for sink in self.sinks.iter().filter(newly) {
                db.prepare_cached(INSERT_DELIVERY)?
                    .execute(params![alert_id, sink.name, now])?;
            }
        }
        Ok(report)
    }
}

/// An alert being added to during a write: an open one from the store or a new one.
struct OpenAlert {
    id: String,
    rule_id: String,
    rule_name: String,
    severity: Severity,
    key: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    count: i64,
    evidence: Vec<String>,
    summary: String,
    /// The severity the store holds (None: a new alert).
    stored_severity: Option<Severity>,
    /// Hits were added in this write.
    changed: bool,
}

impl OpenAlert {
    fn start(rule: &Rule, hit: &Hit) -> OpenAlert {
        OpenAlert {
            id: format!("al-{}", Uuid::now_v7().simple()),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity: hit.severity,
            key: hit.key.clone(),
            first_seen: hit.time,
            last_seen: hit.time,
            count: 0,
            evidence: Vec::new(),
            summary: hit.summary.clone(),
            stored_severity: None,
            changed: false,
        }
    }

    /// Whether `hit` falls within the dedup window of this alert's span (either side: a
    /// late hit a little before the first one belongs to it too).
    fn takes(&self, hit: &Hit, dedup: Duration) -> bool {
        let window = chrono::Duration::from_std(dedup).unwrap_or(chrono::Duration::MAX);
        let from = self.first_seen.checked_sub_signed(window);
        let to = self.last_seen.checked_add_signed(window);
        from.is_none_or(|from| hit.time >= from) && to.is_none_or(|to| hit.time <= to)
    }

    /// Counts `hit` in. The summary stays the first hit's (what opened the alert) unless a
    /// later hit is more severe.
    fn add(&mut self, hit: &Hit) {
        self.changed = true;
        if self.count > 0 && hit.severity > self.severity {
            self.summary = hit.summary.clone();
        }
        self.count += 1;
        self.severity = self.severity.max(hit.severity);
        self.first_seen = self.first_seen.min(hit.time);
        self.last_seen = self.last_seen.max(hit.time);
        for id in &hit.evidence {
            if self.evidence.len() < MAX_EVIDENCE && !self.evidence.contains(id) {
                self.evidence.push(id.clone());
            }
        }
    }

    /// Writes the alert (inserts a new one with its `open` status, updates a stored one).
    fn save(self, db: &Connection, now: &str, report: &mut DetectReport) -> Result<(), StoreError> {
        let evidence = serde_json::to_string(&self.evidence).map_err(internal)?;
        if self.stored_severity.is_none() {
            let connection = hit_connection(db, &self.evidence, self.first_seen, self.last_seen)?;
            db.prepare_cached(INSERT_ALERT)?.execute(params![
                self.id,
                self.rule_id,
                self.rule_name,
                self.severity.as_str(),
                self.key,
                rfc3339(self.first_seen),
                rfc3339(self.last_seen),
                self.count,
                evidence,
                connection,
                self.summary,
                now
            ])?;
            db.prepare_cached(INSERT_STATUS)?.execute(params![
                self.id,
                "open",
                "trustpath",
                now,
                None::<String>
            ])?;
            report.new_alerts += 1;
        } else {
            db.prepare_cached(UPDATE_ALERT)?.execute(params![
                self.id,
                self.severity.as_str(),
                rfc3339(self.first_seen),
                rfc3339(self.last_seen),
                self.count,
                evidence,
                self.summary,
                now
            ])?;
            report.updated_alerts += 1;
        }
        Ok(())
    }
}

/// The unresolved alerts of a rule for a key.
fn open_alerts(db: &Connection, rule: &Rule, key: &str) -> Result<Vec<OpenAlert>, StoreError> {
    let mut statement = db.prepare(OPEN_ALERTS)?;
    let mut rows = statement.query(params![rule.id, key])?;
    let mut alerts = Vec::new();
    while let Some(row) = rows.next()? {
        let severity: Severity = row
            .get::<_, String>(4)?
            .parse()
            .map_err(StoreError::Internal)?;
        let evidence: String = row.get(5)?;
        alerts.push(OpenAlert {
            id: row.get(0)?,
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity,
            key: key.to_owned(),
            first_seen: from_micros(row.get(1)?)?,
            last_seen: from_micros(row.get(2)?)?,
            count: row.get(3)?,
            evidence: serde_json::from_str(&evidence).map_err(internal)?,
            summary: row.get(6)?,
            stored_severity: Some(severity),
            changed: false,
        });
    }
    Ok(alerts)
}

/// Hits whose (rule, trigger) is not recorded yet; the first of duplicates within `hits`.
fn fresh_hits(db: &Connection, hits: Vec<Hit>) -> Result<Vec<Hit>, StoreError> {
    let mut by_rule: BTreeMap<String, Vec<Hit>> = BTreeMap::new();
    for hit in hits {
        by_rule.entry(hit.rule_id.clone()).or_default().push(hit);
    }
    let mut fresh = Vec::new();
    for (rule_id, hits) in by_rule {
        let ids: Vec<&str> = hits.iter().map(|h| h.event_id.as_str()).collect();
        let ids = serde_json::to_string(&ids).map_err(internal)?;
        let mut seen: HashSet<String> = db
            .prepare(KNOWN_HITS)?
            .query_map(params![rule_id, ids], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        fresh.extend(
            hits.into_iter()
                .filter(|hit| seen.insert(hit.event_id.clone())),
        );
    }
    Ok(fresh)
}

fn hit_connection(
    db: &Connection,
    evidence: &[String],
    first: DateTime<Utc>,
    last: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let around = chrono::Duration::from_std(CONNECTION_SEARCH).map_err(internal)?;
    let ids = serde_json::to_string(evidence).map_err(internal)?;
    let mut statement = db.prepare(HIT_CONNECTION)?;
    let mut rows = statement.query(params![
        ids,
        rfc3339(first - around),
        rfc3339(last + around)
    ])?;
    Ok(match rows.next()? {
        Some(row) => row.get(0)?,
        None => None,
    })
}

/// What the engine binds besides a rule's own parameters: the new events' span (a rule
/// reads `lookback` around it), the store's first event time, and the newest old event.
struct Bounds {
    min: i64,
    max: i64,
    data_start: i64,
    /// `$old_newest` by lookback (µs), read once per evaluation and only for rules that
    /// use it.
    old_newest: BTreeMap<i64, Option<i64>>,
}

impl Bounds {
    fn new(min: i64, max: i64, data_start: i64) -> Bounds {
        Bounds {
            min,
            max,
            data_start,
            old_newest: BTreeMap::new(),
        }
    }

    /// The newest stored event within `lookback` of the new events that is not one of
    /// them and was examined before (µs; a batch committed but not examined yet is left
    /// out, as its evaluation is still to come): what a rule judging an absence once the
    /// store has moved `settle` past it compares with, to judge each absence in the one
    /// evaluation that first reaches it. Read in pruned spans, newest first (a rule
    /// computing it itself reads its whole lookback: `max(time)` over a range is not
    /// answered from zone maps).
    fn old_newest(&mut self, db: &Connection, lookback: i64) -> Result<Option<i64>, StoreError> {
        if let Some(known) = self.old_newest.get(&lookback) {
            return Ok(*known);
        }
        let from = self.min.saturating_sub(lookback);
        let to = self.max.saturating_add(lookback);
        let near = self.min.saturating_sub(OLD_NEWEST_NEAR_US).max(from);
        let at = |micros: i64| from_micros(micros).map(rfc3339);
        let newest = |sql: &str, start: i64, end: i64| -> Result<Option<i64>, StoreError> {
            Ok(db.query_row(sql, params![at(start)?, at(end)?], |row| row.get(0))?)
        };
        // Any old event at or after the first new one is newer than all before it.
        let mut found = newest(OLD_NEWEST_FROM, self.min, to)?;
        if found.is_none() {
            found = newest(OLD_NEWEST_BEFORE, near, self.min)?;
        }
        if found.is_none() && near > from {
            found = newest(OLD_NEWEST_BEFORE, from, near)?;
        }
        self.old_newest.insert(lookback, found);
        Ok(found)
    }
}

/// Why a rule could not run, placed in its file when DuckDB says where.
struct RuleFailure(String);

impl RuleFailure {
    /// The line in the rule's file and the message. DuckDB reports parser errors as
    /// `LINE n:` relative to the body.
    fn place(&self, rule: &Rule) -> (usize, String) {
        let message = self.0.clone();
        let line = message
            .split("LINE ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
            .map_or(rule.body_line, |n| rule.body_line + n - 1);
        (line, message)
    }
}

impl From<duckdb::Error> for RuleFailure {
    fn from(error: duckdb::Error) -> Self {
        RuleFailure(error.to_string())
    }
}

/// The columns a rule returns, by name.
const REQUIRED_COLUMNS: [&str; 5] = ["event_id", "key", "time", "evidence", "summary"];

fn run_rule(db: &Connection, rule: &Rule, bounds: &mut Bounds) -> Result<Vec<Hit>, RuleFailure> {
    let lookback = i64::try_from(rule.lookback.as_micros()).unwrap_or(i64::MAX / 4);
    let from = rfc3339(from_micros(bounds.min.saturating_sub(lookback)).map_err(failure)?);
    let to = rfc3339(from_micros(bounds.max.saturating_add(lookback)).map_err(failure)?);
    let data_start = rfc3339(from_micros(bounds.data_start).map_err(failure)?);
    let mut statement = db.prepare(&rule.sql)?;
    let mut values = Vec::with_capacity(statement.parameter_count());
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index)?;
        values.push(match name.as_str() {
            "from" => Value::Text(from.clone()),
            "to" => Value::Text(to.clone()),
            "data_start" => Value::Text(data_start.clone()),
            "old_newest" => match bounds.old_newest(db, lookback).map_err(failure)? {
                Some(micros) => Value::Text(rfc3339(from_micros(micros).map_err(failure)?)),
                None => Value::Null,
            },
            other => match rule.params.get(other) {
                Some(value) => value.to_sql(),
                None => {
                    return Err(RuleFailure(format!(
                        "the SQL uses ${other}, which is neither $from, $to, $data_start, \
                         $old_newest nor a `param:` of the header"
                    )));
                }
            },
        });
    }
    let mut rows = statement.query(duckdb::params_from_iter(values))?;
    if let Some(executed) = rows.as_ref() {
        check_columns(executed)?;
    }
    let mut hits = Vec::new();
    while let Some(row) = rows.next()? {
        hits.push(read_hit(rule, row)?);
    }
    Ok(hits)
}

fn check_columns(statement: &duckdb::Statement<'_>) -> Result<(), RuleFailure> {
    let names = statement.column_names();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !names.iter().any(|n| n == c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RuleFailure(format!(
            "the SELECT must return the columns {} (and optionally severity); missing: {}",
            REQUIRED_COLUMNS.join(", "),
            missing.join(", ")
        )))
    }
}

fn read_hit(rule: &Rule, row: &duckdb::Row<'_>) -> Result<Hit, RuleFailure> {
    let severity = match row.get::<_, Option<String>>("severity") {
        Ok(Some(text)) => text
            .parse::<Severity>()
            .map_err(|e| RuleFailure(format!("column severity: {e}")))?,
        _ => rule.severity,
    };
    let event_id: Option<String> = row.get("event_id")?;
    let Some(event_id) = event_id else {
        return Err(RuleFailure(
            "a row has event_id NULL; every hit needs its trigger event".into(),
        ));
    };
    let time = micros(&row.get::<_, Value>("time")?)
        .ok_or_else(|| RuleFailure("column time must be a TIMESTAMPTZ".into()))?;
    let evidence = match row.get::<_, Value>("evidence")? {
        Value::List(items) | Value::Array(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Text(text) => Some(text),
                _ => None,
            })
            .collect(),
        Value::Null => Vec::new(),
        _ => {
            return Err(RuleFailure(
                "column evidence must be a VARCHAR[] of event ids".into(),
            ));
        }
    };
    Ok(Hit {
        rule_id: rule.id.clone(),
        event_id,
        key: row.get::<_, Option<String>>("key")?.unwrap_or_default(),
        time: from_micros(time).map_err(failure)?,
        evidence,
        summary: row.get::<_, Option<String>>("summary")?.unwrap_or_default(),
        severity: severity.max(rule.severity),
    })
}

fn micros(value: &Value) -> Option<i64> {
    match value {
        Value::Timestamp(unit, n) => Some(match unit {
            TimeUnit::Second => n * 1_000_000,
            TimeUnit::Millisecond => n * 1_000,
            TimeUnit::Microsecond => *n,
            TimeUnit::Nanosecond => n / 1_000,
        }),
        _ => None,
    }
}

fn failure(error: StoreError) -> RuleFailure {
    RuleFailure(error.to_string())
}

fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(error.to_string())
}
