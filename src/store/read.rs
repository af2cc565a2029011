//! The read side: every query the API and the CLI answer from. Each call clones a fresh
//! connection from the store, so reads run beside the writer (DuckDB MVCC) and see only
//! committed batches. Calls block: async callers run them on `spawn_blocking`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use duckdb::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{StoreError, named};
use crate::event::{
    Client, Consent, Http, Kind, Metadata, Network, Outcome, Registration, Scopes, Source,
    SourceType, Token, WireEvent,
};

const EVENTS: &str = include_str!("../../queries/events.sql");
const REJECTED: &str = include_str!("../../queries/rejected.sql");
const STATS: &str = include_str!("../../queries/stats.sql");

/// Default and largest page size of event listings.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 10_000;

/// The filters of `GET /v1/events` and `trustpath events`: one type, so both answer the
/// same question the same way.
#[derive(Debug, Clone, Default, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
#[command(next_help_heading = "Filters")]
pub struct EventFilter {
    /// Events at or after this time (RFC 3339).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// Event kind, e.g. token.issue.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The user (subject) the event is about.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The OAuth client id (for CIMD clients, the document URL).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The MCP server (resource) URI.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The authorization server (issuer) URL.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Matches the access token, its parent (refresh) token or the refresh token it came with.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The connection (session) id.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// success, failure or denied.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Most events per page (default 100, at most 10000).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// How each event is written: `trustpath` (the stored row, default) or `ocsf` (OCSF 1.x
    /// in the fitting class, for a SIEM).
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<EventFormat>,
}

/// How `GET /v1/events` writes each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EventFormat {
    /// The stored row: flat, typed columns (DOMAIN.md §2, normalized store).
    Trustpath,
    /// OCSF 1.x: Authentication, Authorize Session or API Activity (see `adapt::ocsf`).
    Ocsf,
}

/// One page of events, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<Value>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What the store holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub events: i64,
    pub rejected: i64,
    pub batches: i64,
    pub duplicates: i64,
    pub connections: i64,
    /// Connections with at least one violated trust-path link.
    pub violated_connections: i64,
    pub newest_event: Option<String>,
    /// Committed batches whose correlation has not run yet (deferred under a burst).
    pub uncorrelated_batches: i64,
}

/// The rows of a named query, columns in the query's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryResult {
    pub query: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Cheap to clone; each query runs on its own connection.
#[derive(Clone)]
pub struct Reader {
    // `duckdb::Connection` is `Send` but not `Sync`; the mutex only guards cloning it.
    template: Arc<Mutex<Connection>>,
}

impl Reader {
    pub(super) fn new(template: Arc<Mutex<Connection>>) -> Self {
        Reader { template }
    }

    /// A new connection of its own (for the SQL sandbox, which needs its interrupt handle).
    pub fn connection(&self) -> Result<Connection, StoreError> {
        // A poisoned lock means a clone panicked; the connection itself is still usable.
        let template = self
            .template
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(template.try_clone()?)
    }

    /// Runs a trivial query: the store is open and answering.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.connection()?.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn events(&self, filter: &EventFilter) -> Result<EventPage, StoreError> {
        let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
        check_limit(limit)?;
        let cursor = filter.cursor.as_deref().map(Cursor::decode).transpose()?;
        let db = self.connection()?;
        let (events, next_cursor) = keyset_page(
            &db,
            EVENTS,
            params![
                filter.from.map(|t| t.to_rfc3339()),
                filter.to.map(|t| t.to_rfc3339()),
                filter.kind.map(|k| k.as_str()),
                filter.subject,
                filter.client_id,
                filter.resource,
                filter.issuer,
                filter.token_id,
                filter.connection_id,
                filter.outcome.map(|o| o.as_str()),
                cursor.as_ref().map(|c| c.time_us),
                cursor.as_ref().map(|c| c.id.as_str()),
                i64::from(limit),
            ],
            limit,
        )?;
        let events = match filter.format.unwrap_or(EventFormat::Trustpath) {
            EventFormat::Trustpath => events,
            EventFormat::Ocsf => events.iter().map(ocsf_of).collect::<Result<_, _>>()?,
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
    }

