//! Prometheus metrics: a counter for every accept/reject path, commit latency, and the
//! NATS connection state. Rendered at `GET /metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::store::{Collector, CommitReport};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns the handle that renders it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first (an embedding program's);
            // then that one receives the metrics and this handle renders nothing.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

pub fn batch_committed(collector: Collector, report: &CommitReport, took: Duration) {
    let collector = collector.as_str();
    counter!("trustpath_batches_total", "collector" => collector).increment(1);
    counter!("trustpath_records_total", "collector" => collector, "result" => "accepted")
        .increment(report.accepted as u64);
    counter!("trustpath_records_total", "collector" => collector, "result" => "duplicate")
        .increment(report.duplicates as u64);
    counter!("trustpath_records_total", "collector" => collector, "result" => "rejected")
        .increment(report.rejected as u64);
    histogram!("trustpath_batch_commit_seconds", "collector" => collector)
        .record(took.as_secs_f64());
}

pub fn batch_failed(collector: Collector) {
    counter!("trustpath_batch_failures_total", "collector" => collector.as_str()).increment(1);
}

/// Committed batches whose correlation is deferred (a burst), and how old the oldest is.
pub fn correlation_backlog(batches: usize, oldest: Duration) {
    gauge!("trustpath_correlation_backlog_batches").set(batches as f64);
    gauge!("trustpath_correlation_lag_seconds").set(oldest.as_secs_f64());
}

pub fn correlation_failed() {
    counter!("trustpath_correlation_failures_total").increment(1);
}

pub fn nats_connected(connected: bool) {
    gauge!("trustpath_nats_connected").set(if connected { 1.0 } else { 0.0 });
}

/// One detection pass over `events` new events that found `hits`.
pub fn detection_pass(events: usize, hits: usize, took: Duration) {
    counter!("trustpath_detection_events_total").increment(events as u64);
    counter!("trustpath_detection_hits_total").increment(hits as u64);
    histogram!("trustpath_detection_pass_seconds").record(took.as_secs_f64());
}

pub fn rule_evaluated(rule: &str, hits: usize, took: Duration) {
    counter!("trustpath_rule_hits_total", "rule" => rule.to_owned()).increment(hits as u64);
    histogram!("trustpath_rule_seconds", "rule" => rule.to_owned()).record(took.as_secs_f64());
}

pub fn rule_failed(rule: &str) {
    counter!("trustpath_rule_failures_total", "rule" => rule.to_owned()).increment(1);
}

pub fn alert_delivered(sink: &str, ok: bool) {
    let result = if ok { "delivered" } else { "failed" };
    counter!("trustpath_alert_deliveries_total", "sink" => sink.to_owned(), "result" => result)
        .increment(1);
}
