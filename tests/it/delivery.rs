//! At-least-once in, exactly-once stored: an event id delivered again is stored once, and
//! a different event reusing a stored id is kept in `rejected`, never overwriting.

use bytes::Bytes;

use crate::harness::{
    NatsServer, TestApp, app_with_nats, eventually, jetstream, test_config, wait_for_counts,
};
use trustpath::normalize::{Normalizer, RawRecord};
use trustpath::store::{Batch, Collector, Store};

#[tokio::test]
async fn an_event_delivered_twice_is_stored_once() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_nats(&nats, test_config(dir.path())).await;

    let js = jetstream(&nats).await;
    let event = crate::event("dup-1");
    for _ in 0..3 {
        js.publish("trustpath.in.native.gw", event.clone().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    eventually("three deliveries committed", || async {
        let stats = app.stats().await;
        (stats["duplicates"] == 2).then_some(())
    })
    .await;
    let (_, answer) = app.post("/v1/events", format!("{event}\n{event}")).await;
    assert_eq!(
        (answer["accepted"].as_u64(), answer["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    wait_for_counts(&app, 1, 0).await;
    app.stop().await;
}

#[tokio::test]
async fn a_reused_id_with_other_content_is_rejected_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let original = crate::event("same-id");
    let forged = original.replace("bob@example.com", "mallory@example.com");
    app.post("/v1/events", original.clone()).await;
    let (_, answer) = app.post("/v1/events", forged).await;
    assert_eq!(answer["accepted"], 0);
    assert_eq!(answer["rejected"], 1);

    let (_, page) = app.get("/v1/events").await;
    assert_eq!(page["events"][0]["subject"], "bob@example.com");
    let (_, rejected) = app.get("/v1/rejected").await;
    let reason = rejected["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("event id `same-id` is already stored with different content"),
        "{reason}"
    );
    assert!(
        rejected["rejected"][0]["raw"]
            .as_str()
            .unwrap()
            .contains("mallory")
    );
    app.stop().await;
}

/// The store keeps no index on event ids: the writer knows the stored ids from a filter it
/// rebuilds at start. After a restart, a redelivery is still a duplicate, and a reused id
/// is still rejected when the forgery carries another time (outside the batch's time span,
/// where the writer looks first).
#[tokio::test]
async fn a_stored_id_is_known_after_a_restart_whatever_time_a_copy_carries() {
    let dir = tempfile::tempdir().unwrap();
    let original = crate::event("kept-id");
    let app = TestApp::start(test_config(dir.path())).await;
    app.post("/v1/events", original.clone()).await;
    app.stop().await;

    let app = TestApp::start(test_config(dir.path())).await;
    let counts = |answer: &serde_json::Value| {
        ["accepted", "duplicates", "rejected"].map(|k| answer[k].as_u64().unwrap())
    };
    let (_, answer) = app.post("/v1/events", original.clone()).await;
    assert_eq!(counts(&answer), [0, 1, 0], "{answer}");

    let forged = original.replace("2026-11-26T10:00:00Z", "2026-11-20T08:00:00Z");
    assert_ne!(forged, original);
    let (_, answer) = app
        .post(
            "/v1/events",
            format!("{forged}\n{}\n", crate::event("new-id")),
        )
        .await;
    assert_eq!(counts(&answer), [1, 0, 1], "{answer}");
    let (_, rejected) = app.get("/v1/rejected").await;
    let reason = rejected["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("event id `kept-id` is already stored with different content"),
        "{reason}"
    );
    wait_for_counts(&app, 2, 1).await;
    app.stop().await;
}

/// Copies of one id within a batch: the first is stored, an identical later copy is a
/// duplicate, a different one is rejected; a later copy is judged against what the id
/// holds, so copies of a rejected forgery are rejected too.
#[tokio::test]
async fn copies_of_an_id_within_one_batch_are_judged_against_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let original = crate::event("in-batch");
    let forged = original.replace("bob@example.com", "mallory@example.com");
    let counts = |answer: &serde_json::Value| {
        ["accepted", "duplicates", "rejected"].map(|k| answer[k].as_u64().unwrap())
    };

    let (status, answer) = app
        .post("/v1/events", format!("{original}\n{forged}\n{original}\n"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(counts(&answer), [1, 1, 1], "{answer}");
    let (_, page) = app.get("/v1/events").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["subject"], "bob@example.com");

    // Now the id is stored: a forgery and its copy are both rejected, the original is a
    // duplicate.
    let (_, answer) = app
        .post("/v1/events", format!("{forged}\n{forged}\n{original}\n"))
        .await;
    assert_eq!(counts(&answer), [0, 1, 2], "{answer}");
    let (_, rejected) = app.get("/v1/rejected").await;
    let rejected = rejected["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    for row in rejected {
        assert!(row["raw"].as_str().unwrap().contains("mallory"), "{row}");
        assert!(
            row["reason"]
                .as_str()
                .unwrap()
                .starts_with("event id `in-batch` is already stored with different content"),
            "{row}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_bad_message_is_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&test_config(dir.path()).store).unwrap();
    let (writer, thread) = store.writer(1, Default::default(), None).unwrap();
    let normalizer = Normalizer::new(1024);
    let delivery = |raw: &'static str| RawRecord {
        raw: Bytes::from_static(raw.as_bytes()),
        origin: "nats:trustpath.in.native.x#7".to_owned(),
        delivery_key: Some("nats:TRUSTPATH:7".to_owned()),
        format: "native".to_owned(),
    };
    for _ in 0..2 {
        let mut batch = Batch::new(Collector::Nats);
        batch
            .rejected
            .push(normalizer.normalize(delivery("{broken")).unwrap_err());
        writer.commit(batch).await.unwrap();
    }
    let stats = store.reader().unwrap().stats().unwrap();
    assert_eq!((stats.rejected, stats.batches), (1, 2));
    drop(writer);
    thread.join();
}
