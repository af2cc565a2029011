//! The NATS JetStream collector: a durable pull consumer on the `TRUSTPATH` stream.
//!
//! Delivery is at-least-once and the store is idempotent on `event_id`, so every event ends
//! up exactly once in `events`: a batch is committed first and acked after, and anything
//! not acked (a crash, a lost connection) comes back after `ack_wait` and is deduplicated.
//! Bad messages are committed to `rejected` and acked like good ones, so they are kept
//! once instead of being redelivered forever.
//!
//! NATS being down never stops trustpath: the client reconnects on its own, this loop
//! re-establishes the stream and consumer with backoff, and [`NatsStatus`] tells /readyz.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use async_nats::{Client, ConnectOptions};
use futures::StreamExt;
use secrecy::ExposeSecret;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::adapt::{Adapters, subject_covers};
use crate::config::{IngestConfig, NatsConfig};
use crate::normalize::RawRecord;
use crate::pipeline::{Ingest, Submitted};
use crate::store::Collector;

const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// Errors setting up the NATS client from configuration. Connection trouble later is not
/// an error of this kind: it is retried.
#[derive(Debug, thiserror::Error)]
pub enum NatsSetupError {
    #[error("cannot read the NATS credentials file {path}: {source}")]
    Creds {
        path: String,
        source: std::io::Error,
    },
    #[error("nats.tls_cert_file and nats.tls_key_file must be set together")]
    HalfClientCert,
    #[error("nats.user and nats.password must be set together")]
    HalfUserPassword,
    #[error("cannot start the NATS client for {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
}

/// What /readyz reports about NATS.
#[derive(Clone)]
pub struct NatsStatus {
    client: Client,
    inner: Arc<Mutex<StatusInner>>,
}

#[derive(Default)]
struct StatusInner {
    consuming: bool,
    last_error: Option<String>,
}

impl NatsStatus {
    /// (ready, human-readable state).
    pub fn readiness(&self) -> (bool, String) {
        let state = self.client.connection_state();
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let ready = matches!(state, async_nats::connection::State::Connected) && inner.consuming;
        let text = match (&state, inner.consuming, &inner.last_error) {
            (async_nats::connection::State::Connected, true, _) => "consuming".to_owned(),
            (async_nats::connection::State::Connected, false, Some(error)) => {
                format!("connected, consumer not ready: {error}")
            }
            (async_nats::connection::State::Connected, false, None) => {
                "connected, setting up consumer".to_owned()
            }
            (state, _, Some(error)) => {
                format!("{state:?}, reconnecting: last error: {error}").to_lowercase()
            }
            (state, _, None) => format!("{state:?}, reconnecting").to_lowercase(),
        };
        (ready, text)
    }

    fn set(&self, consuming: bool, error: Option<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.consuming = consuming;
        if error.is_some() || consuming {
            inner.last_error = error;
        }
        crate::metrics::nats_connected(consuming);
    }
}

pub struct NatsCollector {
    client: Client,
    config: NatsConfig,
    batch: IngestConfig,
    adapters: Adapters,
    ingest: Ingest,
    status: NatsStatus,
}

