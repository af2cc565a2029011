//! Injected attacks, one per rule of DOMAIN.md §4, each written the way it would really
//! show up in logs, and each with a ground-truth [`Label`]: the rules that must fire and
//! the ids of the events that are the evidence.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::Serialize;

use super::flows::{
    History, Issued, Party, Recorder, Src, access, as_metadata, authorize, discover, fill_prm,
    grant_consent, hosting_ip, identify, issue, parties, party, public_ip, request_authorization,
    step, use_token,
};
use super::world::{Client, Resource, World, document_sha256, pick, prm_sha256};
use crate::event::{Consent, Kind, Outcome, Registration};

macro_rules! attacks {
    ($($variant:ident = $id:literal, $name:literal;)+) => {
        /// The attacks the simulator can inject, named by the rule that must catch them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
        pub enum Attack { $(#[serde(rename = $id)] $variant),+ }

        impl Attack {
            pub const ALL: &[Attack] = &[$(Attack::$variant),+];

            pub fn id(self) -> &'static str {
                match self { $(Attack::$variant => $id),+ }
            }

            pub fn name(self) -> &'static str {
                match self { $(Attack::$variant => $name),+ }
            }
        }

        impl std::str::FromStr for Attack {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text.to_ascii_uppercase().as_str() {
                    $($id => Ok(Attack::$variant),)+
                    _ => Err(format!("'{text}' is not a rule id (TP001 to TP017)")),
                }
            }
        }
    };
}

attacks! {
    ClientDocumentDrift = "TP001", "client-document-drift";
    NewClientHost = "TP002", "new-client-host";
    UnsafeDocumentFetch = "TP003", "unsafe-client-document-fetch";
    RedirectNotRegistered = "TP004", "redirect-not-registered";
    ScopeEscalation = "TP005", "scope-escalation";
    ScopeOutsideMetadata = "TP006", "scope-outside-metadata";
    IssuerNotAdvertised = "TP007", "issuer-not-advertised";
    MetadataDrift = "TP008", "metadata-drift";
    AudienceMismatch = "TP009", "audience-mismatch";
    TokenReplay = "TP010", "token-replay-across-resources";
    ConsentMissing = "TP011", "consent-missing";
    RevokedTokenUse = "TP012", "revoked-token-use";
    RefreshTokenReuse = "TP013", "refresh-token-reuse";
    StepUpLoop = "TP014", "step-up-loop";
    AuthFailureBurst = "TP015", "auth-failure-burst";
    DcrWhereCimdExpected = "TP016", "dcr-where-cimd-expected";
    IssuerEndpointOrigin = "TP017", "issuer-endpoint-origin";
}

/// Ground truth for one injected attack.
#[derive(Debug, Clone, Serialize)]
pub struct Label {
    pub attack: Attack,
    pub name: &'static str,
    /// Rules that must fire on it.
    pub rule_ids: Vec<&'static str>,
    /// Ids of the events that show it.
    pub evidence: Vec<String>,
    pub description: String,
}

/// Injects one `attack` starting at `start` and returns its label.
pub fn inject(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    attack: Attack,
    start: DateTime<Utc>,
) -> Label {
    let mut at = start;
    let (evidence, description) = match attack {
        Attack::ClientDocumentDrift => client_document_drift(rec, world, history, &mut at),
        Attack::NewClientHost => new_client_host(rec, world, history, &mut at),
        Attack::UnsafeDocumentFetch => unsafe_document_fetch(rec, world, history, &mut at),
        Attack::RedirectNotRegistered => redirect_not_registered(rec, world, &mut at),
        Attack::ScopeEscalation => scope_escalation(rec, world, history, &mut at),
        Attack::ScopeOutsideMetadata => scope_outside_metadata(rec, world, history, &mut at),
        Attack::IssuerNotAdvertised => issuer_not_advertised(rec, world, history, &mut at),
        Attack::MetadataDrift => metadata_drift(rec, world, &mut at),
        Attack::AudienceMismatch => audience_mismatch(rec, world, history, &mut at),
        Attack::TokenReplay => token_replay(rec, world, history, &mut at),
        Attack::ConsentMissing => consent_missing(rec, world, &mut at),
        Attack::RevokedTokenUse => revoked_token_use(rec, world, history, &mut at),
        Attack::RefreshTokenReuse => refresh_token_reuse(rec, world, history, &mut at),
        Attack::StepUpLoop => step_up_loop(rec, world, history, &mut at),
        Attack::AuthFailureBurst => auth_failure_burst(rec, world, &mut at),
        Attack::DcrWhereCimdExpected => dcr_where_cimd_expected(rec, world, &mut at),
        Attack::IssuerEndpointOrigin => issuer_endpoint_origin(rec, world, history, &mut at),
    };
    Label {
        attack,
        name: attack.name(),
        rule_ids: vec![attack.id()],
        evidence,
        description,
    }
}

