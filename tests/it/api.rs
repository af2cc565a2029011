//! The HTTP API's contract: filters, pagination, limits and the errors a client gets.

use serde_json::json;

use crate::harness::{TestApp, test_config};

fn event(id: &str, time: &str, kind: &str, subject: &str) -> String {
    json!({"id": id, "time": time, "kind": kind, "source": {"type": "authorization_server"},
           "subject": subject, "client": {"id": "https://app.example.com/c.json"},
           "token": {"id": format!("t-{id}"), "parent_id": "rt-1"}})
    .to_string()
}

#[tokio::test]
async fn filters_and_cursor_pagination() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let mut body = String::new();
    for minute in 0..25 {
        let subject = if minute % 2 == 0 { "alice" } else { "bob" };
        let kind = if minute % 5 == 0 {
            "token.issue"
        } else {
            "resource.access"
        };
        body.push_str(&event(
            &format!("e{minute:02}"),
            &format!("2026-11-26T10:{minute:02}:00Z"),
            kind,
            subject,
        ));
        body.push('\n');
    }
    let (_, answer) = app.post("/v1/events", body).await;
    assert_eq!(answer["accepted"], 25);

    let (_, page) = app
        .get("/v1/events?subject=alice&kind=resource.access")
        .await;
    let ids: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "e24", "e22", "e18", "e16", "e14", "e12", "e08", "e06", "e04", "e02"
        ]
    );

    let (_, page) = app
        .get("/v1/events?from=2026-11-26T10:10:00Z&to=2026-11-26T10:12:00Z")
        .await;
    assert_eq!(page["events"].as_array().unwrap().len(), 2);

    // token_id matches the parent token too, so a refresh token shows its children.
    let (_, page) = app.get("/v1/events?token_id=rt-1&limit=1000").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 25);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/events?limit=10&cursor={cursor}"),
            None => "/v1/events?limit=10".to_owned(),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|m| format!("e{m:02}")).collect();
    assert_eq!(seen, expected, "every event once, newest first");
    app.stop().await;
}

#[tokio::test]
async fn client_mistakes_get_a_4xx_that_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.http.max_body_bytes = 1024;
    let app = TestApp::start(config).await;

    let (status, body) = app.post("/v1/events", vec![b' '; 2048]).await;
    assert_eq!(status, 413);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("larger than 1024 bytes (http.max_body_bytes)"),
        "{body}"
    );

    let (status, body) = app.get("/v1/events?kind=token.minted").await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("token.minted"),
        "{body}"
    );

    let (status, body) = app.get("/v1/events?subjet=alice").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `subjet`"),
        "{body}"
    );

    let (status, body) = app.get("/v1/events?limit=0").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("limit must be 1 to 10000"),
        "{body}"
    );

    let (status, body) = app.get("/v1/events?cursor=garbage").await;
    assert_eq!(status, 400, "{body}");

    let (status, _) = app.post("/v1/events", crate::event("m1")).await;
    assert_eq!(status, 200);
    let (status, metrics) = {
        let response = app
            .http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"trustpath_records_total{collector="http",result="accepted"}"#),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn too_many_records_in_one_request_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let many = "{}\n".repeat(trustpath::serve::api::MAX_RECORDS_PER_REQUEST + 1);
    let (status, body) = app.post("/v1/events", many).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("more than 100000 in one request"),
        "{body}"
    );
    assert_eq!(
        app.stats().await["rejected"],
        0,
        "nothing of a refused request is stored"
    );
    app.stop().await;
}
