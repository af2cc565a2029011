//! The HTTP API (axum): ingest, event listing, rejected input, health and metrics.

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
use crate::collect::http::{Numbering, split_body};
use crate::store::Collector;
use crate::store::StoreError;
use crate::store::named::{self, NamedQuery};
use crate::store::read::{EventFilter, EventPage, QueryResult, Stats};
use crate::store::sandbox;

pub fn router(state: AppState) -> Router {
    let max_body = state.max_body_bytes;
    Router::new()
        .route("/v1/events", get(list_events).post(ingest_events))
        .route("/v1/rejected", get(list_rejected))
        .route("/v1/stats", get(stats))
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

async fn ingest_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
    let (numbering, numbered) = split_body(&body, &peer.to_string(), format);
    if numbered.is_empty() {
        return Ok(Json(IngestAnswer {
            batch_id: None,
            accepted: 0,
            duplicates: 0,
            rejected: 0,
            errors: vec![],
        }));
    }
    let (places, records): (Vec<usize>, Vec<_>) = numbered.into_iter().unzip();
    let report = state.ingest.ingest(Collector::Http, records).await?;
    let errors = report
        .rejected
        .into_iter()
        .map(|(position, reason)| {
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
            }
        })
        .collect();
    Ok(Json(IngestAnswer {
        batch_id: Some(report.commit.batch_id),
        accepted: report.commit.accepted,
        duplicates: report.commit.duplicates,
        rejected: report.commit.rejected,
        errors,
    }))
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
    body: Result<Json<QueryRequest>, JsonRejection>,
) -> Result<Json<QueryResult>, ApiError> {
    let request = match body {
        Ok(Json(request)) => request,
        Err(JsonRejection::MissingJsonContentType(_)) => QueryRequest::default(),
        Err(rejection) => return Err(ApiError::BadRequest(rejection.body_text())),
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
    let db = state.reader.connection()?;
    let interrupt = db.interrupt_handle();
    let max_rows = state.sql.max_rows;
    let mut task = tokio::task::spawn_blocking(move || sandbox::run(&db, &body, max_rows));
    let result = match tokio::time::timeout(state.sql.timeout, &mut task).await {
        Ok(joined) => joined,
        Err(_elapsed) => {
            interrupt.interrupt();
            // The interrupted query returns promptly; its connection is then dropped.
            let _ = task.await;
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
    let (content_type, body) = encoded.map_err(|e| {
        ApiError::Store(StoreError::Internal(format!(
            "encoding the result failed: {e}"
        )))
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
