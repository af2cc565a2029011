//! Sinks: new alerts go to NATS (`<alerts.nats_subject>.<severity>`, the alert as JSON)
//! and to webhooks (POST, the alert as JSON or as Slack-compatible `{"text": …}`).
//!
//! The detector writes one `alert_deliveries` row per new alert and sink in the alert's own
//! transaction (an outbox); this task sends what is due and records the outcome. A sink that
//! fails is retried with exponential backoff (`alerts.retry_initial` doubling up to
//! `alerts.retry_max`) for as long as it takes: ingest never waits for a sink, and an alert
//! is never lost to one (it is in `alerts` either way).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use duckdb::{Connection, params};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::engine::SinkTarget;
use crate::config::{AlertsConfig, WebhookFormat};
use crate::store::StoreError;
use crate::store::rfc3339;

// Prepared afresh each round: see the note in `engine` on cached reads.
const DUE_DELIVERIES: &str = include_str!("../../queries/detect/due_deliveries.sql");
const DELIVERED: &str = include_str!("../../queries/detect/delivered.sql");
const DELIVERY_FAILED: &str = include_str!("../../queries/detect/delivery_failed.sql");

/// Most deliveries attempted per round.
const ROUND: i64 = 100;
/// How often due retries are looked for when nothing wakes the task.
const POLL: Duration = Duration::from_secs(1);

/// The sink name of the NATS publisher in `alert_deliveries`.
pub const NATS_SINK: &str = "nats";

/// The sinks the config asks for, as the detector records them in the outbox.
pub fn targets(config: &AlertsConfig, nats_connected: bool) -> Vec<SinkTarget> {
    let mut targets = Vec::new();
    if nats_connected && !config.nats_subject.is_empty() {
        targets.push(SinkTarget {
            name: NATS_SINK.to_owned(),
            min_severity: config.nats_min_severity,
        });
    }
    targets.extend(config.webhooks.iter().map(|hook| SinkTarget {
        name: webhook_sink(&hook.name),
        min_severity: hook.min_severity,
    }));
    targets
}

fn webhook_sink(name: &str) -> String {
    format!("webhook:{name}")
}

pub struct Sinks {
    config: AlertsConfig,
    nats: Option<async_nats::Client>,
    http: reqwest::Client,
}

