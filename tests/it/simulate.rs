//! The simulator: reproducible, faithful to the MCP authorization flow when benign, every
//! attack labelled with evidence that exists, and everything it sends stored exactly once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use trustpath::event::{Kind, Outcome, WireEvent};
use trustpath::simulate::world::Size;
use trustpath::simulate::{Attack, Options, encode_native, generate};

use crate::harness::{
    NatsServer, TestApp, app_with_nats, succeed, test_config, trustpath, wait_for_counts,
};

/// A small organisation over two days: what the simulator and trust-path tests run on.
pub fn options(seed: u64, attacks: Vec<(Attack, usize)>) -> Options {
    Options {
        seed,
        flows: 300,
        size: Size {
            users: 40,
            clients: 12,
            resources: 5,
        },
        start: "2026-11-01T00:00:00Z".parse().unwrap(),
        days: 2.0,
        attacks,
    }
}

fn bytes(seed: u64) -> Vec<u8> {
    let simulation = generate(&options(
        seed,
        Attack::ALL.iter().map(|&a| (a, 1)).collect(),
    ));
    simulation
        .events
        .iter()
        .flat_map(|e| encode_native(e).into_iter().chain([b'\n']))
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    assert_eq!(bytes(7), bytes(7));
    assert_ne!(bytes(7), bytes(8));
}

/// A long simulation in parts: the parts share the organisation (subjects) but not their
/// flows or event ids, and part 0 is the plain simulation.
#[test]
fn parts_share_the_organisation_not_the_events() {
    let whole = |part| trustpath::simulate::generate_part(&options(7, Vec::new()), part);
    let (first, second) = (whole(0), whole(1));
    let ids = |s: &trustpath::simulate::Simulation| -> BTreeSet<String> {
        s.events.iter().map(|e| e.event.id.clone()).collect()
    };
    let subjects = |s: &trustpath::simulate::Simulation| -> BTreeSet<String> {
        s.events
            .iter()
            .filter_map(|e| e.event.subject.clone())
            .collect()
    };
    assert!(
        ids(&first).is_disjoint(&ids(&second)),
        "no event id is reused"
    );
    assert_eq!(ids(&first), ids(&generate(&options(7, Vec::new()))));
    let shared = subjects(&first).intersection(&subjects(&second)).count();
    assert!(
        shared * 2 > subjects(&first).len(),
        "the same users: {shared} of {} subjects",
        subjects(&first).len()
    );
}

/// Source clocks differ by up to ±2 s (DOMAIN: slight disorder between sources).
const SKEW: i64 = 5;

fn before(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a <= b + Duration::seconds(SKEW)
}