impl NatsCollector {
    /// The client, for publishing (alerts).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Starts the client. Returns at once even when the server is unreachable: the client
    /// keeps trying in the background.
    pub async fn connect(
        url: &str,
        config: &NatsConfig,
        batch: &IngestConfig,
        adapters: &Adapters,
        ingest: Ingest,
    ) -> Result<NatsCollector, NatsSetupError> {
        let mut options = ConnectOptions::new()
            .name("trustpath")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    async_nats::Event::Disconnected => {
                        tracing::warn!("NATS disconnected; reconnecting")
                    }
                    other => tracing::info!(event = %other, "NATS client event"),
                }
            });
        if let Some(token) = &config.token {
            options = options.token(token.expose_secret().to_owned());
        }
        match (&config.user, &config.password) {
            (Some(user), Some(password)) => {
                options =
                    options.user_and_password(user.clone(), password.expose_secret().to_owned());
            }
            (None, None) => {}
            _ => return Err(NatsSetupError::HalfUserPassword),
        }
        if let Some(path) = &config.creds_file {
            options =
                options
                    .credentials_file(path)
                    .await
                    .map_err(|source| NatsSetupError::Creds {
                        path: path.display().to_string(),
                        source,
                    })?;
        }
        if config.tls_required {
            options = options.require_tls(true);
        }
        if let Some(ca) = &config.tls_ca_file {
            options = options.add_root_certificates(ca.clone());
        }
        match (&config.tls_cert_file, &config.tls_key_file) {
            (Some(cert), Some(key)) => {
                options = options.add_client_certificate(cert.clone(), key.clone())
            }
            (None, None) => {}
            _ => return Err(NatsSetupError::HalfClientCert),
        }
        let client = options
            .connect(url)
            .await
            .map_err(|source| NatsSetupError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let status = NatsStatus {
            client: client.clone(),
            inner: Arc::default(),
        };
        Ok(NatsCollector {
            client,
            config: config.clone(),
            batch: batch.clone(),
            adapters: adapters.clone(),
            ingest,
            status,
        })
    }

    pub fn status(&self) -> NatsStatus {
        self.status.clone()
    }

    /// Consumes until `shutdown`, re-establishing the consumer with backoff after any
    /// failure. On shutdown the batch in hand is committed and acked before returning.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        while !shutdown.is_cancelled() {
            let started = Instant::now();
            match self.consume(&shutdown).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "NATS consumer interrupted");
                    self.status.set(false, Some(error));
                }
            }
            // A consumer that ran for a while earned a fresh start of the backoff.
            if started.elapsed() > MAX_BACKOFF {
                backoff = MIN_BACKOFF;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        self.status.set(false, None);
        tracing::info!("NATS collector stopped");
    }

    /// The pull stream, and the identity of the JetStream stream: its name and creation
    /// time, so sequence numbers of a re-created stream never collide with old ones.
    async fn consumer(&self) -> Result<(pull::Stream, String), String> {
        let js = jetstream::new(self.client.clone());
        let wanted = stream_subjects(&self.config.subjects, &self.adapters);
        let mut stream = js
            .get_or_create_stream(stream::Config {
                name: self.config.stream.clone(),
                subjects: wanted.clone(),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot get or create stream {}: {e}", self.config.stream))?;
        let info = stream
            .info()
            .await
            .map_err(|e| format!("cannot read stream {}: {e}", self.config.stream))?
            .clone();
        // An existing stream is used as is, except that it must capture every subject an
        // adapter reads: a subject added to the settings later would otherwise be lost.
        let missing: Vec<String> = wanted
            .into_iter()
            .filter(|s| {
                !info
                    .config
                    .subjects
                    .iter()
                    .any(|have| subject_covers(have, s))
            })
            .collect();
        if !missing.is_empty() {
            let mut config = info.config.clone();
            config.subjects.extend(missing.iter().cloned());
            js.update_stream(config).await.map_err(|e| {
                format!(
                    "stream {} does not capture {}, and adding them failed: {e}",
                    self.config.stream,
                    missing.join(", ")
                )
            })?;
            tracing::info!(stream = %self.config.stream, subjects = ?missing, "stream now captures the adapters' subjects");
        }
        let created = info.created.unix_timestamp_nanos();
        let stream_identity = format!("{}@{created}", self.config.stream);
        let batch = self.batch.batch_max_events.max(1);
        // create_consumer creates or updates, so changed settings apply on restart.
        let consumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(self.config.consumer.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: self.config.ack_wait,
                max_ack_pending: i64::try_from(batch * 4).unwrap_or(i64::MAX),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot create consumer {}: {e}", self.config.consumer))?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| format!("cannot start pulling from {}: {e}", self.config.consumer))?;
        Ok((messages, stream_identity))
    }

    /// Pulls batches and commits them; the next batch is pulled, normalized and handed to
    /// the writer while the previous one commits, and each batch is acked once its commit
    /// is reported. A batch closes when full, or after `ingest.batch_max_wait` once the
    /// previous one has committed. A full pull is marked `more_follows`, so under a backlog
    /// in the stream the writer commits first and correlates after (`correlate.max_lag`).
    async fn consume(&self, shutdown: &CancellationToken) -> Result<(), String> {
        let (mut messages, stream_identity) = self.consumer().await?;
        self.status.set(true, None);
        tracing::info!(stream = %self.config.stream, consumer = %self.config.consumer, "consuming from JetStream");
        let max = self.batch.batch_max_events.max(1);
        // The previous batch's commit report and acks, awaited on their own task so that an
        // idle stream does not hold its acks back.
        let mut previous: Option<tokio::task::JoinHandle<Result<(), String>>> = None;
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => break,
                next = messages.next() => next,
            };
            let mut interrupted = None;
            let mut batch = Vec::new();
            match first {
                Some(Ok(message)) => batch.push(message),
                Some(Err(error)) => interrupted = Some(format!("pull failed: {error}")),
                None => interrupted = Some("the pull stream ended".to_owned()),
            }
            let mut deadline = Instant::now() + self.batch.batch_max_wait;
            while interrupted.is_none() && batch.len() < max {
                match tokio::time::timeout_at(deadline, messages.next()).await {
                    Ok(Some(Ok(message))) => batch.push(message),
                    Ok(Some(Err(error))) => interrupted = Some(format!("pull failed: {error}")),
                    Ok(None) => interrupted = Some("the pull stream ended".to_owned()),
                    // While the writer is still on the previous batch, this one keeps
                    // growing: batches follow the writer's pace, not the wait alone.
                    Err(_deadline) if previous.as_ref().is_some_and(|p| !p.is_finished()) => {
                        deadline = Instant::now() + STILL_COMMITTING_POLL;
                    }
                    Err(_deadline) => break,
                }
            }
            // What was received is committed even when the pull broke off mid-batch.
            let sent = if batch.is_empty() {
                None
            } else {
                // A full pull most likely has more of the stream behind it.
                let full = batch.len() >= max;
                let in_flight = self.submit(batch, full, &stream_identity).await?;
                Some(tokio::spawn(in_flight.settle()))
            };
            if let Some(previous) = std::mem::replace(&mut previous, sent) {
                settled(previous).await?;
            }
            if let Some(error) = interrupted {
                if let Some(last) = previous.take() {
                    settled(last).await?;
                }
                return Err(error);
            }
        }
        // Shutdown: the batch in hand is committed and acked before returning.
        if let Some(last) = previous {
            settled(last).await?;
        }
        Ok(())
    }

    /// Normalizes `messages` and hands them to the writer; `more_follows` when the pull
    /// was full.
    async fn submit(
        &self,
        messages: Vec<jetstream::Message>,
        more_follows: bool,
        stream: &str,
    ) -> Result<InFlight, String> {
        let records = messages
            .iter()
            .map(|m| record(m, stream, &self.adapters))
            .collect();
        let normalized = self.ingest.normalize(Collector::Nats, records).await;
        let submitted = match normalized {
            Ok(normalized) => {
                self.ingest
                    .submit(normalized.more_follows(more_follows))
                    .await
            }
            Err(error) => Err(error),
        }
        .map_err(|e| format!("commit failed, the batch will be redelivered: {e}"))?;
        Ok(InFlight {
            messages,
            submitted,
        })
    }
}

