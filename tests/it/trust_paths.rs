//! Connections and trust paths: each attack that breaks a link breaks exactly that link,
//! benign traffic breaks none, delivery order does not matter, late evidence changes a
//! verdict, and the API and CLI show it all.

use std::collections::{BTreeSet, HashMap};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use trustpath::event::{Registration, WireEvent};
use trustpath::simulate::flows::SimEvent;
use trustpath::simulate::{Attack, Simulation, encode_native, generate};

use crate::harness::{TestApp, succeed, test_config, trustpath, wait_for_counts};

fn simulation() -> Simulation {
    generate(&crate::simulate::options(
        11,
        Attack::ALL.iter().map(|&a| (a, 1)).collect(),
    ))
}

fn ndjson<'a>(events: impl IntoIterator<Item = &'a SimEvent>) -> Vec<u8> {
    events
        .into_iter()
        .flat_map(|e| encode_native(e).into_iter().chain([b'\n']))
        .collect()
}

/// The trust-path link each attack breaks (DOMAIN.md §4 against §3); attacks that break
/// no link (detections only) are absent.
fn broken_link(attack: Attack) -> Option<&'static str> {
    Some(match attack {
        Attack::ClientDocumentDrift | Attack::UnsafeDocumentFetch => "client_document",
        Attack::RedirectNotRegistered => "redirect",
        Attack::ScopeEscalation | Attack::ScopeOutsideMetadata => "scopes",
        Attack::IssuerNotAdvertised => "issuer_advertised",
        Attack::AudienceMismatch => "audience",
        Attack::ConsentMissing => "consent",
        Attack::RevokedTokenUse | Attack::RefreshTokenReuse => "liveness",
        Attack::IssuerEndpointOrigin => "issuer_echo",
        _ => return None,
    })
}

