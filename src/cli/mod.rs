//! The command line: `serve`, `ingest`, `events`, `connections`, `explain`, `timeline`,
//! `alerts`, `alert`, `rules`, `eval`, `rejected`, `stats`, `query`, `simulate`, `bench`,
//! `demo`. The detection commands live in [`detect`].
//!
//! Every setting is a flag and a `TRUSTPATH_*` variable (clap reads both) layered over
//! `trustpath.toml` and the defaults by [`Config::load`]. Read commands and `ingest` use a
//! running server's API when one answers and open the store themselves otherwise.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

mod compliance;
mod detect;

use crate::adapt::Format;
use crate::client::ServerClient;
use crate::collect::file::NdjsonReader;
use crate::config::{Config, LogConfig, LogFormat};
use crate::detect::sinks;
use crate::normalize::Normalizer;
use crate::pipeline::Ingest;
use crate::render::cell;
use crate::serve::App;
use crate::serve::api::{IngestAnswer, RecordError};
use crate::simulate::output::Sink;
use crate::simulate::{self, LabelFile};
use crate::store::connections::{ConnectionFilter, ConnectionPage, Timeline, TimelineFilter};
use crate::store::read::{EventFilter, EventFormat, EventPage};
use crate::store::{Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "trustpath",
    version,
    about = "Audit and trust-path analytics for MCP authorization"
)]
pub struct Cli {
    /// Settings file (TOML). Default: ./trustpath.toml when it exists.
    #[arg(long, global = true, env = "TRUSTPATH_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: HTTP API, NATS collector (when nats.url is set), store writer.
    Serve,
    /// Backfill NDJSON events from FILE (or - for stdin) through the same normalizer.
    Ingest {
        /// NDJSON file, or - for standard input.
        file: String,
        /// Which adapter reads the lines: native, keycloak, okta, auth0, ocsf or gateway.
        #[arg(long, default_value = "native")]
        format: String,
        /// Print the whole answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List stored events, newest first (the same query as GET /v1/events).
    Events {
        #[command(flatten)]
        filter: EventFilter,
        /// Print the page as JSON (with next_cursor) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List connections (approval chains) with their verdicts, most recently active first.
    Connections {
        #[command(flatten)]
        filter: ConnectionFilter,
        #[arg(long)]
        json: bool,
    },
    /// Show the trust path of a connection, or of the connection a token belongs to.
    Explain {
        /// A connection id (c-…) or a token id (access or refresh token).
        id: String,
        /// Print the connection with its trust path, tokens and events as JSON.
        #[arg(long)]
        json: bool,
    },
    /// An incident timeline: events and verdict changes for a key over a time window,
    /// grouped by connection.
    Timeline {
        #[command(flatten)]
        filter: TimelineFilter,
        #[arg(long)]
        json: bool,
    },
    /// List alerts, most recently seen first (the same query as GET /v1/alerts).
    Alerts {
        #[command(flatten)]
        filter: crate::store::alerts::AlertFilter,
        #[arg(long)]
        json: bool,
    },
    /// Show one alert with its lifecycle, hits and deliveries; `--set` moves it along.
    Alert {
        id: String,
        /// New status: open, acknowledged or resolved.
        #[arg(long, value_enum)]
        set: Option<crate::store::alerts::AlertStatus>,
        /// Who makes the change (required with --set).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Detection rules: list them, run their fixtures, replay them over history.
    #[command(subcommand)]
    Rules(detect::RulesCommand),
    /// Score the rules on a labelled scenario (from `trustpath simulate`) in a scratch store.
    Eval {
        /// NDJSON events.
        events: PathBuf,
        /// The labels file written beside them.
        labels: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List rejected input with the reasons, newest first.
    Rejected {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Counts of what the store holds.
    Stats,
    /// Run a named query of queries/named/ (without NAME: list them).
    Query {
        name: Option<String>,
        /// A parameter, as name=value; repeat for more.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Generate believable MCP authorization traffic, with labelled attacks if asked.
    Simulate(SimulateArgs),
    /// Measure trustpath on this machine (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The Ed25519 key that signs checkpoints, purges and exports.
    #[command(subcommand)]
    Keys(compliance::KeysCommand),
    /// Write the records of a window for a reviewer, with a signed manifest.
    Export {
        #[command(flatten)]
        request: crate::export::ExportRequest,
        /// A new (or empty) directory for the export.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// A compliance review of a window: clients and their documents, scopes, trust-path
    /// violations, alerts and their resolution, coverage.
    Report {
        /// Start of the window (RFC 3339).
        #[arg(long)]
        from: chrono::DateTime<chrono::Utc>,
        /// End of the window (RFC 3339).
        #[arg(long)]
        to: chrono::DateTime<chrono::Utc>,
        #[arg(long, value_enum, default_value_t = crate::report::ReportFormat::Md)]
        format: crate::report::ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the store's hash chain and signatures (--store), or exports offline (DIR...).
    Verify {
        /// Export directories to check offline (consecutive ones are also checked for gaps).
        dirs: Vec<PathBuf>,
        /// Recompute the store's chain from its rows (open it directly: stop a server first).
        #[arg(long)]
        store: bool,
        /// The trusted public key (PEM, from `trustpath keys show`). Default: the public
        /// half of the store's own signing key.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// With --store: records after the last signed head fail too (a store trustpath
        /// stopped cleanly has its head signed; a crash leaves the newest unsigned).
        #[arg(long, requires = "store")]
        require_signed_head: bool,
        #[arg(long)]
        json: bool,
    },
    /// Rewrite the store into a new file: current storage format, no space left by earlier
    /// checkpoints. Stop trustpath first; then move the new file (and its key) into place.
    Compact {
        /// The new store file (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Apply the configured retention now: delete what is older and record a signed purge.
    Purge {
        #[arg(long)]
        json: bool,
    },
    /// Start a server on a fresh demo store and stream simulated traffic with attacks into it.
    Demo {
        /// Store to use instead of a fresh ./data/demo/trustpath.duckdb (kept as it is).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Events per second to stream.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// The arguments of a side-by-side bench row (`bench ingest`, `bench nats`).
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Simulated events (fixed seed).
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Rounds of each side, alternating; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Scratch directory. Default: a new one in the system's temp directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// The sizes of `bench all`.
#[derive(Debug, Args)]
pub struct AllArgs {
    /// The Markdown file to write (rewritten after every row).
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// Scratch directory. Default: a new one in the system's temp directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Events of the file-ingest row.
    #[arg(long, default_value_t = 200_000)]
    ingest_events: usize,
    /// Events of the NATS end-to-end row.
    #[arg(long, default_value_t = 200_000)]
    nats_events: usize,
    /// Rounds of each side-by-side row and of each read sample.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Store sizes the reads are timed at, ascending, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
    store_events: Vec<usize>,
    /// Simulated events per part the store is built from (memory stays bounded by a part).
    #[arg(long, default_value_t = 1_000_000)]
    part_events: usize,
    /// Tokens and subjects sampled for the reads.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Publish rates of the detection row, events/s, comma-separated. The target is at
    /// 5,000 and 10,000; a lighter rate shows the pipeline's floor.
    #[arg(long, value_delimiter = ',', default_value = "200,5000,10000")]
    detect_rates: Vec<f64>,
    /// How long each detection run publishes, seconds.
    #[arg(long, default_value_t = 60.0)]
    detect_seconds: f64,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Every row of BENCHMARKS.md in one run, written to --out: file ingest and NATS end to
    /// end against their baselines, detection latency, trust path and timeline reads on a
    /// growing store, and that store's memory and disk. Starts its own nats-server on
    /// loopback unless --nats-url is given. The defaults are the full sizes (35 minutes and
    /// 15 GB of scratch space on 2 cores).
    All(AllArgs),
    /// File ingest against its baseline: `trustpath ingest`'s path (without detection) and
    /// DuckDB's own read_ndjson + INSERT of the same simulated file into the same table,
    /// alternating, in scratch stores under --dir (removed afterwards).
    Ingest(CompareArgs),
    /// NATS end to end against its baseline: events already in a JetStream stream (of the
    /// NATS server of --nats-url), consumed, normalized, committed and acked by trustpath,
    /// and by a bare async-nats pull consumer that only acks.
    Nats(CompareArgs),
    /// Latency of token trust paths and one-subject 24 h timelines on the store
    /// (store.path; open it directly, so stop a server using it first).
    Reads {
        /// Tokens and subjects sampled from the store.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        /// Times each sample is read after one warm-up read.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long)]
        json: bool,
    },
    /// What the rule pack costs per committed batch on the store (store.path, opened
    /// directly): the most recent batches, each rule timed, nothing recorded.
    Rules {
        #[arg(long, default_value_t = 20)]
        batches: usize,
        #[arg(long)]
        json: bool,
    },
    /// Publish → alert latency: runs trustpath on a fresh scratch store against the NATS
    /// server of --nats-url and streams simulated traffic with attacks at --rate.
    Detect {
        #[arg(long, default_value_t = 5_000.0)]
        rate: f64,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Same seed, same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Benign flows (approval chains) to generate.
    #[arg(long, default_value_t = 1_000)]
    pub flows: usize,
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    #[arg(long, default_value_t = 24)]
    pub clients: usize,
    #[arg(long, default_value_t = 6)]
    pub resources: usize,
    /// Length of the simulated period in days. Attacks are injected after the first day
    /// (the detections' learning period), so with --attacks it must be more than 1.
    #[arg(long, default_value_t = 2.0)]
    pub days: f64,
    /// Start of the simulated period (RFC 3339). Fixed by default so output is reproducible.
    #[arg(long, default_value = "2026-11-01T00:00:00Z")]
    pub start: chrono::DateTime<chrono::Utc>,
    /// Attacks to inject: `all`, or rule ids with optional counts, e.g. TP001,TP007=3.
    #[arg(long, default_value = "")]
    pub attacks: String,
    /// Which shape to emit. With keycloak, okta or auth0 the authorization servers' events
    /// are in that vendor's format and the gateways' in the gateway format; events a format
    /// does not log stay native. Formats that leave events to others need --out to be a
    /// directory.
    #[arg(long, value_enum, default_value_t = Format::Native)]
    pub format: Format,
    /// NDJSON output file, or - for stdout; with a --format that leaves events to others, a
    /// directory that gets one <format>.ndjson per format.
    #[arg(long, default_value = "-")]
    pub out: String,
    /// Ground-truth labels (JSON). Default: OUT.labels.json when OUT is a file.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Send to a trustpath server's HTTP API instead of OUT.
    #[arg(long, conflicts_with = "nats")]
    pub http: Option<String>,
    /// Publish to NATS JetStream (trustpath.in.<format>.sim) instead of OUT.
    #[arg(long)]
    pub nats: Option<String>,
    /// Events per second (a live stream); default: as fast as the output takes them.
    #[arg(long)]
    pub rate: Option<f64>,
}

impl SimulateArgs {
    fn options(&self) -> anyhow::Result<simulate::Options> {
        let attacks = parse_attacks(&self.attacks)?;
        if !attacks.is_empty() && self.days <= 1.0 {
            bail!(
                "--attacks needs --days above 1: attacks are injected after the first day, the \
                 detections' learning period (got --days {})",
                self.days
            );
        }
        Ok(simulate::Options {
            seed: self.seed,
            flows: self.flows,
            size: simulate::world::Size {
                users: self.users,
                clients: self.clients,
                resources: self.resources,
            },
            start: self.start,
            days: self.days,
            attacks,
        })
    }
}

/// `all` | `TP001,TP007=3`.
pub fn parse_attacks(text: &str) -> anyhow::Result<Vec<(simulate::Attack, usize)>> {
    let mut attacks = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (id, count) = match item.split_once('=') {
            Some((id, count)) => {
                let count = count
                    .parse()
                    .with_context(|| format!("--attacks: '{count}' is not a count in '{item}'"))?;
                (id, count)
            }
            None => (item, 1),
        };
        if id.eq_ignore_ascii_case("all") {
            attacks.extend(simulate::Attack::ALL.iter().map(|&attack| (attack, count)));
        } else {
            let attack = id
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--attacks: {e}"))?;
            attacks.push((attack, count));
        }
    }
    Ok(attacks)
}

/// Every configuration setting as a flag and an environment variable. Unset flags leave the
/// file's or the default value in place. See README's configuration reference.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Settings (flag, environment variable, or key in trustpath.toml)")]
pub struct Settings {
    /// store.path: the DuckDB database file.
    #[arg(long, global = true, env = "TRUSTPATH_STORE_PATH")]
    pub store_path: Option<PathBuf>,
    /// store.memory_limit: DuckDB memory limit, e.g. 1GB (default 512MB; empty: 80 % of RAM).
    #[arg(long, global = true, env = "TRUSTPATH_STORE_MEMORY_LIMIT")]
    pub store_memory_limit: Option<String>,
    /// store.wal_autocheckpoint: WAL size at which DuckDB checkpoints the store, e.g. 256MB.
    #[arg(long, global = true, env = "TRUSTPATH_STORE_WAL_AUTOCHECKPOINT")]
    pub wal_autocheckpoint: Option<String>,
    /// store.signing_key: Ed25519 private key (PKCS#8 PEM) signing checkpoints and exports.
    #[arg(long, global = true, env = "TRUSTPATH_STORE_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// store.checkpoint_every: how often the chain head is signed, e.g. 1h.
    #[arg(long, global = true, env = "TRUSTPATH_STORE_CHECKPOINT_EVERY")]
    pub checkpoint_every: Option<String>,
    /// retention.events: how long events are kept, e.g. 400d.
    #[arg(long, global = true, env = "TRUSTPATH_RETENTION_EVENTS")]
    pub retention_events: Option<String>,
    /// retention.rejected: how long rejected input is kept, e.g. 90d.
    #[arg(long, global = true, env = "TRUSTPATH_RETENTION_REJECTED")]
    pub retention_rejected: Option<String>,
    /// retention.check_every: how often `serve` applies the retention, e.g. 1h.
    #[arg(long, global = true, env = "TRUSTPATH_RETENTION_CHECK_EVERY")]
    pub retention_check_every: Option<String>,
    /// ingest.max_event_bytes: largest record accepted.
    #[arg(long, global = true, env = "TRUSTPATH_INGEST_MAX_EVENT_BYTES")]
    pub max_event_bytes: Option<usize>,
    /// ingest.batch_max_events: most records per commit.
    #[arg(long, global = true, env = "TRUSTPATH_INGEST_BATCH_MAX_EVENTS")]
    pub batch_max_events: Option<usize>,
    /// ingest.batch_max_wait: longest a record waits for its batch, e.g. 100ms.
    #[arg(long, global = true, env = "TRUSTPATH_INGEST_BATCH_MAX_WAIT")]
    pub batch_max_wait: Option<String>,
    /// http.listen: API address (port 0 picks one).
    #[arg(long, global = true, env = "TRUSTPATH_HTTP_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// http.max_body_bytes: largest POST /v1/events body.
    #[arg(long, global = true, env = "TRUSTPATH_HTTP_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// http.server_url: where read commands find a running server.
    #[arg(long = "server", global = true, env = "TRUSTPATH_HTTP_SERVER_URL")]
    pub server_url: Option<String>,
    /// nats.url: NATS server URL(s); enables the JetStream collector.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_URL")]
    pub nats_url: Option<String>,
    /// nats.token: token authentication.
    #[arg(
        long,
        global = true,
        env = "TRUSTPATH_NATS_TOKEN",
        hide_env_values = true
    )]
    pub nats_token: Option<String>,
    /// nats.user: user for user/password authentication.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_USER")]
    pub nats_user: Option<String>,
    /// nats.password: password for user/password authentication.
    #[arg(
        long,
        global = true,
        env = "TRUSTPATH_NATS_PASSWORD",
        hide_env_values = true
    )]
    pub nats_password: Option<String>,
    /// nats.creds_file: NATS .creds file.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_CREDS_FILE")]
    pub nats_creds_file: Option<PathBuf>,
    /// nats.tls_required: require TLS to NATS.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_TLS_REQUIRED", num_args = 0..=1, default_missing_value = "true")]
    pub nats_tls_required: Option<bool>,
    /// nats.tls_ca_file: CA certificate(s) for the NATS server, PEM.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_TLS_CA_FILE")]
    pub nats_tls_ca_file: Option<PathBuf>,
    /// nats.tls_cert_file: client certificate for mutual TLS, PEM.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_TLS_CERT_FILE")]
    pub nats_tls_cert_file: Option<PathBuf>,
    /// nats.tls_key_file: client key for mutual TLS, PEM.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_TLS_KEY_FILE")]
    pub nats_tls_key_file: Option<PathBuf>,
    /// nats.stream: JetStream stream name.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_STREAM")]
    pub nats_stream: Option<String>,
    /// nats.subjects: subjects the stream captures, comma-separated.
    #[arg(
        long,
        global = true,
        env = "TRUSTPATH_NATS_SUBJECTS",
        value_delimiter = ','
    )]
    pub nats_subjects: Option<Vec<String>>,
    /// nats.consumer: durable consumer name.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_CONSUMER")]
    pub nats_consumer: Option<String>,
    /// nats.ack_wait: redelivery delay for unacked messages, e.g. 30s.
    #[arg(long, global = true, env = "TRUSTPATH_NATS_ACK_WAIT")]
    pub nats_ack_wait: Option<String>,
    /// correlate.clock_skew: clock difference tolerated between sources, e.g. 5s.
    #[arg(long, global = true, env = "TRUSTPATH_CORRELATE_CLOCK_SKEW")]
    pub correlate_clock_skew: Option<String>,
    /// correlate.window: how long before a connection's first token its request and
    /// consent may be, e.g. 1h.
    #[arg(long, global = true, env = "TRUSTPATH_CORRELATE_WINDOW")]
    pub correlate_window: Option<String>,
    /// correlate.evidence_lookback: oldest evidence in force at a token's issue, e.g. 24h.
    #[arg(long, global = true, env = "TRUSTPATH_CORRELATE_EVIDENCE_LOOKBACK")]
    pub correlate_evidence_lookback: Option<String>,
    /// correlate.max_lag: how far correlation may fall behind commits under a burst, e.g. 10s.
    #[arg(long, global = true, env = "TRUSTPATH_CORRELATE_MAX_LAG")]
    pub correlate_max_lag: Option<String>,
    /// sql.max_rows: most rows an ad-hoc SQL query returns.
    #[arg(long, global = true, env = "TRUSTPATH_SQL_MAX_ROWS")]
    pub sql_max_rows: Option<usize>,
    /// sql.timeout: longest an ad-hoc SQL query runs, e.g. 10s.
    #[arg(long, global = true, env = "TRUSTPATH_SQL_TIMEOUT")]
    pub sql_timeout: Option<String>,
    /// log.level: tracing filter, e.g. info or trustpath=debug.
    #[arg(long, global = true, env = "TRUSTPATH_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// log.format: text or json.
    #[arg(long, global = true, env = "TRUSTPATH_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

impl Settings {
    /// The settings that were given, as the nested map [`Config::load`] layers on top.
    pub fn overrides(&self) -> Value {
        let mut root = Map::new();
        let mut set = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                let (section, field) = key.split_once('.').expect("keys are section.field");
                let section = root.entry(section).or_insert_with(|| json!({}));
                section[field] = value;
            }
        };
        set("store.path", self.store_path.as_ref().map(|v| json!(v)));
        set(
            "store.signing_key",
            self.signing_key.as_ref().map(|v| json!(v)),
        );
        set(
            "store.checkpoint_every",
            self.checkpoint_every.as_ref().map(|v| json!(v)),
        );
        set(
            "retention.events",
            self.retention_events.as_ref().map(|v| json!(v)),
        );
        set(
            "retention.rejected",
            self.retention_rejected.as_ref().map(|v| json!(v)),
        );
        set(
            "retention.check_every",
            self.retention_check_every.as_ref().map(|v| json!(v)),
        );
        set(
            "store.memory_limit",
            self.store_memory_limit.as_ref().map(|v| json!(v)),
        );
        set(
            "store.wal_autocheckpoint",
            self.wal_autocheckpoint.as_ref().map(|v| json!(v)),
        );
        set(
            "ingest.max_event_bytes",
            self.max_event_bytes.map(|v| json!(v)),
        );
        set(
            "ingest.batch_max_events",
            self.batch_max_events.map(|v| json!(v)),
        );
        set(
            "ingest.batch_max_wait",
            self.batch_max_wait.as_ref().map(|v| json!(v)),
        );
        set("http.listen", self.listen.map(|v| json!(v.to_string())));
        set("http.max_body_bytes", self.max_body_bytes.map(|v| json!(v)));
        set(
            "http.server_url",
            self.server_url.as_ref().map(|v| json!(v)),
        );
        set("nats.url", self.nats_url.as_ref().map(|v| json!(v)));
        set("nats.token", self.nats_token.as_ref().map(|v| json!(v)));
        set("nats.user", self.nats_user.as_ref().map(|v| json!(v)));
        set(
            "nats.password",
            self.nats_password.as_ref().map(|v| json!(v)),
        );
        set(
            "nats.creds_file",
            self.nats_creds_file.as_ref().map(|v| json!(v)),
        );
        set(
            "nats.tls_required",
            self.nats_tls_required.map(|v| json!(v)),
        );
        set(
            "nats.tls_ca_file",
            self.nats_tls_ca_file.as_ref().map(|v| json!(v)),
        );
        set(
            "nats.tls_cert_file",
            self.nats_tls_cert_file.as_ref().map(|v| json!(v)),
        );
        set(
            "nats.tls_key_file",
            self.nats_tls_key_file.as_ref().map(|v| json!(v)),
        );
        set("nats.stream", self.nats_stream.as_ref().map(|v| json!(v)));
        set(
            "nats.subjects",
            self.nats_subjects.as_ref().map(|v| json!(v)),
        );
        set(
            "nats.consumer",
            self.nats_consumer.as_ref().map(|v| json!(v)),
        );
        set(
            "nats.ack_wait",
            self.nats_ack_wait.as_ref().map(|v| json!(v)),
        );
        set(
            "correlate.clock_skew",
            self.correlate_clock_skew.as_ref().map(|v| json!(v)),
        );
        set(
            "correlate.window",
            self.correlate_window.as_ref().map(|v| json!(v)),
        );
        set(
            "correlate.evidence_lookback",
            self.correlate_evidence_lookback.as_ref().map(|v| json!(v)),
        );
        set(
            "correlate.max_lag",
            self.correlate_max_lag.as_ref().map(|v| json!(v)),
        );
        set("sql.max_rows", self.sql_max_rows.map(|v| json!(v)));
        set("sql.timeout", self.sql_timeout.as_ref().map(|v| json!(v)));
        set("log.level", self.log_level.as_ref().map(|v| json!(v)));
        set("log.format", self.log_format.map(|v| json!(v)));
        Value::Object(root)
    }
}

/// Parses the command line, loads the configuration and runs the command.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), cli.settings.overrides()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.level).unwrap_or_else(|error| {
        eprintln!(
            "warning: log.level '{}' is not a valid filter ({error}); using info",
            log.level
        );
        tracing_subscriber::EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Ingest { file, format, json } => ingest(&config, &file, &format, json).await,
        Command::Events { filter, json } => events(&config, filter, json).await,
        Command::Connections { filter, json } => connections(&config, filter, json).await,
        Command::Explain { id, json } => explain(&config, &id, json).await,
        Command::Timeline { filter, json } => timeline(&config, filter, json).await,
        Command::Alerts { filter, json } => detect::alerts(&config, filter, json).await,
        Command::Alert { id, set, by, note } => detect::alert(&config, &id, set, by, note).await,
        Command::Rules(command) => detect::rules(&config, command).await,
        Command::Eval {
            events,
            labels,
            json,
        } => detect::eval_command(&config, events, labels, json).await,
        Command::Rejected { limit, json } => rejected(&config, limit, json).await,
        Command::Stats => stats(&config).await,
        Command::Query { name, params, json } => query(&config, name, &params, json).await,
        Command::Simulate(args) => simulate_command(&args).await,
        Command::Bench(BenchCommand::Reads {
            samples,
            rounds,
            json,
        }) => bench_reads(&config, samples, rounds, json).await,
        Command::Bench(BenchCommand::All(args)) => bench_all(&config, args).await,
        Command::Bench(BenchCommand::Ingest(args)) => {
            let chunk = config.ingest.batch_max_events;
            let (events, rounds) = (args.events, args.rounds);
            bench_compare(args.dir, "ingest", "≥ 1.0", args.json, |dir| async move {
                crate::bench::ingest(&dir, events, rounds, chunk).await
            })
            .await
        }
        Command::Bench(BenchCommand::Nats(args)) => {
            let target = "≥ 0.9 and ≥ 100,000 events/s";
            let (events, rounds) = (args.events, args.rounds);
            bench_compare(args.dir, "nats", target, args.json, |dir| async move {
                crate::bench::nats_end_to_end(&config, &dir, events, rounds).await
            })
            .await
        }
        Command::Bench(BenchCommand::Rules { batches, json }) => {
            bench_rules(&config, batches, json).await
        }
        Command::Bench(BenchCommand::Detect {
            rate,
            seconds,
            seed,
        }) => bench_detect(config, rate, seconds, seed).await,
        Command::Keys(command) => compliance::keys(&config, command),
        Command::Report {
            from,
            to,
            format,
            out,
        } => compliance::report(&config, from, to, format, out.as_deref()),
        Command::Export { request, out, json } => {
            compliance::export_command(&config, &request, &out, json)
        }
        Command::Verify {
            dirs,
            store,
            public_key,
            require_signed_head,
            json,
        } => match (store, dirs.is_empty()) {
            (true, true) => compliance::verify_store_command(
                &config,
                public_key.as_deref(),
                require_signed_head,
                json,
            ),
            (false, false) => compliance::verify_exports(&dirs, public_key.as_deref(), json),
            (true, false) => {
                bail!("verify either the store (--store) or exports (DIR...), not both")
            }
            (false, true) => bail!("say what to verify: --store, or export directories"),
        },
        Command::Compact { out, json } => compact(&config, &out, json),
        Command::Purge { json } => compliance::purge(&config, json).await,
        Command::Demo { store, rate, seed } => demo(config, store, rate, seed).await,
    }
}

fn compact(config: &Config, out: &Path, as_json: bool) -> anyhow::Result<()> {
    let c = crate::store::compact::compact(&config.store, out)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    let per_event = |bytes: u64| bytes as f64 / c.events.max(1) as f64;
    println!(
        "compacted {} ({} events, {:.0} bytes/event) into {} ({:.0} bytes/event)",
        c.store.display(),
        c.events,
        per_event(c.bytes_before),
        c.out.display(),
        per_event(c.bytes_after)
    );
    match &c.signing_key {
        Some(key) => println!(
            "the new file's signing key is {}; to use the new file, stop trustpath and move \
             both into place (the key to {})",
            key.display(),
            config
                .store
                .signing_key_path()
                .expect("a file store")
                .display()
        ),
        None => println!("to use the new file, stop trustpath and move it into place"),
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    app.run_until_stopped(shutdown).await?;
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(term) => term,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the service");
                let _ = ctrl_c.await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing the current batch");
    shutdown.cancel();
}

/// The running server to talk to, if any. An address given explicitly must answer; the
/// default one is only tried.
async fn server(config: &Config) -> anyhow::Result<Option<ServerClient>> {
    let client = ServerClient::new(&config.http.server_url());
    if client.is_up().await {
        return Ok(Some(client));
    }
    if config.http.server_url.is_some() {
        bail!(
            "no trustpath answers at {} (http.server_url); start `trustpath serve` or drop --server to use the store directly",
            config.http.server_url()
        );
    }
    Ok(None)
}

async fn ingest(config: &Config, file: &str, format: &str, as_json: bool) -> anyhow::Result<()> {
    let input: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if file == "-" {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(
            tokio::fs::File::open(file)
                .await
                .with_context(|| format!("cannot open {file}"))?,
        )
    };
    let mut reader = NdjsonReader::new(input, file, format, config.ingest.max_event_bytes);
    if file != "-" {
        reader = reader.with_path(std::path::Path::new(file));
    }
    let chunk = config.ingest.batch_max_events.max(1);
    let mut total = IngestAnswer {
        batch_id: None,
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        errors: vec![],
    };

    let mut new_alerts = None;
    if let Some(server) = server(config).await? {
        loop {
            let records = reader
                .next_chunk(chunk)
                .await
                .with_context(|| format!("cannot read {file}"))?;
            if records.is_empty() {
                break;
            }
            // Requests stay well under the server's body limit (16 MiB by default).
            for part in by_size(&records, REQUEST_BYTES) {
                let lines: Vec<usize> = part.iter().map(|(line, _)| *line).collect();
                let mut body = Vec::new();
                for (_, record) in part {
                    body.extend_from_slice(&record.raw);
                    body.push(b'\n');
                }
                let answer = server.ingest(body, format).await?;
                // The server numbers each request's lines from 1; map back to the file's.
                let errors = answer.errors.into_iter().map(|error| RecordError {
                    line: error.line.map(|n| lines[n - 1]),
                    index: None,
                    reason: error.reason,
                });
                let (accepted, duplicates, rejected) =
                    (answer.accepted, answer.duplicates, answer.rejected);
                add(
                    &mut total,
                    answer.batch_id,
                    accepted,
                    duplicates,
                    rejected,
                    errors,
                );
            }
        }
    } else {
        let store = Store::open(&config.store)?;
        let targets = sinks::targets(&config.alerts, config.nats.url.is_some());
        let (detector, detector_thread) = store.detector(&config.rules, targets, None)?;
        let (writer, writer_thread) =
            store.writer(2, config.correlate.clone(), Some(detector.clone()))?;
        let normalizer = Normalizer::new(config.ingest.max_event_bytes)
            .with_adapters(crate::adapt::Adapters::new(config.adapters.clone()));
        let ingest = Ingest::new(normalizer, writer);
        reader
            .ingest_all(&ingest, chunk, |lines, report| {
                let errors = report
                    .rejected
                    .into_iter()
                    .map(|(position, reason)| RecordError {
                        line: Some(lines[position]),
                        index: None,
                        reason,
                    });
                let commit = report.commit;
                add(
                    &mut total,
                    Some(commit.batch_id),
                    commit.accepted,
                    commit.duplicates,
                    commit.rejected,
                    errors,
                );
            })
            .await
            .with_context(|| format!("ingesting {file} stopped"))?;
        drop(ingest);
        // The last commits' detection runs before the detector stops.
        drop(detector);
        let detected = tokio::task::spawn_blocking(move || {
            writer_thread.join();
            detector_thread.join()
        })
        .await?;
        new_alerts = Some(detected.new_alerts);
    }

    if as_json {
        println!("{}", serde_json::to_string_pretty(&total)?);
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{file}: accepted {}, duplicates {}, rejected {}",
            total.accepted, total.duplicates, total.rejected
        )?;
        for error in &total.errors {
            writeln!(out, "  line {}: {}", error.line.unwrap_or(0), error.reason)?;
        }
        if let Some(count) = new_alerts.filter(|n| *n > 0) {
            writeln!(out, "{count} new alerts: see `trustpath alerts`")?;
        }
    }
    Ok(())
}

/// Bytes of NDJSON per request when `ingest` goes through a server.
const REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Consecutive runs of `records` whose raw bytes add up to at most `limit` (a single larger
/// record travels alone, for the server to judge).
fn by_size<T>(
    records: &[(T, crate::normalize::RawRecord)],
    limit: usize,
) -> Vec<&[(T, crate::normalize::RawRecord)]> {
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (_, record)) in records.iter().enumerate() {
        let size = record.raw.len() + 1;
        if i > start && bytes + size > limit {
            parts.push(&records[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < records.len() {
        parts.push(&records[start..]);
    }
    parts
}

fn add(
    total: &mut IngestAnswer,
    batch_id: Option<uuid::Uuid>,
    accepted: usize,
    duplicates: usize,
    rejected: usize,
    errors: impl Iterator<Item = RecordError>,
) {
    total.batch_id = batch_id.or(total.batch_id);
    total.accepted += accepted;
    total.duplicates += duplicates;
    total.rejected += rejected;
    total.errors.extend(errors);
}

async fn events(config: &Config, filter: EventFilter, as_json: bool) -> anyhow::Result<()> {
    let ocsf = filter.format == Some(EventFormat::Ocsf);
    let page: EventPage = match server(config).await? {
        Some(server) => server.events(&filter).await?,
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            tokio::task::spawn_blocking(move || reader.events(&filter)).await??
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    if ocsf {
        // One OCSF record per line, as SIEM collectors take them; the cursor goes to stderr
        // so the output stays pure NDJSON.
        for event in &page.events {
            println!("{event}");
        }
        if let Some(cursor) = page.next_cursor {
            eprintln!("more: --cursor {cursor}");
        }
        return Ok(());
    }
    let columns = [
        "time",
        "kind",
        "outcome",
        "subject",
        "client_id",
        "resource",
        "token_id",
        "event_id",
    ];
    let rows: Vec<Vec<String>> = page
        .events
        .iter()
        .map(|event| columns.iter().map(|c| cell(&event[*c])).collect())
        .collect();
    print_table(&columns, &rows)?;
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
    Ok(())
}

async fn connections(
    config: &Config,
    filter: ConnectionFilter,
    as_json: bool,
) -> anyhow::Result<()> {
    let page: ConnectionPage = match server(config).await? {
        Some(server) => server.connections(&filter).await?,
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            tokio::task::spawn_blocking(move || reader.connections(&filter)).await??
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    for connection in &page.connections {
        println!("{}", crate::render::connection_line(connection));
    }
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
    Ok(())
}

async fn explain(config: &Config, id: &str, as_json: bool) -> anyhow::Result<()> {
    // Connection ids start with `c-`; anything else is most likely a token id.
    let connection_first = id.starts_with("c-");
    let detail = match server(config).await? {
        Some(server) => {
            let found = if connection_first {
                server.connection(id).await?
            } else {
                server.token_trust_path(id).await?
            };
            match found {
                Some(detail) => Some(detail),
                None if connection_first => server.token_trust_path(id).await?,
                None => server.connection(id).await?,
            }
        }
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            let id = id.to_owned();
            tokio::task::spawn_blocking(move || {
                let lookup = |as_connection: bool| {
                    if as_connection {
                        reader.connection_detail(&id, true)
                    } else {
                        reader.token_trust_path(&id)
                    }
                };
                match lookup(connection_first) {
                    Err(StoreError::NotFound(_)) => match lookup(!connection_first) {
                        Err(StoreError::NotFound(_)) => Ok(None),
                        other => other.map(Some),
                    },
                    other => other.map(Some),
                }
            })
            .await??
        }
    };
    let Some(detail) = detail else {
        bail!(
            "{id} is neither a connection nor a token of one; list connections with `trustpath \
             connections`, or look the token up with `trustpath events --token-id {id}`"
        );
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
    } else {
        print!("{}", crate::render::trust_path(&detail));
    }
    Ok(())
}

async fn timeline(config: &Config, filter: TimelineFilter, as_json: bool) -> anyhow::Result<()> {
    let key = [
        ("subject", &filter.subject),
        ("client_id", &filter.client_id),
        ("resource", &filter.resource),
        ("ip", &filter.ip),
        ("token_id", &filter.token_id),
    ]
    .iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
    .collect::<Vec<_>>()
    .join(" ");
    let timeline: Timeline = match server(config).await? {
        Some(server) => server.timeline(&filter).await?,
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            tokio::task::spawn_blocking(move || reader.timeline(&filter)).await??
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&timeline)?);
    } else {
        print!("{}", crate::render::timeline(&timeline, &key));
    }
    Ok(())
}

async fn rejected(config: &Config, limit: u32, as_json: bool) -> anyhow::Result<()> {
    let rejected = match server(config).await? {
        Some(server) => server.rejected(limit).await?["rejected"].clone(),
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            Value::Array(
                tokio::task::spawn_blocking(move || reader.rejected(None, None, limit)).await??,
            )
        }
    };
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "rejected": rejected }))?
        );
        return Ok(());
    }
    let columns = ["received_at", "origin", "reason"];
    let rows: Vec<Vec<String>> = rejected
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| columns.iter().map(|c| cell(&item[*c])).collect())
                .collect()
        })
        .unwrap_or_default();
    print_table(&columns, &rows)?;
    Ok(())
}

