//! Keeps `connection_tokens`, `connection_members`, `client_pins`, `connections`,
//! `verdict_changes` and `correlated_batches` in step with `events`. Runs on the writer's
//! connection, inside the batch's transaction (a batch and the trust paths it changed
//! commit together) or, under a burst, in a transaction of its own soon after
//! ([`apply_committed`], `correlate.max_lag`).
//!
//! Per batch: record its tokens and member events; resolve refresh lineage; attach events
//! by token id, then by session or time window (re-planning attachments a late event
//! changed); evaluate every connection the batch touched, directly or through new
//! evidence (PRM, AS metadata, client document) at or before one of its tokens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use duckdb::{Connection, params};
use uuid::Uuid;

use super::trust_path::{ConnectionFacts, Fact, TokenEvidence};
use super::{Verdict, evaluate};
use crate::config::CorrelateConfig;
use crate::store::{StoreError, from_micros, in_transaction, rfc3339};

const SETUP: &str = include_str!("../../queries/correlate/setup.sql");
const SET_PASS: &str = include_str!("../../queries/correlate/set_pass.sql");
const PASS_RANGE: &str = include_str!("../../queries/correlate/pass_range.sql");
const MARK_CORRELATED: &str = include_str!("../../queries/correlate/mark_correlated.sql");
const CLEAR_DIRTY: &str = include_str!("../../queries/correlate/clear_dirty.sql");
const DEDUPE_DIRTY: &str = include_str!("../../queries/correlate/dedupe_dirty.sql");
const BATCH_SPAN: &str = include_str!("../../queries/correlate/batch_span.sql");
const INSERT_TOKENS: &str = include_str!("../../queries/correlate/insert_tokens.sql");
const INSERT_MEMBERS: &str = include_str!("../../queries/correlate/insert_members.sql");
const UPDATE_PINS: &str = include_str!("../../queries/correlate/update_pins.sql");
const RESOLVE_LINEAGE: &str = include_str!("../../queries/correlate/resolve_lineage.sql");
const PLAN_BY_TOKEN: &str = include_str!("../../queries/correlate/plan_by_token.sql");
const ATTACH_SPAN: &str = include_str!("../../queries/correlate/attach_span.sql");
const PLAN_BY_CONTEXT: &str = include_str!("../../queries/correlate/plan_by_context.sql");
const MARK_MOVED: &str = include_str!("../../queries/correlate/mark_moved.sql");
const APPLY_ATTACH: &str = include_str!("../../queries/correlate/apply_attach.sql");
const DIRTY_FROM_BATCH: &str = include_str!("../../queries/correlate/dirty_from_batch.sql");
const DIRTY_SPAN: &str = include_str!("../../queries/correlate/dirty_span.sql");
const DIRTY_TOKENS_SPAN: &str = include_str!("../../queries/correlate/dirty_tokens_span.sql");
const MEMBER_EVENTS: &str = include_str!("../../queries/correlate/member_events.sql");
const TOKEN_EVIDENCE: &str = include_str!("../../queries/correlate/token_evidence.sql");
const PREVIOUS_PATHS: &str = include_str!("../../queries/correlate/previous_paths.sql");
const UPSERT_CONNECTION: &str = include_str!("../../queries/correlate/upsert_connection.sql");
const INSERT_VERDICT_CHANGE: &str =
    include_str!("../../queries/correlate/insert_verdict_change.sql");
const UNCORRELATED_BATCHES: &str = include_str!("../../queries/correlate/uncorrelated_batches.sql");

/// Longest refresh chain resolved in one batch; a longer one finishes in later batches.
const MAX_LINEAGE_STEPS: usize = 64;

/// Prepares the writer connection (its temp tables).
pub fn setup(db: &Connection) -> Result<(), StoreError> {
    db.execute_batch(SETUP)?;
    Ok(())
}