#[test]
fn benign_flows_obey_the_authorization_flow() {
    let simulation = generate(&options(3, vec![]));
    let events: Vec<&WireEvent> = simulation.events.iter().map(|e| &e.event).collect();
    assert!(events.len() > 3_000, "{} events", events.len());
    let client_of = |e: &WireEvent| e.client.id.clone().unwrap_or_default();
    let subject_of = |e: &WireEvent| e.subject.clone().unwrap_or_default();

    let mut issued: HashMap<String, &WireEvent> = HashMap::new();
    let mut refresh_issued: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut presented: BTreeSet<String> = BTreeSet::new();
    for &event in &events {
        if event.kind != Kind::TokenIssue || event.outcome != Some(Outcome::Success) {
            continue;
        }
        let key = (subject_of(event), client_of(event));
        match event.token.grant_type.as_deref() {
            Some("authorization_code") => {
                let has = |kind: Kind| {
                    events.iter().any(|e| {
                        e.kind == kind
                            && (subject_of(e), client_of(e)) == key
                            && before(e.time, event.time)
                    })
                };
                assert!(
                    has(Kind::AuthorizationRequest),
                    "token {} has no earlier authorization request",
                    event.id
                );
                assert!(
                    has(Kind::ConsentGrant),
                    "token {} has no earlier consent",
                    event.id
                );
            }
            Some("refresh_token") => {
                let parent = event
                    .token
                    .parent_id
                    .clone()
                    .expect("a refresh names its parent");
                assert!(
                    presented.insert(parent.clone()),
                    "refresh token {parent} presented twice"
                );
                let rotated_at = refresh_issued
                    .get(&parent)
                    .unwrap_or_else(|| panic!("{parent} was never issued"));
                assert!(before(*rotated_at, event.time));
            }
            other => panic!("unexpected grant {other:?}"),
        }
        issued.insert(event.token.id.clone().unwrap(), event);
        refresh_issued.insert(event.token.refresh_token_id.clone().unwrap(), event.time);
    }

    let mut uses = 0;
    for &event in events.iter().filter(|e| e.kind == Kind::ResourceAccess) {
        let token = event.token.id.as_ref().unwrap();
        let issue = issued
            .get(token)
            .unwrap_or_else(|| panic!("use {} of a token never issued", event.id));
        let audience = issue.token.audience.as_ref().unwrap();
        assert!(
            audience.contains(event.resource.as_ref().unwrap()),
            "use {} outside the audience",
            event.id
        );
        assert!(
            before(issue.time, event.time),
            "use {} before its token",
            event.id
        );
        assert!(
            before(event.time, issue.token.expires_at.unwrap()),
            "use {} after expiry",
            event.id
        );
        uses += 1;
    }
    assert!(uses > 500, "{uses} uses");

    // Client identity fits the issuer: CIMD documents are fetched only by issuers that
    // support CIMD, and DCR clients registered at the issuer before getting a token.
    let cimd_issuers: BTreeSet<String> = events
        .iter()
        .filter(|e| e.kind == Kind::AsMetadataFetch && e.attributes["cimd_supported"] == true)
        .map(|e| e.issuer.clone().unwrap())
        .collect();
    for &event in &events {
        if event.kind == Kind::ClientDocumentFetch {
            assert!(
                cimd_issuers.contains(event.issuer.as_ref().unwrap()),
                "{} fetched at a non-CIMD issuer",
                event.id
            );
        }
        if event.kind == Kind::TokenIssue
            && event.client.registration == Some(trustpath::event::Registration::Dcr)
        {
            let registered = events.iter().any(|e| {
                e.kind == Kind::ClientRegister
                    && e.client.id == event.client.id
                    && e.issuer == event.issuer
            });
            assert!(
                registered,
                "DCR client of {} never registered at {:?}",
                event.id, event.issuer
            );
        }
    }

    // Metadata facts are stable per entity.
    let mut prm: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut documents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for &event in &events {
        if let Some(sha) = &event.metadata.document_sha256 {
            prm.entry(event.resource.clone().unwrap())
                .or_default()
                .insert(sha.clone());
        }
        if let Some(sha) = &event.client.document_sha256 {
            documents
                .entry(client_of(event))
                .or_default()
                .insert(sha.clone());
        }
    }
    assert!(prm.values().all(|hashes| hashes.len() == 1), "{prm:?}");
    assert!(
        documents.values().all(|hashes| hashes.len() == 1),
        "{documents:?}"
    );
    assert!(!documents.is_empty());

    // Each kind of the flow shows up, failures included.
    let kinds: BTreeSet<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in Kind::ALL {
        assert!(kinds.contains(kind.as_str()), "no {kind} in benign traffic");
    }
    assert!(
        events
            .iter()
            .any(|e| e.kind == Kind::TokenIssue && e.outcome == Some(Outcome::Failure))
    );
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("insufficient_scope"))
    );
}

