//! The HTTP API (axum): ingest, events, connections and trust paths, timelines, rejected
//! input, named and ad-hoc queries, health and metrics.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use super::exports::ExportJob;
use crate::collect::http::{Numbering, split_body};
use crate::detect::{DetectReport, DetectorStatus, Rule};
use crate::store::Collector;
use crate::store::StoreError;
use crate::store::alerts::{AlertFilter, AlertPage, StatusChange};
use crate::store::connections::{
    ConnectionDetail, ConnectionFilter, ConnectionPage, Timeline, TimelineFilter,
};
use crate::store::named::{self, NamedQuery};
use crate::store::read::{EventFilter, EventPage, QueryResult, Stats};
use crate::store::sandbox;

pub fn router(state: AppState) -> Router {
    let max_body = state.max_body_bytes;
    Router::new()
        .route("/v1/events", get(list_events).post(ingest_events))
        .route("/v1/rejected", get(list_rejected))
        .route("/v1/stats", get(stats))
        .route("/v1/connections", get(list_connections))
        .route("/v1/connections/{id}", get(get_connection))
        .route("/v1/tokens/{id}/trust-path", get(token_trust_path))
        .route("/v1/timeline", get(timeline))
        .route("/v1/alerts", get(list_alerts))
        .route("/v1/alerts/{id}", get(get_alert).patch(change_alert))
        .route("/v1/rules", get(list_rules))
        .route("/v1/rules/replay", post(replay_rules))
        .route("/v1/exports", get(list_exports).post(start_export))
        .route("/v1/exports/{id}", get(get_export))
        .route("/v1/exports/{id}/files/{*path}", get(export_file))
        .route("/v1/queries", get(list_queries))
        .route("/v1/queries/{name}", post(run_query))
        .route("/v1/sql", post(run_sql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IngestParams {
    /// Which adapter reads the body; default `native`.
    format: Option<String>,
}

/// The answer to `POST /v1/events`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IngestAnswer {
    /// The committed batch; absent when the body held no records.
    pub batch_id: Option<Uuid>,
    pub accepted: usize,
    pub duplicates: usize,
    /// Records kept in `rejected` (the ones in `errors`, plus any id conflicts).
    pub rejected: usize,
    pub errors: Vec<RecordError>,
}

/// One record that was not stored as an event, by its place in the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordError {
    /// NDJSON line number, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// JSON array index, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub reason: String,
}

/// Records one `POST /v1/events` may carry: bounds the memory one request can take.
pub const MAX_RECORDS_PER_REQUEST: usize = 100_000;

async fn ingest_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    params: Result<Query<IngestParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestAnswer>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit: state.max_body_bytes,
        },
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    let format = params.format.as_deref().unwrap_or("native");
    let ndjson_only = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    let (numbering, numbered) = split_body(&body, &peer.to_string(), format, ndjson_only);
    if numbered.len() > MAX_RECORDS_PER_REQUEST {
        return Err(ApiError::TooManyRecords {
            found: numbered.len(),
            limit: MAX_RECORDS_PER_REQUEST,
        });
    }
    let mut answer = IngestAnswer {
        batch_id: None,
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        errors: vec![],
    };
    // One commit per batch_max_events records keeps every transaction bounded.
    let mut numbered = numbered.into_iter().peekable();
    while numbered.peek().is_some() {
        let chunk: Vec<(usize, _)> = numbered
            .by_ref()
            .take(state.batch_max_events.max(1))
            .collect();
        let (places, records): (Vec<usize>, Vec<_>) = chunk.into_iter().unzip();
        let report = state.ingest.ingest(Collector::Http, records).await?;
        answer.batch_id = Some(report.commit.batch_id);
        answer.accepted += report.commit.accepted;
        answer.duplicates += report.commit.duplicates;
        answer.rejected += report.commit.rejected;
        answer
            .errors
            .extend(report.rejected.into_iter().map(|(position, reason)| {
                let place = places[position];
                match numbering {
                    Numbering::Line => RecordError {
                        line: Some(place),
                        index: None,
                        reason,
                    },
                    Numbering::Index => RecordError {
                        line: None,
                        index: Some(place),
                        reason,
                    },
                    Numbering::Body => RecordError {
                        line: None,
                        index: None,
                        reason,
                    },
                }
            }));
    }
    Ok(Json(answer))
}