    pub fn rejected(
        &self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<Value>, StoreError> {
        check_limit(limit)?;
        let db = self.connection()?;
        let mut statement = db.prepare_cached(REJECTED)?;
        let rows = statement.query_map(
            params![
                from.map(|t| t.to_rfc3339()),
                to.map(|t| t.to_rfc3339()),
                i64::from(limit)
            ],
            |row| row.get::<_, String>(0),
        )?;
        rows.map(|json| parse_json(&json?)).collect()
    }

    /// Runs a named query of `queries/named/` with text parameters (checked against its header).
    pub fn named(
        &self,
        name: &str,
        given: &BTreeMap<String, String>,
    ) -> Result<QueryResult, StoreError> {
        let query = named::find(name)?;
        let bound = query.bind(given)?;
        let params: Vec<(&str, &dyn duckdb::ToSql)> = bound
            .iter()
            .map(|(name, value)| (name.as_str(), value as &dyn duckdb::ToSql))
            .collect();
        let body = query.sql.trim_end().trim_end_matches(';');
        let db = self.connection()?;

        // Column names come from an empty run; rows come as one JSON object each, which
        // keeps DuckDB's own rendering of every type (lists, timestamps, decimals).
        let mut shape = db.prepare(&format!("SELECT * FROM ({body}) AS q LIMIT 0"))?;
        let mut empty = shape.query(params.as_slice())?;
        while empty.next()?.is_some() {}
        drop(empty);
        let columns = shape.column_names();
        let mut statement =
            db.prepare(&format!("SELECT to_json(q)::VARCHAR FROM ({body}) AS q"))?;
        let rows = statement.query_map(params.as_slice(), |row| row.get::<_, String>(0))?;
        let mut table = Vec::new();
        for row in rows {
            let object = parse_json(&row?)?;
            table.push(
                columns
                    .iter()
                    .map(|column| object[column].clone())
                    .collect(),
            );
        }
        Ok(QueryResult {
            query: query.name.clone(),
            columns,
            rows: table,
        })
    }

    pub fn stats(&self) -> Result<Stats, StoreError> {
        let db = self.connection()?;
        Ok(db.query_row(STATS, [], |row| {
            Ok(Stats {
                events: row.get(0)?,
                rejected: row.get(1)?,
                batches: row.get(2)?,
                duplicates: row.get(3)?,
                connections: row.get(4)?,
                violated_connections: row.get(5)?,
                newest_event: row.get(6)?,
                uncorrelated_batches: row.get(7)?,
            })
        })?)
    }
}

pub(super) fn check_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(StoreError::BadParameter(format!(
            "limit must be 1 to {MAX_LIMIT}, got {limit}"
        )));
    }
    Ok(())
}

pub(super) fn parse_json(text: &str) -> Result<Value, StoreError> {
    // DuckDB's json_object always yields JSON; a failure here is a bug in a query file.
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("a query returned invalid JSON: {e}")))
}

/// Runs a keyset-paged query whose rows are (sort time µs, id, JSON document): the
/// documents and, when the page is full, the cursor after its last row.
pub(super) fn keyset_page<T: serde::de::DeserializeOwned>(
    db: &Connection,
    sql: &str,
    params: impl duckdb::Params,
    limit: u32,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let mut statement = db.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut documents = Vec::new();
    let mut last = None;
    for row in rows {
        let (time_us, id, json) = row?;
        documents.push(serde_json::from_str(&json).map_err(|e| {
            StoreError::Internal(format!("a query returned an unreadable document: {e}"))
        })?);
        last = Some(Cursor { time_us, id });
    }
    let next_cursor = if documents.len() == limit as usize {
        last.map(|c| c.encode())
    } else {
        None
    };
    Ok((documents, next_cursor))
}

/// A stored event (the document `event_document` makes) in OCSF, with where the row came
/// from: when trustpath received it, which adapter read it and the hash of the raw bytes.
pub(crate) fn ocsf_of(document: &Value) -> Result<Value, StoreError> {
    let unreadable = |e: serde_json::Error| {
        StoreError::Internal(format!("a stored event does not read back: {e}"))
    };
    let stored = StoredEvent::deserialize(document).map_err(unreadable)?;
    let provenance = json!({
        "received_at": stored.received_at,
        "format": stored.format,
        "raw_sha256": stored.raw_sha256,
    });
    let mut record = crate::adapt::ocsf::emit(&stored.event.into())
        .ok_or_else(|| StoreError::Internal("OCSF has no class for a stored event".into()))?;
    if let Some(unmapped) = record.get_mut("unmapped").and_then(Value::as_object_mut) {
        unmapped.insert("trustpath_store".to_owned(), provenance);
    } else if let Some(object) = record.as_object_mut() {
        object.insert(
            "unmapped".to_owned(),
            json!({ "trustpath_store": provenance }),
        );
    }
    Ok(record)
}

