//! Named queries: fixture events in, expected rows out, through the API and the CLI.

use serde_json::{Value, json};

use crate::harness::{TestApp, succeed, test_config, trustpath};

fn fixture() -> String {
    let events = [
        json!({"id": "d1", "time": "2026-11-01T08:00:00Z", "kind": "client.document.fetch", "source": {"type": "authorization_server"},
               "client": {"id": "https://app.example/c.json", "registration": "cimd", "document_sha256": "aaa", "redirect_uris": ["https://app.example/cb"]}}),
        json!({"id": "d2", "time": "2026-11-02T08:00:00Z", "kind": "client.document.fetch", "source": {"type": "authorization_server"},
               "client": {"id": "https://app.example/c.json", "registration": "cimd", "document_sha256": "bbb", "redirect_uris": ["https://evil.example/cb"]}}),
        json!({"id": "t1", "time": "2026-11-01T09:00:00Z", "kind": "token.issue", "outcome": "success", "source": {"type": "authorization_server"},
               "subject": "alice", "client": {"id": "https://app.example/c.json"}, "resource": "https://mcp.example/mcp", "issuer": "https://as.example",
               "scopes": {"granted": ["files:read"]}, "token": {"id": "tok-1", "grant_type": "authorization_code"}}),
        json!({"id": "t2", "time": "2026-11-01T10:00:00Z", "kind": "token.issue", "outcome": "success", "source": {"type": "authorization_server"},
               "subject": "alice", "client": {"id": "https://app.example/c.json"}, "resource": "https://mcp.example/mcp", "issuer": "https://as.example",
               "scopes": {"granted": ["files:read", "files:write"]}, "token": {"id": "tok-2", "grant_type": "refresh_token"}}),
        json!({"id": "t3", "time": "2026-11-01T10:05:00Z", "kind": "token.issue", "outcome": "failure", "reason": "invalid_grant", "source": {"type": "authorization_server"},
               "subject": "bob", "client": {"id": "corp-tool"}, "issuer": "https://as.example", "token": {"grant_type": "authorization_code"}}),
    ];
    let mut body: String = events.iter().map(|e| format!("{e}\n")).collect();
    body.push_str("not json\nnot json either\n");
    body
}

async fn run(app: &TestApp, name: &str, params: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/v1/queries/{name}", app.base))
        .json(&json!({ "params": params }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn column(result: &Value, name: &str) -> Vec<Value> {
    let index = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == name)
        .unwrap();
    result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[index].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_queries_answer_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let (_, answer) = app.post("/v1/events", fixture()).await;
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(5), Some(2))
    );

    let (_, list) = app.get("/v1/queries").await;
    let names: Vec<&str> = list["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    for name in [
        "client_documents",
        "scopes_held",
        "tokens_per_issuer",
        "first_seen_clients",
        "rejected_by_reason",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }

    let (status, documents) = run(
        &app,
        "client_documents",
        json!({"client_id": "https://app.example/c.json"}),
    )
    .await;
    assert_eq!(status, 200, "{documents}");
    assert_eq!(
        column(&documents, "client_doc_sha256"),
        [json!("bbb"), json!("aaa")],
        "newest first"
    );

    let (_, held) = run(&app, "scopes_held", json!({"subject": "alice"})).await;
    assert_eq!(
        column(&held, "scopes_granted"),
        [json!(["files:read", "files:write"])]
    );
    assert_eq!(column(&held, "token_id"), [json!("tok-2")]);

    let (_, per_issuer) = run(&app, "tokens_per_issuer", json!({})).await;
    assert_eq!(
        column(&per_issuer, "grant_type"),
        [json!("authorization_code"), json!("refresh_token")]
    );
    assert_eq!(column(&per_issuer, "issued"), [json!(1), json!(1)]);
    assert_eq!(column(&per_issuer, "failed"), [json!(1), json!(0)]);

    let (_, first_seen) = run(
        &app,
        "first_seen_clients",
        json!({"since": "2026-11-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        column(&first_seen, "client_id"),
        [json!("corp-tool"), json!("https://app.example/c.json")]
    );

    let (_, rejected) = run(&app, "rejected_by_reason", json!({})).await;
    assert_eq!(
        column(&rejected, "records")
            .iter()
            .map(|v| v.as_i64().unwrap())
            .sum::<i64>(),
        2
    );

    let (status, error) = run(&app, "tokens_per_issuer", json!({"from": "last tuesday"})).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("must be an RFC 3339 timestamp"),
        "{error}"
    );
    let (status, error) = run(&app, "no_such_query", json!({})).await;
    assert_eq!(status, 404, "{error}");

    // A body sent as a form (curl -d) is still read as JSON: parameters are never dropped.
    let response = app
        .http
        .post(format!("{}/v1/queries/scopes_held", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"params": {"subject": "nobody"}}"#)
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["rows"], json!([]), "{answer}");

    // The CLI runs the same query through the server.
    let table = succeed(trustpath().args([
        "query",
        "scopes_held",
        "--param",
        "subject=alice",
        "--server",
        &app.base,
    ]));
    assert!(
        table.starts_with("SUBJECT") && table.contains("tok-2"),
        "{table}"
    );
    app.stop().await;
}