type Injected = (Vec<String>, String);

/// The authorization server an attacker stands up (mix-up, spoofed metadata).
const ROGUE_ISSUER: &str = "https://auth.mcp-login.example";

/// Parties whose client has the wanted registration.
fn party_with<'w>(rec: &mut Recorder, world: &'w World, registration: Registration) -> Party<'w> {
    let candidates: Vec<&Client> = world
        .clients
        .iter()
        .filter(|c| c.registration == registration)
        .collect();
    // World::generate makes at least one client of each registration.
    let client = *pick(&mut rec.rng, &candidates);
    party(rec, world, client)
}

/// Discovery, identity, authorization and a first use: what every token-level attack
/// builds on.
fn approved<'w>(
    rec: &mut Recorder,
    world: &'w World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> (Party<'w>, Issued) {
    let p = parties(rec, world);
    let scopes = discover(rec, &p, at);
    identify(rec, history, &p, at);
    let token = authorize(rec, history, &p, at, &scopes);
    use_token(rec, &p, at, &token, 1);
    (p, token)
}

fn document_fetch(
    rec: &mut Recorder,
    p: &Party<'_>,
    at: &mut DateTime<Utc>,
    client: &Client,
    fill: impl FnOnce(&mut crate::event::WireEvent),
) -> String {
    let t = step(&mut rec.rng, at, 50, 400);
    let resolved = hosting_ip(&mut rec.rng);
    rec.emit(t, Src::Auth(p.issuer), Kind::ClientDocumentFetch, |e| {
        e.client.id = Some(client.id.clone());
        e.client.registration = Some(Registration::Cimd);
        e.client.name = Some(client.name.clone());
        e.client.document_sha256 = Some(client.document_sha256.clone());
        e.client.redirect_uris = Some(client.redirect_uris.clone());
        e.http.status = Some(200);
        e.http.bytes = Some(612);
        e.http.resolved_ip = Some(resolved);
        e.http.redirected = Some(false);
        fill(e);
    })
}

fn client_document_drift(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let p = party_with(rec, world, Registration::Cimd);
    discover(rec, &p, at);
    let first = document_fetch(rec, &p, at, p.client, |_| {});
    *at += Duration::hours(rec.rng.random_range(1..12));
    let collector = "https://collector.attacker.example/cb".to_owned();
    let mut redirects = p.client.redirect_uris.clone();
    redirects.push(collector.clone());
    let drifted_sha = document_sha256(&p.client.id, &p.client.name, &redirects);
    let drifted = document_fetch(rec, &p, at, p.client, |e| {
        e.client.document_sha256 = Some(drifted_sha.clone());
        e.client.redirect_uris = Some(redirects.clone());
    });
    let scopes = vec![p.resource.scopes_supported[0].clone()];
    let token = authorize(rec, history, &p, at, &scopes);
    (
        vec![first, drifted, token.event_id],
        format!(
            "client {} changed its document: sha256 {} → {drifted_sha}, redirect_uris added {collector}",
            p.client.id, p.client.document_sha256
        ),
    )
}