async fn stats(config: &Config) -> anyhow::Result<()> {
    let stats = match server(config).await? {
        Some(server) => server.stats().await?,
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            tokio::task::spawn_blocking(move || reader.stats()).await??
        }
    };
    println!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(())
}

async fn query(
    config: &Config,
    name: Option<String>,
    params: &[String],
    as_json: bool,
) -> anyhow::Result<()> {
    let Some(name) = name else {
        for query in crate::store::named::all() {
            println!("{}: {}", query.name, query.description);
            for param in &query.params {
                let need = if param.required {
                    "required"
                } else {
                    "optional"
                };
                println!(
                    "    --param {}=…  {:?}, {need}: {}",
                    param.name, param.param_type, param.description
                );
            }
        }
        return Ok(());
    };
    let mut given = std::collections::BTreeMap::new();
    for param in params {
        let (key, value) = param
            .split_once('=')
            .with_context(|| format!("--param '{param}' is not NAME=VALUE"))?;
        given.insert(key.to_owned(), value.to_owned());
    }
    let result = match server(config).await? {
        Some(server) => server.query(&name, &given).await?,
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            tokio::task::spawn_blocking(move || reader.named(&name, &given)).await??
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(());
    }
    let columns: Vec<&str> = result.columns.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    print_table(&columns, &rows)?;
    Ok(())
}

