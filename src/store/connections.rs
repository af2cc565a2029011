//! Reads of connections, trust paths and incident timelines: what `GET /v1/connections`,
//! `GET /v1/tokens/{id}/trust-path`, `GET /v1/timeline`, `trustpath explain` and
//! `trustpath timeline` answer from. The writer maintains them (see `correlate`); these
//! are lookups, not computations.

use std::thread::{self, ScopedJoinHandle};

use chrono::{DateTime, Duration, Utc};
use duckdb::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{Cursor, DEFAULT_LIMIT, Reader, check_limit, keyset_page, parse_json};
use super::{StoreError, from_micros, rfc3339};
use crate::correlate::{LinkName, TrustPath, Verdict};

const CONNECTIONS: &str = include_str!("../../queries/connections.sql");
const CONNECTION: &str = include_str!("../../queries/connection.sql");
const CONNECTIONS_BY_ID: &str = include_str!("../../queries/connections_by_id.sql");
const CONNECTION_TOKENS: &str = include_str!("../../queries/connection_tokens.sql");
const CONNECTION_SPAN: &str = include_str!("../../queries/connection_span.sql");
const CONNECTION_EVENTS: &str = include_str!("../../queries/connection_events.sql");
const TOKEN_CONNECTION: &str = include_str!("../../queries/token_connection.sql");
const REFRESH_TOKEN_CONNECTION: &str = include_str!("../../queries/refresh_token_connection.sql");
const USED_TOKEN_CONNECTION: &str = include_str!("../../queries/used_token_connection.sql");
const VERDICT_CHANGES: &str = include_str!("../../queries/verdict_changes.sql");
const TIMELINE: &str = include_str!("../../queries/timeline.sql");

/// Most events one timeline returns; more are cut and the answer says so.
pub const MAX_TIMELINE_EVENTS: u32 = 10_000;

/// The filters of `GET /v1/connections` and `trustpath connections`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
#[command(next_help_heading = "Filters")]
pub struct ConnectionFilter {
    /// Connections active at or after this time (RFC 3339).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Connections active before this time (RFC 3339).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Overall verdict: ok, unknown or violated.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Only connections where this link is violated (e.g. issuer_advertised).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkName>,
    /// Most connections per page (default 100, at most 10000).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// One connection in a listing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionSummary {
    pub connection_id: String,
    /// The token whose grant started the connection.
    pub root_token_id: String,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub resource: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub events: i64,
    pub tokens: i64,
    /// The worst verdict of its links.
    pub verdict: Verdict,
    /// Names of the violated links.
    pub violated: Vec<String>,
    /// Names of the links lacking evidence.
    pub unknown: Vec<String>,
}

/// One page of connections, most recently active first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionPage {
    pub connections: Vec<ConnectionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A connection with its trust path, tokens, events and verdict history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionDetail {
    pub connection: ConnectionSummary,
    pub trust_path: TrustPath,
    /// When the trust path was last evaluated (the batch that last changed it).
    pub evaluated_at: DateTime<Utc>,
    /// Its tokens, oldest first, with lineage (parent_id → an earlier refresh_token_id).
    pub tokens: Vec<Value>,
    /// Its events, oldest first, each with `attached_by` (token, session, window).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Value>,
    /// When links became or stopped being violated.
    pub verdict_changes: Vec<Value>,
}

/// The filters of `GET /v1/timeline` and `trustpath timeline`: a key and a time range.
#[derive(Debug, Clone, Default, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
#[command(next_help_heading = "Timeline")]
pub struct TimelineFilter {
    /// Start of the window (RFC 3339). Default: 24 h before `to`.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// End of the window (RFC 3339). Default: now.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The client's network address.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// An access, parent or refresh token id.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Most events (default and at most 10000).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// An incident timeline: events and verdict changes in time order, grouped by connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Groups in the order of their first entry (events as summaries: the whole event is
    /// at GET /v1/events); events no connection holds come in a
    /// group without `connection`.
    pub groups: Vec<TimelineGroup>,
    /// More events matched than `limit`; narrow the window.
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSummary>,
    pub entries: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    Event {
        time: DateTime<Utc>,
        event: Value,
    },
    VerdictChange {
        time: DateTime<Utc>,
        link: String,
        before: Option<String>,
        after: String,
        explanation: String,
    },
    /// An alert whose evidence is among the timeline's events, at its first hit.
    Alert {
        time: DateTime<Utc>,
        alert: Value,
    },
}

impl TimelineEntry {
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            TimelineEntry::Event { time, .. }
            | TimelineEntry::VerdictChange { time, .. }
            | TimelineEntry::Alert { time, .. } => *time,
        }
    }
}

