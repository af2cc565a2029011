//! Other formats in, OCSF out: a simulated organisation logged by Keycloak, Okta, Auth0,
//! its MCP gateways and an OCSF pipeline gives the same connections, trust-path verdicts
//! and alerts as the same traffic in trustpath's own format (minus what each format does
//! not carry), whether it arrives over HTTP, NATS or a file; the OCSF export has the
//! structure of its classes; bad vendor records are kept with the adapter's reason.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trustpath::adapt::{self, Adapters, Format};
use trustpath::config::Config;
use trustpath::event::SourceType;
use trustpath::normalize::Normalizer;
use trustpath::simulate::{Attack, Encoded, Simulation, generate};

use crate::harness::{
    NatsServer, TestApp, app_with_nats, store_dir, succeed, test_config, trustpath, wait_for_counts,
};

const VENDOR_FORMATS: [Format; 5] = [
    Format::Keycloak,
    Format::Okta,
    Format::Auth0,
    Format::Ocsf,
    Format::Gateway,
];

const SEED: u64 = 5;
const FLOWS: usize = 80;

fn simulation() -> Simulation {
    let mut options = crate::simulate::options(SEED, Attack::ALL.iter().map(|&a| (a, 1)).collect());
    options.flows = FLOWS;
    generate(&options)
}

/// `trustpath simulate --format FORMAT` of the same organisation and traffic as [`simulation`].
fn simulate(format: Format) -> std::process::Command {
    let size = crate::simulate::options(SEED, Vec::new()).size;
    let mut command = trustpath();
    command.args([
        "simulate".to_owned(),
        format!("--seed={SEED}"),
        format!("--flows={FLOWS}"),
        format!("--users={}", size.users),
        format!("--clients={}", size.clients),
        format!("--resources={}", size.resources),
        "--attacks=all".to_owned(),
        format!("--format={format}"),
    ]);
    command
}

/// What a deployment configures for sources that do not name their issuer: each
/// authorization server's name (Keycloak realm, Okta authorization server) and host (Auth0
/// tenant domain) → its issuer.
fn with_issuers(mut config: Config, simulation: &Simulation) -> Config {
    let mut issuers = BTreeMap::new();
    for sim in &simulation.events {
        let event = &sim.event;
        if event.source.source_type != Some(SourceType::AuthorizationServer) {
            continue;
        }
        let (Some(name), Some(issuer)) = (&event.source.name, &event.issuer) else {
            continue;
        };
        issuers.entry(name.clone()).or_insert(issuer.clone());
        let host = issuer.trim_start_matches("https://").trim_end_matches('/');
        issuers.entry(host.to_owned()).or_insert(issuer.clone());
    }
    config.adapters.keycloak.issuers = issuers.clone();
    config.adapters.okta.issuers = issuers.clone();
    config.adapters.auth0.issuers = issuers;
    config
}

/// The native twin of a vendor run: every event as `format` would deliver it, i.e. without
/// the fields that format does not carry.
fn native_twin(simulation: &Simulation, format: Format) -> Vec<u8> {
    let mut body = Vec::new();
    for sim in &simulation.events {
        let (emitted_as, _) = adapt::emit(format, &sim.event);
        let event = adapt::without(&sim.event, adapt::not_carried(emitted_as));
        body.extend(serde_json::to_vec(&event).unwrap());
        body.push(b'\n');
    }
    body
}

/// Posts each run of same-format records with `?format=`.
async fn post_encoded(app: &TestApp, records: &[Encoded]) {
    for run in records.chunk_by(|a, b| a.0 == b.0) {
        let body: Vec<u8> = run
            .iter()
            .flat_map(|(_, line)| line.iter().copied().chain([b'\n']))
            .collect();
        let (status, answer) = app
            .post(&format!("/v1/events?format={}", run[0].0), body)
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["rejected"], 0, "{} records: {answer}", run[0].0);
    }
}

/// What the analyst sees after the run: each connection's root token, subject, client,
/// resource and link verdicts; and how many alerts each rule raised.
#[derive(Debug, PartialEq)]
struct Outcome {
    connections: Vec<Value>,
    alerts: BTreeMap<String, usize>,
}

