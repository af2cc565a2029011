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
    }
    assert!(report["ratio"].as_f64().unwrap() > 0.0);
    assert!(!scratch.exists(), "the scratch stores are removed");
    report
}

#[test]
fn bench_ingest_runs_both_sides_on_the_same_events() {
    side_by_side(&[], "ingest", 400);
}

#[test]
fn bench_nats_runs_both_sides_on_the_same_stream() {
    let nats = NatsServer::start();
    side_by_side(&["--nats-url", &nats.url()], "nats", 300);
}
