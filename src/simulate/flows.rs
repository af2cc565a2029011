//! Benign MCP authorization flows in trust-path order (DOMAIN.md §1): challenge, PRM fetch,
//! AS metadata, client identity, authorization request, consent, token, uses, refreshes
//! with rotation, step-ups, revocations and the occasional honest failure.
//!
//! [`Recorder`] stamps each event with its source's clock (skew) and an arrival time
//! (batching delay), so output order differs slightly from `time` order, as in real logs.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, json};

use super::world::{Client, Issuer, Resource, World, pick};
use crate::event::{Consent, Kind, Outcome, Registration, SourceType, WireEvent};

/// One generated event and when it reaches the collector.
#[derive(Debug, Clone)]
pub struct SimEvent {
    pub event: WireEvent,
    pub arrival: DateTime<Utc>,
}

/// Who writes an event's log line.
#[derive(Debug, Clone, Copy)]
pub enum Src<'w> {
    Gateway(&'w Resource),
    Auth(&'w Issuer),
}

/// Collects events with ids, source clocks and arrival times.
pub struct Recorder {
    pub rng: ChaCha8Rng,
    id_prefix: String,
    next_id: u64,
    pub events: Vec<SimEvent>,
}

impl Recorder {
    /// Event ids are `<id_prefix>-<n>`.
    pub fn new(rng: ChaCha8Rng, id_prefix: String) -> Self {
        Recorder {
            rng,
            id_prefix,
            next_id: 0,
            events: Vec::new(),
        }
    }

    /// Records one event that happened at `at` (true time) and returns its id.
    pub fn emit(
        &mut self,
        at: DateTime<Utc>,
        src: Src<'_>,
        kind: Kind,
        fill: impl FnOnce(&mut WireEvent),
    ) -> String {
        self.next_id += 1;
        let id = format!("{}-{:08}", self.id_prefix, self.next_id);
        let (source_type, name, skew_ms, max_delay_ms) = match src {
            Src::Gateway(resource) => (SourceType::Gateway, gateway_name(resource), 0, 500),
            Src::Auth(issuer) => (
                SourceType::AuthorizationServer,
                auth_name(issuer),
                issuer.skew_ms,
                3_000,
            ),
        };
        let mut event = crate::adapt::event(
            id.clone(),
            at + Duration::milliseconds(skew_ms),
            kind,
            source_type,
            Some(name),
        );
        event.outcome = Some(Outcome::Success);
        // An authorization server's own events name it as the issuer.
        if let Src::Auth(issuer) = src {
            event.issuer = Some(issuer.issuer.clone());
        }
        fill(&mut event);
        let arrival = at + Duration::milliseconds(self.rng.random_range(0..=max_delay_ms));
        self.events.push(SimEvent { event, arrival });
        id
    }

    pub fn token_id(&mut self, prefix: &str) -> String {
        format!("{prefix}-{:016x}", self.rng.random::<u64>())
    }
}

fn gateway_name(resource: &Resource) -> String {
    let host = resource
        .uri
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or("gateway");
    format!("gw-{}", host.split('.').next().unwrap_or(host))
}

fn auth_name(issuer: &Issuer) -> String {
    issuer
        .issuer
        .trim_start_matches("https://")
        .split('.')
        .next()
        .unwrap_or("auth")
        .to_owned()
}

/// The parties of one approval chain.
#[derive(Clone)]
pub struct Party<'w> {
    pub user: &'w str,
    pub client: &'w Client,
    pub resource: &'w Resource,
    pub issuer: &'w Issuer,
    pub session: String,
    pub ip: String,
}

impl Party<'_> {
    pub fn fill_client(&self, event: &mut WireEvent) {
        event.client.id = Some(self.client.id.clone());
        event.client.registration = Some(self.client.registration);
        event.client.name = Some(self.client.name.clone());
    }

    fn fill_who(&self, event: &mut WireEvent) {
        event.subject = Some(self.user.to_owned());
        event.resource = Some(self.resource.uri.clone());
        event.network.ip = Some(self.ip.clone());
        event.network.user_agent = Some(self.client.user_agent.clone());
        self.fill_client(event);
    }
}

