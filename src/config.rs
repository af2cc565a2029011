//! config: one typed [`Config`], layered defaults ← `trustpath.toml` ← `TRUSTPATH_*`
//! environment ← command-line flags.
//!
//! The doc comment of each field is the user's documentation of that setting (README's
//! configuration reference mirrors it). Unknown keys are errors, so a typo never silently
//! falls back to a default. Secrets are [`SecretString`]s: they never print.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::adapt::Format;
use crate::detect::Severity;

/// Everything trustpath can be told.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub store: StoreConfig,
    pub ingest: IngestConfig,
    pub http: HttpConfig,
    pub nats: NatsConfig,
    pub adapters: AdaptersConfig,
    pub sql: SqlConfig,
    pub correlate: CorrelateConfig,
    pub rules: RulesConfig,
    pub alerts: AlertsConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
}

/// The adapters that read other formats (DOMAIN.md §5), one table per format:
/// `[adapters.native]`, `[adapters.keycloak]`, `[adapters.okta]`, `[adapters.auth0]`,
/// `[adapters.ocsf]`, `[adapters.gateway]`. Each holds only the settings its format uses,
/// so a misplaced key is an error, not silently ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptersConfig {
    pub native: SubjectsConfig,
    pub keycloak: KeycloakConfig,
    pub okta: IssuersConfig,
    pub auth0: IssuersConfig,
    pub ocsf: IssuersConfig,
    pub gateway: SubjectsConfig,
}

/// An adapter whose records name their issuer themselves.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubjectsConfig {
    /// NATS subjects whose messages this adapter reads (wildcards `*` and `>` as in NATS).
    /// Default `trustpath.in.<format>.>`. The stream captures them too.
    pub subjects: Option<Vec<String>>,
}

/// Okta, Auth0 and OCSF: records name the issuer only sometimes, so a source key maps to it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuersConfig {
    /// NATS subjects this adapter reads; default `trustpath.in.<format>.>`.
    pub subjects: Option<Vec<String>>,
    /// Issuer URL per source key: Okta `authorizationServerName`, Auth0 `hostname`, OCSF
    /// source name (`unmapped.source_name`, else `metadata.product.name`).
    pub issuers: BTreeMap<String, String>,
}

/// Keycloak: events name the realm, never the issuer URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeycloakConfig {
    /// NATS subjects this adapter reads; default `trustpath.in.keycloak.>`.
    pub subjects: Option<Vec<String>>,
    /// Issuer URL per realm, e.g. `mcp = "https://auth.example.com/realms/mcp"`.
    pub issuers: BTreeMap<String, String>,
    /// The server's base URL: a realm without an entry in `issuers` has the issuer
    /// `{issuer_base}/realms/{realm}`.
    pub issuer_base: Option<String>,
}

static NO_ISSUERS: BTreeMap<String, String> = BTreeMap::new();

impl AdaptersConfig {
    /// The NATS subjects `format` is read from.
    pub fn subjects(&self, format: Format) -> Vec<String> {
        let configured = match format {
            Format::Native => &self.native.subjects,
            Format::Keycloak => &self.keycloak.subjects,
            Format::Okta => &self.okta.subjects,
            Format::Auth0 => &self.auth0.subjects,
            Format::Ocsf => &self.ocsf.subjects,
            Format::Gateway => &self.gateway.subjects,
        };
        configured
            .clone()
            .unwrap_or_else(|| vec![format.default_subject()])
    }

    /// Source key → issuer, for the formats that need it.
    pub fn issuers(&self, format: Format) -> &BTreeMap<String, String> {
        match format {
            Format::Keycloak => &self.keycloak.issuers,
            Format::Okta => &self.okta.issuers,
            Format::Auth0 => &self.auth0.issuers,
            Format::Ocsf => &self.ocsf.issuers,
            Format::Native | Format::Gateway => &NO_ISSUERS,
        }
    }

    pub fn issuer_base(&self, format: Format) -> Option<&str> {
        match format {
            Format::Keycloak => self.keycloak.issuer_base.as_deref(),
            _ => None,
        }
    }
}