impl Sinks {
    pub fn new(
        config: AlertsConfig,
        nats: Option<async_nats::Client>,
    ) -> Result<Sinks, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .user_agent(concat!("trustpath/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sinks { config, nats, http })
    }

    /// Sends due deliveries until `shutdown`; `wake` says new alerts are waiting.
    pub async fn run(self, db: Connection, wake: Arc<Notify>, shutdown: CancellationToken) {
        let db = Arc::new(Mutex::new(db));
        loop {
            if let Err(error) = self.round(&db, &shutdown).await {
                tracing::error!(%error, "alert delivery round failed; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Sends what is due. A sink that fails is not tried again in the same round (its
    /// other rows wait for their backoff), so one dead webhook does not hold up the rest.
    async fn round(
        &self,
        db: &Arc<Mutex<Connection>>,
        shutdown: &CancellationToken,
    ) -> Result<(), StoreError> {
        let due = blocking(db, |db| {
            db.prepare(DUE_DELIVERIES)?
                .query_map(params![rfc3339(Utc::now()), ROUND], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i32>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::from)
        })
        .await?;
        let mut failing: Vec<String> = Vec::new();
        for (alert_id, sink, attempts, document) in due {
            if shutdown.is_cancelled() {
                break;
            }
            if failing.contains(&sink) {
                continue;
            }
            let outcome = match tokio::time::timeout(
                self.config.webhook_timeout + Duration::from_secs(1),
                self.deliver(&sink, &document),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err("no answer in time".to_owned()),
            };
            let now = Utc::now();
            match outcome {
                Ok(()) => {
                    crate::metrics::alert_delivered(&sink, true);
                    blocking(db, move |db| {
                        db.prepare_cached(DELIVERED)?.execute(params![
                            alert_id,
                            sink,
                            rfc3339(now)
                        ])?;
                        Ok(())
                    })
                    .await?;
                }
                Err(error) => {
                    crate::metrics::alert_delivered(&sink, false);
                    failing.push(sink.clone());
                    let wait = backoff(&self.config, attempts);
                    tracing::warn!(%alert_id, %sink, attempt = attempts + 1, retry_in = ?wait, %error, "alert delivery failed");
                    let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    blocking(db, move |db| {
                        db.prepare_cached(DELIVERY_FAILED)?.execute(params![
                            alert_id,
                            sink,
                            rfc3339(next),
                            error
                        ])?;
                        Ok(())
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn deliver(&self, sink: &str, document: &str) -> Result<(), String> {
        let alert: Value =
            serde_json::from_str(document).map_err(|e| format!("alert document: {e}"))?;
        if sink == NATS_SINK {
            let client = self
                .nats
                .as_ref()
                .ok_or("NATS is not connected (nats.url unset); the alert waits for it")?;
            let severity = alert["severity"].as_str().unwrap_or("unknown");
            let subject = format!("{}.{severity}", self.config.nats_subject);
            client
                .publish(subject, document.to_owned().into())
                .await
                .map_err(|e| format!("publish: {e}"))?;
            return client.flush().await.map_err(|e| format!("flush: {e}"));
        }
        let hook = self
            .config
            .webhooks
            .iter()
            .find(|hook| webhook_sink(&hook.name) == sink)
            .ok_or_else(|| {
                format!("sink {sink} is no longer configured; the alert waits for it")
            })?;
        let body = match hook.format {
            WebhookFormat::Json => alert,
            WebhookFormat::Slack => serde_json::json!({ "text": slack_text(&alert) }),
        };
        let mut request = self.http.post(hook.url.expose_secret()).json(&body);
        if let Some(token) = &hook.bearer_token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("POST failed: {}", without_url(&e)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered {status}"))
        }
    }
}

/// reqwest's errors include the URL, which may hold a secret (Slack webhook URLs do).
fn without_url(error: &reqwest::Error) -> String {
    let mut error = error.to_string();
    if let Some(start) = error.find(" for url (") {
        error.truncate(start);
    }
    error
}

/// One line for a chat channel: severity, rule, what happened, where to look.
pub fn slack_text(alert: &Value) -> String {
    let text = |key: &str| alert[key].as_str().unwrap_or("?").to_owned();
    let count = alert["count"].as_i64().unwrap_or(1);
    let hits = if count == 1 {
        String::new()
    } else {
        format!(" ({count} hits)")
    };
    let connection = alert["connection_id"]
        .as_str()
        .map(|id| format!(", connection {id}"))
        .unwrap_or_default();
    format!(
        "[{}] {} {}: {}{hits}. Alert {}{connection}; `trustpath alerts --rule {}`.",
        text("severity").to_uppercase(),
        text("rule_id"),
        text("rule_name"),
        text("summary"),
        text("alert_id"),
        text("rule_id"),
    )
}

fn backoff(config: &AlertsConfig, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(u32::try_from(attempts).unwrap_or(0).min(30));
    config
        .retry_initial
        .saturating_mul(factor)
        .min(config.retry_max)
}

async fn blocking<T: Send + 'static>(
    db: &Arc<Mutex<Connection>>,
    work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let db = db
            .lock()
            .map_err(|_| StoreError::Internal("sink connection poisoned".into()))?;
        work(&db)
    })
    .await
    .map_err(|e| StoreError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = AlertsConfig {
            retry_initial: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            ..AlertsConfig::default()
        };
        let waits: Vec<u64> = (0..7).map(|n| backoff(&config, n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn slack_text_says_what_and_where() {
        let alert = serde_json::json!({
            "alert_id": "al-1", "rule_id": "TP007", "rule_name": "issuer-not-advertised",
            "severity": "critical", "summary": "token tok-1 issued by https://evil.example was used at https://mcp.example",
            "count": 3, "connection_id": "c-9"
        });
        assert_eq!(
            slack_text(&alert),
            "[CRITICAL] TP007 issuer-not-advertised: token tok-1 issued by https://evil.example \
             was used at https://mcp.example (3 hits). Alert al-1, connection c-9; \
             `trustpath alerts --rule TP007`."
        );
    }
}
