//! Keeps `connection_tokens`, `connection_members`, `connections` and `verdict_changes`
//! in step with `events`. Runs on the writer's connection inside the batch's transaction,
//! so a batch and the trust paths it changed commit together.
//!
//! Per batch: record its tokens and member events; resolve refresh lineage; attach events
//! by token id, then by session or time window (re-planning attachments a late event
//! changed); evaluate every connection the batch touched, directly or through new
//! evidence (PRM, AS metadata, client document) at or before one of its tokens.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use duckdb::{Connection, params};
use uuid::Uuid;

use super::trust_path::{ConnectionFacts, Member, TokenEvidence};
use super::{TrustPath, Verdict, evaluate};
use crate::config::CorrelateConfig;
use crate::store::StoreError;

const SETUP: &str = include_str!("../../queries/correlate/setup.sql");
const INSERT_TOKENS: &str = include_str!("../../queries/correlate/insert_tokens.sql");
const INSERT_MEMBERS: &str = include_str!("../../queries/correlate/insert_members.sql");
const RESOLVE_LINEAGE: &str = include_str!("../../queries/correlate/resolve_lineage.sql");
const PLAN_BY_TOKEN: &str = include_str!("../../queries/correlate/plan_by_token.sql");
const PLAN_BY_CONTEXT: &str = include_str!("../../queries/correlate/plan_by_context.sql");
const APPLY_ATTACH: &str = include_str!("../../queries/correlate/apply_attach.sql");
const DIRTY_FROM_BATCH: &str = include_str!("../../queries/correlate/dirty_from_batch.sql");
const DIRTY_SPAN: &str = include_str!("../../queries/correlate/dirty_span.sql");
const MEMBER_EVENTS: &str = include_str!("../../queries/correlate/member_events.sql");
const TOKEN_EVIDENCE: &str = include_str!("../../queries/correlate/token_evidence.sql");
const PREVIOUS_PATHS: &str = include_str!("../../queries/correlate/previous_paths.sql");
const UPSERT_CONNECTION: &str = include_str!("../../queries/correlate/upsert_connection.sql");
const INSERT_VERDICT_CHANGE: &str =
    include_str!("../../queries/correlate/insert_verdict_change.sql");

/// Longest refresh chain resolved in one batch; a longer one finishes in later batches.
const MAX_LINEAGE_STEPS: usize = 64;

/// Prepares the writer connection (its temp tables).
pub fn setup(db: &Connection) -> Result<(), StoreError> {
    db.execute_batch(SETUP)?;
    Ok(())
}

/// Brings the connections up to date with batch `batch_id` (already merged into
/// `events`, same transaction). Returns how many connections were evaluated.
pub fn apply(
    db: &Connection,
    config: &CorrelateConfig,
    batch_id: Uuid,
    recorded_at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let batch = batch_id.to_string();
    let skew = config.clock_skew.as_secs() as i64;
    let window = config.window.as_secs() as i64;
    db.execute_batch("DELETE FROM dirty_connections; DELETE FROM touched_sessions;")?;
    db.execute(INSERT_TOKENS, params![batch])?;
    db.execute(INSERT_MEMBERS, params![batch])?;
    for _ in 0..MAX_LINEAGE_STEPS {
        if db.execute(RESOLVE_LINEAGE, [])? == 0 {
            break;
        }
    }
    db.execute(PLAN_BY_TOKEN, [])?;
    db.execute_batch(APPLY_ATTACH)?;
    db.execute(PLAN_BY_CONTEXT, params![batch, skew, window])?;
    db.execute_batch(APPLY_ATTACH)?;
    db.execute(DIRTY_FROM_BATCH, params![batch, skew])?;
    db.execute_batch(
        "CREATE OR REPLACE TEMP TABLE dirty_connections AS
         SELECT DISTINCT connection_id FROM dirty_connections WHERE connection_id IS NOT NULL",
    )?;
    let facts = load_facts(db, skew)?;
    let evaluated = facts.len();
    store_paths(db, config, facts, &batch, recorded_at)?;
    Ok(evaluated)
}

fn load_facts(db: &Connection, skew: i64) -> Result<Vec<ConnectionFacts>, StoreError> {
    let (from, to): (Option<String>, Option<String>) =
        db.query_row(DIRTY_SPAN, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(Vec::new());
    };
    let mut facts: HashMap<String, ConnectionFacts> = HashMap::new();
    let mut members = db.prepare_cached(MEMBER_EVENTS)?;
    let rows = members.query_map(params![from, to], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (connection_id, json) = row?;
        let members: Vec<Member> = parse(&json)?;
        facts.insert(
            connection_id.clone(),
            ConnectionFacts {
                connection_id,
                members,
                evidence: Vec::new(),
            },
        );
    }
    let mut evidence = db.prepare_cached(TOKEN_EVIDENCE)?;
    let rows = evidence.query_map(params![skew], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (connection_id, json) = row?;
        if let Some(connection) = facts.get_mut(&connection_id) {
            connection.evidence.push(parse::<TokenEvidence>(&json)?);
        }
    }
    let mut facts: Vec<ConnectionFacts> = facts.into_values().collect();
    facts.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
    Ok(facts)
}

fn store_paths(
    db: &Connection,
    config: &CorrelateConfig,
    facts: Vec<ConnectionFacts>,
    batch: &str,
    recorded_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut previous: HashMap<String, TrustPath> = HashMap::new();
    {
        let mut statement = db.prepare_cached(PREVIOUS_PATHS)?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (connection_id, json) = row?;
            previous.insert(connection_id, parse(&json)?);
        }
    }
    let skew = chrono::Duration::from_std(config.clock_skew)
        .map_err(|e| StoreError::Internal(format!("clock skew out of range: {e}")))?;
    let mut evaluated = db.appender_to_catalog_and_db("evaluated_connections", "temp", "main")?;
    let mut change = db.prepare_cached(INSERT_VERDICT_CHANGE)?;
    let recorded = recorded_at.to_rfc3339();
    for connection in facts {
        let Some(root) = connection
            .members
            .iter()
            .map(|m| &m.event)
            .find(|e| e.is_root_issue())
        else {
            // Only a root token's issue starts a connection; its members without it are
            // a bug in the attachment queries.
            return Err(StoreError::Internal(format!(
                "connection {} has no root token among its events",
                connection.connection_id
            )));
        };
        let path = evaluate(&connection, skew);
        let first_seen = connection
            .members
            .first()
            .map(|m| m.event.time)
            .unwrap_or(root.time);
        let last_seen = connection
            .members
            .last()
            .map(|m| m.event.time)
            .unwrap_or(root.time);
        let tokens = connection
            .members
            .iter()
            .filter(|m| {
                m.event.kind == crate::event::Kind::TokenIssue && m.event.token_id.is_some()
            })
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
            connection.members.len() as i64,
            tokens as i64,
            path.verdict.as_str(),
            serde_json::to_string(&path.with(Verdict::Violated)).unwrap_or_default(),
            serde_json::to_string(&path.with(Verdict::Unknown)).unwrap_or_default(),
            serde_json::to_string(&path).map_err(|e| StoreError::Internal(e.to_string()))?,
            recorded,
        ])?;
        let before = previous.get(&connection.connection_id);
        for link in &path.links {
            let was = before.and_then(|p| p.link(link.link)).map(|l| l.verdict);
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

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Internal(format!("a correlation query returned unreadable JSON: {e}"))
    })
}
