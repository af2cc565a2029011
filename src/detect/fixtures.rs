//! `trustpath rules test`: each rule against the cases in its `*.fixtures.json`.
//!
//! A case is a set of events and the alerts the rule must raise on them, nothing more and
//! nothing less. Each case runs in scratch in-memory stores through the real ingest path
//! (normalizer, writer, correlation) and the real engine: with all events in one batch, one
//! event per batch in order, one event per batch in reverse order (every event but the
//! first arrives late), and, when the case gives one, in its own `arrival` order (batches of event ids).
//! Every run must give exactly the expected alerts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use bytes::Bytes;
use duckdb::params;
use serde::{Deserialize, Serialize};

use super::engine::Engine;
use super::rule::{BUILTIN_FIXTURES, Rule, Severity};
use crate::config::{CorrelateConfig, StoreConfig};
use crate::normalize::{Normalizer, RawRecord};
use crate::pipeline::Ingest;
use crate::store::{Collector, Store, StoreError};

const FIXTURE_ALERTS: &str = include_str!("../../queries/detect/fixture_alerts.sql");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    events: Vec<serde_json::Value>,
    /// An arrival order to run as well: batches of event ids (every event exactly once),
    /// e.g. a consent delivered a batch after its token.
    #[serde(default)]
    arrival: Option<Vec<Vec<String>>>,
    /// Why the case cannot be delivered newest first (e.g. a learning period starts at the
    /// earliest event stored); the reversed run is then skipped.
    #[serde(default)]
    in_order_only: Option<String>,
    alerts: Vec<ExpectedAlert>,
}

/// An alert as a fixture states it (and as a run found it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAlert {
    pub key: String,
    pub severity: Severity,
    pub count: i64,
    pub evidence: BTreeSet<String>,
}

/// The outcome of one rule's fixtures.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub rule_id: String,
    pub name: String,
    /// Where the fixtures came from; None when the rule has none.
    pub fixtures: Option<String>,
    pub cases: Vec<CaseReport>,
    /// Why the fixture file could not be used, if it could not.
    pub error: Option<String>,
}

impl RuleReport {
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.fixtures.is_some()
            && self.cases.iter().all(|c| c.problems.is_empty())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub name: String,
    /// Empty when both runs gave exactly the expected alerts.
    pub problems: Vec<String>,
}

/// Finds a rule's fixtures: beside its file for rules from a folder, compiled in for the
/// built-in pack.
fn fixtures_of(rule: &Rule) -> Option<(String, Result<String, String>)> {
    if let Some(file) = rule.source.strip_prefix("builtin:") {
        let name = file.replace(".sql", ".fixtures.json");
        return BUILTIN_FIXTURES
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(f, text)| (format!("builtin:{f}"), Ok((*text).to_owned())));
    }
    let path = PathBuf::from(&rule.source).with_extension("fixtures.json");
    path.exists().then(|| {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
        (path.display().to_string(), text)
    })
}

/// Runs the fixtures of `rules`.
pub async fn run(rules: &[Rule]) -> Vec<RuleReport> {
    let mut reports = Vec::new();
    for rule in rules {
        let mut report = RuleReport {
            rule_id: rule.id.clone(),
            name: rule.name.clone(),
            fixtures: None,
            cases: Vec::new(),
            error: None,
        };
        match fixtures_of(rule) {
            None => report.error = Some("no fixtures beside the rule file".into()),
            Some((source, text)) => {
                report.fixtures = Some(source);
                let file = text.and_then(|text| {
                    serde_json::from_str::<FixtureFile>(&text).map_err(|e| e.to_string())
                });
                match file {
                    Err(e) => report.error = Some(format!("cannot read the fixtures: {e}")),
                    Ok(file) if file.cases.is_empty() => {
                        report.error = Some("the fixture file has no cases".into());
                    }
                    Ok(file) => {
                        for case in &file.cases {
                            report.cases.push(run_case(rule, case).await);
                        }
                    }
                }
            }
        }
        reports.push(report);
    }
    reports
}

async fn run_case(rule: &Rule, case: &Case) -> CaseReport {
    let mut problems = Vec::new();
    let mut rule = rule.clone();
    if let Err(e) = rule.configure(&case.params) {
        problems.push(format!("params: {e}"));
        return CaseReport {
            name: case.name.clone(),
            problems,
        };
    }
    let mut expected = case.alerts.clone();
    expected.sort();
    let batches: Vec<Vec<&serde_json::Value>> = vec![case.events.iter().collect()];
    let late: Vec<Vec<&serde_json::Value>> = case.events.iter().rev().map(|e| vec![e]).collect();
    let streamed: Vec<Vec<&serde_json::Value>> = case.events.iter().map(|e| vec![e]).collect();
    let mut modes = vec![("one batch", batches), ("one event per batch", streamed)];
    if case.in_order_only.is_none() {
        modes.push(("reversed, one event per batch", late));
    }
    if let Some(arrival) = &case.arrival {
        match arrival_batches(&case.events, arrival) {
            Ok(batches) => modes.push(("the case's arrival order", batches)),
            Err(e) => problems.push(format!("arrival: {e}")),
        }
    }
    for (mode, batches) in modes {
        match run_once(&rule, &batches).await {
            Ok((mut found, rejected)) => {
                found.sort();
                if !rejected.is_empty() {
                    problems.push(format!("{mode}: events rejected: {}", rejected.join("; ")));
                }
                if found != expected {
                    problems.push(format!(
                        "{mode}: expected {}, found {}",
                        describe(&expected),
                        describe(&found)
                    ));
                }
            }
            Err(e) => problems.push(format!("{mode}: {e}")),
        }
    }
    CaseReport {
        name: case.name.clone(),
        problems,
    }
}