/// Which detection rules run and with what parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// A folder of extra rule files (`*.sql`, fixtures as `*.fixtures.json` beside them; see
    /// queries/rules/README.md). A file whose `id` is a built-in rule's replaces it.
    pub dir: Option<PathBuf>,
    /// Rule ids that do not run, e.g. ["TP016"].
    pub disabled: Vec<String>,
    /// Parameter values per rule id, e.g. `[rules.params.TP002]` `trusted_hosts =
    /// ["agents.acme.example"]`. Names and defaults: `trustpath rules list --json`.
    pub params: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

/// Where new alerts are sent. Every alert is in the `alerts` table whatever happens here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Subject prefix for alerts on NATS: each new alert is published, as JSON, to
    /// `<prefix>.<severity>` when `nats.url` is set. Empty: not published.
    pub nats_subject: String,
    /// Least severity published to NATS.
    pub nats_min_severity: Severity,
    /// Webhooks that receive each new alert (POST).
    pub webhooks: Vec<WebhookConfig>,
    /// Wait before the first retry of a failed delivery; it doubles on each further failure.
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    /// Longest wait between retries. Deliveries are retried until they succeed.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// Longest a webhook may take to answer.
    #[serde(with = "humantime_serde")]
    pub webhook_timeout: Duration,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            nats_subject: "trustpath.alerts".to_owned(),
            nats_min_severity: Severity::Low,
            webhooks: Vec::new(),
            retry_initial: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            webhook_timeout: Duration::from_secs(10),
        }
    }
}

/// One webhook (`[[alerts.webhooks]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names the sink in `alert_deliveries` (`webhook:<name>`); keep it stable.
    pub name: String,
    /// Where to POST. A secret (Slack webhook URLs carry their token): never printed.
    pub url: SecretString,
    /// `json`: the alert as GET /v1/alerts returns it. `slack`: `{"text": "…"}`, which
    /// Slack, Mattermost and Teams workflows accept.
    #[serde(default)]
    pub format: WebhookFormat,
    /// Least severity sent.
    #[serde(default = "lowest_severity")]
    pub min_severity: Severity,
    /// Sent as `Authorization: Bearer …` when set.
    pub bearer_token: Option<SecretString>,
}

fn lowest_severity() -> Severity {
    Severity::Low
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    #[default]
    Json,
    Slack,
}

/// How events are joined into connections and their trust paths judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateConfig {
    /// Clock difference tolerated between sources (gateway, authorization server): a use
    /// this much after a revocation or expiry still counts as before it, and evidence up
    /// to this much after a token's issue time counts as in force at issue.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// How long before a connection's first token an authorization request, consent or
    /// failed token request of the same issuer, client and subject still belongs to it;
    /// how far apart a gateway session's events may be and still join one connection.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Oldest evidence (PRM, AS metadata, client document fetch) considered in force at a
    /// token's issue: older evidence leaves the link `unknown`. A DCR registration and a
    /// client's pinned document are kept whatever their age.
    #[serde(with = "humantime_serde")]
    pub evidence_lookback: Duration,
    /// When correlation catches up under a burst. For a batch with more input right behind
    /// it (a full file chunk or NATS pull) the writer commits first and correlates
    /// afterwards; once the oldest uncorrelated batch is this old, it correlates one pass
    /// (up to 40,000 events) before each commit, so the lag stays within a small multiple
    /// of this. `0s` correlates every batch in its own transaction, before it is
    /// acknowledged.
    #[serde(with = "humantime_serde")]
    pub max_lag: Duration,
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        CorrelateConfig {
            clock_skew: Duration::from_secs(5),
            window: Duration::from_secs(3600),
            evidence_lookback: Duration::from_secs(24 * 3600),
            max_lag: Duration::from_secs(10),
        }
    }
}

