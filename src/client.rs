//! The CLI's view of a running trustpath: read commands go through its HTTP API when it
//! is reachable (DuckDB lets only one process open the store), so they give the same
//! answer whether or not `trustpath serve` is up.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::detect::DetectReport;
use crate::serve::api::{IngestAnswer, ReplayRequest};
use crate::store::alerts::{AlertFilter, AlertPage, StatusChange};
use crate::store::connections::{
    ConnectionDetail, ConnectionFilter, ConnectionPage, Timeline, TimelineFilter,
};
use crate::store::read::{EventFilter, EventPage, QueryResult, Stats};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach trustpath at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("trustpath at {url} answered {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("unexpected answer from {url}: {source}")]
    Decode { url: String, source: reqwest::Error },
}

#[derive(Clone)]
pub struct ServerClient {
    base: String,
    http: reqwest::Client,
}

impl ServerClient {
    pub fn new(base: &str) -> Self {
        ServerClient {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// True when a trustpath answers `/healthz` at this address within a second.
    pub async fn is_up(&self) -> bool {
        let probe = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        matches!(probe, Ok(response) if response.status().is_success())
    }

    pub async fn events(&self, filter: &EventFilter) -> Result<EventPage, ClientError> {
        let url = format!("{}/v1/events", self.base);
        self.answer(&url, self.http.get(&url).query(filter)).await
    }

    pub async fn connections(
        &self,
        filter: &ConnectionFilter,
    ) -> Result<ConnectionPage, ClientError> {
        let url = format!("{}/v1/connections", self.base);
        self.answer(&url, self.http.get(&url).query(filter)).await
    }

    /// `None` when the server has no such connection.
    pub async fn connection(&self, id: &str) -> Result<Option<ConnectionDetail>, ClientError> {
        let url = format!("{}/v1/connections/{}", self.base, path_segment(id));
        self.found(&url).await
    }

    /// `None` when the token belongs to no connection.
    pub async fn token_trust_path(
        &self,
        token_id: &str,
    ) -> Result<Option<ConnectionDetail>, ClientError> {
        let url = format!(
            "{}/v1/tokens/{}/trust-path",
            self.base,
            path_segment(token_id)
        );
        self.found(&url).await
    }

    pub async fn timeline(&self, filter: &TimelineFilter) -> Result<Timeline, ClientError> {
        let url = format!("{}/v1/timeline", self.base);
        self.answer(&url, self.http.get(&url).query(filter)).await
    }

    pub async fn alerts(&self, filter: &AlertFilter) -> Result<AlertPage, ClientError> {
        let url = format!("{}/v1/alerts", self.base);
        self.answer(&url, self.http.get(&url).query(filter)).await
    }

    pub async fn alert(&self, id: &str) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}/v1/alerts/{}", self.base, path_segment(id));
        self.answer(&url, self.http.get(&url)).await
    }

    pub async fn change_alert(
        &self,
        id: &str,
        change: &StatusChange,
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}/v1/alerts/{}", self.base, path_segment(id));
        self.answer(&url, self.http.patch(&url).json(change)).await
    }

    pub async fn replay(&self, request: &ReplayRequest) -> Result<DetectReport, ClientError> {
        let url = format!("{}/v1/rules/replay", self.base);
        self.answer(&url, self.http.post(&url).json(request)).await
    }

    async fn found<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>, ClientError> {
        match self.answer(url, self.http.get(url)).await {
            Ok(found) => Ok(Some(found)),
            Err(ClientError::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn rejected(&self, limit: u32) -> Result<serde_json::Value, ClientError> {
        let url = format!("{}/v1/rejected", self.base);
        self.answer(&url, self.http.get(&url).query(&[("limit", limit)]))
            .await
    }

    pub async fn stats(&self) -> Result<Stats, ClientError> {
        let url = format!("{}/v1/stats", self.base);
        self.answer(&url, self.http.get(&url)).await
    }

    pub async fn query(
        &self,
        name: &str,
        params: &std::collections::BTreeMap<String, String>,
    ) -> Result<QueryResult, ClientError> {
        let url = format!("{}/v1/queries/{name}", self.base);
        self.answer(
            &url,
            self.http
                .post(&url)
                .json(&serde_json::json!({ "params": params })),
        )
        .await
    }

    /// Posts one NDJSON chunk.
    pub async fn ingest(&self, ndjson: Vec<u8>, format: &str) -> Result<IngestAnswer, ClientError> {
        let url = format!("{}/v1/events", self.base);
        let request = self
            .http
            .post(&url)
            .query(&[("format", format)])
            .header("content-type", "application/x-ndjson")
            .body(ndjson);
        self.answer(&url, request).await
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: url.to_owned(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let message = body["error"]
                .as_str()
                .unwrap_or("no error message")
                .to_owned();
            return Err(ClientError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                message,
            });
        }
        response.json().await.map_err(|source| ClientError::Decode {
            url: url.to_owned(),
            source,
        })
    }
}

/// An id as one URL path segment (ids are opaque: they may hold `/` or `?`).
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
