//! Every kind of bad input lands in `rejected` with a reason a person can act on, while
//! the good events around it are stored.

use serde_json::{Map, Value, json};

use crate::harness::{NatsServer, TestApp, app_with_nats, jetstream, test_config, wait_for_counts};

const MAX_EVENT_BYTES: usize = 2048;

/// A valid event with `change` applied to it, serialized.
fn variant(change: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(&crate::event("ok")).unwrap();
    change(event.as_object_mut().unwrap());
    event.to_string().into_bytes()
}

/// (raw record, a phrase its rejection reason must contain).
fn bad_records() -> Vec<(Vec<u8>, &'static str)> {
    vec![
        (
            b"hello there".to_vec(),
            "not JSON: expected value at line 1 column 1",
        ),
        (
            br#"{"id":"t1","time":"2026-11-26T10:00:00Z","kind":"#.to_vec(),
            "truncated JSON",
        ),
        (
            variant(|e| drop(e.remove("id"))),
            "missing required field `id`",
        ),
        (
            variant(|e| drop(e.remove("time"))),
            "missing required field `time`",
        ),
        (
            variant(|e| drop(e.remove("kind"))),
            "missing required field `kind`",
        ),
        (
            variant(|e| drop(e.remove("source"))),
            "missing required field `source`",
        ),
        (
            variant(|e| drop(e.insert("id".into(), json!(7)))),
            "field `id`: expected string, got number 7",
        ),
        (
            variant(|e| drop(e.insert("source".into(), json!("gw-1")))),
            "field `source`: expected object, got string 'gw-1'",
        ),
        (
            variant(|e| drop(e.insert("kind".into(), json!("resource.poke")))),
            "field `kind`: 'resource.poke' is not one of",
        ),
        (
            variant(|e| drop(e.insert("time".into(), json!("26/11/2026")))),
            "field `time`: not an RFC 3339 timestamp: '26/11/2026'",
        ),
        (
            variant(|e| drop(e.insert("padding".into(), json!("x".repeat(MAX_EVENT_BYTES))))),
            "exceeds the limit of 2048 bytes",
        ),
        (
            b"{\"id\":\"bad-\xff\xfe\"}".to_vec(),
            "not valid UTF-8: invalid byte sequence at byte offset 11",
        ),
        (b"[1, 2, 3]".to_vec(), "not a JSON object: got array"),
    ]
}

fn reasons(rejected: &Value) -> Vec<String> {
    rejected["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_each_reason_present(reasons: &[String]) {
    for (_, phrase) in bad_records() {
        assert!(
            reasons.iter().any(|r| r.contains(phrase)),
            "no reason contains {phrase:?} in {reasons:#?}"
        );
    }
}

#[tokio::test]
async fn bad_nats_messages_are_kept_and_good_ones_still_flow() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.ingest.max_event_bytes = MAX_EVENT_BYTES;
    let app = app_with_nats(&nats, config).await;

    let js = jetstream(&nats).await;
    let bad = bad_records();
    for (index, (raw, _)) in bad.iter().enumerate() {
        js.publish("trustpath.in.native.test", raw.clone().into())
            .await
            .unwrap()
            .await
            .unwrap();
        let good = crate::event(&format!("good-{index}"));
        js.publish("trustpath.in.native.test", good.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    // A format with no adapter yet is kept too, not dropped.
    js.publish("trustpath.in.splunk.test", crate::event("splunk-1").into())
        .await
        .unwrap()
        .await
        .unwrap();

    wait_for_counts(&app, bad.len() as i64, bad.len() as i64 + 1).await;
    let (_, rejected) = app.get("/v1/rejected?limit=100").await;
    let reasons = reasons(&rejected);
    assert_each_reason_present(&reasons);
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("no adapter for format `splunk`")),
        "{reasons:#?}"
    );
    let utf8 = rejected["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"].as_str().unwrap().contains("UTF-8"))
        .unwrap();
    assert_eq!(
        utf8["raw"],
        Value::Null,
        "invalid UTF-8 is not shown as text"
    );
    assert_eq!(
        utf8["raw_base64"], "eyJpZCI6ImJhZC3//iJ9",
        "the bytes are kept exactly"
    );
    assert!(
        utf8["origin"]
            .as_str()
            .unwrap()
            .starts_with("nats:trustpath.in.native.test#")
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_http_lines_are_answered_by_line_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.ingest.max_event_bytes = MAX_EVENT_BYTES;
    let app = TestApp::start(config).await;

    let bad = bad_records();
    let mut body = Vec::new();
    for (index, (raw, _)) in bad.iter().enumerate() {
        body.extend_from_slice(raw);
        body.push(b'\n');
        body.extend_from_slice(crate::event(&format!("good-{index}")).as_bytes());
        body.push(b'\n');
    }
    let (status, answer) = app.post("/v1/events", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], bad.len());
    assert_eq!(answer["rejected"], bad.len());
    let errors = answer["errors"].as_array().unwrap();
    for (index, (_, phrase)) in bad.iter().enumerate() {
        let error = &errors[index];
        assert_eq!(error["line"], 2 * index + 1);
        assert!(
            error["reason"].as_str().unwrap().contains(phrase),
            "line {}: {error}",
            2 * index + 1
        );
    }
    let (_, rejected) = app.get("/v1/rejected?limit=100").await;
    assert_each_reason_present(&reasons(&rejected));
    wait_for_counts(&app, bad.len() as i64, bad.len() as i64).await;
    app.stop().await;
}

/// A batch of thousands of bad records is kept whole within a small memory limit, and a
/// second ingest of the same file keeps none of them twice.
#[test]
fn thousands_of_bad_lines_in_one_batch_fit_a_small_memory_limit() {
    let (dir, store) = crate::harness::store_dir();
    let file = dir.path().join("bad.ndjson");
    let line = format!("not json {}", "x".repeat(600));
    std::fs::write(&file, format!("{line}\n").repeat(5000)).unwrap();

    for _ in 0..2 {
        let output = crate::harness::trustpath()
            .args(["ingest", "--json"])
            .arg(&file)
            .env("TRUSTPATH_STORE_PATH", &store)
            .env("TRUSTPATH_STORE_MEMORY_LIMIT", "64MB")
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
        assert_eq!(report["rejected"], 5000, "{report}");
    }
    let mut config = trustpath::config::Config::default();
    config.store.path = store;
    let reader = trustpath::store::Store::open(&config.store)
        .unwrap()
        .reader()
        .unwrap();
    assert_eq!(reader.stats().unwrap().rejected, 5000);
}