/// Stops `app` (the detector finishes the last batches), then reads what it stored.
async fn outcome(app: TestApp, config: Config) -> Outcome {
    app.stop().await;
    let app = TestApp::start(config).await;
    let (status, page) = app.get("/v1/connections?limit=10000").await;
    assert_eq!(status, 200, "{page}");
    let mut connections: Vec<Value> = page["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!([
                c["root_token_id"],
                c["subject"],
                c["client_id"],
                c["resource"],
                c["issuer"],
                c["verdict"],
                c["violated"],
                c["unknown"],
                c["events"]
            ])
        })
        .collect();
    connections.sort_by_key(Value::to_string);
    let (status, page) = app.get("/v1/alerts?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    let mut alerts = BTreeMap::new();
    for alert in page["alerts"].as_array().unwrap() {
        *alerts
            .entry(alert["rule_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    app.stop().await;
    Outcome {
        connections,
        alerts,
    }
}

async fn run_native(simulation: &Simulation, format: Format, config: Config) -> Outcome {
    let app = TestApp::start(config.clone()).await;
    let (status, answer) = app
        .post("/v1/events", native_twin(simulation, format))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rejected"], 0, "{answer}");
    wait_for_counts(&app, simulation.events.len() as i64, 0).await;
    outcome(app, config).await
}

/// Every event of a simulation with every attack comes back through its format's adapter
/// as it went in, minus what the format does not carry.
#[test]
fn every_simulated_event_reads_back_through_every_format() {
    let simulation = simulation();
    let config = with_issuers(Config::default(), &simulation);
    let adapters = Adapters::new(config.adapters.clone());
    let normalizer = Normalizer::new(64 * 1024).with_adapters(adapters);
    let mut mismatches = Vec::new();
    for format in VENDOR_FORMATS {
        for sim in &simulation.events {
            let (emitted_as, record) = adapt::emit(format, &sim.event);
            if emitted_as == Format::Native {
                continue;
            }
            let raw = serde_json::to_vec(&record).unwrap();
            let mut back = normalizer
                .read(&raw, emitted_as)
                .unwrap_or_else(|e| panic!("{emitted_as}: {e}\n{record}"));
            back.id = sim.event.id.clone();
            // What a format does not carry is not compared (Auth0 names the server by its
            // host, where the simulator has a short name).
            let back = adapt::without(&back, adapt::not_carried(emitted_as));
            let expected = adapt::without(&sim.event, adapt::not_carried(emitted_as));
            if back != expected {
                mismatches.push(format!(
                    "{emitted_as} {}:\n  sent {}\n  read {}",
                    sim.event.id,
                    serde_json::to_string(&expected).unwrap(),
                    serde_json::to_string(&back).unwrap()
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn vendor_logs_give_the_verdicts_and_alerts_of_native_events() {
    for format in VENDOR_FORMATS {
        let mut simulation = simulation();
        let native = {
            let dir = tempfile::tempdir().unwrap();
            let config = with_issuers(test_config(dir.path()), &simulation);
            run_native(&simulation, format, config).await
        };
        // Auth0 logs no token ids, and connections grow from tokens: through Auth0 alone
        // there are none to compare (README lists it).
        assert_eq!(
            native.connections.is_empty(),
            format == Format::Auth0,
            "{format}"
        );

        let records = simulation.encode(format);
        let in_format = records.iter().filter(|(f, _)| *f == format).count();
        assert!(
            in_format > 200,
            "{format}: {in_format} of {}",
            records.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let config = with_issuers(test_config(dir.path()), &simulation);
        let app = TestApp::start(config.clone()).await;
        post_encoded(&app, &records).await;
        wait_for_counts(&app, records.len() as i64, 0).await;
        let vendor = outcome(app, config).await;

        eprintln!(
            "{format}: {} records ({in_format} {format}), {} connections, alerts {:?}",
            records.len(),
            vendor.connections.len(),
            vendor.alerts
        );
        assert_eq!(vendor.alerts, native.alerts, "{format}: alerts per rule");
        assert_eq!(
            vendor.connections.len(),
            native.connections.len(),
            "{format}: connections"
        );
        for (vendor, native) in vendor.connections.iter().zip(&native.connections) {
            assert_eq!(vendor, native, "{format}: connection");
        }
    }
}

#[tokio::test]
async fn simulate_publishes_vendor_formats_to_nats_and_the_collector_reads_them() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut simulation = simulation();
    let config = with_issuers(test_config(dir.path()), &simulation);
    let app = app_with_nats(&nats, config).await;
    let records = simulation.encode(Format::Keycloak);

    succeed(simulate(Format::Keycloak).args(["--nats", &nats.url()]));
    wait_for_counts(&app, records.len() as i64, 0).await;
    let (_, page) = app.get("/v1/events?limit=10000").await;
    let mut by_format: BTreeMap<String, usize> = BTreeMap::new();
    for event in page["events"].as_array().unwrap() {
        *by_format
            .entry(event["format"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (format, _) in &records {
        *expected.entry(format.to_string()).or_default() += 1;
    }
    assert_eq!(by_format, expected);
    assert!(by_format["keycloak"] > 0 && by_format["gateway"] > 0);

    // The API's OCSF rendering: every stored event, each in a class whose structure holds.
    let (status, page) = app.get("/v1/events?limit=10000&format=ocsf").await;
    assert_eq!(status, 200, "{page}");
    let ocsf = page["events"].as_array().unwrap();
    assert_eq!(ocsf.len(), records.len());
    for record in ocsf {
        adapt::ocsf::check_structure(record).unwrap_or_else(|e| panic!("{e}: {record}"));
    }
    let (status, answer) = app.get("/v1/events?format=cef").await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("format"), "{answer}");
}

#[tokio::test]
async fn vendor_files_ingest_with_format_and_export_as_ocsf() {
    let (_dir, store) = store_dir();
    let out = tempfile::tempdir().unwrap();
    let config_path = out.path().join("trustpath.toml");
    let simulation = simulation();
    let config = with_issuers(Config::default(), &simulation);
    std::fs::write(
        &config_path,
        format!(
            "[adapters.okta.issuers]\n{}",
            config
                .adapters
                .okta
                .issuers
                .iter()
                .map(|(k, v)| format!("{k:?} = {v:?}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let sim_dir = out.path().join("okta-sim");
    succeed(simulate(Format::Okta).arg("--out").arg(&sim_dir));
    let mut files: Vec<String> = std::fs::read_dir(&sim_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["gateway.ndjson", "native.ndjson", "okta.ndjson"]);
    let mut total = 0;
    for file in &files {
        let format = file.trim_end_matches(".ndjson");
        let answer = succeed(
            trustpath()
                .args(["ingest", "--json", "--format", format, "--config"])
                .arg(&config_path)
                .arg("--store-path")
                .arg(&store)
                .arg(sim_dir.join(file)),
        );
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["rejected"], 0, "{file}: {answer}");
        total += answer["accepted"].as_u64().unwrap();
    }
    assert!(total > 500, "{total}");

    // Every stored event renders as OCSF in a class whose structure holds.
    let exported = succeed(
        trustpath()
            .args([
                "events",
                "--format",
                "ocsf",
                "--limit",
                "10000",
                "--store-path",
            ])
            .arg(&store),
    );
    let mut classes = BTreeMap::new();
    for line in exported.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        adapt::ocsf::check_structure(&record).unwrap_or_else(|e| panic!("{e}: {record}"));
        assert!(
            record["unmapped"]["trustpath_store"]["raw_sha256"].is_string(),
            "{record}"
        );
        *classes
            .entry(record["class_uid"].as_u64().unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(exported.lines().count() as u64, total);
    assert!(classes.len() >= 2, "{classes:?}");
}

#[tokio::test]
async fn unreadable_vendor_records_are_kept_with_the_adapters_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start(test_config(dir.path())).await;
    let cases: [(&str, Value, &str); 4] = [
        (
            "keycloak",
            json!({"id": "k1", "time": 1795687200123_i64, "type": "UPDATE_PROFILE", "realmId": "mcp"}),
            "keycloak record: ",
        ),
        (
            "okta",
            json!({"uuid": "o1", "eventType": "app.oauth2.as.token.grant", "debugContext": {}}),
            "okta record: ",
        ),
        (
            "auth0",
            json!({"log_id": "a1", "date": "yesterday", "type": "seacft"}),
            "auth0 record: ",
        ),
        (
            "ocsf",
            json!({"class_uid": 4001, "time": 1795687200123_i64}),
            "ocsf record: ",
        ),
    ];
    for (format, record, reason) in &cases {
        let (status, answer) = app
            .post(&format!("/v1/events?format={format}"), record.to_string())
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["rejected"], 1, "{format}: {answer}");
        let error = answer["errors"][0]["reason"].as_str().unwrap();
        assert!(error.starts_with(reason), "{format}: {error}");
    }
    let (_, rejected) = app.get("/v1/rejected").await;
    assert_eq!(rejected["rejected"].as_array().unwrap().len(), cases.len());

    // A rejected record keeps no credentials: Keycloak's admin event for a regenerated
    // client secret holds the new secret in its representation.
    let secret_action = json!({"id": "k9", "time": 1795687200123_i64, "realmId": "mcp",
        "operationType": "ACTION", "resourceType": "CLIENT",
        "resourcePath": "clients/7d1c/client-secret",
        "representation": {"type": "secret", "value": "n3w-s3cr3t-v4lue"},
        "authDetails": {"realmId": "master", "clientId": "admin-cli"}})
    .to_string();
    let (_, answer) = app
        .post("/v1/events?format=keycloak", secret_action.clone())
        .await;
    assert_eq!(answer["rejected"], 1, "{answer}");
    let (_, rejected) = app.get("/v1/rejected").await;
    let kept = rejected["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["raw_sha256"] == trustpath::normalize::sha256_hex(secret_action.as_bytes()))
        .unwrap_or_else(|| panic!("kept under the hash of what was sent: {rejected}"));
    assert!(!kept.to_string().contains("n3w-s3cr3t-v4lue"), "{kept}");
    assert!(
        kept["raw"].as_str().unwrap().contains("redacted:sha256:"),
        "{kept}"
    );
    assert!(
        kept["reason"]
            .as_str()
            .unwrap()
            .contains("kept as their SHA-256"),
        "{kept}"
    );
}

/// Keycloak logs the consent given on its login screen only in `LOGIN`'s `consent` detail:
/// that request is the connection's consent, and without the detail the link is violated.
#[tokio::test]
async fn keycloak_consent_on_the_login_screen_is_the_connections_consent() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.adapters.keycloak.issuer_base = Some("https://sso.example.com".to_owned());
    let app = TestApp::start(config).await;
    let flow = |n: u32, consent: Option<&str>| {
        let mut login = json!({
            "id": format!("login-{n}"), "time": 1795687199001_i64 + i64::from(n) * 60_000,
            "type": "LOGIN", "realmId": "mcp", "clientId": "https://app.example.com/oauth/client.json",
            "userId": format!("user-{n}"), "ipAddress": "203.0.113.7",
            "details": {"auth_method": "openid-connect", "redirect_uri": "https://app.example.com/cb",
                        "code_id": format!("code-{n}"), "username": "alice"}
        });
        if let Some(consent) = consent {
            login["details"]["consent"] = json!(consent);
        }
        let token = json!({
            "id": format!("token-{n}"), "time": 1795687200123_i64 + i64::from(n) * 60_000,
            "type": "CODE_TO_TOKEN", "realmId": "mcp", "clientId": "https://app.example.com/oauth/client.json",
            "userId": format!("user-{n}"), "ipAddress": "203.0.113.7",
            "details": {"token_id": format!("at-{n}"), "grant_type": "authorization_code",
                        "refresh_token_id": format!("rt-{n}"), "scope": "openid files:read",
                        "code_id": format!("code-{n}"), "audience": "https://mcp.example.com/mcp"}
        });
        format!("{login}\n{token}\n")
    };
    let body = flow(1, Some("consent_granted")) + &flow(2, None);
    let (status, answer) = app.post("/v1/events?format=keycloak", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 4, "{answer}");

    let consent_link = |detail: &Value| {
        detail["trust_path"]["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|link| link["link"] == "consent")
            .cloned()
            .unwrap()
    };
    let (_, detail) = app.get("/v1/tokens/at-1/trust-path").await;
    let link = consent_link(&detail);
    assert_eq!(link["verdict"], "ok", "{link:#}");
    assert_eq!(
        detail["connection"]["issuer"],
        "https://sso.example.com/realms/mcp"
    );
    let (_, detail) = app.get("/v1/tokens/at-2/trust-path").await;
    let link = consent_link(&detail);
    assert_eq!(link["verdict"], "violated", "{link:#}");
}

/// An adapter subject configured after the stream was created is added to the stream, and
/// its messages are read by that adapter, even under a broader native subject.
#[tokio::test]
async fn an_existing_stream_learns_new_adapter_subjects() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_nats(&nats, test_config(dir.path())).await;
    app.stop().await;

    let mut config = test_config(dir.path());
    config.adapters.okta.subjects = Some(vec!["audit.okta.>".to_owned()]);
    config.adapters.native.subjects = Some(vec!["audit.>".to_owned()]);
    let app = app_with_nats(&nats, config).await;
    let js = crate::harness::jetstream(&nats).await;
    let okta = include_str!("../fixtures/okta_token_grant.json").trim();
    js.publish("audit.okta.prod", okta.as_bytes().to_vec().into())
        .await
        .expect("publish")
        .await
        .expect("the stream captures audit.okta.>");
    wait_for_counts(&app, 1, 0).await;
    let (_, page) = app.get("/v1/events").await;
    assert_eq!(page["events"][0]["format"], "okta", "{page}");
    assert_eq!(page["events"][0]["kind"], "token.issue", "{page}");
}
