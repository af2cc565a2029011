//! `trustpath bench` smoke tests: small runs, so the harness never rots. The numbers are
//! not asserted (machines differ); that both sides stored every event is.

use serde_json::Value;

use crate::harness::{succeed, trustpath};

#[test]
fn bench_ingest_runs_both_sides_on_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    let out = succeed(
        trustpath()
            .args([
                "bench", "ingest", "--events", "400", "--rounds", "1", "--json", "--dir",
            ])
            .arg(&scratch),
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["events"], 400, "{report:#}");
    for side in ["trustpath", "baseline"] {
        assert!(
            report[side]["events_per_s"].as_f64().unwrap() > 0.0,
            "{report:#}"
        );
        assert_eq!(report[side]["seconds"].as_array().unwrap().len(), 1);
    }
    assert!(report["ratio"].as_f64().unwrap() > 0.0);
    assert!(!scratch.exists(), "the scratch stores are removed");
}

#[test]
fn bench_nats_runs_both_sides_on_the_same_stream() {
    let nats = crate::harness::NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    let out = succeed(
        trustpath()
            .args(["--nats-url", &nats.url()])
            .args([
                "bench", "nats", "--events", "300", "--rounds", "1", "--json", "--dir",
            ])
            .arg(&scratch),
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["events"], 300, "{report:#}");
    for side in ["trustpath", "baseline"] {
        assert!(
            report[side]["events_per_s"].as_f64().unwrap() > 0.0,
            "{report:#}"
        );
    }
    assert!(!scratch.exists(), "the scratch stores are removed");
}