fn print_table(columns: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |out: &mut std::io::StdoutLock, cells: &[String]| -> std::io::Result<()> {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(
        &mut out,
        &columns.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>(),
    )?;
    for row in rows {
        line(&mut out, row)?;
    }
    Ok(())
}

async fn bench_rules(config: &Config, batches: usize, as_json: bool) -> anyhow::Result<()> {
    let reader = Store::open(&config.store)?.reader()?;
    let set = crate::detect::RuleSet::load(&config.rules);
    let report =
        tokio::task::spawn_blocking(move || crate::bench::rule_cost(&reader, set.rules, batches))
            .await??;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "store: {} events; {} batches of {:.0} events on average",
        report.events, report.batches, report.events_per_batch
    );
    let l = &report.per_batch;
    println!(
        "all rules over one batch: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
    );
    for (rule, p50) in report.per_rule_p50_ms.iter().take(5) {
        println!("  {rule}: p50 {p50:.1} ms");
    }
    Ok(())
}

async fn bench_detect(config: Config, rate: f64, seconds: f64, seed: u64) -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join(format!("trustpath-bench-{}", uuid::Uuid::now_v7()));
    let config = crate::bench::detection_config(&config, scratch.join("trustpath.duckdb"));
    let report = crate::bench::detection_latency(config, rate, seconds, seed).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let report = report?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn bench_all(config: &Config, args: AllArgs) -> anyhow::Result<()> {
    if !args.store_events.is_sorted() || args.store_events.contains(&0) {
        bail!("--store-events must be ascending sizes above 0, e.g. 1000000,10000000");
    }
    if args.part_events == 0 {
        bail!("--part-events must be above 0, e.g. 1000000");
    }
    if args
        .detect_rates
        .iter()
        .any(|rate| !rate.is_finite() || *rate <= 0.0)
    {
        bail!("--detect-rates must be events per second above 0, e.g. 5000,10000");
    }
    let dir = scratch_dir(args.dir, "all")?;
    let plan = crate::bench::all::Plan {
        ingest_events: args.ingest_events,
        nats_events: args.nats_events,
        rounds: args.rounds,
        store_events: args.store_events,
        part_events: args.part_events,
        samples: args.samples,
        detect_rates: args.detect_rates,
        detect_seconds: args.detect_seconds,
    };
    let command = std::iter::once("trustpath".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let results = crate::bench::all::run(config, plan, &dir, &args.out, command).await;
    // The scratch stores are large; they go whatever happened.
    let _ = std::fs::remove_dir_all(&dir);
    results?;
    eprintln!("bench all: wrote {}", args.out.display());
    Ok(())
}

/// `dir`, which must be missing or empty, or a new directory in the system's temp directory.
fn scratch_dir(dir: Option<PathBuf>, what: &str) -> anyhow::Result<PathBuf> {
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("trustpath-bench-{what}-{}", uuid::Uuid::now_v7()))
    });
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("{} is not empty; give a new --dir", dir.display());
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the scratch directory {}", dir.display()))?;
    Ok(dir)
}