/// A token as the flow knows it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access: String,
    pub refresh: String,
    pub scopes: Vec<String>,
    pub expires: DateTime<Utc>,
    pub event_id: String,
}

/// Which (subject, client) pairs consented and which DCR clients registered where, so
/// later flows use remembered consent and skip registration.
#[derive(Default)]
pub struct History {
    consented: BTreeSet<(String, String)>,
    registered: BTreeSet<(String, String)>,
}

/// Where a public client document is hosted: ordinary public (not special-use) addresses.
pub fn hosting_ip(rng: &mut ChaCha8Rng) -> String {
    let net = pick(rng, &["34.120", "151.101", "104.18", "185.199"]);
    format!(
        "{net}.{}.{}",
        rng.random_range(0..255),
        rng.random_range(1..255)
    )
}

/// A client's address, from the documentation ranges.
pub fn public_ip(rng: &mut ChaCha8Rng) -> String {
    let net = pick(rng, &["203.0.113", "198.51.100", "192.0.2"]);
    format!("{net}.{}", rng.random_range(1..255))
}

pub fn step(
    rng: &mut ChaCha8Rng,
    at: &mut DateTime<Utc>,
    min_ms: i64,
    max_ms: i64,
) -> DateTime<Utc> {
    *at += Duration::milliseconds(rng.random_range(min_ms..=max_ms));
    *at
}

/// Chooses the parties of a flow: a random client.
pub fn parties<'w>(rec: &mut Recorder, world: &'w World) -> Party<'w> {
    let client = pick(&mut rec.rng, &world.clients);
    party(rec, world, client)
}

/// The parties of a flow of `client`: a resource with an issuer that suits the client
/// (see [`World::issuers_for`]; the first resource always has one), that issuer, a user,
/// a session and an address.
pub fn party<'w>(rec: &mut Recorder, world: &'w World, client: &'w Client) -> Party<'w> {
    let rng = &mut rec.rng;
    let served: Vec<(&Resource, Vec<usize>)> = world
        .resources
        .iter()
        .map(|resource| (resource, world.issuers_for(resource, client)))
        .filter(|(_, issuers)| !issuers.is_empty())
        .collect();
    let (resource, usable) = pick(rng, &served);
    let issuer = &world.issuers[*pick(rng, usable)];
    let user = pick(rng, &world.users);
    Party {
        user,
        client,
        resource,
        issuer,
        session: format!("sess-{:012x}", rng.random::<u64>() >> 16),
        ip: public_ip(rng),
    }
}

/// Discovery: 401 challenge, PRM fetch, AS metadata fetch. Returns the challenge scope.
pub fn discover(rec: &mut Recorder, p: &Party<'_>, at: &mut DateTime<Utc>) -> Vec<String> {
    let scope = vec![p.resource.scopes_supported[0].clone()];
    let t = *at;
    rec.emit(t, Src::Gateway(p.resource), Kind::ResourceChallenge, |e| {
        e.outcome = Some(Outcome::Failure);
        e.reason = Some("missing_token".into());
        e.connection_id = Some(p.session.clone());
        e.resource = Some(p.resource.uri.clone());
        e.metadata.url = Some(p.resource.prm_url.clone());
        e.scopes.requested = Some(scope.clone());
        e.http.status = Some(401);
        e.network.ip = Some(p.ip.clone());
        e.network.user_agent = Some(p.client.user_agent.clone());
    });
    let t = step(&mut rec.rng, at, 20, 200);
    rec.emit(t, Src::Gateway(p.resource), Kind::MetadataFetch, |e| {
        e.connection_id = Some(p.session.clone());
        e.resource = Some(p.resource.uri.clone());
        fill_prm(e, p.resource, None);
        e.http.status = Some(200);
        e.network.ip = Some(p.ip.clone());
    });
    let t = step(&mut rec.rng, at, 20, 300);
    rec.emit(t, Src::Auth(p.issuer), Kind::AsMetadataFetch, |e| {
        e.attributes = as_metadata(p.issuer, &p.issuer.issuer, &p.issuer.issuer);
        e.http.status = Some(200);
        e.network.ip = Some(p.ip.clone());
    });
    scope
}