async fn ingest(app: &TestApp, body: Vec<u8>) {
    let (status, answer) = app.post("/v1/events", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rejected"], 0, "{answer}");
}

async fn all_connections(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = app
        .get(&format!("/v1/connections?limit=10000&{query}"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.get("next_cursor").is_none(), "one page holds them all");
    page["connections"].as_array().unwrap().clone()
}

fn verdicts(path: &Value) -> Vec<(String, String)> {
    path["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["link"].as_str().unwrap().to_owned(),
                l["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_attack_breaks_exactly_its_link_and_benign_traffic_none() {
    let simulation = simulation();
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    ingest(&app, ndjson(&simulation.events)).await;
    wait_for_counts(&app, simulation.events.len() as i64, 0).await;

    let by_id: HashMap<&str, &WireEvent> = simulation
        .events
        .iter()
        .map(|e| (e.event.id.as_str(), &e.event))
        .collect();
    let mut attacked = BTreeSet::new();
    let mut involved = BTreeSet::new();
    let mut checked = BTreeSet::new();
    for label in &simulation.labels {
        // The attack's token: the last evidence event that carries one.
        let Some(token) = label
            .evidence
            .iter()
            .rev()
            .find_map(|id| by_id[id.as_str()].token.id.clone())
        else {
            assert!(
                broken_link(label.attack).is_none(),
                "{:?}: no token",
                label.attack
            );
            continue;
        };
        let (status, detail) = app.get(&format!("/v1/tokens/{token}/trust-path")).await;
        assert_eq!(status, 200, "{:?}: {detail}", label.attack);
        let connection_id = detail["connection"]["connection_id"].as_str().unwrap();
        involved.insert(connection_id.to_owned());
        let Some(link) = broken_link(label.attack) else {
            continue;
        };
        let path = &detail["trust_path"];
        let registration = detail["tokens"][0]["event_id"]
            .as_str()
            .and_then(|id| by_id[id].client.registration);
        for (name, verdict) in verdicts(path) {
            let expected = if name == link {
                "violated"
            } else if name == "redirect" && registration == Some(Registration::PreRegistered) {
                // A pre-registered client's redirect URIs are in no event.
                "unknown"
            } else {
                "ok"
            };
            assert_eq!(
                verdict, expected,
                "{:?} ({}): link {name}\n{path:#}",
                label.attack, label.description
            );
        }
        let violated = path["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["link"] == link)
            .unwrap();
        let evidence: BTreeSet<&str> = violated["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            label
                .evidence
                .iter()
                .any(|id| evidence.contains(id.as_str())),
            "{:?}: the violated link cites the attack's evidence {:?}: {violated:#}",
            label.attack,
            label.evidence
        );
        assert!(
            violated["explanation"].as_str().unwrap().len() > 30,
            "{violated:#}"
        );
        attacked.insert(connection_id.to_owned());
        checked.insert(link);
    }
    assert_eq!(
        checked.len(),
        8,
        "every breakable link was checked: {checked:?}"
    );

    // Benign connections: nothing violated; only a pre-registered client's redirect unknown.
    // (Attacks that break no link, e.g. token replay with a direct grant, may lack evidence.)
    let violated: BTreeSet<String> = all_connections(&app, "verdict=violated")
        .await
        .iter()
        .map(|c| c["connection_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        violated, attacked,
        "exactly the attacked connections are violated"
    );
    let everything = all_connections(&app, "").await;
    assert!(everything.len() > 300, "{} connections", everything.len());
    for connection in &everything {
        let id = connection["connection_id"].as_str().unwrap();
        if involved.contains(id) {
            continue;
        }
        let unknown = connection["unknown"].as_array().unwrap();
        assert!(
            unknown.iter().all(|l| l == "redirect"),
            "benign connection with missing evidence: {connection}"
        );
    }

    // The link filter finds the one connection with that link broken.
    let mix_up = all_connections(&app, "link=issuer_advertised").await;
    assert_eq!(mix_up.len(), 1, "{mix_up:?}");
    assert_eq!(mix_up[0]["violated"], json!(["issuer_advertised"]));
    app.stop().await;
}

/// Every connection, its trust path and membership, as the store holds them.
async fn correlation(app: &TestApp) -> (Value, Value) {
    let sql = |query: &'static str| async move {
        let response = app
            .http
            .post(format!("{}/v1/sql", app.base))
            .header("accept", "application/json")
            .body(query)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["truncated"], false, "{body}");
        body["rows"].clone()
    };
    (
        sql(
            "SELECT connection_id, root_token_id, first_seen, last_seen, events, tokens, \
             verdict, violated, unknown, trust_path FROM connections ORDER BY connection_id",
        )
        .await,
        sql("SELECT event_id, connection_id, via FROM connection_members ORDER BY event_id").await,
    )
}

#[tokio::test]
async fn shuffled_delivery_gives_the_same_connections_and_verdicts() {
    let simulation = simulation();
    let in_order = ndjson(&simulation.events);
    let mut shuffled: Vec<&SimEvent> = simulation.events.iter().collect();
    shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));

    let mut results = Vec::new();
    for (body, batch) in [(in_order, 5_000), (ndjson(shuffled), 200)] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        config.sql.max_rows = 100_000;
        // Small commits: late events land in later batches than the ones they complete.
        config.ingest.batch_max_events = batch;
        let app = TestApp::start(config).await;
        ingest(&app, body).await;
        wait_for_counts(&app, simulation.events.len() as i64, 0).await;
        results.push(correlation(&app).await);
        app.stop().await;
    }
    let (connections, members) = &results[0];
    assert!(connections.as_array().unwrap().len() > 300);
    assert!(members.as_array().unwrap().len() > 3_000);
    assert_eq!(
        results[0].0, results[1].0,
        "same connections and trust paths"
    );
    assert_eq!(
        results[0].1, results[1].1,
        "same events in the same connections"
    );
}

fn event(fields: Value) -> String {
    let mut event = json!({
        "source": {"type": "authorization_server", "name": "auth-1"},
        "issuer": "https://auth.rogue.example",
        "client": {"id": "https://app.example.com/client.json", "registration": "cimd"},
        "subject": "alice@example.com",
        "resource": "https://mcp.example.com/mcp",
    });
    for (key, value) in fields.as_object().unwrap() {
        event[key] = value.clone();
    }
    format!("{event}\n")
}

/// Evidence fetched at the same instant (logs with second or millisecond timestamps have
/// such ties) is chosen the same way whatever order it arrived in: of the copies in force,
/// the one with the greatest event id. Here one PRM lists the token's issuer and the other
/// does not, so an arbitrary pick would also flip the verdict between evaluations; the same
/// holds for two copies of the client's document.
#[tokio::test]
async fn evidence_at_the_same_instant_is_chosen_by_event_id_whatever_the_arrival_order() {
    let prm = |id: &str, issuer: &str, sha256: &str| {
        event(json!({
            "id": id, "time": "2026-11-26T10:00:00Z", "kind": "metadata.fetch",
            "source": {"type": "gateway", "name": "gw-1"},
            "metadata": {"url": "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                         "document_sha256": sha256, "scopes_supported": ["files:read"],
                         "authorization_servers": [issuer]},
        }))
    };
    let document = |id: &str, sha256: &str| {
        event(json!({
            "id": id, "time": "2026-11-26T10:00:01Z", "kind": "client.document.fetch",
            "client": {"id": "https://app.example.com/client.json", "registration": "cimd",
                       "document_sha256": sha256,
                       "redirect_uris": ["https://app.example.com/cb"]},
            "http": {"status": 200},
        }))
    };
    // Each pair arrives together: a PRM and a client document fetched at the same instant
    // as the other pair's.
    let listed = prm(
        "tie-a",
        "https://auth.rogue.example",
        "aaaa1111aaaa1111aaaa",
    ) + &document("tie-c", "cccc3333cccc3333cccc");
    let unlisted = prm("tie-b", "https://auth.example.com", "bbbb2222bbbb2222bbbb")
        + &document("tie-d", "dddd4444dddd4444dddd");
    let token = event(json!({
        "id": "tie-token", "time": "2026-11-26T10:00:05Z", "kind": "token.issue",
        "token": {"id": "tok-tie", "audience": ["https://mcp.example.com/mcp"],
                  "grant_type": "authorization_code", "expires_at": "2026-11-26T11:00:05Z"},
        "scopes": {"granted": ["files:read"]},
    }));
    let mut cited = Vec::new();
    for deliveries in [
        vec![format!("{listed}{unlisted}{token}")],
        vec![format!("{unlisted}{listed}{token}")],
        vec![unlisted.clone(), listed.clone(), token.clone()],
        vec![listed.clone(), unlisted.clone(), token.clone()],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let app = TestApp::start(test_config(dir.path())).await;
        for body in deliveries {
            ingest(&app, body.into_bytes()).await;
        }
        let (status, path) = app.get("/v1/tokens/tok-tie/trust-path").await;
        assert_eq!(status, 200, "{path}");
        let links = &path["trust_path"]["links"];
        assert_eq!(links[0]["link"], "metadata");
        assert_eq!(links[3]["link"], "client_document");
        cited.push((
            links[0]["evidence"].clone(),
            links[1]["verdict"].clone(),
            links[1]["evidence"].clone(),
            links[3]["facts"][0]["document_event_id"].clone(),
        ));
        app.stop().await;
    }
    assert_eq!(
        cited[0],
        (
            json!(["tie-b"]),
            json!("violated"),
            json!(["tie-token", "tie-b"]),
            json!("tie-d"),
        )
    );
    assert!(cited.iter().all(|c| *c == cited[0]), "{cited:#?}");
}

#[tokio::test]
async fn late_evidence_updates_the_verdict_and_the_cli_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let token = event(json!({
        "id": "late-1", "time": "2026-11-26T10:00:05Z", "kind": "token.issue",
        "token": {"id": "tok-late", "refresh_token_id": "rt-late",
                  "audience": ["https://mcp.example.com/mcp"],
                  "grant_type": "authorization_code", "expires_at": "2026-11-26T11:00:05Z"},
        "scopes": {"granted": ["files:read"]},
    }));
    let used = event(json!({
        "id": "late-2", "time": "2026-11-26T10:01:00Z", "kind": "resource.access",
        "source": {"type": "gateway", "name": "gw-1"}, "connection_id": "sess-late",
        "token": {"id": "tok-late"}, "tool": "read_file", "network": {"ip": "203.0.113.9"},
    }));
    ingest(&app, format!("{used}{token}").into_bytes()).await;

    let (status, before) = app.get("/v1/tokens/tok-late/trust-path").await;
    assert_eq!(status, 200, "{before}");
    let issuer_link = |detail: &Value| detail["trust_path"]["links"][1].clone();
    assert_eq!(issuer_link(&before)["link"], "issuer_advertised");
    assert_eq!(issuer_link(&before)["verdict"], "unknown", "{before:#}");
    let connection_id = before["connection"]["connection_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        before["connection"]["events"], 2,
        "the earlier use attached"
    );

    // The PRM fetched before the token arrives late: it lists another issuer.
    let prm = json!({
        "id": "late-0", "time": "2026-11-26T10:00:00Z", "kind": "metadata.fetch",
        "source": {"type": "gateway", "name": "gw-1"},
        "resource": "https://mcp.example.com/mcp",
        "metadata": {"url": "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                     "document_sha256": "41aa41aa41aa41aa41aa", "scopes_supported": ["files:read"],
                     "authorization_servers": ["https://auth.example.com"]},
    });
    ingest(&app, format!("{prm}\n").into_bytes()).await;
    let (_, after) = app.get(&format!("/v1/connections/{connection_id}")).await;
    let link = issuer_link(&after);
    assert_eq!(link["verdict"], "violated", "{after:#}");
    assert_eq!(
        link["explanation"],
        "token tok-late was issued by https://auth.rogue.example, which the PRM of \
         https://mcp.example.com/mcp (fetched 2026-11-26 10:00:00Z, sha256 41aa41aa41aa…) \
         does not list"
    );
    assert_eq!(link["evidence"], json!(["late-1", "late-0"]));
    assert_eq!(
        link["facts"][0]["authorization_servers"],
        json!(["https://auth.example.com"])
    );
    assert_eq!(after["events"].as_array().unwrap().len(), 2);
    let changes = after["verdict_changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["link"] == "issuer_advertised"
            && c["before"] == "unknown"
            && c["after"] == "violated"),
        "{changes:?}"
    );

    // The timeline of the subject groups the events with the change under the connection.
    let (status, timeline) = app
        .get("/v1/timeline?subject=alice@example.com&from=2026-11-26T09:00:00Z&to=2026-11-26T12:00:00Z")
        .await;
    assert_eq!(status, 200, "{timeline}");
    let groups = timeline["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{timeline:#}");
    assert_eq!(groups[0]["connection"]["connection_id"], connection_id);
    let kinds: Vec<&str> = groups[0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["event"]["kind"]
                .as_str()
                .unwrap_or(e["type"].as_str().unwrap())
        })
        .collect();
    assert_eq!(kinds, ["token.issue", "verdict_change", "resource.access"]);

    // Client mistakes get a 4xx that says what to do.
    let (status, body) = app.get("/v1/connections/c-nope").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("GET /v1/connections")
    );
    let (status, body) = app.get("/v1/timeline?from=2026-11-26T09:00:00Z").await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("needs a key"),
        "{body}"
    );
    let (status, _) = app.get("/v1/connections?verdict=broken").await;
    assert_eq!(status, 400);
    let (status, body) = app.get("/v1/tokens/tok-unknown/trust-path").await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("no connection"),
        "{body}"
    );
    app.stop().await;

    // The CLI, on the store directly.
    let store = dir.path().join("trustpath.duckdb");
    let text = succeed(
        trustpath()
            .args(["explain", "tok-late", "--store-path"])
            .arg(&store),
    );
    assert!(
        text.contains(&format!("connection {connection_id}")),
        "{text}"
    );
    assert!(
        text.contains("2. issuer advertised  VIOLATED  token tok-late was issued by"),
        "{text}"
    );
    let json_text = succeed(
        trustpath()
            .args(["explain", &connection_id, "--json", "--store-path"])
            .arg(&store),
    );
    let detail: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(detail["trust_path"]["verdict"], "violated");
    let text = succeed(
        trustpath()
            .args([
                "timeline",
                "--subject",
                "alice@example.com",
                "--from",
                "2026-11-26T00:00:00Z",
                "--to",
                "2026-11-27T00:00:00Z",
                "--store-path",
            ])
            .arg(&store),
    );
    assert!(text.contains("2 events in 1 groups"), "{text}");
    assert!(
        text.contains("! issuer_advertised: unknown → violated"),
        "{text}"
    );
}

