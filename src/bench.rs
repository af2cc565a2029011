//! `trustpath bench`: latency of the reads investigators wait on, measured on a real
//! store. Reports percentiles; it asserts nothing (machines differ; compare runs).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use duckdb::params;
use serde::Serialize;

use crate::store::connections::TimelineFilter;
use crate::store::{Reader, StoreError};

const SAMPLE_TOKENS: &str = include_str!("../queries/bench/sample_tokens.sql");
const SAMPLE_SUBJECTS: &str = include_str!("../queries/bench/sample_subjects.sql");

/// Percentiles of one kind of read.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub what: &'static str,
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(what: &'static str, mut times: Vec<Duration>) -> Latency {
        times.sort_unstable();
        let at = |q: f64| {
            let index = ((times.len() as f64 - 1.0) * q).round() as usize;
            times.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        Latency {
            what,
            samples: times.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// The store's size and the latencies of token trust paths and 24 h subject timelines.
#[derive(Debug, Clone, Serialize)]
pub struct ReadReport {
    pub events: i64,
    pub connections: i64,
    pub latencies: Vec<Latency>,
}

/// Looks up `samples` token trust paths and `samples` one-subject 24 h timelines, each
/// once to warm up and then `rounds` times.
pub fn reads(reader: &Reader, samples: usize, rounds: usize) -> Result<ReadReport, StoreError> {
    let db = reader.connection()?;
    let tokens: Vec<String> = db
        .prepare(SAMPLE_TOKENS)?
        .query_map(params![samples as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let subjects: Vec<(String, String)> = db
        .prepare(SAMPLE_SUBJECTS)?
        .query_map(params![samples as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let stats = reader.stats()?;

    let mut trust_paths = Vec::new();
    for round in 0..=rounds {
        for token in &tokens {
            let started = Instant::now();
            reader.token_trust_path(token)?;
            if round > 0 {
                trust_paths.push(started.elapsed());
            }
        }
    }
    let mut timelines = Vec::new();
    for round in 0..=rounds {
        for (subject, at) in &subjects {
            let at: DateTime<Utc> = at
                .parse()
                .map_err(|e| StoreError::Internal(format!("sampled time {at}: {e}")))?;
            let filter = TimelineFilter {
                subject: Some(subject.clone()),
                from: Some(at - chrono::Duration::hours(12)),
                to: Some(at + chrono::Duration::hours(12)),
                ..TimelineFilter::default()
            };
            let started = Instant::now();
            reader.timeline(&filter)?;
            if round > 0 {
                timelines.push(started.elapsed());
            }
        }
    }
    Ok(ReadReport {
        events: stats.events,
        connections: stats.connections,
        latencies: vec![
            Latency::of(
                "token trust path (GET /v1/tokens/{id}/trust-path)",
                trust_paths,
            ),
            Latency::of("one-subject 24 h timeline (GET /v1/timeline)", timelines),
        ],
    })
}
