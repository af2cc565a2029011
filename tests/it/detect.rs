//! Detections: the rule pack passes its fixtures, finds every simulated attack and nothing
//! in benign traffic; alerts reach NATS and webhooks (through failures), move through their
//! lifecycle and show in timelines; broken rule files are reported while the rest run; a
//! replay backfills a rule once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use futures::StreamExt as _;
use serde_json::{Value, json};
use trustpath::config::{RulesConfig, WebhookConfig, WebhookFormat};
use trustpath::detect::eval::{self, Labels};
use trustpath::detect::{RuleSet, Severity, fixtures};
use trustpath::simulate::{Attack, Simulation, encode_native, generate};

use crate::harness::{NatsServer, TestApp, app_with_nats, eventually, jetstream, test_config};

fn ndjson(simulation: &Simulation) -> Vec<u8> {
    simulation
        .events
        .iter()
        .flat_map(|e| encode_native(e).into_iter().chain([b'\n']))
        .collect()
}

fn labels(simulation: &Simulation) -> Labels {
    serde_json::from_value(json!({ "labels": simulation.labels })).expect("labels")
}

#[tokio::test]
async fn the_rule_pack_passes_its_fixtures() {
    let set = RuleSet::load(&RulesConfig::default());
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
    let expected: Vec<String> = (1..=17).map(|n| format!("TP{n:03}")).collect();
    assert_eq!(ids, expected);
    for report in fixtures::run(&set.rules).await {
        assert!(
            report.passed(),
            "{}",
            serde_json::to_string_pretty(&report).unwrap()
        );
        assert!(
            report.cases.len() >= 2,
            "{}: a positive and a negative case",
            report.rule_id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_finds_every_attack_and_benign_traffic_raises_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rules = RuleSet::load(&RulesConfig::default()).rules;

    let mut options = crate::simulate::options(5, Attack::ALL.iter().map(|&a| (a, 2)).collect());
    options.flows = 600;
    options.days = 3.0;
    let attacked = generate(&options);
    let events = dir.path().join("attacked.ndjson");
    std::fs::write(&events, ndjson(&attacked)).unwrap();
    let report = eval::run(
        rules.clone(),
        &events,
        &labels(&attacked),
        dir.path(),
        1_000,
    )
    .await
    .expect("eval runs");
    let table = eval::render(&report);
    for rule in &report.rules {
        assert_eq!(rule.injected, 2, "{}\n{table}", rule.rule_id);
        assert_eq!(
            rule.found, rule.injected,
            "{} missed attacks\n{table}",
            rule.rule_id
        );
        assert_eq!(
            rule.false_positives, 0,
            "{} fired on benign events\n{table}",
            rule.rule_id
        );
    }
    assert!(report.meets_floor());

    options.attacks = Vec::new();
    options.seed = 6;
    let benign = generate(&options);
    let events = dir.path().join("benign.ndjson");
    std::fs::write(&events, ndjson(&benign)).unwrap();
    let report = eval::run(rules, &events, &labels(&benign), dir.path(), 1_000)
        .await
        .expect("eval runs");
    assert_eq!(report.alerts, 0, "{}", eval::render(&report));
}

/// A webhook that fails its first `failures` requests, then takes them; keeps the bodies.
async fn webhook(failures: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0usize));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            let calls = calls.clone();
            async move {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                if *calls <= failures {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                kept.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn alerts_reach_nats_and_webhooks_and_move_through_their_lifecycle() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (url, received) = webhook(2).await;
    let mut config = test_config(dir.path());
    config.alerts.retry_initial = Duration::from_millis(100);
    config.alerts.webhooks = vec![WebhookConfig {
        name: "soc".into(),
        url: url.into(),
        format: WebhookFormat::Slack,
        min_severity: Severity::High,
        bearer_token: None,
    }];
    let app = app_with_nats(&nats, config).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut published = client.subscribe("trustpath.alerts.>").await.unwrap();
    client.flush().await.unwrap();

    let simulation = generate(&crate::simulate::options(
        3,
        vec![(Attack::IssuerNotAdvertised, 1)],
    ));
    let js = jetstream(&nats).await;
    for event in &simulation.events {
        js.publish("trustpath.in.native.test", encode_native(event).into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    // NATS: the alert as JSON on trustpath.alerts.<severity>.
    let message = tokio::time::timeout(crate::harness::PATIENCE, published.next())
        .await
        .expect("an alert on NATS")
        .unwrap();
    assert_eq!(message.subject.as_str(), "trustpath.alerts.critical");
    let alert: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(alert["rule_id"], "TP007");
    assert_eq!(alert["status"], "open");
    let label = &simulation.labels[0];
    let evidence: Vec<&str> = alert["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        label
            .evidence
            .iter()
            .any(|id| evidence.contains(&id.as_str())),
        "the alert cites the attack's events: {alert}"
    );
    assert!(
        alert["connection_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("c-"))
    );

    // Webhook: refused twice, then taken; the text says what and where.
    let body = eventually("the webhook to take the alert", || async {
        received.lock().unwrap().first().cloned()
    })
    .await;
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[CRITICAL] TP007 issuer-not-advertised: "),
        "{text}"
    );
    let id = alert["alert_id"].as_str().unwrap();
    let detail = eventually("the delivery to be recorded", || async {
        let (_, detail) = app.get(&format!("/v1/alerts/{id}")).await;
        let soc = detail["deliveries"]
            .as_array()?
            .iter()
            .find(|d| d["sink"] == "webhook:soc")?
            .clone();
        soc["delivered_at"].is_string().then_some(detail)
    })
    .await;
    let soc = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["sink"] == "webhook:soc")
        .unwrap();
    assert_eq!(soc["attempts"], 3, "{detail}");
    assert!(!detail["hits"].as_array().unwrap().is_empty());

    // Only the attack raised anything.
    let (status, page) = app.get("/v1/alerts").await;
    assert_eq!(status, 200);
    let rules: Vec<&str> = page["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["rule_id"].as_str())
        .collect();
    assert!(rules.iter().all(|r| *r == "TP007"), "{page}");

    // Lifecycle: acknowledged, then resolved, each with who.
    let patch = |body: Value| {
        let request = app
            .http
            .patch(format!("{}/v1/alerts/{id}", app.base))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, answer) = patch(json!({"status": "acknowledged", "by": "alice"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["alert"]["status"], "acknowledged");
    assert_eq!(answer["alert"]["status_by"], "alice");
    let (status, answer) =
        patch(json!({"status": "resolved", "by": "bob", "note": "rogue AS blocked"})).await;
    assert_eq!(status, 200);
    let history: Vec<(&str, &str)> = answer["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap(), h["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("open", "trustpath"),
            ("acknowledged", "alice"),
            ("resolved", "bob")
        ]
    );
    let (status, answer) = patch(json!({"status": "closed", "by": "bob"})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = app.get("/v1/alerts/al-missing").await;
    assert_eq!(status, 404);
    let (_, resolved) = app
        .get("/v1/alerts?status=resolved&severity=critical")
        .await;
    assert_eq!(resolved["alerts"].as_array().unwrap().len(), 1);

    // The subject's timeline shows the alert.
    let token_issue = simulation
        .events
        .iter()
        .find(|e| e.event.id == label.evidence[0])
        .unwrap();
    let subject = token_issue.event.subject.clone().unwrap();
    let (status, timeline) = app
        .get(&format!(
            "/v1/timeline?subject={}&from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            url::form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(status, 200);
    let alerts: Vec<&Value> = timeline["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["entries"].as_array().unwrap())
        .filter(|e| e["type"] == "alert")
        .collect();
    assert_eq!(alerts.len(), 1, "{timeline}");
    assert_eq!(alerts[0]["alert"]["alert_id"], id);
    // With its current status: the latest of its lifecycle.
    assert_eq!(alerts[0]["alert"]["status"], "resolved", "{timeline}");
    assert_eq!(alerts[0]["alert"]["status_by"], "bob");
    app.stop().await;
}

#[tokio::test]
async fn a_broken_rule_file_is_reported_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("broken.sql"),
        "-- id: X900\n-- name: broken\n-- severity: urgent\n-- kind: match\n\nSELECT 1\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("bad_sql.sql"),
        "-- id: X901\n-- name: bad-sql\n-- severity: low\n-- kind: match\n-- description: d\n\
         -- key: k\n-- dedup: 1h\n-- lookback: 1h\n\nSELECT event_id, client_id AS key, time,\n\
         [event_id] AS evidence, 'x' AS summary\nFROM no_such_table\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("x001_client_credentials.sql"),
        "-- id: X001\n-- name: client-credentials-grant\n-- severity: low\n-- kind: match\n\
         -- description: a machine client got a token without a user\n-- key: client id\n\
         -- dedup: 1h\n-- lookback: 0s\n\n\
         SELECT event_id, client_id AS key, time, [event_id] AS evidence,\n\
         'client ' || client_id || ' used client_credentials' AS summary\n\
         FROM new_events\n\
         WHERE kind = 'token.issue' AND grant_type = 'client_credentials' AND outcome = 'success'\n",
    )
    .unwrap();
    let mut config = test_config(dir.path());
    config.rules.dir = Some(rules.clone());
    let app = TestApp::start(config).await;
    let (_, answer) = app.get("/v1/rules").await;
    let errors: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let broken = rules.join("broken.sql").display().to_string();
    let bad_sql = rules.join("bad_sql.sql").display().to_string();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{broken}:3: `urgent` is not a severity"))),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{bad_sql}:")) && e.contains("no_such_table")),
        "{errors:?}"
    );
    let ids: Vec<&str> = answer["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 18, "{ids:?}");
    assert!(ids.contains(&"X001"));

    let event = json!({
        "id": "cc-1",
        "time": "2026-11-02T10:00:00Z", "kind": "token.issue", "outcome": "success",
        "source": {"type": "authorization_server", "name": "test"},
        "issuer": "https://auth.acme.example",
        "client": {"id": "svc-reporting"},
        "token": {"id": "tok-cc-1", "grant_type": "client_credentials"}
    });
    let (status, answer) = app.post("/v1/events", event.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    let page = eventually("the custom rule's alert", || async {
        let (_, page) = app.get("/v1/alerts?rule=X001").await;
        (!page["alerts"].as_array()?.is_empty()).then_some(page)
    })
    .await;
    assert_eq!(
        page["alerts"][0]["summary"],
        "client svc-reporting used client_credentials"
    );
    app.stop().await;
}

#[tokio::test]
async fn replay_backfills_a_rule_once() {
    let dir = tempfile::tempdir().unwrap();
    let simulation = generate(&crate::simulate::options(
        4,
        vec![(Attack::AuthFailureBurst, 1)],
    ));
    let mut config = test_config(dir.path());
    config.rules.disabled = vec!["TP015".into()];
    let app = TestApp::start(config.clone()).await;
    let (status, _) = app.post("/v1/events", ndjson(&simulation)).await;
    assert_eq!(status, 200);
    app.stop().await;

    config.rules.disabled.clear();
    let app = TestApp::start(config).await;
    let (_, page) = app.get("/v1/alerts?rule=TP015").await;
    assert_eq!(
        page["alerts"].as_array().unwrap().len(),
        0,
        "examined batches are not re-run"
    );
    let replay =
        json!({"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "rules": ["TP015"]});
    let response = app
        .http
        .post(format!("{}/v1/rules/replay", app.base))
        .json(&replay)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let first: Value = response.json().await.unwrap();
    assert!(first["new_alerts"].as_u64().unwrap() >= 1, "{first}");
    let again: Value = app
        .http
        .post(format!("{}/v1/rules/replay", app.base))
        .json(&replay)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["new_alerts"].as_u64(), again["hits"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    let (_, page) = app.get("/v1/alerts?rule=TP015").await;
    assert_eq!(
        page["alerts"].as_array().unwrap().len() as u64,
        first["new_alerts"].as_u64().unwrap()
    );
    let unknown = app
        .http
        .post(format!("{}/v1/rules/replay", app.base))
        .json(&json!({"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "rules": ["TP999"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn the_readme_rule_example_passes_its_fixtures() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = &readme[readme.find("### Writing a rule").expect("the section")..];
    let block = |fence: &str| {
        let start = section.find(fence).expect("the code block") + fence.len();
        let end = section[start..].find("```").expect("its end");
        section[start..start + end].to_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme001_client_credentials_grant.sql"),
        block("```sql\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path()
            .join("acme001_client_credentials_grant.fixtures.json"),
        block("```json\n"),
    )
    .unwrap();
    let set = RuleSet::load(&RulesConfig {
        dir: Some(dir.path().to_owned()),
        ..RulesConfig::default()
    });
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let rule = set
        .rules
        .iter()
        .find(|r| r.id == "ACME001")
        .expect("the example loads")
        .clone();
    let reports = fixtures::run(&[rule]).await;
    assert!(reports[0].passed(), "{reports:?}");
    assert_eq!(reports[0].cases.len(), 2);
}

/// A rule that tells each new event the `$old_newest` the engine bound (its summary).
const OLD_NEWEST_RULE: &str = "-- id: X002\n-- name: old-newest\n-- severity: low\n\
    -- kind: match\n-- description: names the newest old event the engine binds\n\
    -- key: event id\n-- dedup: 1h\n-- lookback: 1d\n\n\
    SELECT event_id, event_id AS key, time, [event_id] AS evidence,\n\
    coalesce($old_newest, 'none') AS summary\n\
    FROM new_events\n";

/// A client-credentials token issue, the one event the `$old_newest` tests need.
fn token_issue(id: &str, time: &str) -> Value {
    json!({
        "id": id, "time": time, "kind": "token.issue", "outcome": "success",
        "source": {"type": "authorization_server", "name": "test"},
        "issuer": "https://auth.acme.example",
        "client": {"id": "svc-reporting"},
        "token": {"id": format!("tok-{id}"), "grant_type": "client_credentials"}
    })
}

/// `$old_newest` is the newest stored event within the rule's lookback that is not under
/// evaluation, whichever of the engine's spans it lies in: seconds before the batch, further
/// back, after the batch (a late batch), among the batch's own times, or none in reach.
#[tokio::test]
async fn rules_read_the_newest_old_event_the_engine_binds() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("x002_old_newest.sql"), OLD_NEWEST_RULE).unwrap();
    let mut config = test_config(dir.path());
    config.rules.dir = Some(rules);
    let app = TestApp::start(config).await;
    let event = |id: &str, time: &str| token_issue(id, time).to_string();
    // (batch, what each of its events is told), one batch evaluated at a time.
    let batches: [(&[(&str, &str)], &str); 5] = [
        (&[("e1", "2026-11-02T10:00:00Z")], "none"),
        (
            &[("e2", "2026-11-02T10:00:05Z")],
            "2026-11-02T10:00:00.000000Z",
        ),
        (
            &[("e3", "2026-11-02T11:00:00Z")],
            "2026-11-02T10:00:05.000000Z",
        ),
        (
            &[("e4", "2026-11-02T10:30:00Z")],
            "2026-11-02T11:00:00.000000Z",
        ),
        (
            &[
                ("e5", "2026-11-02T10:59:00Z"),
                ("e6", "2026-11-02T11:01:00Z"),
            ],
            "2026-11-02T11:00:00.000000Z",
        ),
    ];
    let mut expected = Vec::new();
    for (events, told) in batches {
        let body: Vec<String> = events.iter().map(|(id, time)| event(id, time)).collect();
        let (status, answer) = app.post("/v1/events", body.join("\n")).await;
        assert_eq!(status, 200, "{answer}");
        expected.extend(
            events
                .iter()
                .map(|(id, _)| (id.to_string(), told.to_string())),
        );
        eventually("the batch's alerts", || async {
            let (_, page) = app.get("/v1/alerts?rule=X002&limit=100").await;
            (page["alerts"].as_array()?.len() == expected.len()).then_some(())
        })
        .await;
    }
    // Two days later: nothing old within its lookback of a day.
    let (status, _) = app
        .post("/v1/events", event("e7", "2026-11-04T12:00:00Z"))
        .await;
    assert_eq!(status, 200);
    expected.push(("e7".into(), "none".into()));
    let page = eventually("the last alert", || async {
        let (_, page) = app.get("/v1/alerts?rule=X002&limit=100").await;
        (page["alerts"].as_array()?.len() == expected.len()).then_some(page)
    })
    .await;
    let mut told: Vec<(String, String)> = page["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_owned(),
                a["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    told.sort();
    expected.sort();
    assert_eq!(told, expected);
    app.stop().await;
}

/// `$old_newest` is the newest event already examined: a batch committed but not examined
/// yet (waiting for its correlation, or for a later evaluation) is not "old" to the batch
/// under evaluation. Otherwise a rule that judges an absence once the store has moved past
/// it (TP005, TP011) would find the store already past it in the batch that first reaches
/// it, and again in the next: the hit would never be raised.
#[tokio::test]
async fn a_batch_not_yet_examined_is_not_old_to_the_one_under_evaluation() {
    use trustpath::detect::{Engine, Rule};
    use trustpath::normalize::{Normalizer, RawRecord};
    use trustpath::pipeline::Ingest;
    use trustpath::store::{Collector, Store};

    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let store = Store::open(&config.store).unwrap();
    let (writer, thread) = store.writer(1, config.correlate.clone(), None).unwrap();
    let ingest = Ingest::new(Normalizer::new(64 * 1024), writer.clone());
    let rule = Rule::parse("x002_old_newest.sql", OLD_NEWEST_RULE).unwrap();
    let mut engine = Engine::new(vec![rule], Vec::new());
    let db = store.connection().unwrap();
    let commit = |id: &'static str, time: &'static str| {
        let ingest = ingest.clone();
        async move {
            let record = RawRecord {
                raw: token_issue(id, time).to_string().into(),
                origin: format!("test:{id}"),
                delivery_key: None,
                format: "native".to_owned(),
            };
            ingest
                .ingest(Collector::Http, vec![record])
                .await
                .unwrap()
                .commit
                .batch_id
        }
    };
    let told = |db: &duckdb::Connection, id: &str| -> String {
        db.query_row(
            "SELECT summary FROM alerts WHERE rule_id = 'X002' AND key = ?",
            [id],
            |row| row.get(0),
        )
        .unwrap()
    };

    commit("e1", "2026-11-02T10:00:00Z").await;
    engine.detect_pending(&db).unwrap();
    assert_eq!(told(&db, "e1"), "none");

    commit("e2", "2026-11-02T10:10:00Z").await;
    // e3 is committed but waits for its correlation, so it is not examined with e2.
    let e3 = commit("e3", "2026-11-02T10:20:00Z").await;
    db.execute(
        "DELETE FROM correlated_batches WHERE batch_id = ?::UUID",
        [e3.to_string()],
    )
    .unwrap();
    engine.detect_pending(&db).unwrap();
    assert_eq!(told(&db, "e2"), "2026-11-02T10:00:00.000000Z");

    db.execute(
        "INSERT INTO correlated_batches VALUES (?::UUID)",
        [e3.to_string()],
    )
    .unwrap();
    engine.detect_pending(&db).unwrap();
    assert_eq!(told(&db, "e3"), "2026-11-02T10:10:00.000000Z");

    drop((ingest, writer));
    thread.join();
}