fn new_client_host(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let base = party_with(rec, world, Registration::Cimd);
    let host = format!("mcp-helper-{:04x}.example.net", rec.rng.random::<u16>());
    let redirect = format!("https://{host}/callback");
    let id = format!("https://{host}/client.json");
    let client = Client {
        document_sha256: document_sha256(&id, "MCP Helper", std::slice::from_ref(&redirect)),
        id,
        registration: Registration::Cimd,
        name: "MCP Helper".into(),
        redirect_uris: vec![redirect],
        user_agent: "mcp-helper/0.1".into(),
    };
    let p = Party {
        client: &client,
        ..base
    };
    discover(rec, &p, at);
    let fetch = document_fetch(rec, &p, at, &client, |_| {});
    let scopes = vec![p.resource.scopes_supported[0].clone()];
    let token = authorize(rec, history, &p, at, &scopes);
    (
        vec![fetch, token.event_id],
        format!(
            "client {} from the never-seen host {host} was approved",
            client.id
        ),
    )
}

fn unsafe_document_fetch(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let p = party_with(rec, world, Registration::Cimd);
    discover(rec, &p, at);
    let (what, fetch) = match rec.rng.random_range(0..4) {
        0 => (
            "resolved to the private address 10.20.0.7",
            document_fetch(rec, &p, at, p.client, |e| {
                e.http.resolved_ip = Some("10.20.0.7".into())
            }),
        ),
        1 => (
            "followed a redirect",
            document_fetch(rec, &p, at, p.client, |e| e.http.redirected = Some(true)),
        ),
        2 => (
            "was 48 KB, above the 5 KB limit",
            document_fetch(rec, &p, at, p.client, |e| e.http.bytes = Some(48_000)),
        ),
        _ => (
            "resolved to loopback 127.0.0.1",
            document_fetch(rec, &p, at, p.client, |e| {
                e.http.resolved_ip = Some("127.0.0.1".into())
            }),
        ),
    };
    let scopes = vec![p.resource.scopes_supported[0].clone()];
    let token = authorize(rec, history, &p, at, &scopes);
    (
        vec![fetch, token.event_id],
        format!("the document of {} {what} and was still used", p.client.id),
    )
}

fn redirect_not_registered(rec: &mut Recorder, world: &World, at: &mut DateTime<Utc>) -> Injected {
    let p = party_with(rec, world, Registration::Cimd);
    discover(rec, &p, at);
    let fetch = document_fetch(rec, &p, at, p.client, |_| {});
    let redirect = "https://attacker.example/oauth/callback";
    let scopes = [p.resource.scopes_supported[0].clone()];
    let request = request_authorization(rec, &p, at, &scopes, redirect);
    // The authorization server does not check the redirect: the code goes to the attacker,
    // who redeems it.
    let t = step(&mut rec.rng, at, 3_000, 20_000);
    grant_consent(rec, &p, t, &scopes, Consent::Explicit);
    let t = step(&mut rec.rng, at, 100, 900);
    let token = issue(rec, &p, t, &scopes, "authorization_code", None);
    (
        vec![fetch, request, token.event_id],
        format!(
            "authorization request for {} redirects to {redirect}, not in its document, and a \
             token was issued",
            p.client.id
        ),
    )
}

fn scope_escalation(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let (p, token) = approved(rec, world, history, at);
    *at = token.expires - Duration::minutes(2);
    let wider = p.resource.scopes_supported.clone();
    let t = step(&mut rec.rng, at, 100, 5_000);
    let refreshed = issue(rec, &p, t, &wider, "refresh_token", Some(&token.refresh));
    use_token(rec, &p, at, &refreshed, 1);
    (
        vec![token.event_id, refreshed.event_id],
        format!(
            "a refresh for {} at {} widened {:?} to {wider:?} without consent",
            p.user, p.resource.uri, token.scopes
        ),
    )
}