/// One row as `event_document` writes it, the columns named as in the store.
#[derive(Debug, Deserialize)]
struct StoredEvent {
    received_at: Option<String>,
    format: Option<String>,
    raw_sha256: Option<String>,
    #[serde(flatten)]
    event: StoredColumns,
}

#[derive(Debug, Deserialize)]
struct StoredColumns {
    event_id: String,
    time: DateTime<Utc>,
    kind: Kind,
    outcome: Option<Outcome>,
    reason: Option<String>,
    source_type: Option<SourceType>,
    source_name: Option<String>,
    connection_id: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    client_registration: Option<Registration>,
    client_name: Option<String>,
    client_doc_sha256: Option<String>,
    client_redirect_uris: Option<Vec<String>>,
    resource: Option<String>,
    metadata_url: Option<String>,
    metadata_sha256: Option<String>,
    metadata_authorization_servers: Option<Vec<String>>,
    metadata_scopes_supported: Option<Vec<String>>,
    issuer: Option<String>,
    scopes_requested: Option<Vec<String>>,
    scopes_granted: Option<Vec<String>>,
    token_id: Option<String>,
    token_parent_id: Option<String>,
    token_refresh_id: Option<String>,
    token_audience: Option<Vec<String>>,
    grant_type: Option<String>,
    token_expires_at: Option<DateTime<Utc>>,
    redirect_uri: Option<String>,
    consent: Option<Consent>,
    tool: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    http_status: Option<u16>,
    http_bytes: Option<u64>,
    http_resolved_ip: Option<String>,
    http_redirected: Option<bool>,
    attributes: Option<Map<String, Value>>,
}

impl From<StoredColumns> for WireEvent {
    fn from(row: StoredColumns) -> Self {
        WireEvent {
            id: row.event_id,
            time: row.time,
            kind: row.kind,
            outcome: row.outcome,
            reason: row.reason,
            source: Source {
                source_type: row.source_type,
                name: row.source_name,
                unknown: Map::new(),
            },
            connection_id: row.connection_id,
            subject: row.subject,
            client: Client {
                id: row.client_id,
                registration: row.client_registration,
                name: row.client_name,
                document_sha256: row.client_doc_sha256,
                redirect_uris: row.client_redirect_uris,
                unknown: Map::new(),
            },
            resource: row.resource,
            metadata: Metadata {
                url: row.metadata_url,
                document_sha256: row.metadata_sha256,
                authorization_servers: row.metadata_authorization_servers,
                scopes_supported: row.metadata_scopes_supported,
                unknown: Map::new(),
            },
            issuer: row.issuer,
            scopes: Scopes {
                requested: row.scopes_requested,
                granted: row.scopes_granted,
                unknown: Map::new(),
            },
            token: Token {
                id: row.token_id,
                parent_id: row.token_parent_id,
                refresh_token_id: row.token_refresh_id,
                audience: row.token_audience,
                grant_type: row.grant_type,
                expires_at: row.token_expires_at,
                unknown: Map::new(),
            },
            redirect_uri: row.redirect_uri,
            consent: row.consent,
            tool: row.tool,
            network: Network {
                ip: row.ip,
                user_agent: row.user_agent,
                unknown: Map::new(),
            },
            http: Http {
                status: row.http_status,
                bytes: row.http_bytes,
                resolved_ip: row.http_resolved_ip,
                redirected: row.http_redirected,
                unknown: Map::new(),
            },
            attributes: row.attributes.unwrap_or_default(),
            unknown: Map::new(),
        }
    }
}

/// Keyset position `(time, id)` of the last row of a page.
pub(super) struct Cursor {
    pub(super) time_us: i64,
    pub(super) id: String,
}

impl Cursor {
    pub(super) fn encode(&self) -> String {
        format!("{}.{}", self.time_us, hex::encode(&self.id))
    }

    pub(super) fn decode(text: &str) -> Result<Cursor, StoreError> {
        let invalid =
            || StoreError::BadParameter(format!("cursor '{text}' is not one this server issued"));
        let (time_us, id) = text.split_once('.').ok_or_else(invalid)?;
        let time_us = time_us.parse().map_err(|_| invalid())?;
        let id =
            String::from_utf8(hex::decode(id).map_err(|_| invalid())?).map_err(|_| invalid())?;
        Ok(Cursor { time_us, id })
    }
}