impl Reader {
    pub fn connections(&self, filter: &ConnectionFilter) -> Result<ConnectionPage, StoreError> {
        let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
        check_limit(limit)?;
        let cursor = filter.cursor.as_deref().map(Cursor::decode).transpose()?;
        let db = self.connection()?;
        let (connections, next_cursor) = keyset_page(
            &db,
            CONNECTIONS,
            params![
                filter.from.map(|t| t.to_rfc3339()),
                filter.to.map(|t| t.to_rfc3339()),
                filter.subject,
                filter.client_id,
                filter.resource,
                filter.issuer,
                filter.verdict.map(Verdict::as_str),
                filter.link.map(LinkName::as_str),
                cursor.as_ref().map(|c| c.time_us),
                cursor.as_ref().map(|c| c.id.as_str()),
                i64::from(limit),
            ],
            limit,
        )?;
        Ok(ConnectionPage {
            connections,
            next_cursor,
        })
    }

    /// One connection; with its events when `with_events`.
    ///
    /// Its row, tokens, events and verdict changes are independent reads, each run on a
    /// connection of its own, in parallel: a detail takes its slowest read (fetching the
    /// trust path, which DuckDB decompresses with the rest of its zstd vector, or scanning
    /// the tokens' span), not their sum. Each read is its own snapshot, as each statement
    /// in auto-commit was before: a batch committed in between can show in the tokens or
    /// events and not yet in the summary.
    pub fn connection_detail(
        &self,
        connection_id: &str,
        with_events: bool,
    ) -> Result<ConnectionDetail, StoreError> {
        let (found, tokens, events, verdict_changes) = thread::scope(|scope| {
            let found = scope.spawn(|| self.connection_row(connection_id));
            let tokens = scope.spawn(|| self.spanned_rows(CONNECTION_TOKENS, connection_id));
            let events = with_events
                .then(|| scope.spawn(|| self.spanned_rows(CONNECTION_EVENTS, connection_id)));
            let verdict_changes = self.verdict_change_rows(connection_id);
            (
                joined(found),
                joined(tokens),
                events.map(joined),
                verdict_changes,
            )
        });
        let Some((summary, trust_path, evaluated_at)) = found? else {
            return Err(StoreError::NotFound(format!(
                "no connection {connection_id}; list them with GET /v1/connections (trustpath connections)"
            )));
        };
        Ok(ConnectionDetail {
            connection: decode(&summary)?,
            trust_path: decode(&trust_path)?,
            evaluated_at: time_of(&Value::String(evaluated_at))?,
            tokens: tokens?,
            events: events.transpose()?.unwrap_or_default(),
            verdict_changes: verdict_changes?,
        })
    }