fn scope_outside_metadata(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let p = parties(rec, world);
    let mut scopes = discover(rec, &p, at);
    identify(rec, history, &p, at);
    let resource_name = p.resource.scopes_supported[0]
        .split(':')
        .next()
        .unwrap_or("mcp")
        .to_owned();
    scopes.push(format!("{resource_name}:superuser"));
    let token = authorize(rec, history, &p, at, &scopes);
    (
        vec![token.event_id],
        format!(
            "token for {} grants {resource_name}:superuser, which the PRM of {} does not list",
            p.user, p.resource.uri
        ),
    )
}

fn issuer_not_advertised(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let base = parties(rec, world);
    let rogue = super::world::Issuer {
        issuer: ROGUE_ISSUER.into(),
        metadata_url: format!("{ROGUE_ISSUER}/.well-known/oauth-authorization-server"),
        cimd_supported: true,
        skew_ms: 0,
    };
    let p = Party {
        issuer: &rogue,
        ..base
    };
    discover(rec, &p, at);
    let token = authorize(
        rec,
        history,
        &p,
        at,
        &[p.resource.scopes_supported[0].clone()],
    );
    let uses = use_token(rec, &p, at, &token, 2);
    let mut evidence = vec![token.event_id];
    evidence.extend(uses);
    (
        evidence,
        format!(
            "token issued by {} (not in the PRM of {}) was used there",
            rogue.issuer, p.resource.uri
        ),
    )
}

fn metadata_drift(rec: &mut Recorder, world: &World, at: &mut DateTime<Utc>) -> Injected {
    let resource: &Resource = pick(&mut rec.rng, &world.resources);
    let before = rec.emit(*at, Src::Gateway(resource), Kind::MetadataFetch, |e| {
        e.resource = Some(resource.uri.clone());
        fill_prm(e, resource, None);
        e.http.status = Some(200);
    });
    *at += Duration::minutes(rec.rng.random_range(5..120));
    let mut servers = resource.authorization_servers.clone();
    servers.push(ROGUE_ISSUER.into());
    let sha = prm_sha256(&resource.uri, &servers, &resource.scopes_supported);
    let after = rec.emit(*at, Src::Gateway(resource), Kind::MetadataFetch, |e| {
        e.resource = Some(resource.uri.clone());
        fill_prm(e, resource, Some((servers.clone(), sha.clone())));
        e.http.status = Some(200);
    });
    (
        vec![before, after],
        format!(
            "the PRM of {} now lists {servers:?} (sha256 {} → {sha})",
            resource.uri, resource.prm_sha256
        ),
    )
}

fn other_resource<'w>(
    rec: &mut Recorder,
    world: &'w World,
    not: &Resource,
) -> Option<&'w Resource> {
    let others: Vec<&Resource> = world
        .resources
        .iter()
        .filter(|r| r.uri != not.uri)
        .collect();
    (!others.is_empty()).then(|| *pick(&mut rec.rng, &others))
}

fn audience_mismatch(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let (p, token) = approved(rec, world, history, at);
    let target = other_resource(rec, world, p.resource)
        .map_or("https://mcp-upstream.acme.example/mcp".to_owned(), |r| {
            r.uri.clone()
        });
    let t = step(&mut rec.rng, at, 500, 30_000);
    let misuse = access(rec, &p, t, &token, &target, "export_all");
    (
        vec![token.event_id, misuse],
        format!(
            "token {} for {} was used at {target}",
            token.access, p.resource.uri
        ),
    )
}

fn token_replay(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let p = parties(rec, world);
    let scopes = discover(rec, &p, at);
    identify(rec, history, &p, at);
    let second = other_resource(rec, world, p.resource)
        .map_or("https://mcp-upstream.acme.example/mcp".to_owned(), |r| {
            r.uri.clone()
        });
    let t = step(&mut rec.rng, at, 100, 900);
    // The token's audience names both resources, so only the replay rule should fire.
    let mut token = issue(rec, &p, t, &scopes, "authorization_code", None);
    if let Some(last) = rec.events.last_mut() {
        last.event.token.audience = Some(vec![p.resource.uri.clone(), second.clone()]);
    }
    token.scopes = scopes;
    let t = step(&mut rec.rng, at, 500, 5_000);
    let first = access(rec, &p, t, &token, &p.resource.uri, "search");
    let t = step(&mut rec.rng, at, 500, 5_000);
    let replay = access(rec, &p, t, &token, &second, "search");
    (
        vec![token.event_id, first, replay],
        format!(
            "token {} used at {} and {second}",
            token.access, p.resource.uri
        ),
    )
}