/// Correlates committed batches the correlation has not seen, oldest first, one
/// transaction each: a store that held events before schema 2, or batches whose deferred
/// correlation (`correlate.max_lag`) had not run when trustpath stopped. Any connection
/// will do: it gets the temp tables correlation needs. Returns how many.
pub fn catch_up(db: &Connection, config: &CorrelateConfig) -> Result<usize, StoreError> {
    let pending = uncorrelated(db)?;
    if !pending.is_empty() {
        setup(db)?;
        tracing::info!(
            batches = pending.len(),
            "correlating stored batches the correlation has not seen"
        );
    }
    let mut correlated = 0;
    for (batch_id, received_at, _) in pending {
        // One batch that cannot be correlated must not keep the store from opening.
        match apply_committed(db, config, &[batch_id], received_at) {
            Ok(_) => correlated += 1,
            Err(error) => {
                crate::metrics::correlation_failed();
                tracing::error!(
                    %batch_id,
                    %error,
                    "correlating a stored batch failed; its events stand, and it is tried \
                     again at the next start"
                );
            }
        }
    }
    Ok(correlated)
}

/// Committed batches with events that the correlation has not seen, oldest first: id,
/// time received, events.
pub fn uncorrelated(db: &Connection) -> Result<Vec<(Uuid, DateTime<Utc>, usize)>, StoreError> {
    let mut statement = db.prepare(UNCORRELATED_BATCHES)?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
        ))
    })?;
    let mut batches = Vec::new();
    for row in rows {
        let (batch_id, received_at, accepted) = row?;
        let batch_id: Uuid = batch_id
            .parse()
            .map_err(|e| StoreError::Internal(format!("ingest_log batch id {batch_id}: {e}")))?;
        batches.push((
            batch_id,
            from_micros(received_at)?,
            usize::try_from(accepted).unwrap_or(0),
        ));
    }
    Ok(batches)
}

/// [`apply`] for batches committed earlier without their correlation, in a transaction
/// of its own.
pub fn apply_committed(
    db: &Connection,
    config: &CorrelateConfig,
    batches: &[Uuid],
    recorded_at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    in_transaction(db, || apply(db, config, batches, recorded_at))
}