/// Analysts' ad-hoc SQL (`POST /v1/sql`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlConfig {
    /// Most rows one query returns; more are cut and the answer says so.
    pub max_rows: usize,
    /// Longest a query may run before it is interrupted.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for SqlConfig {
    fn default() -> Self {
        SqlConfig {
            max_rows: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where events are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The DuckDB database file. Created (with its directory) when missing; an existing
    /// file is migrated to the current schema at start-up.
    pub path: PathBuf,
    /// Memory DuckDB's buffer pool may use, in DuckDB's notation (e.g. "1GB"); larger
    /// queries spill to `<path>.tmp/`. What it cannot evict, the indexes of the connection
    /// tables, grows with the store by ≈ 20 bytes per event, so a store of tens of millions
    /// of events needs more (docs/benchmark-notes.md). Empty: DuckDB's default, 80 % of RAM.
    pub memory_limit: String,
    /// WAL size at which DuckDB checkpoints the store into its file (DuckDB's
    /// `wal_autocheckpoint`), e.g. "256MB". Larger means fewer, larger checkpoints and a
    /// longer WAL replay after a crash; DuckDB's own default (16MB) checkpoints every few
    /// batches and rewrites the connection tables each time.
    pub wal_autocheckpoint: String,
    /// The Ed25519 private key (PKCS#8 PEM) that signs checkpoints, purges and exports.
    /// Default: `<store.path without extension>.signing-key.pem`, created (mode 0600) when
    /// missing. An in-memory store without a key keeps its chain unsigned.
    pub signing_key: Option<PathBuf>,
    /// How often the chain head is signed (a checkpoint), e.g. 1h. The head is also signed
    /// when trustpath stops, and at every purge.
    #[serde(with = "humantime_serde")]
    pub checkpoint_every: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("./data/trustpath.duckdb"),
            memory_limit: "512MB".to_owned(),
            wal_autocheckpoint: "256MB".to_owned(),
            signing_key: None,
            checkpoint_every: Duration::from_secs(3600),
        }
    }
}

impl StoreConfig {
    /// An in-memory store with defaults otherwise (scratch stores of fixtures and tests).
    pub fn in_memory() -> StoreConfig {
        StoreConfig {
            path: PathBuf::from(":memory:"),
            ..StoreConfig::default()
        }
    }

    pub fn is_in_memory(&self) -> bool {
        self.path.as_os_str() == ":memory:"
    }

    /// The signing key's file: `signing_key`, else beside the store. None in memory.
    pub fn signing_key_path(&self) -> Option<PathBuf> {
        match &self.signing_key {
            Some(path) => Some(path.clone()),
            None if self.is_in_memory() => None,
            None => Some(self.path.with_extension("signing-key.pem")),
        }
    }
}

/// How long stored rows are kept, per table (README, "Compliance"). Counted from when the
/// batch was committed. Unset: kept forever. A purge deletes whole batches and is recorded
/// in the chain as a signed purge record, so `verify` tells it from tampering.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Events (and the connection members and tokens drawn from them), e.g. "400d".
    #[serde(with = "humantime_serde")]
    pub events: Option<Duration>,
    /// Rejected input, e.g. "90d".
    #[serde(with = "humantime_serde")]
    pub rejected: Option<Duration>,
    /// How often `serve` applies the retention, e.g. 1h.
    #[serde(with = "humantime_serde")]
    pub check_every: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            events: None,
            rejected: None,
            check_every: Duration::from_secs(3600),
        }
    }
}

impl RetentionConfig {
    pub fn is_set(&self) -> bool {
        self.events.is_some() || self.rejected.is_some()
    }
}

/// How records become committed batches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest single record (one NATS message, one NDJSON line) accepted, in bytes.
    /// Larger ones are kept in `rejected` with the reason.
    pub max_event_bytes: usize,
    /// Most records committed in one transaction.
    pub batch_max_events: usize,
    /// Longest a record waits for its batch to fill before the batch is committed anyway
    /// (a NATS batch also keeps filling while the writer is still on the previous one).
    #[serde(with = "humantime_serde")]
    pub batch_max_wait: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_event_bytes: 64 * 1024,
            batch_max_events: 20_000,
            batch_max_wait: Duration::from_millis(100),
        }
    }
}

/// The HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the API listens on. Loopback by default: put a TLS-terminating proxy in front
    /// before exposing it. Port 0 picks a free port (logged at start-up).
    pub listen: SocketAddr,
    /// Largest request body `POST /v1/events` accepts, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Where the read commands (`trustpath events`, `trustpath ingest`) look for a running
    /// server. Default: `http://` + `http.listen`.
    pub server_url: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7780)),
            max_body_bytes: 16 * 1024 * 1024,
            server_url: None,
        }
    }
}