async fn list_events(
    State(state): State<AppState>,
    filter: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let reader = state.reader.clone();
    let page = blocking(move || reader.events(&filter)).await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectedParams {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
}

async fn list_rejected(
    State(state): State<AppState>,
    params: Result<Query<RejectedParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let reader = state.reader.clone();
    let limit = params.limit.unwrap_or(crate::store::read::DEFAULT_LIMIT);
    let rejected = blocking(move || reader.rejected(params.from, params.to, limit)).await?;
    Ok(Json(json!({ "rejected": rejected })))
}

async fn list_connections(
    State(state): State<AppState>,
    filter: Result<Query<ConnectionFilter>, QueryRejection>,
) -> Result<Json<ConnectionPage>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.connections(&filter)).await?))
}

async fn get_connection(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionDetail>, ApiError> {
    let reader = state.reader.clone();
    Ok(Json(
        blocking(move || reader.connection_detail(&id, true)).await?,
    ))
}

async fn token_trust_path(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionDetail>, ApiError> {
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.token_trust_path(&id)).await?))
}

async fn timeline(
    State(state): State<AppState>,
    filter: Result<Query<TimelineFilter>, QueryRejection>,
) -> Result<Json<Timeline>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.timeline(&filter)).await?))
}

async fn list_alerts(
    State(state): State<AppState>,
    filter: Result<Query<AlertFilter>, QueryRejection>,
) -> Result<Json<AlertPage>, ApiError> {
    let Query(filter) = filter.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.alerts(&filter)).await?))
}

async fn get_alert(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.alert(&id)).await?))
}

/// `{"status": "acknowledged", "by": "alice@acme.example", "note": "…"}`.
async fn change_alert(
    State(state): State<AppState>,
    Path(id): Path<String>,
    change: Result<Json<StatusChange>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(change) = change.map_err(|e| {
        ApiError::BadRequest(format!(
            "{}; send {{\"status\": \"open\"|\"acknowledged\"|\"resolved\", \"by\": \"who\", \"note\": \"optional\"}}",
            e.body_text()
        ))
    })?;
    let reader = state.reader.clone();
    Ok(Json(
        blocking(move || reader.change_alert_status(&id, &change)).await?,
    ))
}

/// The rules running, the files that could not be loaded, and what the detector has done.
#[derive(Debug, Serialize)]
pub struct RulesAnswer<'a> {
    pub rules: &'a [Rule],
    pub errors: Vec<String>,
    pub status: DetectorStatus,
}

async fn list_rules(State(state): State<AppState>) -> Response {
    let answer = RulesAnswer {
        rules: state.detector.rules(),
        errors: state
            .detector
            .rule_errors()
            .iter()
            .map(ToString::to_string)
            .collect(),
        status: state.detector.status(),
    };
    Json(answer).into_response()
}

/// Body of `POST /v1/rules/replay`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Rule ids; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
}

async fn start_export(
    State(state): State<AppState>,
    request: Result<Json<crate::export::ExportRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ExportJob>), ApiError> {
    let Json(request) = request.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    request
        .check()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let job = state
        .exports
        .start(state.reader.clone(), state.writer.clone(), request)
        .map_err(|e| ApiError::Store(StoreError::Refused(e)))?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

async fn list_exports(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "exports": state.exports.list() }))
}

fn export_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("`{id}` is not an export id (a UUID)")))
}

fn no_export(id: &str) -> ApiError {
    ApiError::Store(StoreError::NotFound(format!(
        "no export {id} on this server; GET /v1/exports lists them"
    )))
}