#[test]
fn every_attack_is_labelled_with_evidence_that_exists() {
    let simulation = generate(&options(5, Attack::ALL.iter().map(|&a| (a, 2)).collect()));
    let ids: BTreeSet<&str> = simulation
        .events
        .iter()
        .map(|e| e.event.id.as_str())
        .collect();
    for attack in Attack::ALL {
        let labels: Vec<_> = simulation
            .labels
            .iter()
            .filter(|l| l.attack == *attack)
            .collect();
        assert_eq!(labels.len(), 2, "{}", attack.id());
        for label in labels {
            assert_eq!(label.rule_ids, [attack.id()]);
            assert!(
                !label.evidence.is_empty(),
                "{} has no evidence",
                attack.id()
            );
            for id in &label.evidence {
                assert!(
                    ids.contains(id.as_str()),
                    "{}: evidence {id} is not in the output",
                    attack.id()
                );
            }
        }
    }
}

#[test]
fn simulated_events_are_all_valid() {
    let simulation = generate(&options(9, Attack::ALL.iter().map(|&a| (a, 1)).collect()));
    let normalizer = trustpath::normalize::Normalizer::new(64 * 1024);
    for event in &simulation.events {
        let raw = encode_native(event);
        normalizer
            .read(&raw, trustpath::normalize::Format::Native)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&raw)));
    }
}

/// Lines `trustpath simulate` writes for these arguments.
fn simulate_lines(dir: &std::path::Path, args: &[&str]) -> i64 {
    let out = dir.join("sim.ndjson");
    succeed(
        trustpath()
            .arg("simulate")
            .args(args)
            .arg("--out")
            .arg(&out),
    );
    std::fs::read_to_string(&out).unwrap().lines().count() as i64
}

const ARGS: &[&str] = &["--seed", "11", "--flows", "60", "--attacks", "all"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_to_nats_stored_exactly_once() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let expected = simulate_lines(dir.path(), ARGS);
    let app = app_with_nats(&nats, test_config(dir.path())).await;
    succeed(
        trustpath()
            .arg("simulate")
            .args(ARGS)
            .args(["--nats", &nats.url()]),
    );
    wait_for_counts(&app, expected, 0).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_over_http_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let expected = simulate_lines(dir.path(), ARGS);
    let app = TestApp::start(test_config(dir.path())).await;
    succeed(
        trustpath()
            .arg("simulate")
            .args(ARGS)
            .args(["--http", &app.base]),
    );
    // Sending twice changes nothing: the ids are the same.
    succeed(
        trustpath()
            .arg("simulate")
            .args(ARGS)
            .args(["--http", &app.base]),
    );
    wait_for_counts(&app, expected, 0).await;
    assert_eq!(app.stats().await["duplicates"], expected);
    app.stop().await;
}

#[tokio::test]
async fn demo_streams_into_a_fresh_store_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo.duckdb");
    let mut demo = trustpath()
        .args(["demo", "--rate", "5000", "--store"])
        .arg(&store)
        .env("TRUSTPATH_HTTP_LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let base = lines
        .by_ref()
        .find_map(|line| line.split(", API ").nth(1).map(str::to_owned))
        .expect("demo prints its API address");
    let printed: Vec<String> = lines
        .by_ref()
        .take_while(|line| !line.starts_with("Ctrl-C"))
        .collect();
    assert!(
        printed.iter().any(|line| line.contains("/v1/events")),
        "{printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|line| line.contains("TP007 issuer-not-advertised")),
        "{printed:#?}"
    );
    let done = lines
        .find(|line| line.starts_with("demo: all"))
        .expect("demo finishes streaming");
    let sent: i64 = done.split_whitespace().nth(2).unwrap().parse().unwrap();

    let stats = crate::harness::stats(&reqwest::Client::new(), &base).await;
    assert_eq!(stats["events"], sent, "every streamed event is stored");
    assert_eq!(stats["rejected"], 0);
    let newest: DateTime<Utc> = stats["newest_event"].as_str().unwrap().parse().unwrap();
    assert!(
        newest <= Utc::now(),
        "the demo shows the recent past, not the future: {newest}"
    );
    assert!(
        newest > Utc::now() - Duration::minutes(10),
        "and traffic that just happened: {newest}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(demo.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert!(
        demo.wait().unwrap().success(),
        "Ctrl-C stops the demo cleanly"
    );
}
