//! Ad-hoc SQL: answers SELECTs in JSON, CSV and Arrow, and refuses everything that could
//! read files, write, reconfigure or run away, while still answering afterwards.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{TestApp, test_config};

async fn sql(
    app: &TestApp,
    query: &str,
    accept: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .http
        .post(format!("{}/v1/sql", app.base))
        .header("accept", accept)
        .body(query.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn json(app: &TestApp, query: &str) -> (u16, Value) {
    let (status, _, body) = sql(app, query, "application/json").await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn start() -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.sql.max_rows = 5;
    config.sql.timeout = Duration::from_secs(1);
    let app = TestApp::start(config).await;
    let body: String = (0..3)
        .map(|i| format!("{}\n", crate::event(&format!("s{i}"))))
        .collect();
    app.post("/v1/events", body).await;
    (dir, app)
}

#[tokio::test]
async fn selects_are_answered_in_json_csv_and_arrow() {
    let (_dir, app) = start().await;
    let (status, answer) = json(&app, "SELECT event_id, kind FROM events ORDER BY event_id").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["columns"], serde_json::json!(["event_id", "kind"]));
    assert_eq!(
        answer["rows"][2],
        serde_json::json!({"event_id": "s2", "kind": "resource.access"})
    );
    assert_eq!(answer["truncated"], false);

    // Timestamps with a time zone (DuckDB's TIMESTAMPTZ arrives as Arrow "UTC").
    let (status, answer) = json(&app, "SELECT time FROM events ORDER BY event_id LIMIT 1").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rows"][0]["time"], "2026-11-26T10:00:00Z");

    let (_, answer) = json(&app, "SELECT * FROM range(10)").await;
    assert_eq!(
        answer["rows"].as_array().unwrap().len(),
        5,
        "sql.max_rows cuts"
    );
    assert_eq!(answer["truncated"], true);

    let (status, headers, csv) = sql(
        &app,
        "SELECT event_id, subject FROM events ORDER BY 1",
        "text/csv",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().next(),
        Some("event_id,subject")
    );

    let (status, _, csv) = sql(&app, "SELECT scopes_granted FROM events", "text/csv").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&csv));

    let (status, _, ipc) = sql(
        &app,
        "SELECT event_id FROM events",
        "application/vnd.apache.arrow.stream",
    )
    .await;
    assert_eq!(status, 200);
    let reader =
        arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None).unwrap();
    let rows: usize = reader.map(|batch| batch.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);
    app.stop().await;
}

#[tokio::test]
async fn the_sandbox_refuses_and_keeps_answering() {
    let (dir, app) = start().await;
    let secret = dir.path().join("secret.csv");
    std::fs::write(&secret, "a,b\n1,2\n").unwrap();
    let secret = secret.display().to_string();
    let refused = [
        format!("SELECT * FROM read_csv('{secret}')"),
        "SELECT * FROM read_csv('/etc/passwd')".to_owned(),
        "SELECT * FROM read_text('/etc/passwd')".to_owned(),
        format!("SELECT * FROM read_json('{secret}')"),
        format!("SELECT * FROM '{secret}'"),
        format!("COPY events TO '{}'", dir.path().join("out.csv").display()),
        format!(
            "ATTACH '{}' AS other",
            dir.path().join("other.duckdb").display()
        ),
        "INSTALL httpfs".to_owned(),
        "LOAD httpfs".to_owned(),
        "SET enable_external_access = true".to_owned(),
        "PRAGMA database_list".to_owned(),
        "CREATE TABLE x AS SELECT 1".to_owned(),
        "INSERT INTO events (event_id) VALUES ('x')".to_owned(),
        "UPDATE events SET subject = 'mallory'".to_owned(),
        "DELETE FROM events".to_owned(),
        "DROP TABLE events".to_owned(),
        "SELECT 1; DELETE FROM events".to_owned(),
        "SELECT * FROM enable_logging(level := 'trace')".to_owned(),
        "SELECT * FROM checkpoint()".to_owned(),
        "SELECT * FROM query('DELETE FROM events')".to_owned(),
        "SELECT getenv('HOME')".to_owned(),
    ];
    for query in &refused {
        let (status, answer) = json(&app, query).await;
        assert!(status == 403 || status == 400, "{query}: {status} {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{query}: a reason is given");
        let (status, answer) = json(&app, "SELECT count(*) AS n FROM events").await;
        assert_eq!(
            (status, &answer["rows"][0]["n"]),
            (200, &Value::from(3)),
            "after {query}"
        );
    }
    assert!(!dir.path().join("out.csv").exists() && !dir.path().join("other.duckdb").exists());

    let (status, answer) = json(&app, "SELECT count(*) FROM range(1000000000000) a").await;
    assert_eq!(status, 408, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("sql.timeout"),
        "{answer}"
    );
    let (status, _) = json(&app, "SELECT 1").await;
    assert_eq!(status, 200, "answers after a timeout");
    app.stop().await;
}