/// The PRM document's fields, optionally with other authorization servers (drift).
pub fn fill_prm(
    event: &mut WireEvent,
    resource: &Resource,
    servers: Option<(Vec<String>, String)>,
) {
    event.metadata.url = Some(resource.prm_url.clone());
    event.metadata.scopes_supported = Some(resource.scopes_supported.clone());
    match servers {
        Some((servers, sha256)) => {
            event.metadata.authorization_servers = Some(servers);
            event.metadata.document_sha256 = Some(sha256);
        }
        None => {
            event.metadata.authorization_servers = Some(resource.authorization_servers.clone());
            event.metadata.document_sha256 = Some(resource.prm_sha256.clone());
        }
    }
}

/// `as_metadata.fetch` attributes: what the document said when fetched for `issuer`.
pub fn as_metadata(
    issuer: &Issuer,
    advertised: &str,
    endpoint_origin: &str,
) -> Map<String, serde_json::Value> {
    let attributes = json!({
        "metadata_url": issuer.metadata_url,
        "advertised_issuer": advertised,
        "endpoints": {
            "authorization_endpoint": format!("{endpoint_origin}/authorize"),
            "token_endpoint": format!("{endpoint_origin}/token"),
            "registration_endpoint": format!("{endpoint_origin}/register"),
        },
        "cimd_supported": issuer.cimd_supported,
        "code_challenge_methods_supported": ["S256"],
    });
    match attributes {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("json! object literal"),
    }
}

/// Client identity: CIMD document fetch, or DCR registration the first time.
pub fn identify(rec: &mut Recorder, history: &mut History, p: &Party<'_>, at: &mut DateTime<Utc>) {
    match p.client.registration {
        Registration::Cimd => {
            let t = step(&mut rec.rng, at, 50, 400);
            let bytes = rec.rng.random_range(280..1_400);
            let resolved = hosting_ip(&mut rec.rng);
            rec.emit(t, Src::Auth(p.issuer), Kind::ClientDocumentFetch, |e| {
                p.fill_client(e);
                e.client.document_sha256 = Some(p.client.document_sha256.clone());
                e.client.redirect_uris = Some(p.client.redirect_uris.clone());
                e.http.status = Some(200);
                e.http.bytes = Some(bytes);
                e.http.resolved_ip = Some(resolved);
                e.http.redirected = Some(false);
            });
        }
        // At an issuer with CIMD support a DCR client would be an anomaly (TP016): benign
        // flows only register where DCR is the fallback.
        Registration::Dcr if !p.issuer.cimd_supported => {
            if history
                .registered
                .insert((p.client.id.clone(), p.issuer.issuer.clone()))
            {
                let t = step(&mut rec.rng, at, 50, 400);
                rec.emit(t, Src::Auth(p.issuer), Kind::ClientRegister, |e| {
                    p.fill_client(e);
                    e.client.document_sha256 = Some(p.client.document_sha256.clone());
                    e.client.redirect_uris = Some(p.client.redirect_uris.clone());
                    e.network.ip = Some(p.ip.clone());
                });
            }
        }
        Registration::Dcr | Registration::PreRegistered => {}
    }
}