/// How often a batch whose wait is over checks whether the previous one has committed.
const STILL_COMMITTING_POLL: Duration = Duration::from_millis(5);

async fn settled(task: tokio::task::JoinHandle<Result<(), String>>) -> Result<(), String> {
    task.await
        .map_err(|e| format!("committing and acking a batch failed: {e}"))?
}

/// A batch with the writer; its messages are acked once its commit is reported.
struct InFlight {
    messages: Vec<jetstream::Message>,
    submitted: Submitted,
}

impl InFlight {
    async fn settle(self) -> Result<(), String> {
        let report = self
            .submitted
            .report()
            .await
            .map_err(|e| format!("commit failed, the batch will be redelivered: {e}"))?;
        tracing::debug!(
            accepted = report.commit.accepted,
            duplicates = report.commit.duplicates,
            rejected = report.commit.rejected,
            "NATS batch committed"
        );
        let acks = futures::future::join_all(self.messages.iter().map(|m| m.ack())).await;
        let failed = acks.iter().filter(|ack| ack.is_err()).count();
        if failed > 0 {
            // Committed but not acked: they come back after ack_wait and are deduplicated.
            tracing::warn!(
                failed,
                "acks failed after commit; those messages will be redelivered"
            );
        }
        Ok(())
    }
}

/// One message as a record: its origin names subject and stream sequence; the stream's
/// identity (name and creation time) and the sequence are the delivery key that keeps a
/// redelivered bad message from being stored twice.
fn record(message: &jetstream::Message, stream: &str, adapters: &Adapters) -> RawRecord {
    let subject = message.subject.as_str();
    let sequence = message.info().map(|info| info.stream_sequence).ok();
    let (origin, delivery_key) = match sequence {
        Some(seq) => (
            format!("nats:{subject}#{seq}"),
            Some(format!("nats:{stream}:{seq}")),
        ),
        None => (format!("nats:{subject}"), None),
    };
    RawRecord {
        raw: message.payload.clone(),
        origin,
        delivery_key,
        format: adapters.format_of_subject(subject),
    }
}

/// The stream's subjects: `nats.subjects`, plus each adapter subject they do not already
/// cover (JetStream refuses overlapping subjects in one stream).
fn stream_subjects(subjects: &[String], adapters: &Adapters) -> Vec<String> {
    let mut all = subjects.to_vec();
    for subject in adapters.subjects() {
        if !all.iter().any(|pattern| subject_covers(pattern, &subject)) {
            all.push(subject);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AdaptersConfig;

    #[test]
    fn adapter_subjects_join_the_stream_unless_covered() {
        let mut config = AdaptersConfig::default();
        config.okta.subjects = Some(vec!["audit.okta.>".to_owned()]);
        config.keycloak.subjects = Some(vec!["trustpath.in.kc.>".to_owned()]);
        let subjects = stream_subjects(&["trustpath.in.>".to_owned()], &Adapters::new(config));
        assert_eq!(subjects, ["trustpath.in.>", "audit.okta.>"]);
    }
}