fn consent_missing(rec: &mut Recorder, world: &World, at: &mut DateTime<Utc>) -> Injected {
    let p = parties(rec, world);
    // A fresh user that never consented to this client.
    let user = format!(
        "contractor{:04}@{}.example",
        rec.rng.random_range(0..10_000),
        world.org
    );
    let p = Party { user: &user, ..p };
    let scopes = discover(rec, &p, at);
    request_authorization(rec, &p, at, &scopes, &p.client.redirect_uris[0]);
    let t = step(&mut rec.rng, at, 100, 900);
    let token = issue(rec, &p, t, &scopes, "authorization_code", None);
    (
        vec![token.event_id],
        format!(
            "{user} got a token for {} with no consent ever recorded",
            p.client.id
        ),
    )
}

fn revoked_token_use(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let (p, token) = approved(rec, world, history, at);
    let t = step(&mut rec.rng, at, 1_000, 60_000);
    let revoke = rec.emit(t, Src::Auth(p.issuer), Kind::TokenRevoke, |e| {
        p.fill_client(e);
        e.subject = Some(p.user.to_owned());
        e.token.id = Some(token.access.clone());
    });
    // Well after the revocation, beyond any clock skew between the two logs.
    let t = step(&mut rec.rng, at, 30_000, 600_000);
    let after = access(rec, &p, t, &token, &p.resource.uri, "search");
    (
        vec![revoke, after],
        format!(
            "token {} succeeded at {} after it was revoked",
            token.access, p.resource.uri
        ),
    )
}

fn refresh_token_reuse(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let (p, token) = approved(rec, world, history, at);
    *at = token.expires - Duration::minutes(3);
    let t = step(&mut rec.rng, at, 100, 5_000);
    let legit = issue(
        rec,
        &p,
        t,
        &token.scopes,
        "refresh_token",
        Some(&token.refresh),
    );
    // The rotated-out refresh token comes back, from somewhere else.
    let thief = Party {
        ip: public_ip(&mut rec.rng),
        ..p.clone()
    };
    let t = step(&mut rec.rng, at, 60_000, 3_600_000);
    let stolen = issue(
        rec,
        &thief,
        t,
        &token.scopes,
        "refresh_token",
        Some(&token.refresh),
    );
    (
        vec![legit.event_id, stolen.event_id],
        format!(
            "refresh token {} was presented twice, the second time from {}",
            token.refresh, thief.ip
        ),
    )
}

fn step_up_loop(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let (p, token) = approved(rec, world, history, at);
    let mut evidence = Vec::new();
    for _ in 0..12 {
        let t = step(&mut rec.rng, at, 2_000, 20_000);
        evidence.push(
            rec.emit(t, Src::Gateway(p.resource), Kind::ResourceChallenge, |e| {
                p.fill_client(e);
                e.subject = Some(p.user.to_owned());
                e.resource = Some(p.resource.uri.clone());
                e.connection_id = Some(p.session.clone());
                e.outcome = Some(Outcome::Denied);
                e.reason = Some("insufficient_scope".into());
                e.scopes.requested = Some(p.resource.scopes_supported.clone());
                e.token.id = Some(token.access.clone());
                e.http.status = Some(403);
            }),
        );
    }
    (
        evidence,
        format!(
            "{} hit insufficient_scope 12 times in a row at {}",
            p.client.id, p.resource.uri
        ),
    )
}