/// Authorization request, consent (explicit or remembered), code-for-token exchange.
pub fn authorize(
    rec: &mut Recorder,
    history: &mut History,
    p: &Party<'_>,
    at: &mut DateTime<Utc>,
    scopes: &[String],
) -> Issued {
    request_authorization(rec, p, at, scopes, &p.client.redirect_uris[0]);
    let first = history
        .consented
        .insert((p.user.to_owned(), p.client.id.clone()));
    let t = step(
        &mut rec.rng,
        at,
        if first { 3_000 } else { 50 },
        if first { 40_000 } else { 400 },
    );
    let consent = if first {
        Consent::Explicit
    } else {
        Consent::Remembered
    };
    grant_consent(rec, p, t, scopes, consent);
    // An honest failure now and then: a code exchanged too late, then a fresh attempt.
    if rec.rng.random_bool(0.04) {
        let t = step(&mut rec.rng, at, 100, 900);
        rec.emit(t, Src::Auth(p.issuer), Kind::TokenIssue, |e| {
            p.fill_who(e);
            e.outcome = Some(Outcome::Failure);
            e.reason = Some("invalid_grant".into());
            e.token.grant_type = Some("authorization_code".into());
        });
    }
    let t = step(&mut rec.rng, at, 100, 900);
    issue(rec, p, t, scopes, "authorization_code", None)
}

/// An authorization request with PKCE (S256) for `scopes`, redirecting to `redirect_uri`.
pub fn request_authorization(
    rec: &mut Recorder,
    p: &Party<'_>,
    at: &mut DateTime<Utc>,
    scopes: &[String],
    redirect_uri: &str,
) -> String {
    let t = step(&mut rec.rng, at, 100, 800);
    rec.emit(t, Src::Auth(p.issuer), Kind::AuthorizationRequest, |e| {
        p.fill_who(e);
        e.redirect_uri = Some(redirect_uri.to_owned());
        e.scopes.requested = Some(scopes.to_vec());
        e.attributes.insert("pkce_method".into(), json!("S256"));
    })
}

/// The user (or a remembered consent) approves `scopes` for the client.
pub fn grant_consent(
    rec: &mut Recorder,
    p: &Party<'_>,
    t: DateTime<Utc>,
    scopes: &[String],
    consent: Consent,
) {
    rec.emit(t, Src::Auth(p.issuer), Kind::ConsentGrant, |e| {
        p.fill_who(e);
        e.scopes.granted = Some(scopes.to_vec());
        e.consent = Some(consent);
    });
}

/// The user looks at the consent screen and says no: the flow ends there.
fn deny(rec: &mut Recorder, p: &Party<'_>, at: &mut DateTime<Utc>, scopes: &[String]) {
    request_authorization(rec, p, at, scopes, &p.client.redirect_uris[0]);
    let t = step(&mut rec.rng, at, 2_000, 30_000);
    rec.emit(t, Src::Auth(p.issuer), Kind::ConsentDeny, |e| {
        p.fill_who(e);
        e.outcome = Some(Outcome::Denied);
        e.reason = Some("access_denied".into());
        e.scopes.requested = Some(scopes.to_vec());
    });
}

/// One `token.issue` success.
pub fn issue(
    rec: &mut Recorder,
    p: &Party<'_>,
    t: DateTime<Utc>,
    scopes: &[String],
    grant: &str,
    parent: Option<&str>,
) -> Issued {
    let access = rec.token_id("tok");
    let refresh = rec.token_id("rt");
    let expires = t + Duration::hours(1);
    let event_id = rec.emit(t, Src::Auth(p.issuer), Kind::TokenIssue, |e| {
        p.fill_who(e);
        e.scopes.granted = Some(scopes.to_vec());
        e.token.id = Some(access.clone());
        e.token.parent_id = parent.map(str::to_owned);
        e.token.refresh_token_id = Some(refresh.clone());
        e.token.audience = Some(vec![p.resource.uri.clone()]);
        e.token.grant_type = Some(grant.to_owned());
        e.token.expires_at = Some(expires);
    });
    Issued {
        access,
        refresh,
        scopes: scopes.to_vec(),
        expires,
        event_id,
    }
}

/// Tool calls with `token` at the party's resource, inside the token's lifetime.
pub fn use_token(
    rec: &mut Recorder,
    p: &Party<'_>,
    at: &mut DateTime<Utc>,
    token: &Issued,
    calls: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..calls {
        let t = step(&mut rec.rng, at, 500, 240_000);
        if t >= token.expires {
            break;
        }
        let tool = pick(&mut rec.rng, &p.resource.tools).clone();
        ids.push(access(rec, p, t, token, &p.resource.uri, &tool));
    }
    ids
}

