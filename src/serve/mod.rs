//! serve: the running service. [`App::build`] opens the store, starts the writer, binds
//! the HTTP listener and starts the NATS client; [`App::run_until_stopped`] serves until
//! the shutdown token fires, then stops pulling, commits, acks and checkpoints.

pub mod api;
pub mod error;
pub mod exports;

use std::net::SocketAddr;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::adapt::Adapters;
use crate::collect::nats::{NatsCollector, NatsSetupError, NatsStatus};
use crate::config::Config;
use crate::detect::{Detector, DetectorThread, Sinks, sinks};
use crate::normalize::Normalizer;
use crate::pipeline::Ingest;
use crate::store::writer::WriterThread;
use crate::store::{Reader, Store, StoreError};

/// Ad-hoc SQL queries running at once; more get 429.
const SQL_CONCURRENCY: usize = 2;

/// Shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    pub ingest: Ingest,
    pub reader: Reader,
    pub nats: Option<NatsStatus>,
    pub metrics: PrometheusHandle,
    pub max_body_bytes: usize,
    pub batch_max_events: usize,
    pub sql: crate::config::SqlConfig,
    /// Ad-hoc SQL queries that may run at once.
    pub sql_slots: Arc<tokio::sync::Semaphore>,
    /// Its rules, status and replays (`/v1/rules`).
    pub detector: Detector,
    /// Export jobs (`/v1/exports`).
    pub exports: exports::Exports,
    /// The store's writer, for readers that must see every committed batch correlated.
    pub writer: crate::store::Writer,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "cannot listen on {addr}: {source}; pick another address with --listen or TRUSTPATH_HTTP_LISTEN"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Nats(#[from] NatsSetupError),
    #[error("cannot set up the alert sinks: {0}")]
    Sinks(String),
}

pub struct App {
    listener: TcpListener,
    state: AppState,
    nats: Option<NatsCollector>,
    writer: WriterThread,
    detector: DetectorThread,
    sinks: Sinks,
    sink_connection: duckdb::Connection,
    sink_wake: Arc<Notify>,
    upkeep: Upkeep,
}

/// The store's timed chores: sign the chain head when no batch came to do it, and apply
/// the retention.
struct Upkeep {
    writer: crate::store::Writer,
    checkpoint_every: std::time::Duration,
    retention: crate::config::RetentionConfig,
}

impl Upkeep {
    async fn run(self, shutdown: CancellationToken) {
        let every = |d: std::time::Duration| {
            let mut timer = tokio::time::interval(d.max(std::time::Duration::from_secs(1)));
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer
        };
        let mut checkpoint = every(self.checkpoint_every);
        let mut retention = every(self.retention.check_every);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = checkpoint.tick() => {
                    if let Err(error) = self.writer.checkpoint().await {
                        tracing::warn!(%error, "signing the chain head failed");
                    }
                }
                _ = retention.tick(), if self.retention.is_set() => {
                    // The writer logs what was purged, or why not.
                    let _ = self.writer.purge(self.retention.clone()).await;
                }
            }
        }
    }
}

impl App {
    pub async fn build(config: Config) -> Result<App, StartError> {
        let store = Store::open(&config.store)?;
        tracing::info!(path = %store.path().display(), "store open");
        let sink_wake = Arc::new(Notify::new());
        let targets = sinks::targets(&config.alerts, config.nats.url.is_some());
        let (detector, detector_thread) =
            store.detector(&config.rules, targets, Some(sink_wake.clone()))?;
        let (writer, writer_thread) =
            store.writer(4, config.correlate.clone(), Some(detector.clone()))?;
        let adapters = Adapters::new(config.adapters.clone());
        let normalizer =
            Normalizer::new(config.ingest.max_event_bytes).with_adapters(adapters.clone());
        let upkeep = Upkeep {
            writer: writer.clone(),
            checkpoint_every: config.store.checkpoint_every,
            retention: config.retention.clone(),
        };
        let ingest = Ingest::new(normalizer, writer.clone());
        let listener = TcpListener::bind(config.http.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.http.listen,
                source,
            })?;
        let nats = match &config.nats.url {
            Some(url) => Some(
                NatsCollector::connect(
                    url,
                    &config.nats,
                    &config.ingest,
                    &adapters,
                    ingest.clone(),
                )
                .await?,
            ),
            None => None,
        };
        let sinks = Sinks::new(
            config.alerts.clone(),
            nats.as_ref().map(NatsCollector::client),
        )
        .map_err(|e| StartError::Sinks(e.to_string()))?;
        let state = AppState {
            ingest,
            reader: store.reader()?,
            nats: nats.as_ref().map(NatsCollector::status),
            metrics: crate::metrics::handle(),
            max_body_bytes: config.http.max_body_bytes,
            batch_max_events: config.ingest.batch_max_events,
            sql: config.sql.clone(),
            sql_slots: Arc::new(tokio::sync::Semaphore::new(SQL_CONCURRENCY)),
            detector,
            exports: exports::Exports::new(export_dir(&config.store), store.signer()?),
            writer,
        };
        Ok(App {
            listener,
            state,
            nats,
            writer: writer_thread,
            detector: detector_thread,
            sinks,
            sink_connection: store.connection()?,
            sink_wake,
            upkeep,
        })
    }

    /// The address the API is listening on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        // A bound TCP listener always has a local address.
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let App {
            listener,
            state,
            nats,
            writer,
            detector,
            sinks,
            sink_connection,
            sink_wake,
            upkeep,
        } = self;
        tracing::info!(addr = %listener.local_addr()?, "HTTP API listening");
        let collector = nats.map(|collector| tokio::spawn(collector.run(shutdown.clone())));
        let delivery = tokio::spawn(sinks.run(sink_connection, sink_wake, shutdown.clone()));
        let upkeep = tokio::spawn(upkeep.run(shutdown.clone()));

        let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        // If the server failed on its own, stop the collector too.
        shutdown.cancel();
        if let Some(collector) = collector
            && let Err(error) = collector.await
        {
            tracing::error!(%error, "NATS collector task failed");
        }
        upkeep.await.ok();
        // Every writer handle is gone now; wait for the last commit and the checkpoint,
        // then for the detector to examine what the last commits brought.
        tokio::task::spawn_blocking(move || {
            writer.join();
            let detected = detector.join();
            tracing::info!(
                new_alerts = detected.new_alerts,
                events = detected.events,
                "detector stopped"
            );
        })
        .await
        .ok();
        delivery.await.ok();
        tracing::info!("stopped");
        served
    }
}

/// Where `POST /v1/exports` writes: `exports/` beside the store (the working directory for
/// an in-memory store).
fn export_dir(store: &crate::config::StoreConfig) -> std::path::PathBuf {
    let parent = if store.is_in_memory() {
        None
    } else {
        store.path.parent().filter(|p| !p.as_os_str().is_empty())
    };
    parent.unwrap_or(std::path::Path::new(".")).join("exports")
}