impl HttpConfig {
    pub fn server_url(&self) -> String {
        match &self.server_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// The NATS JetStream collector. Off unless `url` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL(s), comma-separated (e.g. "nats://127.0.0.1:4222"). Unset: no NATS
    /// collector; HTTP and file ingest still work.
    pub url: Option<String>,
    /// Token authentication.
    pub token: Option<SecretString>,
    /// User for user/password authentication.
    pub user: Option<String>,
    /// Password for user/password authentication.
    pub password: Option<SecretString>,
    /// A `.creds` file (JWT + NKey seed) for decentralized authentication.
    pub creds_file: Option<PathBuf>,
    /// Require TLS even if the server does not ask for it.
    pub tls_required: bool,
    /// PEM file with the CA certificate(s) that signed the server's certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// JetStream stream trustpath ensures exists (file storage).
    pub stream: String,
    /// Subjects the stream captures. The token after `trustpath.in.` names the format.
    pub subjects: Vec<String>,
    /// Durable pull consumer name; progress survives restarts under this name.
    pub consumer: String,
    /// How long JetStream waits for an ack before it redelivers a message. Messages are
    /// acked only after their batch is committed.
    #[serde(with = "humantime_serde")]
    pub ack_wait: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: None,
            token: None,
            user: None,
            password: None,
            creds_file: None,
            tls_required: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            stream: "TRUSTPATH".to_owned(),
            subjects: vec!["trustpath.in.>".to_owned()],
            consumer: "trustpath".to_owned(),
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Filter in `tracing` syntax, e.g. "info" or "trustpath=debug,info".
    pub level: String,
    /// `text` for people, `json` for log shippers.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A settings file or override that could not be read into a [`Config`].
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// Loads the layers. `file` is read when given (and must exist) or, when not given,
    /// `./trustpath.toml` if present. `overrides` holds flags and `TRUSTPATH_*` variables
    /// (clap reads both) as a nested map of only the values that were set.
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Config, ConfigError> {
        let default_file = Path::new("trustpath.toml");
        let file = file.or(default_file.is_file().then_some(default_file));
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        let figment = figment.merge(Serialized::defaults(overrides));
        figment.extract().map_err(|e| ConfigError(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("trustpath.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_then_file_then_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "[store]\npath = \"/srv/tp.duckdb\"\n[nats]\nurl = \"nats://a:4222\"\nack_wait = \"1m\"\n",
        );
        let config = Config::load(Some(&file), json!({"nats": {"url": "nats://b:4222"}})).unwrap();
        assert_eq!(config.store.path, PathBuf::from("/srv/tp.duckdb"));
        assert_eq!(
            config.nats.url.as_deref(),
            Some("nats://b:4222"),
            "flags and env win over the file"
        );
        assert_eq!(config.nats.ack_wait, Duration::from_secs(60));
        assert_eq!(
            config.ingest.batch_max_events, 20_000,
            "untouched keys keep their default"
        );
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "[nats]\nurll = \"nats://a:4222\"\n");
        let error = Config::load(Some(&file), json!({}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field: found `urll`"), "{error}");
    }

    #[test]
    fn adapters_take_only_the_settings_of_their_format() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "[adapters.keycloak]\nissuer_base = \"https://sso.example.com\"\n\
             [adapters.keycloak.issuers]\nmcp = \"https://auth.example.com/realms/mcp\"\n\
             [adapters.okta]\nsubjects = [\"audit.okta.>\"]\n",
        );
        let config = Config::load(Some(&file), json!({})).unwrap();
        assert_eq!(
            config.adapters.issuer_base(Format::Keycloak),
            Some("https://sso.example.com")
        );
        assert_eq!(
            config.adapters.issuers(Format::Keycloak)["mcp"],
            "https://auth.example.com/realms/mcp"
        );
        assert_eq!(config.adapters.subjects(Format::Okta), ["audit.okta.>"]);
        assert_eq!(
            config.adapters.subjects(Format::Auth0),
            ["trustpath.in.auth0.>"]
        );

        let file = write(dir.path(), "[adapters.okta]\nissuer_base = \"https://x\"\n");
        let error = Config::load(Some(&file), json!({}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("issuer_base"), "{error}");
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let error =
            Config::load(Some(Path::new("/nonexistent/trustpath.toml")), json!({})).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/trustpath.toml"),
            "{error}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let config = Config::load(
            None,
            json!({"nats": {"token": "s3cr3t", "password": "hunter2"}}),
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("s3cr3t") && !printed.contains("hunter2"),
            "{printed}"
        );
    }
}