async fn get_export(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ExportJob>, ApiError> {
    let job = state
        .exports
        .get(export_id(&id)?)
        .ok_or_else(|| no_export(&id))?;
    Ok(Json(job))
}

async fn export_file(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file = state.exports.file(export_id(&id)?, &path).ok_or_else(|| {
        ApiError::Store(StoreError::NotFound(format!(
            "export {id} has no file {path} (or is not finished); its manifest lists the files"
        )))
    })?;
    let opened = tokio::fs::File::open(&file)
        .await
        .map_err(|e| ApiError::Store(StoreError::Internal(format!("{}: {e}", file.display()))))?;
    // Streamed: an export's Parquet files may be larger than memory should hold.
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(opened));
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        body,
    )
        .into_response())
}

async fn replay_rules(
    State(state): State<AppState>,
    request: Result<Json<ReplayRequest>, JsonRejection>,
) -> Result<Json<DetectReport>, ApiError> {
    let Json(request) = request.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if request.from >= request.to {
        return Err(ApiError::BadRequest(format!(
            "the window is empty: from {} is not before to {}",
            request.from, request.to
        )));
    }
    if let Some(unknown) = request
        .rules
        .iter()
        .flatten()
        .find(|id| !state.detector.rules().iter().any(|rule| &rule.id == *id))
    {
        return Err(ApiError::BadRequest(format!(
            "no rule {unknown} is running; GET /v1/rules lists them"
        )));
    }
    // The rules read connection tokens too: replay once a burst's batches are correlated.
    state.writer.catch_up().await?;
    Ok(Json(
        state
            .detector
            .replay(request.from, request.to, request.rules)
            .await?,
    ))
}

async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.stats()).await?))
}

async fn list_queries() -> Json<serde_json::Value> {
    let queries: &[NamedQuery] = named::all();
    Json(json!({ "queries": queries }))
}

/// Body of `POST /v1/queries/{name}`: `{"params": {"name": "value", …}}`; may be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    #[serde(default)]
    params: std::collections::BTreeMap<String, serde_json::Value>,
}

async fn run_query(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<QueryResult>, ApiError> {
    // Read as JSON whatever the Content-Type says (curl -d sends a form type): parameters
    // must never be dropped silently. An empty body means no parameters.
    let request: QueryRequest = if body.iter().all(u8::is_ascii_whitespace) {
        QueryRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body must be JSON like {{\"params\": {{\"subject\": \"alice\"}}}}: {e}"
            ))
        })?
    };
    // Parameters are text on the wire of the CLI; JSON numbers and booleans are accepted too.
    let params = request
        .params
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => Ok((key, text)),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                Ok((key, value.to_string()))
            }
            other => Err(ApiError::BadRequest(format!(
                "parameter `{key}` must be a string, number or boolean, got {other}"
            ))),
        })
        .collect::<Result<_, _>>()?;
    let reader = state.reader.clone();
    Ok(Json(blocking(move || reader.named(&name, &params)).await?))
}

/// Interrupts the query when dropped while armed: when the client goes away, axum drops
/// the handler, and the query must not run on without anyone waiting for it.
struct InterruptOnDrop {
    handle: std::sync::Arc<duckdb::InterruptHandle>,
    armed: bool,
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.handle.interrupt();
        }
    }
}