fn auth_failure_burst(rec: &mut Recorder, world: &World, at: &mut DateTime<Utc>) -> Injected {
    let p = parties(rec, world);
    let ip = public_ip(&mut rec.rng);
    let mut evidence = Vec::new();
    for _ in 0..25 {
        let t = step(&mut rec.rng, at, 100, 3_000);
        evidence.push(rec.emit(t, Src::Auth(p.issuer), Kind::TokenIssue, |e| {
            p.fill_client(e);
            e.outcome = Some(Outcome::Failure);
            e.reason = Some("invalid_client".into());
            e.token.grant_type = Some("client_credentials".into());
            e.network.ip = Some(ip.clone());
        }));
    }
    (
        evidence,
        format!(
            "25 failed token requests for {} from {ip} within about a minute",
            p.client.id
        ),
    )
}

fn dcr_where_cimd_expected(rec: &mut Recorder, world: &World, at: &mut DateTime<Utc>) -> Injected {
    let issuer = world
        .issuers
        .iter()
        .find(|i| i.cimd_supported)
        .unwrap_or(&world.issuers[0]);
    let id = format!("dcr-{:016x}", rec.rng.random::<u64>());
    let redirect = "http://localhost:7777/callback".to_owned();
    let sha = document_sha256(&id, "Quick MCP Tool", std::slice::from_ref(&redirect));
    let ip = public_ip(&mut rec.rng);
    let register = rec.emit(*at, Src::Auth(issuer), Kind::ClientRegister, |e| {
        e.client.id = Some(id.clone());
        e.client.registration = Some(Registration::Dcr);
        e.client.name = Some("Quick MCP Tool".into());
        e.client.document_sha256 = Some(sha);
        e.client.redirect_uris = Some(vec![redirect]);
        e.network.ip = Some(ip);
    });
    (
        vec![register],
        format!(
            "client {id} registered by DCR at {}, which supports CIMD",
            issuer.issuer
        ),
    )
}

fn issuer_endpoint_origin(
    rec: &mut Recorder,
    world: &World,
    history: &mut History,
    at: &mut DateTime<Utc>,
) -> Injected {
    let issuer = pick(&mut rec.rng, &world.issuers);
    let (advertised, origin, what) = if rec.rng.random_bool(0.5) {
        (
            "https://login.mcp-sso.example",
            issuer.issuer.as_str(),
            "advertises issuer https://login.mcp-sso.example",
        )
    } else {
        (
            issuer.issuer.as_str(),
            "http://token-proxy.mcp-sso.example",
            "puts its endpoints on http://token-proxy.mcp-sso.example",
        )
    };
    // A client discovers the issuer through a resource that trusts it, gets the bad
    // metadata, and goes on to get a token.
    let suited: Vec<&Client> = world
        .clients
        .iter()
        .filter(|client| match client.registration {
            Registration::Cimd => issuer.cimd_supported,
            Registration::Dcr => !issuer.cimd_supported,
            Registration::PreRegistered => true,
        })
        .collect();
    // Every world has pre-registered clients, which suit any issuer.
    let client = *pick(&mut rec.rng, &suited);
    let base = party(rec, world, client);
    let resource = world
        .resources
        .iter()
        .find(|r| r.authorization_servers.contains(&issuer.issuer))
        .unwrap_or(base.resource);
    let p = Party {
        issuer,
        resource,
        ..base
    };
    let scopes = discover(rec, &p, at);
    let t = step(&mut rec.rng, at, 20, 300);
    let fetch = rec.emit(t, Src::Auth(issuer), Kind::AsMetadataFetch, |e| {
        e.attributes = as_metadata(issuer, advertised, origin);
        e.http.status = Some(200);
        e.network.ip = Some(p.ip.clone());
    });
    identify(rec, history, &p, at);
    let token = authorize(rec, history, &p, at, &scopes);
    (
        vec![fetch, token.event_id],
        format!(
            "the metadata fetched for {} {what}, and a client trusted it",
            issuer.issuer
        ),
    )
}