/// Runs a side-by-side bench in a new scratch directory (`dir`, which must be empty, or
/// one in the system's temp directory), removes it whatever happened, and prints the row.
async fn bench_compare<F>(
    dir: Option<PathBuf>,
    what: &str,
    target: &str,
    as_json: bool,
    run: impl FnOnce(PathBuf) -> F,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = anyhow::Result<crate::bench::Comparison>>,
{
    let dir = scratch_dir(dir, what)?;
    let report = run(dir.clone()).await;
    // The scratch stores are large; they go whatever happened.
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} simulated events ({:.1} MB of NDJSON), {} rounds (median)",
        report.events,
        report.bytes as f64 / 1e6,
        report.trustpath.seconds.len()
    );
    for side in [&report.trustpath, &report.correlated, &report.baseline]
        .into_iter()
        .chain(&report.baseline_checkpointed)
        .chain(&report.writer_floor)
    {
        println!(
            "  {:<70} {:>8.2} s  {:>10.0} events/s  CPU {:>6.2} s ({:.1} µs/event, {:.2} cores)",
            side.what,
            side.median_s,
            side.events_per_s,
            side.median_cpu_s,
            side.cpu_us_per_event(report.events),
            side.cores_busy()
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "ratio (trustpath / baseline events/s): {:.2} (target {target}); trustpath's CPU time \
         allows at most {:.2} on {cores} cores",
        report.ratio,
        report.ratio_bound(cores)
    );
    if let Some(bound) = report.writer_floor_bound() {
        println!(
            "DuckDB storing trustpath's rows alone, in its transactions, allows a committed \
             ratio of at most {bound:.2}"
        );
    }
    if let Some(p) = &report.phases {
        let parts: Vec<String> = p
            .parts()
            .iter()
            .map(|(phase, seconds)| format!("{phase} {seconds:.2} s"))
            .collect();
        println!(
            "trustpath's median round over its {} batches: {}",
            p.batches,
            parts.join(", ")
        );
    }
    Ok(())
}