/// Brings the connections up to date with `batches` (one pass; already in `events`),
/// recording `recorded_at` as the time of their evaluation. Returns how many connections
/// were evaluated.
///
/// Every step looks only at the time span the pass can have changed (its events, widened
/// by the correlation window and clock skew), so its cost follows the pass, not the store;
/// a connection several of the batches touch is evaluated once.
pub fn apply(
    db: &Connection,
    config: &CorrelateConfig,
    batches: &[Uuid],
    recorded_at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if batches.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = batches.iter().map(Uuid::to_string).collect();
    let ids = serde_json::to_string(&ids).expect("a list of strings serializes");
    let skew = span_duration(config.clock_skew)?;
    let window = span_duration(config.window)?;
    let mut phases = Phases::new();
    db.execute_batch(CLEAR_DIRTY)?;
    db.execute(SET_PASS, params![ids])?;
    db.execute_batch(MARK_CORRELATED)?;
    // The range that prunes the pass's scans, in DuckDB's own order of UUIDs.
    let (first, last): (String, String) =
        db.query_row(PASS_RANGE, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let pass = params![first, last];
    let Some((batch_from, _)) = span(db, BATCH_SPAN, pass)? else {
        return Ok(0);
    };
    db.execute(INSERT_TOKENS, pass)?;
    db.execute(INSERT_MEMBERS, pass)?;
    db.execute(UPDATE_PINS, pass)?;
    phases.done("insert");
    for _ in 0..MAX_LINEAGE_STEPS {
        if db.execute(RESOLVE_LINEAGE, [])? == 0 {
            break;
        }
    }
    phases.done("lineage");

    let waiting_from = rfc3339(batch_from - skew);
    db.execute(PLAN_BY_TOKEN, params![waiting_from])?;
    let everything_after = params![waiting_from, "infinity"];
    db.execute(MARK_MOVED, everything_after)?;
    db.execute(APPLY_ATTACH, everything_after)?;
    phases.done("attach_by_token");

    if let Some((from, to)) = span(db, ATTACH_SPAN, pass)? {
        let reach = window + skew;
        let (open_from, open_to) = (rfc3339(from - reach), rfc3339(to + reach));
        let (near_from, near_to) = (rfc3339(from - reach - reach), rfc3339(to + reach + reach));
        db.execute(
            PLAN_BY_CONTEXT,
            params![
                open_from,
                open_to,
                near_from,
                near_to,
                skew.num_seconds(),
                window.num_seconds()
            ],
        )?;
        db.execute(MARK_MOVED, params![open_from, open_to])?;
        db.execute(APPLY_ATTACH, params![open_from, open_to])?;
    }
    phases.done("attach_by_context");

    db.execute(
        DIRTY_FROM_BATCH,
        params![first, last, skew.num_seconds(), waiting_from],
    )?;
    db.execute_batch(DEDUPE_DIRTY)?;
    phases.done("dirty");
    let facts = load_facts(db, config, &mut phases)?;
    let evaluated = facts.len();
    // A verdict change is recorded against the newest batch of the pass.
    store_paths(db, skew, facts, &last, recorded_at)?;
    phases.done("evaluate_store");
    tracing::debug!(evaluated, phases = %phases, "connections updated");
    Ok(evaluated)
}

fn load_facts(
    db: &Connection,
    config: &CorrelateConfig,
    phases: &mut Phases,
) -> Result<Vec<ConnectionFacts>, StoreError> {
    let Some((from, to)) = span(db, DIRTY_SPAN, [])? else {
        return Ok(Vec::new());
    };
    let mut facts: HashMap<String, ConnectionFacts> = HashMap::new();
    let mut members = db.prepare_cached(MEMBER_EVENTS)?;
    let mut rows = members.query(params![rfc3339(from), rfc3339(to)])?;
    while let Some(row) = rows.next()? {
        let connection_id: String = row.get(0)?;
        let fact = member_fact(row)?;
        facts
            .entry(connection_id)
            .or_insert_with_key(|connection_id| ConnectionFacts {
                connection_id: connection_id.clone(),
                events: Vec::new(),
                evidence: Vec::new(),
            })
            .events
            .push(fact);
    }
    phases.done("load_members");
    if let Some((first_token, last_token)) = span(db, DIRTY_TOKENS_SPAN, [])? {
        let oldest = first_token - span_duration(config.evidence_lookback)?;
        let newest = last_token + span_duration(config.clock_skew)?;
        let mut evidence = db.prepare_cached(TOKEN_EVIDENCE)?;
        let rows = evidence.query_map(
            params![
                config.clock_skew.as_secs() as i64,
                rfc3339(oldest),
                rfc3339(newest)
            ],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
        )?;
        for row in rows {
            let (connection_id, json) = row?;
            if let Some(connection) = facts.get_mut(&connection_id) {
                connection.evidence.push(parse::<TokenEvidence>(&json)?);
            }
        }
    }
    phases.done("load_evidence");
    let mut facts: Vec<ConnectionFacts> = facts.into_values().collect();
    facts.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
    Ok(facts)
}

/// One row of `member_events.sql` (after its connection id) as a [`Fact`].
fn member_fact(row: &duckdb::Row<'_>) -> Result<Fact, StoreError> {
    fn word<T: std::str::FromStr<Err = String>>(text: String) -> Result<T, StoreError> {
        text.parse()
            .map_err(|e| StoreError::Internal(format!("a stored event does not read back: {e}")))
    }
    fn strings(value: duckdb::types::Value) -> Option<Vec<String>> {
        match value {
            duckdb::types::Value::List(items) => Some(
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        duckdb::types::Value::Text(text) => Some(text),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
    let expires_at: Option<i64> = row.get(17)?;
    Ok(Fact {
        event_id: row.get(1)?,
        time: from_micros(row.get(2)?)?,
        kind: word(row.get(3)?)?,
        outcome: row.get::<_, Option<String>>(4)?.map(word).transpose()?,
        subject: row.get(5)?,
        client_id: row.get(6)?,
        client_registration: row.get::<_, Option<String>>(7)?.map(word).transpose()?,
        resource: row.get(8)?,
        issuer: row.get(9)?,
        scopes_requested: strings(row.get(10)?),
        scopes_granted: strings(row.get(11)?),
        token_id: row.get(12)?,
        token_parent_id: row.get(13)?,
        token_refresh_id: row.get(14)?,
        token_audience: strings(row.get(15)?),
        grant_type: row.get(16)?,
        token_expires_at: expires_at.map(from_micros).transpose()?,
        redirect_uri: row.get(18)?,
        consent: row.get(19)?,
    })
}

/// The verdict each link had before this batch; `None` for a new connection.
fn previous_verdicts(
    db: &Connection,
) -> Result<HashMap<String, HashMap<String, Verdict>>, StoreError> {
    let mut previous = HashMap::new();
    let mut statement = db.prepare_cached(PREVIOUS_PATHS)?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (connection_id, violated, unknown) = row?;
        let mut links = HashMap::new();
        for name in parse::<Vec<String>>(&unknown)? {
            links.insert(name, Verdict::Unknown);
        }
        for name in parse::<Vec<String>>(&violated)? {
            links.insert(name, Verdict::Violated);
        }
        previous.insert(connection_id, links);
    }
    Ok(previous)
}

fn store_paths(
    db: &Connection,
    skew: chrono::Duration,
    facts: Vec<ConnectionFacts>,
    batch: &str,
    recorded_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let previous = previous_verdicts(db)?;
    let mut evaluated = db.appender_to_catalog_and_db("evaluated_connections", "temp", "main")?;
    let mut change = db.prepare_cached(INSERT_VERDICT_CHANGE)?;
    let recorded = recorded_at.to_rfc3339();
    for connection in facts {
        let Some(root) = connection.events.iter().find(|e| e.is_root_issue()) else {
            // Only a root token's issue starts a connection; its members without it are
            // a bug in the attachment queries.
            return Err(StoreError::Internal(format!(
                "connection {} has no root token among its events",
                connection.connection_id
            )));
        };
        let path = evaluate(&connection, skew);
        let first_seen = connection
            .events
            .first()
            .map(|e| e.time)
            .unwrap_or(root.time);
        let last_seen = connection
            .events
            .last()
            .map(|e| e.time)
            .unwrap_or(root.time);
        let tokens = connection
            .events
            .iter()
            .filter(|e| e.kind == crate::event::Kind::TokenIssue && e.token_id.is_some())
            .count();
        evaluated.append_row(params![
            connection.connection_id,
            root.token_id,
            root.issuer,
            root.client_id,
            root.subject,
            root.resource,
            first_seen.to_rfc3339(),
            last_seen.to_rfc3339(),
            connection.events.len() as i64,
            tokens as i64,
            path.verdict.as_str(),
            serde_json::to_string(&path.with(Verdict::Violated)).unwrap_or_default(),
            serde_json::to_string(&path.with(Verdict::Unknown)).unwrap_or_default(),
            serde_json::to_string(&path).map_err(|e| StoreError::Internal(e.to_string()))?,
            recorded,
        ])?;
        let before = previous.get(&connection.connection_id);
        for link in &path.links {
            let was = before.map(|links| {
                links
                    .get(link.link.as_str())
                    .copied()
                    .unwrap_or(Verdict::Ok)
            });
            let involves_violation =
                link.verdict == Verdict::Violated || was == Some(Verdict::Violated);
            if was != Some(link.verdict) && involves_violation {
                change.execute(params![
                    connection.connection_id,
                    link.link.as_str(),
                    was.map(Verdict::as_str),
                    link.verdict.as_str(),
                    link.explanation,
                    link.as_of.unwrap_or(last_seen).to_rfc3339(),
                    recorded,
                    batch,
                ])?;
            }
        }
    }
    evaluated.flush()?;
    drop(evaluated);
    db.execute_batch(UPSERT_CONNECTION)?;
    Ok(())
}

/// A time span, first and last.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// A `(min, max)` epoch-µs span query; `None` when it covers no rows.
fn span(
    db: &Connection,
    sql: &str,
    params: impl duckdb::Params,
) -> Result<Option<Span>, StoreError> {
    let (from, to): (Option<i64>, Option<i64>) =
        db.query_row(sql, params, |row| Ok((row.get(0)?, row.get(1)?)))?;
    match from.zip(to) {
        Some((from, to)) => Ok(Some((from_micros(from)?, from_micros(to)?))),
        None => Ok(None),
    }
}

fn span_duration(duration: std::time::Duration) -> Result<chrono::Duration, StoreError> {
    chrono::Duration::from_std(duration)
        .map_err(|e| StoreError::Internal(format!("correlation setting out of range: {e}")))
}

/// How long each phase of a batch's correlation took, for the debug log.
struct Phases {
    last: std::time::Instant,
    took: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn new() -> Self {
        Phases {
            last: std::time::Instant::now(),
            took: Vec::new(),
        }
    }

    fn done(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.took.push((phase, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (phase, took) in &self.took {
            write!(f, "{phase}={}ms ", took.as_millis())?;
        }
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Internal(format!("a correlation query returned unreadable JSON: {e}"))
    })
}