/// One `resource.access` with `token` at `resource`.
pub fn access(
    rec: &mut Recorder,
    p: &Party<'_>,
    t: DateTime<Utc>,
    token: &Issued,
    resource: &str,
    tool: &str,
) -> String {
    // Gateway events come from the gateway of the resource being called.
    let gateway = p.resource;
    rec.emit(t, Src::Gateway(gateway), Kind::ResourceAccess, |e| {
        p.fill_who(e);
        e.connection_id = Some(p.session.clone());
        e.resource = Some(resource.to_owned());
        // The token's issuer, as the gateway reads it from the JWT.
        e.issuer = Some(p.issuer.issuer.clone());
        e.token.id = Some(token.access.clone());
        e.scopes.granted = Some(token.scopes.clone());
        e.tool = Some(tool.to_owned());
        e.http.status = Some(200);
    })
}

/// A complete benign flow from `start`.
pub fn benign(rec: &mut Recorder, world: &World, history: &mut History, start: DateTime<Utc>) {
    let p = parties(rec, world);
    let mut at = start;
    let scopes = discover(rec, &p, &mut at);
    identify(rec, history, &p, &mut at);
    if rec.rng.random_bool(0.03) {
        deny(rec, &p, &mut at, &scopes);
        return;
    }
    let mut token = authorize(rec, history, &p, &mut at, &scopes);
    let calls = rec.rng.random_range(1..8);
    use_token(rec, &p, &mut at, &token, calls);

    // Legitimate step-up: 403 insufficient_scope → consent for the wider scope → new token.
    if p.resource.scopes_supported.len() > 1 && rec.rng.random_bool(0.2) {
        let wider: Vec<String> = p.resource.scopes_supported[..2].to_vec();
        let t = step(&mut rec.rng, &mut at, 500, 60_000);
        rec.emit(t, Src::Gateway(p.resource), Kind::ResourceChallenge, |e| {
            p.fill_who(e);
            e.connection_id = Some(p.session.clone());
            e.outcome = Some(Outcome::Denied);
            e.reason = Some("insufficient_scope".into());
            e.metadata.url = Some(p.resource.prm_url.clone());
            e.scopes.requested = Some(wider.clone());
            e.token.id = Some(token.access.clone());
            e.http.status = Some(403);
        });
        request_authorization(rec, &p, &mut at, &wider, &p.client.redirect_uris[0]);
        let t = step(&mut rec.rng, &mut at, 2_000, 30_000);
        grant_consent(rec, &p, t, &wider, Consent::Explicit);
        let t = step(&mut rec.rng, &mut at, 100, 900);
        token = issue(rec, &p, t, &wider, "authorization_code", None);
        let calls = rec.rng.random_range(1..4);
        use_token(rec, &p, &mut at, &token, calls);
    }

    // Refreshes with rotation: each presents the latest refresh token exactly once.
    let refreshes = if rec.rng.random_bool(0.4) {
        rec.rng.random_range(1..4)
    } else {
        0
    };
    for _ in 0..refreshes {
        at = at.max(token.expires - Duration::minutes(5));
        let t = step(&mut rec.rng, &mut at, 1_000, 240_000);
        let parent = token.refresh.clone();
        token = issue(
            rec,
            &p,
            t,
            &token.scopes.clone(),
            "refresh_token",
            Some(&parent),
        );
        let calls = rec.rng.random_range(1..6);
        use_token(rec, &p, &mut at, &token, calls);
    }

    if rec.rng.random_bool(0.1) {
        let t = step(&mut rec.rng, &mut at, 1_000, 600_000);
        rec.emit(t, Src::Auth(p.issuer), Kind::TokenRevoke, |e| {
            p.fill_who(e);
            e.token.id = Some(token.refresh.clone());
        });
    }
}