/// A store in `dir` that holds the simulation's events and no trace of their correlation
/// (what a store written before schema 2 holds, or one stopped before a burst's backlog
/// was correlated); returns its config and the correlation it had.
async fn a_store_without_its_correlation(
    dir: &std::path::Path,
) -> (trustpath::config::Config, (Value, Value)) {
    let simulation = simulation();
    let config = test_config(dir);
    let app = TestApp::start(config.clone()).await;
    ingest(&app, ndjson(&simulation.events)).await;
    wait_for_counts(&app, simulation.events.len() as i64, 0).await;
    let correlated = correlation(&app).await;
    app.stop().await;
    let db = duckdb::Connection::open(&config.store.path).unwrap();
    db.execute_batch(
        "DELETE FROM correlated_batches; DELETE FROM connections;
         DELETE FROM connection_tokens; DELETE FROM connection_members;
         DELETE FROM verdict_changes; DELETE FROM client_pins;",
    )
    .unwrap();
    (config, correlated)
}

#[tokio::test]
async fn a_store_from_before_connections_is_correlated_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (config, correlated) = a_store_without_its_correlation(dir.path()).await;
    // Counted as not correlated (as a deferred backlog cut off by a stop would be).
    let uncorrelated = trustpath::store::Store::open(&config.store)
        .unwrap()
        .reader()
        .unwrap()
        .stats()
        .unwrap()
        .uncorrelated_batches;
    assert!(uncorrelated > 0);
    let app = TestApp::start(config).await;
    let stats = app.stats().await;
    assert_eq!(stats["connections"], correlated.0.as_array().unwrap().len());
    assert_eq!(stats["uncorrelated_batches"], 0);
    assert_eq!(correlation(&app).await, correlated);
    app.stop().await;
}