    /// A connection's summary, trust path and evaluation time, as the store renders them.
    fn connection_row(
        &self,
        connection_id: &str,
    ) -> Result<Option<(String, String, String)>, StoreError> {
        let db = self.connection()?;
        let mut statement = db.prepare_cached(CONNECTION)?;
        let mut rows = statement.query_map(params![connection_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
        Ok(rows.next().transpose()?)
    }

    /// The rows of a query over one connection's time span (`sql` takes the connection's
    /// id, first and last seen); none when there is no such connection.
    fn spanned_rows(&self, sql: &str, connection_id: &str) -> Result<Vec<Value>, StoreError> {
        let db = self.connection()?;
        let span: Option<(i64, i64)> = db
            .prepare_cached(CONNECTION_SPAN)?
            .query_map(params![connection_id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .next()
            .transpose()?;
        let Some((first_seen, last_seen)) = span else {
            return Ok(Vec::new());
        };
        let first_seen = rfc3339(from_micros(first_seen)?);
        let last_seen = rfc3339(from_micros(last_seen)?);
        json_rows(&db, sql, params![connection_id, first_seen, last_seen])
    }

    fn verdict_change_rows(&self, connection_id: &str) -> Result<Vec<Value>, StoreError> {
        let ids = serde_json::to_string(&[connection_id]).unwrap_or_default();
        json_rows(
            &self.connection()?,
            VERDICT_CHANGES,
            params![ids, None::<String>, None::<String>],
        )
    }

    /// The connection a token belongs to, with its trust path (without its events).
    pub fn token_trust_path(&self, token_id: &str) -> Result<ConnectionDetail, StoreError> {
        let db = self.connection()?;
        // Most likely first: an access token, then a refresh token (both index lookups),
        // then a token only ever seen in use.
        let mut connection_id = None;
        for sql in [
            TOKEN_CONNECTION,
            REFRESH_TOKEN_CONNECTION,
            USED_TOKEN_CONNECTION,
        ] {
            connection_id = db
                .prepare_cached(sql)?
                .query_map(params![token_id], |row| row.get::<_, String>(0))?
                .next()
                .transpose()?;
            if connection_id.is_some() {
                break;
            }
        }
        let Some(connection_id) = connection_id else {
            return Err(StoreError::NotFound(format!(
                "token {token_id} belongs to no connection: no stored token.issue names it (as \
                 access or refresh token) and no attached event carries it. A refresh token's \
                 chain starts only once the grant it came from is stored; check \
                 GET /v1/events?token_id={token_id}"
            )));
        };
        self.connection_detail(&connection_id, false)
    }

    pub fn timeline(&self, filter: &TimelineFilter) -> Result<Timeline, StoreError> {
        let keys = [
            &filter.subject,
            &filter.client_id,
            &filter.resource,
            &filter.ip,
            &filter.token_id,
        ];
        if keys.iter().all(|k| k.is_none()) {
            return Err(StoreError::BadParameter(
                "a timeline needs a key: subject, client_id, resource, ip or token_id".to_owned(),
            ));
        }
        let to = filter.to.unwrap_or_else(Utc::now);
        let from = filter.from.unwrap_or(to - Duration::hours(24));
        if from >= to {
            return Err(StoreError::BadParameter(format!(
                "the window is empty: from {from} is not before to {to}"
            )));
        }
        let limit = filter.limit.unwrap_or(MAX_TIMELINE_EVENTS);
        if limit == 0 || limit > MAX_TIMELINE_EVENTS {
            return Err(StoreError::BadParameter(format!(
                "limit must be 1 to {MAX_TIMELINE_EVENTS}, got {limit}"
            )));
        }
        let db = self.connection()?;
        let mut statement = db.prepare_cached(TIMELINE)?;
        let rows = statement.query_map(
            params![
                from.to_rfc3339(),
                to.to_rfc3339(),
                filter.subject,
                filter.client_id,
                filter.resource,
                filter.ip,
                filter.token_id,
                i64::from(limit) + 1,
            ],
            |row| Ok((row.get::<_, Option<String>>(0)?, row.get::<_, String>(1)?)),
        )?;
        let mut events: Vec<(Option<String>, Value)> = Vec::new();
        for row in rows {
            let (connection_id, json) = row?;
            events.push((connection_id, parse_json(&json)?));
        }
        let truncated = events.len() > limit as usize;
        events.truncate(limit as usize);

        let mut ids: Vec<&str> = events.iter().filter_map(|(c, _)| c.as_deref()).collect();
        ids.sort_unstable();
        ids.dedup();
        let ids_json = serde_json::to_string(&ids).unwrap_or_default();
        let summaries: Vec<ConnectionSummary> =
            json_rows(&db, CONNECTIONS_BY_ID, params![ids_json])?
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Internal(format!("connection summary: {e}")))?;
        let changes = json_rows(
            &db,
            VERDICT_CHANGES,
            params![ids_json, from.to_rfc3339(), to.to_rfc3339()],
        )?;

        let event_ids: Vec<&str> = events
            .iter()
            .filter_map(|(_, event)| event["event_id"].as_str())
            .collect();
        let mut alert_entries = Vec::new();
        for alert in self.alerts_for_events(&db, &event_ids, from, to)? {
            let time = time_of(&alert["first_seen"])?;
            // In its connection's group when the timeline shows that connection.
            let connection_id = alert["connection_id"]
                .as_str()
                .filter(|id| ids.contains(id))
                .map(str::to_owned);
            alert_entries.push((connection_id, TimelineEntry::Alert { time, alert }));
        }

        let mut groups: Vec<TimelineGroup> = Vec::new();
        let mut index: std::collections::HashMap<Option<String>, usize> = Default::default();
        let mut entries: Vec<(Option<String>, TimelineEntry)> = Vec::new();
        for (connection_id, event) in events {
            let time = time_of(&event["time"])?;
            entries.push((connection_id, TimelineEntry::Event { time, event }));
        }
        for change in changes {
            let change: StoredChange = serde_json::from_value(change)
                .map_err(|e| StoreError::Internal(format!("a stored verdict change: {e}")))?;
            entries.push((
                Some(change.connection_id),
                TimelineEntry::VerdictChange {
                    time: change.time,
                    link: change.link,
                    before: change.before,
                    after: change.after,
                    explanation: change.explanation,
                },
            ));
        }
        entries.extend(alert_entries);
        // Stable: at equal times an event comes before the verdict change and the alert it
        // caused.
        entries.sort_by_key(|(_, entry)| entry.time());
        for (connection_id, entry) in entries {
            let slot = *index.entry(connection_id.clone()).or_insert_with(|| {
                let connection = connection_id
                    .as_deref()
                    .and_then(|id| summaries.iter().find(|s| s.connection_id == id))
                    .cloned();
                groups.push(TimelineGroup {
                    connection,
                    entries: Vec::new(),
                });
                groups.len() - 1
            });
            groups[slot].entries.push(entry);
        }
        Ok(Timeline {
            from,
            to,
            groups,
            truncated,
        })
    }
}

/// A row of queries/verdict_changes.sql.
#[derive(Deserialize)]
struct StoredChange {
    connection_id: String,
    link: String,
    before: Option<String>,
    after: String,
    explanation: String,
    time: DateTime<Utc>,
}

/// A time the store rendered as RFC 3339 text.
fn time_of(value: &Value) -> Result<DateTime<Utc>, StoreError> {
    DateTime::deserialize(value)
        .map_err(|e| StoreError::Internal(format!("a stored time is unreadable ({value}): {e}")))
}

fn json_rows(
    db: &duckdb::Connection,
    sql: &str,
    params: impl duckdb::Params,
) -> Result<Vec<Value>, StoreError> {
    let mut statement = db.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| row.get::<_, String>(0))?;
    rows.map(|json| parse_json(&json?)).collect()
}

/// What a scoped thread returned; its panic, if it panicked, goes on in the caller.
fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Internal(format!("a stored connection is unreadable: {e}")))
}