const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// `POST /v1/sql`: the body is the query (text). The answer is JSON by default, CSV for
/// `Accept: text/csv`, an Arrow IPC stream for `Accept: application/vnd.apache.arrow.stream`.
async fn run_sql(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Result<Response, ApiError> {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A few queries at a time: each may use a core and up to DuckDB's memory limit.
    let Ok(_slot) = state.sql_slots.clone().try_acquire_owned() else {
        return Err(ApiError::Busy);
    };
    let db = state.reader.connection()?;
    let mut guard = InterruptOnDrop {
        handle: db.interrupt_handle(),
        armed: true,
    };
    let max_rows = state.sql.max_rows;
    let mut task = tokio::task::spawn_blocking(move || sandbox::run(&db, &body, max_rows));
    let result = match tokio::time::timeout(state.sql.timeout, &mut task).await {
        Ok(joined) => {
            guard.armed = false;
            joined
        }
        Err(_elapsed) => {
            // DuckDB clears the interrupt flag when a query starts, so an interrupt that
            // lands just before execution would be lost: repeat until the task is done.
            loop {
                guard.handle.interrupt();
                if tokio::time::timeout(std::time::Duration::from_millis(100), &mut task)
                    .await
                    .is_ok()
                {
                    break;
                }
            }
            guard.armed = false;
            return Err(ApiError::SqlTimeout {
                limit: state.sql.timeout,
            });
        }
    };
    let result = result
        .map_err(|e| ApiError::Store(StoreError::Internal(format!("query task failed: {e}"))))??;
    let truncated = if result.truncated { "true" } else { "false" };
    let encoded = if accept.contains("text/csv") {
        // CSV has no lists or structs; that is the asker's to fix, with a cast.
        let body = encode_csv(&result).map_err(|e| {
            ApiError::BadRequest(format!(
                "the result cannot be written as CSV ({e}); turn list columns into text, e.g. \
                 array_to_string(scopes_granted, ' '), or ask for JSON or Arrow"
            ))
        })?;
        Ok(("text/csv; charset=utf-8", body))
    } else if accept.contains(ARROW_STREAM) {
        encode_arrow(&result).map(|body| (ARROW_STREAM, body))
    } else {
        encode_json(&result).map(|body| ("application/json", body))
    };
    // What cannot be encoded is a column type of the asker's query (e.g. a UNION).
    let (content_type, body) = encoded.map_err(|e: arrow::error::ArrowError| {
        ApiError::BadRequest(format!(
            "the result cannot be encoded ({e}); cast the column to text"
        ))
    })?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (
                axum::http::HeaderName::from_static("x-trustpath-truncated"),
                truncated,
            ),
        ],
        body,
    )
        .into_response())
}

fn encode_json(result: &sandbox::SqlResult) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut rows = arrow::json::ArrayWriter::new(Vec::new());
    for batch in &result.batches {
        rows.write(batch)?;
    }
    rows.finish()?;
    let mut rows = rows.into_inner();
    if rows.is_empty() {
        rows = b"[]".to_vec();
    }
    let columns: Vec<&str> = result
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let mut body =
        serde_json::to_vec(&json!({ "columns": columns, "truncated": result.truncated }))
            .map_err(|e| arrow::error::ArrowError::JsonError(e.to_string()))?;
    body.pop(); // the closing brace: the rows go in before it
    body.extend_from_slice(b",\"rows\":");
    body.extend_from_slice(&rows);
    body.push(b'}');
    Ok(body)
}

fn encode_csv(result: &sandbox::SqlResult) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_header(true)
        .build(Vec::new());
    if result.batches.is_empty() {
        writer.write(&arrow::record_batch::RecordBatch::new_empty(
            result.schema.clone(),
        ))?;
    }
    for batch in &result.batches {
        writer.write(batch)?;
    }
    Ok(writer.into_inner())
}

fn encode_arrow(result: &sandbox::SqlResult) -> Result<Vec<u8>, arrow::error::ArrowError> {
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(Vec::new(), &result.schema)?;
    for batch in &result.batches {
        writer.write(batch)?;
    }
    writer.into_inner()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the store answers and, if NATS is configured, the consumer is consuming.
/// HTTP ingest keeps working while NATS is not ready; the body says which part is down.
async fn readyz(State(state): State<AppState>) -> Response {
    let reader = state.reader.clone();
    let store = match blocking(move || reader.ping()).await {
        Ok(()) => (true, "ok".to_owned()),
        Err(error) => (false, error.to_string()),
    };
    let nats = match &state.nats {
        Some(status) => status.readiness(),
        None => (true, "disabled".to_owned()),
    };
    let ready = store.0 && nats.0;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": store.1,
        "nats": nats.1,
    });
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> String {
    state.metrics.render()
}

/// Runs a store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| {
            ApiError::Store(crate::store::StoreError::Internal(format!(
                "query task failed: {e}"
            )))
        })?
        .map_err(ApiError::from)
}