/// Exported events always come with their connections: an export of a window whose events
/// still wait for correlation (here: a store stopped before its batches were correlated)
/// is refused, saying why, while a window without such events exports; `trustpath export`
/// correlates such a store first.
#[tokio::test]
async fn an_export_never_has_events_without_their_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (config, correlated) = a_store_without_its_correlation(dir.path()).await;
    let connections = correlated.0.as_array().unwrap().len();
    let request: trustpath::export::ExportRequest = serde_json::from_value(serde_json::json!({
        "from": "2026-11-01T00:00:00Z", "to": "2027-01-01T00:00:00Z", "format": "jsonl"
    }))
    .unwrap();

    let store = trustpath::store::Store::open(&config.store).unwrap();
    let signer = store.signer().unwrap().unwrap();
    let refused = trustpath::export::export(
        &store.connection().unwrap(),
        &signer,
        &request,
        &dir.path().join("refused"),
    )
    .unwrap_err();
    assert!(
        matches!(refused, trustpath::export::ExportError::Uncorrelated { batches } if batches > 0),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("not correlated yet"),
        "{refused}"
    );
    assert!(
        !dir.path().join("refused").exists(),
        "a refused export leaves no directory behind"
    );
    // Into a directory that was there already (empty): it stays, empty.
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    trustpath::export::export(&store.connection().unwrap(), &signer, &request, &existing)
        .unwrap_err();
    assert_eq!(std::fs::read_dir(&existing).unwrap().count(), 0);
    // Only the window's own events count: a window before them exports while they wait.
    let earlier: trustpath::export::ExportRequest = serde_json::from_value(serde_json::json!({
        "from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z", "format": "jsonl"
    }))
    .unwrap();
    trustpath::export::export(
        &store.connection().unwrap(),
        &signer,
        &earlier,
        &dir.path().join("earlier"),
    )
    .unwrap();
    drop((store, signer));

    let out = dir.path().join("export");
    succeed(
        trustpath()
            .env("TRUSTPATH_STORE_PATH", &config.store.path)
            .args([
                "export",
                "--from",
                "2026-11-01T00:00:00Z",
                "--to",
                "2027-01-01T00:00:00Z",
            ])
            .args(["--format", "jsonl", "--out"])
            .arg(&out),
    );
    let exported = std::fs::read_to_string(out.join("connections.jsonl")).unwrap();
    assert_eq!(
        exported.lines().count(),
        connections,
        "every connection, correlated by the export itself"
    );
}