/// The case's events grouped as its `arrival` says; every event exactly once.
fn arrival_batches<'a>(
    events: &'a [serde_json::Value],
    arrival: &[Vec<String>],
) -> Result<Vec<Vec<&'a serde_json::Value>>, String> {
    let mut used = BTreeSet::new();
    let mut batches = Vec::new();
    for ids in arrival {
        let mut batch = Vec::new();
        for id in ids {
            let event = events
                .iter()
                .find(|e| e["id"].as_str() == Some(id.as_str()))
                .ok_or_else(|| format!("no event {id} in the case"))?;
            if !used.insert(id.clone()) {
                return Err(format!("event {id} arrives twice"));
            }
            batch.push(event);
        }
        batches.push(batch);
    }
    if used.len() != events.len() {
        return Err("every event of the case must arrive exactly once".into());
    }
    Ok(batches)
}

fn describe(alerts: &[ExpectedAlert]) -> String {
    if alerts.is_empty() {
        return "no alert".into();
    }
    serde_json::to_string(alerts).unwrap_or_default()
}

/// One scratch store, the batches committed in order, the engine run after each.
async fn run_once(
    rule: &Rule,
    batches: &[Vec<&serde_json::Value>],
) -> Result<(Vec<ExpectedAlert>, Vec<String>), String> {
    let store = Store::open(&StoreConfig::in_memory()).map_err(|e| e.to_string())?;
    let db = store.connection().map_err(|e| e.to_string())?;
    let mut engine = Engine::new(vec![rule.clone()], Vec::new());
    let (writer, thread) = store
        .writer(1, CorrelateConfig::default(), None)
        .map_err(|e| e.to_string())?;
    let ingest = Ingest::new(Normalizer::new(64 * 1024), writer);
    let mut rejected = Vec::new();
    let mut failure = None;
    for (number, batch) in batches.iter().enumerate() {
        let records = batch
            .iter()
            .enumerate()
            .map(|(line, event)| RawRecord {
                raw: Bytes::from(event.to_string()),
                origin: format!("fixture batch {} event {}", number + 1, line + 1),
                delivery_key: None,
                format: "native".into(),
            })
            .collect();
        let report = ingest
            .ingest(Collector::File, records)
            .await
            .map_err(|e| e.to_string())?;
        rejected.extend(report.rejected.into_iter().map(|(_, reason)| reason));
        let detected = engine.detect_pending(&db).map_err(|e| e.to_string())?;
        if let Some(error) = detected.rule_failures.into_values().next() {
            failure = Some(error);
        }
    }
    drop(ingest);
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(error) = failure {
        return Err(format!("the rule failed: {error}"));
    }
    let found = alerts_of(&db, &rule.id).map_err(|e| e.to_string())?;
    Ok((found, rejected))
}

fn alerts_of(db: &duckdb::Connection, rule_id: &str) -> Result<Vec<ExpectedAlert>, StoreError> {
    let mut statement = db.prepare(FIXTURE_ALERTS)?;
    let rows = statement.query_map(params![rule_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    let mut alerts = Vec::new();
    for row in rows {
        let (key, severity, count, evidence) = row?;
        alerts.push(ExpectedAlert {
            key,
            severity: severity.parse().map_err(StoreError::Internal)?,
            count,
            evidence: serde_json::from_str(&evidence)
                .map_err(|e| StoreError::Internal(e.to_string()))?,
        });
    }
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::arrival_batches;
    use serde_json::json;

    #[test]
    fn an_arrival_order_must_deliver_every_event_once() {
        let events = [json!({"id": "e1"}), json!({"id": "e2"})];
        let order = |ids: &[&[&str]]| -> Vec<Vec<String>> {
            ids.iter()
                .map(|b| b.iter().map(|s| s.to_string()).collect())
                .collect()
        };
        let batches = arrival_batches(&events, &order(&[&["e2"], &["e1"]])).unwrap();
        assert_eq!(batches[0][0]["id"], "e2");
        let missing = arrival_batches(&events, &order(&[&["e1"]])).unwrap_err();
        assert!(missing.contains("exactly once"), "{missing}");
        let twice = arrival_batches(&events, &order(&[&["e1", "e1"], &["e2"]])).unwrap_err();
        assert!(twice.contains("e1 arrives twice"), "{twice}");
        let unknown = arrival_batches(&events, &order(&[&["e1", "e3"]])).unwrap_err();
        assert!(unknown.contains("no event e3"), "{unknown}");
    }
}
