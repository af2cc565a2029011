//! The one place errors become HTTP answers: client mistakes get their 4xx and a message
//! that says what to change; internal failures get a generic 500 and a log line with the cause.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "request body is larger than {limit} bytes (http.max_body_bytes); send the events in \
         smaller requests"
    )]
    PayloadTooLarge { limit: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the body holds {found} records, more than {limit} in one request; split it")]
    TooManyRecords { found: usize, limit: usize },
    #[error("too many ad-hoc SQL queries are running; retry in a moment")]
    Busy,
    #[error("query timed out after {limit:?}")]
    SqlTimeout { limit: std::time::Duration },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            ApiError::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            ApiError::Store(StoreError::BadParameter(message)) => {
                (StatusCode::BAD_REQUEST, message.clone())
            }
            ApiError::Store(StoreError::NotFound(message)) => {
                (StatusCode::NOT_FOUND, message.clone())
            }
            ApiError::Store(StoreError::Refused(_)) => (StatusCode::FORBIDDEN, self.to_string()),
            ApiError::Busy => (StatusCode::TOO_MANY_REQUESTS, self.to_string()),
            ApiError::TooManyRecords { .. } => (StatusCode::PAYLOAD_TOO_LARGE, self.to_string()),
            ApiError::SqlTimeout { limit } => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the query ran past the {limit:?} limit (sql.timeout) and was interrupted; \
                     narrow it (filters, LIMIT) or raise the limit"
                ),
            ),
            ApiError::Store(StoreError::DetectorStopped) => {
                (StatusCode::SERVICE_UNAVAILABLE, self.to_string())
            }
            ApiError::Store(StoreError::WriterStopped) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down; retry shortly".to_owned(),
            ),
            ApiError::Store(error) => {
                tracing::error!(%error, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the cause".to_owned(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}