async fn bench_reads(
    config: &Config,
    samples: usize,
    rounds: usize,
    as_json: bool,
) -> anyhow::Result<()> {
    let reader = Store::open(&config.store)?.reader()?;
    let report = tokio::task::spawn_blocking(move || crate::bench::reads(&reader, samples, rounds))
        .await??;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "store: {} events, {} connections",
        report.events, report.connections
    );
    let columns = ["read", "samples", "p50 ms", "p90 ms", "p99 ms", "max ms"];
    let rows: Vec<Vec<String>> = report
        .latencies
        .iter()
        .map(|l| {
            vec![
                l.what.to_owned(),
                l.samples.to_string(),
                format!("{:.2}", l.p50_ms),
                format!("{:.2}", l.p90_ms),
                format!("{:.2}", l.p99_ms),
                format!("{:.2}", l.max_ms),
            ]
        })
        .collect();
    print_table(&columns, &rows)?;
    Ok(())
}

async fn simulate_command(args: &SimulateArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let started = std::time::Instant::now();
    let mut simulation = simulate::generate(&options);
    let records = simulation.encode(args.format);
    let generated = started.elapsed();
    let sink = match (&args.http, &args.nats) {
        (Some(url), _) => Sink::Http(url.clone()),
        (_, Some(url)) => Sink::Nats(url.clone()),
        _ => Sink::File(args.out.clone()),
    };
    let labels_path = args.labels.clone().or_else(|| match &sink {
        Sink::File(path) if path != "-" => Some(PathBuf::from(format!("{path}.labels.json"))),
        _ => None,
    });
    if let Some(path) = &labels_path {
        let file = LabelFile {
            seed: options.seed,
            events: simulation.events.len(),
            labels: &simulation.labels,
        };
        std::fs::write(path, serde_json::to_vec_pretty(&file)?)
            .with_context(|| format!("cannot write labels to {}", path.display()))?;
    }
    let sent = simulate::output::send(&records, &sink, args.rate).await?;
    let total = started.elapsed();
    eprintln!(
        "simulate: {sent} events ({} flows, {} attacks) generated in {:.2}s ({:.0} events/s), sent to {} in {:.2}s{}",
        options.flows,
        simulation.labels.len(),
        generated.as_secs_f64(),
        sent as f64 / generated.as_secs_f64().max(1e-9),
        match &sink {
            Sink::File(path) if path == "-" => "stdout".to_owned(),
            Sink::File(path) => path.clone(),
            Sink::Http(url) => url.clone(),
            Sink::Nats(url) => format!("{url} ({})", simulate::output::SUBJECTS),
        },
        total.as_secs_f64(),
        labels_path
            .map(|p| format!("; labels in {}", p.display()))
            .unwrap_or_default(),
    );
    Ok(())
}

