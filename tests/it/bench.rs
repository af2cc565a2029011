//! `trustpath bench` smoke tests: small runs, so the harness never rots. The numbers are
//! not asserted (machines differ); that both sides stored every event is (the bench itself
//! fails otherwise), and that the scratch stores are gone.

use serde_json::Value;

use crate::harness::{NatsServer, succeed, trustpath};

/// Runs `trustpath <global> bench <row> --events <events> --rounds 1 --json` and checks
/// what every side-by-side row reports.
fn side_by_side(global: &[&str], row: &str, events: usize) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    let out = succeed(
        trustpath()
            .args(global)
            .args(["bench", row, "--events", &events.to_string()])
            .args(["--rounds", "1", "--json", "--dir"])
            .arg(&scratch),
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["events"], events, "{report:#}");
    for side in ["trustpath", "baseline"] {
        assert!(
            report[side]["events_per_s"].as_f64().unwrap() > 0.0,
            "{report:#}"
        );
        assert_eq!(report[side]["seconds"].as_array().unwrap().len(), 1);
        assert_eq!(report[side]["cpu_seconds"].as_array().unwrap().len(), 1);
        assert!(
            report[side]["median_cpu_s"].as_f64().unwrap() > 0.0,
            "each side's CPU time is measured: {report:#}"
        );
    }
    assert!(report["ratio"].as_f64().unwrap() > 0.0);
    assert!(!scratch.exists(), "the scratch stores are removed");
    report
}

#[test]
fn bench_ingest_runs_both_sides_on_the_same_events() {
    let report = side_by_side(&[], "ingest", 400);
    // The writer's floor: DuckDB storing the same rows in the same transactions.
    let floor = &report["writer_floor"];
    assert!(floor["events_per_s"].as_f64().unwrap() > 0.0, "{report:#}");
    assert_eq!(floor["seconds"].as_array().unwrap().len(), 1);
}

#[test]
fn bench_nats_runs_both_sides_on_the_same_stream() {
    let nats = NatsServer::start();
    side_by_side(&["--nats-url", &nats.url()], "nats", 300);
}

/// `bench all` at toy sizes: every row runs (with a nats-server of its own), the file has a
/// section per row with the run's own numbers, and the scratch directory is removed.
#[test]
fn bench_all_writes_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let (out, scratch) = (dir.path().join("BENCHMARKS.md"), dir.path().join("scratch"));
    succeed(
        trustpath()
            .args(["bench", "all", "--out"])
            .arg(&out)
            .arg("--dir")
            .arg(&scratch)
            .args([
                "--ingest-events",
                "300",
                "--nats-events",
                "300",
                "--rounds",
                "1",
            ])
            .args([
                "--store-events",
                "1500,3000",
                "--part-events",
                "1000",
                "--samples",
                "5",
            ])
            .args(["--detect-rates", "300,400", "--detect-seconds", "3"]),
    );
    let md = std::fs::read_to_string(&out).unwrap();
    for section in [
        "## Summary",
        "## File ingest",
        "## NATS end to end",
        "## Trust path and timeline reads",
        "## Detection latency",
        "## Memory and disk",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    assert!(!md.contains("not measured in this run"), "{md}");
    assert!(md.contains("| file ingest, 300 events |"), "{md}");
    // Parts of 1,000 events: the second step starts inside the second part and ends in the
    // third, so its 1,500 events are stored only if no part reuses another's event ids.
    assert!(
        md.contains("| 3,000 events | 1,500 |"),
        "the second store step:\n{md}"
    );
    for rate in ["| 300 /s |", "| 400 /s |"] {
        assert!(
            md.contains(rate),
            "two detection runs on one NATS server:\n{md}"
        );
    }
    // The stages come from trustpath's metrics: a run that read none would show zeros.
    assert!(
        md.contains("detection passes: mean events, time")
            && !md.contains("| 0: 0 events")
            && !md.contains(", 0 ms |"),
        "the detection stages:\n{md}"
    );
    // Each side's CPU time, and the ratio it bounds.
    assert!(
        md.contains("CPU per event") && md.contains("the ratio cannot exceed"),
        "the CPU columns:\n{md}"
    );
    // What bounds the rows that miss their targets, from the same run.
    for floor in [
        "| DuckDB appending trustpath's prebuilt rows (the writer's floor) |",
        "The writer's floor: DuckDB alone",
        "DuckDB alone stores trustpath's rows at",
        "The floor: at 300 events/s",
        "of which free blocks",
        "blocks in use hold",
    ] {
        assert!(md.contains(floor), "{floor} missing:\n{md}");
    }
    assert!(
        md.contains("--store-events 1500,3000"),
        "the command is recorded:\n{md}"
    );
    assert!(!scratch.exists(), "the scratch directory is removed");
}

/// Sizes `bench all` cannot run with are refused before any work, saying which flag and
/// what it takes, and the file it would write is left alone.
#[test]
fn bench_all_refuses_sizes_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("BENCHMARKS.md");
    for (flag, value, says) in [
        (
            "--store-events",
            "3000,1500",
            "--store-events must be ascending",
        ),
        ("--part-events", "0", "--part-events must be above 0"),
        (
            "--detect-rates",
            "0",
            "--detect-rates must be events per second above 0",
        ),
    ] {
        let output = trustpath()
            .args(["bench", "all", "--out"])
            .arg(&out)
            .args([flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(says),
            "{flag} {value}: {stderr}"
        );
        assert!(!out.exists(), "nothing is written for {flag} {value}");
    }
}