/// A timeline holds every event that matches its key, each once. An event in a connection
/// sits in that connection's group, with every event of that connection in the window; the
/// others (unattached, or kinds that are never members) sit in the group without one.
#[tokio::test]
async fn timelines_hold_the_key_events_and_their_whole_connections() {
    let simulation = simulation();
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    ingest(&app, ndjson(&simulation.events)).await;
    let (from, to) = ("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z");

    // A few keys of each kind, and the events each matches (from the simulation itself).
    let keys: [(&str, fn(&WireEvent) -> Vec<&str>); 4] = [
        ("subject", |e| e.subject.as_deref().into_iter().collect()),
        ("client_id", |e| {
            e.client.id.as_deref().into_iter().collect()
        }),
        ("ip", |e| e.network.ip.as_deref().into_iter().collect()),
        ("token_id", |e| {
            [&e.token.id, &e.token.parent_id, &e.token.refresh_token_id]
                .into_iter()
                .filter_map(|t| t.as_deref())
                .collect()
        }),
    ];
    let mut members_checked = 0;
    let mut loose_checked = 0;
    for (name, keys_of) in keys {
        let values: BTreeSet<&str> = simulation
            .events
            .iter()
            .flat_map(|e| keys_of(&e.event))
            .collect();
        for value in values.iter().step_by(values.len() / 3 + 1) {
            let expected: BTreeSet<&str> = simulation
                .events
                .iter()
                .filter(|e| keys_of(&e.event).contains(value))
                .map(|e| e.event.id.as_str())
                .collect();
            let key = url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
            let (status, timeline) = app
                .get(&format!("/v1/timeline?{name}={key}&from={from}&to={to}"))
                .await;
            assert_eq!(status, 200, "{timeline}");
            assert_eq!(timeline["truncated"], false, "{name}={value}");

            let mut shown: Vec<&str> = Vec::new();
            for group in timeline["groups"].as_array().unwrap() {
                let ids: Vec<&str> = group["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|e| e["event"]["event_id"].as_str())
                    .collect();
                shown.extend(&ids);
                match group["connection"]["connection_id"].as_str() {
                    Some(connection_id) => {
                        let (status, detail) =
                            app.get(&format!("/v1/connections/{connection_id}")).await;
                        assert_eq!(status, 200, "{detail}");
                        let all: BTreeSet<&str> = detail["events"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|e| e["event"]["event_id"].as_str().unwrap())
                            .collect();
                        let ids: BTreeSet<&str> = ids.into_iter().collect();
                        assert_eq!(ids, all, "{name}={value}: connection {connection_id}");
                        assert!(
                            ids.iter().any(|id| expected.contains(id)),
                            "{name}={value}: connection {connection_id} holds no matching event"
                        );
                        members_checked += 1;
                    }
                    None => {
                        for id in &ids {
                            assert!(expected.contains(id), "{name}={value}: {id} does not match");
                        }
                        loose_checked += ids.len();
                    }
                }
            }
            let unique: BTreeSet<&str> = shown.iter().copied().collect();
            assert_eq!(
                unique.len(),
                shown.len(),
                "{name}={value}: an event shown twice"
            );
            assert!(
                expected.is_subset(&unique),
                "{name}={value}: missing {:?}",
                expected.difference(&unique).collect::<Vec<_>>()
            );
        }
    }
    // Both kinds of group were exercised.
    assert!(members_checked > 10, "{members_checked} connection groups");
    assert!(loose_checked > 0, "no event outside a connection");
    app.stop().await;
}

/// A fresh store whose writer (still running) took `body` through `trustpath ingest`'s
/// path, in batches of 200, with `max_lag` as `correlate.max_lag`.
struct Burst {
    store: trustpath::store::Store,
    writer: trustpath::store::Writer,
    thread: trustpath::store::writer::WriterThread,
    /// Batches the writer committed without their correlation.
    deferred: usize,
    dir: tempfile::TempDir,
}

impl Burst {
    async fn ingest(body: &[u8], max_lag: std::time::Duration) -> Burst {
        use trustpath::collect::file::NdjsonReader;
        use trustpath::normalize::Normalizer;
        use trustpath::pipeline::Ingest;
        use trustpath::store::Store;

        let dir = tempfile::tempdir().unwrap();
        let config = test_config(dir.path());
        let store = Store::open(&config.store).unwrap();
        let mut correlate = config.correlate.clone();
        correlate.max_lag = max_lag;
        let (writer, thread) = store.writer(2, correlate, None).unwrap();
        let ingest = Ingest::new(Normalizer::new(64 * 1024), writer.clone());
        let mut reader = NdjsonReader::new(body, "burst.ndjson", "native", 64 * 1024);
        let mut deferred = 0;
        reader
            .ingest_all(&ingest, 200, |_, report| {
                deferred += usize::from(!report.commit.correlated);
            })
            .await
            .unwrap();
        Burst {
            store,
            writer,
            thread,
            deferred,
            dir,
        }
    }

    /// Stops the writer (after the last correlation and its checkpoint).
    async fn stop(self) -> (trustpath::store::Store, tempfile::TempDir) {
        drop(self.writer);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap();
        (self.store, self.dir)
    }
}

/// Ingests `body` as a [`Burst`]. Returns how many batches the writer committed without
/// their correlation, and every connection and membership once all is correlated.
async fn ingest_in_batches(body: &[u8], max_lag: std::time::Duration) -> (usize, String) {
    let burst = Burst::ingest(body, max_lag).await;
    let deferred = burst.deferred;
    // With the writer still running and nothing more coming, the backlog is correlated.
    let stats = burst.store.reader().unwrap();
    crate::harness::eventually("the deferred batches to be correlated", || async {
        (stats.stats().unwrap().uncorrelated_batches == 0).then_some(())
    })
    .await;
    let (store, _dir) = burst.stop().await;

    let db = store.connection().unwrap();
    let rows = |sql: &str| -> Vec<String> {
        let mut statement = db.prepare(sql).unwrap();
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let connections = rows(
        "SELECT concat_ws(' ', connection_id, root_token_id, first_seen, last_seen, events, \
         tokens, verdict, violated, unknown, trust_path) FROM connections ORDER BY connection_id",
    );
    let members = rows(
        "SELECT concat_ws(' ', event_id, connection_id, via) FROM connection_members \
         ORDER BY event_id",
    );
    assert!(connections.len() > 300 && members.len() > 3_000);
    (
        deferred,
        format!("{}\n{}", connections.join("\n"), members.join("\n")),
    )
}

/// An export or a replay asks the writer to catch up first: once `catch_up` returns, no
/// batch of the burst committed before it is left uncorrelated (the writer would otherwise
/// still be in its idle passes, or not have started them).
#[tokio::test]
async fn catching_up_correlates_every_batch_committed_before() {
    let body = ndjson(&simulation().events);
    let burst = Burst::ingest(&body, std::time::Duration::from_secs(3600)).await;
    assert!(
        burst.deferred > 1,
        "the burst left a backlog to catch up on"
    );
    burst.writer.catch_up().await.unwrap();
    let stats = burst.store.reader().unwrap().stats().unwrap();
    assert_eq!(stats.uncorrelated_batches, 0, "caught up: {stats:?}");
    burst.stop().await;
}

#[tokio::test]
async fn a_burst_is_committed_first_and_correlated_after_to_the_same_trust_paths() {
    let body = ndjson(&simulation().events);
    let (inline, each_in_its_commit) = ingest_in_batches(&body, std::time::Duration::ZERO).await;
    assert_eq!(
        inline, 0,
        "correlate.max_lag = 0s correlates every batch in its commit"
    );
    let (deferred, after_the_burst) =
        ingest_in_batches(&body, std::time::Duration::from_secs(3600)).await;
    assert!(
        deferred > 0,
        "with the next batch waiting, the writer commits it before correlating"
    );
    assert!(
        each_in_its_commit == after_the_burst,
        "deferred correlation ends with the same connections, trust paths and members"
    );
}

/// A connection summary never reads the trust path it does not show: passed the table's
/// whole row, DuckDB decompresses every scanned row's trust path (zstd, ≈ 5 KB each), which
/// made a subject's connections 14× and a timeline 2× slower on a 1 M-event store.
#[test]
fn connection_summaries_never_read_trust_paths() {
    let dir = tempfile::tempdir().unwrap();
    let store = trustpath::store::Store::open(&test_config(dir.path()).store).unwrap();
    let db = store.connection().unwrap();
    let plan = |sql: &str, params: &[&dyn duckdb::ToSql]| -> String {
        let mut statement = db.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let rows = statement
            .query_map(params, |row| row.get::<_, String>(1))
            .unwrap();
        rows.map(Result::unwrap).collect()
    };
    let none: Option<String> = None;
    let by_id = plan(
        include_str!("../../queries/connections_by_id.sql"),
        &[&r#"["c-1"]"#],
    );
    let mut list_params: Vec<&dyn duckdb::ToSql> = vec![&none; 10];
    let limit = 50_i64;
    list_params.push(&limit);
    let list = plan(include_str!("../../queries/connections.sql"), &list_params);
    for (name, plan) in [("connections_by_id", by_id), ("connections", list)] {
        assert!(plan.contains("connections"), "{name}: {plan}");
        assert!(
            !plan.contains("trust_path"),
            "{name} reads trust paths:\n{plan}"
        );
    }
    // The check can fail: the whole row does read them.
    let whole_row = plan(
        "SELECT connection_summary(connections)::VARCHAR FROM connections",
        &[],
    );
    assert!(whole_row.contains("trust_path"), "{whole_row}");
}