/// A fresh store, the server, and a day of simulated traffic with attacks streamed in
/// through the HTTP API, the same ingest path production traffic takes.
async fn demo(
    mut config: Config,
    store: Option<PathBuf>,
    rate: f64,
    seed: u64,
) -> anyhow::Result<()> {
    match store {
        Some(path) => config.store.path = path,
        None => {
            let path = PathBuf::from("./data/demo/trustpath.duckdb");
            for stale in [path.clone(), path.with_extension("duckdb.wal")] {
                if stale.exists() {
                    std::fs::remove_file(&stale).with_context(|| {
                        format!("cannot remove the old demo store {}", stale.display())
                    })?;
                }
            }
            config.store.path = path;
        }
    }
    let store_path = config.store.path.clone();
    let app = App::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    let demo_attacks = "TP001,TP003,TP005,TP007,TP009,TP012,TP013,TP017";
    let options = simulate::Options {
        seed,
        flows: 400,
        size: simulate::world::Size {
            users: 120,
            clients: 16,
            resources: 6,
        },
        start: chrono::Utc::now() - chrono::Duration::days(2),
        days: 2.0,
        attacks: parse_attacks(demo_attacks)?,
    };
    let mut simulation = simulate::generate(&options);
    simulation.end_at(chrono::Utc::now());
    println!("trustpath demo: store {}, API {base}", store_path.display());
    println!(
        "streaming {} simulated events ({} attacks: {demo_attacks}) at {rate:.0}/s…",
        simulation.events.len(),
        simulation.labels.len()
    );
    println!();
    println!("Look at:");
    println!("  {base}/v1/stats");
    println!("  {base}/v1/events?limit=20");
    println!("  {base}/v1/events?kind=token.issue&limit=20");
    println!("  {base}/v1/connections?verdict=violated");
    println!("  {base}/v1/alerts");
    println!("  {base}/v1/rejected");
    println!("  {base}/metrics");
    println!("Try:");
    println!("  trustpath --server {base} events --kind resource.access");
    println!("  trustpath --server {base} stats");
    println!("  trustpath --server {base} connections --verdict violated");
    println!("  trustpath --server {base} alerts --severity high");
    println!("  trustpath --server {base} explain CONNECTION_ID_OR_TOKEN_ID");
    println!("Injected (ground truth: each should show up in {base}/v1/alerts):");
    for label in &simulation.labels {
        println!(
            "  {} {}: {}",
            label.attack.id(),
            label.name,
            label.description
        );
        println!("      evidence: {}", label.evidence.join(", "));
    }
    println!("Ctrl-C stops.");

    let sink = Sink::Http(base.clone());
    let records = simulation.encode(Format::Native);
    tokio::select! {
        sent = simulate::output::send(&records, &sink, Some(rate)) => {
            let sent = sent?;
            println!("demo: all {sent} events sent; the server keeps running until Ctrl-C.");
        }
        _ = shutdown.cancelled() => {}
    }
    server.await??;
    Ok(())
}
