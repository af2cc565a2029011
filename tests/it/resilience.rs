//! Crashes, restarts and outages: nothing lost, nothing stored twice, never an exit for
//! a NATS outage.

use std::time::Duration;

use async_nats::jetstream::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::{
    NatsServer, ServeProcess, TestApp, app_with_nats, eventually, jetstream, stats, store_dir,
    test_config, wait_for_counts, wait_until_ready,
};

/// Publishes events `first..first+count` with JetStream acks, pipelined in windows.
async fn publish_range(js: &Context, first: usize, count: usize) {
    let ids: Vec<usize> = (first..first + count).collect();
    for window in ids.chunks(500) {
        let mut acks = Vec::with_capacity(window.len());
        for id in window {
            let ack = js
                .publish(
                    "trustpath.in.native.load",
                    crate::event(&format!("e-{id}")).into(),
                )
                .await;
            acks.push(ack.expect("publish"));
        }
        for ack in acks {
            ack.await.expect("JetStream stored the message");
        }
    }
}

#[tokio::test]
async fn sigkill_mid_ingest_loses_nothing_and_duplicates_nothing() {
    const N: usize = 20_000;
    let nats = NatsServer::start();
    let (_dir, store) = store_dir();
    // Small batches so the kill lands between many commits.
    let settings = [
        ("TRUSTPATH_INGEST_BATCH_MAX_EVENTS", "200"),
        ("TRUSTPATH_NATS_ACK_WAIT", "2s"),
    ];
    let mut serve = ServeProcess::spawn(&store, &nats.url(), &settings);
    let http = reqwest::Client::new();
    let base = serve.base.clone();
    wait_until_ready(&http, &base).await;

    let js = jetstream(&nats).await;
    let publisher = tokio::spawn({
        let js = js.clone();
        async move { publish_range(&js, 0, N).await }
    });
    let stored_at_kill = eventually("ingest under way", || async {
        let count = stats(&http, &base).await["events"].as_i64()?;
        (count >= 2_000).then_some(count)
    })
    .await;
    serve.kill();
    assert!(
        stored_at_kill < N as i64,
        "the kill must land mid-stream, but all {N} were already stored"
    );
    publisher.await.unwrap();

    let serve = ServeProcess::spawn(&store, &nats.url(), &settings);
    let base = serve.base.clone();
    let after = eventually("every event stored after restart", || async {
        let stats = stats(&http, &base).await;
        (stats["events"] == N as i64).then_some(stats)
    })
    .await;
    // Redeliveries of what was committed but not acked arrive as duplicates, not rows.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = stats(&http, &base).await;
    assert_eq!(
        settled["events"], N as i64,
        "exactly N rows: {after} then {settled}"
    );
    assert_eq!(settled["rejected"], 0);
}

#[tokio::test]
async fn sigterm_exits_cleanly_with_everything_committed() {
    let nats = NatsServer::start();
    let (_dir, store) = store_dir();
    let mut serve = ServeProcess::spawn(&store, &nats.url(), &[]);
    let http = reqwest::Client::new();
    let base = serve.base.clone();
    wait_until_ready(&http, &base).await;
    let js = jetstream(&nats).await;
    publish_range(&js, 0, 1_000).await;
    eventually("events stored", || async {
        (stats(&http, &base).await["events"] == 1_000).then_some(())
    })
    .await;

    kill(Pid::from_raw(serve.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = serve.child.wait().unwrap();
    assert!(
        status.success(),
        "trustpath exits 0 on SIGTERM, got {status}"
    );

    let mut config = trustpath::config::Config::default();
    config.store.path = store;
    let stats = trustpath::store::Store::open(&config.store)
        .unwrap()
        .reader()
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(stats.events, 1_000);
}

#[tokio::test]
async fn nats_restart_mid_stream_loses_nothing_and_ingest_resumes() {
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_nats(&nats, test_config(dir.path())).await;

    let js = jetstream(&nats).await;
    publish_range(&js, 0, 1_000).await;
    nats.stop();

    let (status, readiness) = eventually("readyz to report NATS down", || async {
        let (status, body) = app.get("/readyz").await;
        (status == 503).then_some((status, body))
    })
    .await;
    assert_eq!(status, 503);
    assert_eq!(readiness["store"], "ok");
    assert_ne!(readiness["nats"], "consuming");
    assert_eq!(app.get("/healthz").await.0, 200, "the process stays up");
    let (status, answer) = app.post("/v1/events", crate::event("during-outage")).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "HTTP ingest works during the outage"
    );

    nats.restart();
    wait_until_ready(&app.http, &app.base).await;
    let js = jetstream(&nats).await;
    publish_range(&js, 1_000, 1_000).await;
    wait_for_counts(&app, 2_001, 0).await;
    app.stop().await;
}

#[tokio::test]
async fn nats_down_at_start_is_not_fatal() {
    let mut nats = NatsServer::start();
    nats.stop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.nats.url = Some(nats.url());
    let app = TestApp::start(config).await;

    let (status, readiness) = app.get("/readyz").await;
    assert_eq!(status, 503, "{readiness}");
    assert_eq!(app.get("/healthz").await.0, 200);

    nats.restart();
    wait_until_ready(&app.http, &app.base).await;
    let js = jetstream(&nats).await;
    publish_range(&js, 0, 10).await;
    wait_for_counts(&app, 10, 0).await;
    app.stop().await;
}
