//! One event, three ways in (NATS, HTTP, `trustpath ingest`): every DOMAIN.md field must
//! land in its column, the same way.

use serde_json::Value;

use crate::harness::{
    NatsServer, TestApp, app_with_nats, eventually, jetstream, store_dir, succeed, test_config,
    trustpath,
};
use crate::{FULL_EVENT, assert_full_event};

async fn only_event(app: &TestApp) -> Value {
    eventually("the event to be stored", || async {
        let (_, page) = app.get("/v1/events").await;
        let events = page["events"].as_array()?;
        (events.len() == 1).then(|| events[0].clone())
    })
    .await
}

#[tokio::test]
async fn nats_event_lands_with_every_field_mapped() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_nats(&nats, test_config(dir.path())).await;

    let js = jetstream(&nats).await;
    js.publish(
        "trustpath.in.native.auth-eu-1",
        FULL_EVENT.trim_end().as_bytes().to_vec().into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    assert_full_event(&only_event(&app).await, "native");
    let (_, rejected) = app.get("/v1/rejected").await;
    assert_eq!(rejected["rejected"], serde_json::json!([]));
    app.stop().await;
}

#[tokio::test]
async fn http_event_lands_with_every_field_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;

    let (status, answer) = app.post("/v1/events", FULL_EVENT).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["errors"], serde_json::json!([]));

    assert_full_event(&only_event(&app).await, "native");
    app.stop().await;
}

#[tokio::test]
async fn http_accepts_a_json_array() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let body = format!("[{}, {}]", crate::event("a1"), crate::event("a2"));
    let (status, answer) = app.post("/v1/events", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    app.stop().await;
}

#[tokio::test]
async fn cli_ingest_lands_with_every_field_mapped() {
    let (dir, store) = store_dir();
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, format!("{FULL_EVENT}\n\nnot json\n")).unwrap();

    let stdout = succeed(
        trustpath()
            .arg("ingest")
            .arg(&file)
            .env("TRUSTPATH_STORE_PATH", &store),
    );
    assert!(
        stdout.contains("accepted 1, duplicates 0, rejected 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 4: not JSON: expected ident at line 1 column 2"),
        "{stdout}"
    );

    // Ingesting the same file again stores nothing twice, and still reports the bad line.
    let again = trustpath()
        .arg("ingest")
        .arg(&file)
        .env("TRUSTPATH_STORE_PATH", &store)
        .output()
        .unwrap();
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.contains("accepted 0, duplicates 1, rejected 1"),
        "{again}"
    );

    // The store is free again: read it with the library, and with `trustpath events`.
    let mut config = trustpath::config::Config::default();
    config.store.path = store.clone();
    let reader = trustpath::store::Store::open(&config.store)
        .unwrap()
        .reader()
        .unwrap();
    let page = reader.events(&Default::default()).unwrap();
    assert_full_event(&page.events[0], "native");
    let rejected = reader.rejected(None, None, 10).unwrap();
    assert_eq!(rejected.len(), 1, "the bad line is kept once: {rejected:?}");
    assert_eq!(rejected[0]["origin"], format!("file:{}:4", file.display()));
    assert_eq!(rejected[0]["raw"], "not json");
    drop(reader);

    let output = succeed(
        trustpath()
            .args(["events", "--json"])
            .env("TRUSTPATH_STORE_PATH", &store),
    );
    let page: Value = serde_json::from_str(&output).unwrap();
    assert_full_event(&page["events"][0], "native");
}

// Multi-threaded: the test blocks on child processes while the in-process server answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_goes_through_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let file = dir.path().join("events.ndjson");
    std::fs::write(
        &file,
        format!("{}\n{{\"id\":1}}\n{FULL_EVENT}", crate::event("x1")),
    )
    .unwrap();

    // The server holds the store; the CLI must use its API for writes and reads alike.
    let stdout = succeed(
        trustpath()
            .arg("ingest")
            .arg(&file)
            .args(["--server", &app.base]),
    );
    assert!(
        stdout.contains("accepted 2, duplicates 0, rejected 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 2: "),
        "file line numbers survive the trip: {stdout}"
    );

    let events = succeed(trustpath().args([
        "events",
        "--json",
        "--kind",
        "token.issue",
        "--server",
        &app.base,
    ]));
    let page: Value = serde_json::from_str(&events).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_full_event(&page["events"][0], "native");

    let table = succeed(trustpath().args(["events", "--server", &app.base]));
    assert!(table.starts_with("TIME"), "{table}");
    assert!(
        table.contains("tok-sha256-7c1f2e") && table.contains("tok-x1"),
        "{table}"
    );
    app.stop().await;
}

#[tokio::test]
async fn explicit_server_that_is_down_is_an_error() {
    let output = trustpath()
        .args(["events", "--server", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no trustpath answers at http://127.0.0.1:1"),
        "{stderr}"
    );
}
