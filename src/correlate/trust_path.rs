//! The nine links of a trust path (DOMAIN.md §3), decided from a connection's facts alone.
//! No I/O: [`evaluate`] takes the connection's events and the evidence in force at each
//! token's issue time, and returns verdicts with their evidence, facts and explanation.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Link, LinkName, TrustPath, Verdict};
use crate::event::{Kind, Outcome, Registration};

/// Largest client metadata document an authorization server should read (DOMAIN.md §1.4).
pub const MAX_DOCUMENT_BYTES: i64 = 5 * 1024;

/// One stored event, the fields the links read (`queries/correlate/member_events.sql`,
/// read column by column in `maintain.rs`).
#[derive(Debug, Clone)]
pub struct Fact {
    pub event_id: String,
    pub time: DateTime<Utc>,
    pub kind: Kind,
    pub outcome: Option<Outcome>,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub client_registration: Option<Registration>,
    pub resource: Option<String>,
    pub issuer: Option<String>,
    pub scopes_requested: Option<Vec<String>>,
    pub scopes_granted: Option<Vec<String>>,
    pub token_id: Option<String>,
    pub token_parent_id: Option<String>,
    pub token_refresh_id: Option<String>,
    pub token_audience: Option<Vec<String>>,
    pub grant_type: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub redirect_uri: Option<String>,
    pub consent: Option<String>,
}

impl Fact {
    fn succeeded(&self) -> bool {
        self.outcome.is_none_or(|o| o == Outcome::Success)
    }

    /// A consent: a consent.grant, or an authorization request that records the consent
    /// given on its login screen (Keycloak's `LOGIN` logs it so, with no consent event).
    fn records_consent(&self) -> bool {
        self.kind == Kind::ConsentGrant
            || (self.kind == Kind::AuthorizationRequest && self.consent.is_some())
    }

    /// The scopes a consent covers: those granted, or on a request those it asked for.
    fn consented_scopes(&self) -> Option<&Vec<String>> {
        match self.kind {
            Kind::AuthorizationRequest => self.scopes_requested.as_ref(),
            _ => self.scopes_granted.as_ref(),
        }
    }

    /// A successful grant without a parent: what starts a connection.
    pub fn is_root_issue(&self) -> bool {
        self.kind == Kind::TokenIssue
            && self.succeeded()
            && self.token_id.is_some()
            && self.token_parent_id.is_none()
    }
}

/// The Protected Resource Metadata in force at a token's issue time.
#[derive(Debug, Clone, Deserialize)]
pub struct Prm {
    pub event_id: String,
    pub time_us: i64,
    pub url: Option<String>,
    pub sha256: Option<String>,
    pub authorization_servers: Option<Vec<String>>,
    pub scopes_supported: Option<Vec<String>>,
    pub http_status: Option<i64>,
}

/// The authorization server metadata in force at a token's issue time.
#[derive(Debug, Clone, Deserialize)]
pub struct AsMetadata {
    pub event_id: String,
    pub time_us: i64,
    /// The issuer it was fetched for.
    pub issuer: Option<String>,
    pub attributes: Option<Value>,
    pub http_status: Option<i64>,
}

/// A client metadata document fetch (CIMD) or a DCR registration.
#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub event_id: String,
    pub time_us: i64,
    pub kind: Kind,
    pub client_id: Option<String>,
    pub issuer: Option<String>,
    pub registration: Option<Registration>,
    pub sha256: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub http_status: Option<i64>,
    pub http_bytes: Option<i64>,
    pub resolved_ip: Option<String>,
    pub redirected: Option<bool>,
}

/// The evidence in force when one token was issued.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenEvidence {
    pub token_event_id: String,
    pub prm: Option<Prm>,
    pub as_metadata: Option<AsMetadata>,
    pub document: Option<Document>,
    /// The client's first document seen with status 200.
    pub pinned: Option<Document>,
}

/// Everything a connection's trust path is decided from.
#[derive(Debug, Clone)]
pub struct ConnectionFacts {
    pub connection_id: String,
    /// The connection's events, oldest first.
    pub events: Vec<Fact>,
    pub evidence: Vec<TokenEvidence>,
}

/// Evaluates the nine links. `skew` is the clock difference tolerated between sources.
pub fn evaluate(facts: &ConnectionFacts, skew: Duration) -> TrustPath {
    let view = View::new(facts, skew);
    let mut links = vec![
        view.metadata(),
        view.issuer_advertised(),
        view.issuer_echo(),
        view.client_document(),
        view.redirect(),
        view.consent(),
        view.scopes(),
        view.audience(),
        view.liveness(),
    ];
    for link in &mut links {
        link.as_of = link
            .evidence
            .iter()
            .filter_map(|id| view.times.get(id.as_str()))
            .max()
            .copied();
    }
    TrustPath::from_links(links)
}

/// A token with the evidence of its issue time.
struct Issued<'f> {
    event: &'f Fact,
    evidence: Option<&'f TokenEvidence>,
}

impl Issued<'_> {
    fn id(&self) -> &str {
        self.event.token_id.as_deref().unwrap_or("?")
    }

    fn prm(&self) -> Option<&Prm> {
        self.evidence.and_then(|e| e.prm.as_ref())
    }
}

struct View<'f> {
    skew: Duration,
    events: Vec<&'f Fact>,
    /// Successful token issues, oldest first; the first without a parent is the root.
    tokens: Vec<Issued<'f>>,
    times: HashMap<&'f str, DateTime<Utc>>,
}

impl<'f> View<'f> {
    fn new(facts: &'f ConnectionFacts, skew: Duration) -> Self {
        let events: Vec<&Fact> = facts.events.iter().collect();
        let by_event: HashMap<&str, &TokenEvidence> = facts
            .evidence
            .iter()
            .map(|e| (e.token_event_id.as_str(), e))
            .collect();
        let tokens = events
            .iter()
            .filter(|e| e.kind == Kind::TokenIssue && e.succeeded() && e.token_id.is_some())
            .map(|&event| Issued {
                event,
                evidence: by_event.get(event.event_id.as_str()).copied(),
            })
            .collect();
        let mut times: HashMap<&str, DateTime<Utc>> = events
            .iter()
            .map(|e| (e.event_id.as_str(), e.time))
            .collect();
        for evidence in &facts.evidence {
            let docs = [
                evidence
                    .prm
                    .as_ref()
                    .map(|p| (p.event_id.as_str(), p.time_us)),
                evidence
                    .as_metadata
                    .as_ref()
                    .map(|a| (a.event_id.as_str(), a.time_us)),
                evidence
                    .document
                    .as_ref()
                    .map(|d| (d.event_id.as_str(), d.time_us)),
                evidence
                    .pinned
                    .as_ref()
                    .map(|d| (d.event_id.as_str(), d.time_us)),
            ];
            for (id, time_us) in docs.into_iter().flatten() {
                times.insert(id, from_us(time_us));
            }
        }
        View {
            skew,
            events,
            tokens,
            times,
        }
    }

    fn root(&self) -> Option<&Issued<'f>> {
        self.tokens
            .iter()
            .find(|t| t.event.token_parent_id.is_none())
            .or(self.tokens.first())
    }

    fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &'f Fact> + '_ {
        self.events.iter().copied().filter(move |e| e.kind == kind)
    }

    fn resource(&self) -> &str {
        self.root()
            .and_then(|t| t.event.resource.as_deref())
            .unwrap_or("(no resource)")
    }

    /// The PRM seen for the resource names it (same origin) and lists authorization servers.
    fn metadata(&self) -> Link {
        let resource = self.resource();
        let mut checked = Decision::new(LinkName::Metadata);
        for token in &self.tokens {
            let Some(prm) = token.prm() else {
                checked.unknown(
                    [&token.event.event_id],
                    format!(
                        "no PRM fetch for {resource} was seen in the evidence lookback \
                         before token {} (issued {})",
                        short(token.id()),
                        at(token.event.time)
                    ),
                );
                continue;
            };
            checked.fact(json!({
                "event_id": prm.event_id,
                "url": prm.url,
                "sha256": prm.sha256,
                "authorization_servers": prm.authorization_servers,
                "fetched_at": from_us(prm.time_us),
            }));
            let described = describe_prm(resource, prm);
            let servers = prm.authorization_servers.as_deref().unwrap_or_default();
            if prm.http_status.is_some_and(|s| s != 200) {
                checked.violated(
                    [&prm.event_id],
                    format!("{described} answered HTTP {}", prm.http_status.unwrap_or(0)),
                );
            } else if servers.is_empty() {
                checked.violated(
                    [&prm.event_id],
                    format!("{described} lists no authorization_servers"),
                );
            } else if let Some(url) = prm.url.as_deref().filter(|url| !same_origin(url, resource)) {
                checked.violated(
                    [&prm.event_id],
                    format!("{described} was served from {url}, another origin than the resource"),
                );
            } else {
                checked.ok(
                    [&prm.event_id],
                    format!("{described} lists {}", servers.join(", ")),
                );
            }
        }
        checked.finish("no token issued in this connection: no PRM to check")
    }

    /// The token's issuer is among the PRM's authorization servers at issue time.
    fn issuer_advertised(&self) -> Link {
        let resource = self.resource();
        let mut checked = Decision::new(LinkName::IssuerAdvertised);
        for token in &self.tokens {
            let issuer = token.event.issuer.as_deref().unwrap_or("(unknown issuer)");
            let Some(prm) = token.prm() else {
                checked.unknown(
                    [&token.event.event_id],
                    format!(
                        "token {} was issued by {issuer}, but no PRM of {resource} was seen \
                         to check it against",
                        short(token.id())
                    ),
                );
                continue;
            };
            let servers = prm.authorization_servers.as_deref().unwrap_or_default();
            checked.fact(json!({
                "token_id": token.id(),
                "issuer": issuer,
                "prm_event_id": prm.event_id,
                "authorization_servers": servers,
            }));
            let evidence = [&token.event.event_id, &prm.event_id];
            if servers.iter().any(|s| s == issuer) {
                checked.ok(
                    evidence,
                    format!(
                        "token {} was issued by {issuer}, which {} lists",
                        short(token.id()),
                        describe_prm(resource, prm)
                    ),
                );
            } else {
                checked.violated(
                    evidence,
                    format!(
                        "token {} was issued by {issuer}, which {} does not list",
                        short(token.id()),
                        describe_prm(resource, prm)
                    ),
                );
            }
        }
        checked.finish("no token issued in this connection")
    }

    /// The AS metadata's `issuer` echoes the issuer it was fetched for; endpoints are https
    /// on the issuer's origin.
    fn issuer_echo(&self) -> Link {
        let mut checked = Decision::new(LinkName::IssuerEcho);
        for token in &self.tokens {
            let issuer = token.event.issuer.as_deref().unwrap_or("(unknown issuer)");
            let Some(meta) = token.evidence.and_then(|e| e.as_metadata.as_ref()) else {
                checked.unknown(
                    [&token.event.event_id],
                    format!(
                        "no authorization server metadata fetch for {issuer} was seen in the \
                         evidence lookback before token {}",
                        short(token.id())
                    ),
                );
                continue;
            };
            let attributes = meta.attributes.clone().unwrap_or(Value::Null);
            let advertised = attributes["advertised_issuer"].as_str();
            let endpoints: Vec<(String, String)> = attributes["endpoints"]
                .as_object()
                .map(|map| {
                    map.iter()
                        .filter_map(|(name, url)| Some((name.clone(), url.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            checked.fact(json!({
                "issuer": issuer,
                "as_metadata_event_id": meta.event_id,
                "advertised_issuer": advertised,
                "endpoints": attributes["endpoints"],
            }));
            let fetched = format!(
                "the metadata fetched for {issuer} at {}",
                at(from_us(meta.time_us))
            );
            let stray: Vec<String> = endpoints
                .iter()
                .filter(|(_, url)| !url.starts_with("https://") || !same_origin(url, issuer))
                .map(|(name, url)| format!("{name} {url}"))
                .collect();
            match advertised {
                None => checked.unknown(
                    [&meta.event_id],
                    format!("{fetched} does not say which issuer it advertises"),
                ),
                Some(advertised) if advertised != issuer => checked.violated(
                    [&meta.event_id, &token.event.event_id],
                    format!(
                        "{fetched} advertises issuer {advertised}; token {} trusted it",
                        short(token.id())
                    ),
                ),
                Some(_) if !stray.is_empty() => checked.violated(
                    [&meta.event_id, &token.event.event_id],
                    format!(
                        "{fetched} puts endpoints off the issuer's https origin: {}",
                        stray.join(", ")
                    ),
                ),
                Some(_) => checked.ok(
                    [&meta.event_id],
                    format!("{fetched} echoes its issuer; endpoints are https on its origin"),
                ),
            }
        }
        checked.finish("no token issued in this connection")
    }

    /// The document hash trusted at authorization is the client's pinned one and was
    /// fetched safely; a DCR client's registration is the same one as first seen.
    fn client_document(&self) -> Link {
        let mut checked = Decision::new(LinkName::ClientDocument);
        for token in &self.tokens {
            let client = token
                .event
                .client_id
                .as_deref()
                .unwrap_or("(unknown client)");
            let document = token.evidence.and_then(|e| e.document.as_ref());
            let pinned = token.evidence.and_then(|e| e.pinned.as_ref());
            let registration = token
                .event
                .client_registration
                .or(document.and_then(|d| d.registration))
                .or(client.starts_with("https://").then_some(Registration::Cimd));
            let Some(document) = document else {
                match registration {
                    Some(Registration::PreRegistered) => checked.ok(
                        [&token.event.event_id],
                        format!(
                            "{client} is pre-registered at its issuer: there is no metadata \
                             document to pin"
                        ),
                    ),
                    _ => checked.unknown(
                        [&token.event.event_id],
                        format!(
                            "no document fetch or registration of {client} was seen before \
                             token {}",
                            short(token.id())
                        ),
                    ),
                }
                continue;
            };
            let sha = document.sha256.as_deref().unwrap_or("?");
            checked.fact(json!({
                "client_id": client,
                "registration": registration,
                "document_event_id": document.event_id,
                "presented_sha256": document.sha256,
                "pinned_sha256": pinned.and_then(|p| p.sha256.clone()),
                "pinned_event_id": pinned.map(|p| &p.event_id),
                "http_status": document.http_status,
                "http_bytes": document.http_bytes,
                "resolved_ip": document.resolved_ip,
                "redirected": document.redirected,
            }));
            let fetched = format!(
                "{} of {client} ({}, sha256 {})",
                noun(document.kind),
                at(from_us(document.time_us)),
                short(sha)
            );
            if let Some(problem) = unsafe_fetch(document, client) {
                checked.violated(
                    [&document.event_id, &token.event.event_id],
                    format!(
                        "the {fetched} {problem}, and token {} was still issued",
                        short(token.id())
                    ),
                );
                continue;
            }
            match pinned {
                Some(pinned) if pinned.sha256 != document.sha256 => checked.violated(
                    [&pinned.event_id, &document.event_id, &token.event.event_id],
                    format!(
                        "token {} trusted the {fetched}, but the pinned (first approved) \
                         document is sha256 {} ({})",
                        short(token.id()),
                        short(pinned.sha256.as_deref().unwrap_or("?")),
                        at(from_us(pinned.time_us))
                    ),
                ),
                _ => checked.ok(
                    [&document.event_id],
                    format!(
                        "token {} trusted the {fetched}, the pinned one, fetched safely",
                        short(token.id())
                    ),
                ),
            }
        }
        checked.finish("no token issued in this connection")
    }

    /// Every authorization request's `redirect_uri` is one of the document's `redirect_uris`.
    fn redirect(&self) -> Link {
        let mut checked = Decision::new(LinkName::Redirect);
        let document = self
            .root()
            .and_then(|t| t.evidence)
            .and_then(|e| e.document.as_ref());
        for request in self.of_kind(Kind::AuthorizationRequest) {
            let client = request.client_id.as_deref().unwrap_or("(unknown client)");
            let Some(uri) = request.redirect_uri.as_deref() else {
                checked.unknown(
                    [&request.event_id],
                    "the authorization request does not name its redirect_uri".to_owned(),
                );
                continue;
            };
            let Some(registered) = document.and_then(|d| d.redirect_uris.as_deref()) else {
                checked.unknown(
                    [&request.event_id],
                    format!(
                        "redirect_uri {uri}: no document or registration of {client} lists \
                         its redirect URIs"
                    ),
                );
                continue;
            };
            let document_id = document.map(|d| d.event_id.as_str()).unwrap_or_default();
            checked.fact(json!({
                "request_event_id": request.event_id,
                "redirect_uri": uri,
                "registered": registered,
            }));
            if !registered.iter().any(|r| r == uri) {
                checked.violated(
                    [&request.event_id, document_id],
                    format!(
                        "authorization request redirects to {uri}, which the document of \
                         {client} does not list ({})",
                        registered.join(", ")
                    ),
                );
            } else if !safe_redirect(uri) {
                checked.violated(
                    [&request.event_id, document_id],
                    format!("redirect_uri {uri} is neither https nor a loopback address"),
                );
            } else {
                checked.ok(
                    [&request.event_id, document_id],
                    format!("redirect_uri {uri} is registered in the document of {client}"),
                );
            }
        }
        checked.finish("no authorization request was seen for this connection")
    }

    /// A consent covering (subject, client, scopes) precedes the first token.
    fn consent(&self) -> Link {
        let mut checked = Decision::new(LinkName::Consent);
        let Some(root) = self.root() else {
            return checked.finish("no token issued in this connection");
        };
        let grant = root
            .event
            .grant_type
            .as_deref()
            .unwrap_or("authorization_code");
        if matches!(grant, "client_credentials" | "token_exchange") {
            checked.ok(
                [&root.event.event_id],
                format!("a {grant} grant acts for no user: no consent needed"),
            );
            return checked.finish("");
        }
        let subject = root.event.subject.as_deref().unwrap_or("(unknown subject)");
        let client = root
            .event
            .client_id
            .as_deref()
            .unwrap_or("(unknown client)");
        let granted = scope_set(&root.event.scopes_granted);
        let deadline = root.event.time + self.skew;
        let consents: Vec<&Fact> = self
            .events
            .iter()
            .copied()
            .filter(|c| c.records_consent() && c.time <= deadline && c.succeeded())
            .collect();
        let covering = consents.iter().find(|c| match c.consented_scopes() {
            Some(scopes) => granted.iter().all(|s| scopes.iter().any(|c| c == s)),
            None => true,
        });
        let seen: Vec<Value> = consents
            .iter()
            .map(|c| {
                json!({"event_id": c.event_id, "scopes": c.consented_scopes(), "consent": c.consent})
            })
            .collect();
        checked.fact(json!({
            "subject": subject,
            "client_id": client,
            "token_scopes": granted,
            "consents": seen,
        }));
        if let Some(consent) = covering {
            checked.ok(
                [&consent.event_id, &root.event.event_id],
                format!(
                    "{subject} consented ({}) to {} for {client} at {}, before token {}",
                    consent.consent.as_deref().unwrap_or("consent"),
                    list(&granted),
                    at(consent.time),
                    short(root.id())
                ),
            );
        } else if let Some(denial) = self.of_kind(Kind::ConsentDeny).find(|d| d.time <= deadline) {
            checked.violated(
                [&denial.event_id, &root.event.event_id],
                format!(
                    "{subject} denied consent to {client} at {}, yet token {} was issued",
                    at(denial.time),
                    short(root.id())
                ),
            );
        } else if consents.is_empty() && self.of_kind(Kind::AuthorizationRequest).next().is_none() {
            checked.unknown(
                [&root.event.event_id],
                "neither the authorization request nor a consent of this connection was seen"
                    .to_owned(),
            );
        } else {
            let evidence: Vec<&String> = consents
                .iter()
                .map(|c| &c.event_id)
                .chain([&root.event.event_id])
                .collect();
            checked.violated(
                evidence,
                format!(
                    "no consent by {subject} for {client} covering {} before token {} ({})",
                    list(&granted),
                    short(root.id()),
                    at(root.event.time)
                ),
            );
        }
        checked.finish("")
    }

    /// Granted ⊆ requested ∪ challenge scope, ⊆ PRM scopes_supported; a refresh never widens.
    fn scopes(&self) -> Link {
        let resource = self.resource();
        let mut checked = Decision::new(LinkName::Scopes);
        let asked: BTreeSet<&str> = self
            .events
            .iter()
            .filter(|e| matches!(e.kind, Kind::AuthorizationRequest | Kind::ResourceChallenge))
            .flat_map(|e| e.scopes_requested.iter().flatten().map(String::as_str))
            .collect();
        let asked_in: Vec<&String> = self
            .events
            .iter()
            .filter(|e| {
                matches!(e.kind, Kind::AuthorizationRequest | Kind::ResourceChallenge)
                    && e.scopes_requested.is_some()
            })
            .map(|e| &e.event_id)
            .collect();
        let by_refresh: HashMap<&str, &Issued> = self
            .tokens
            .iter()
            .filter_map(|t| Some((t.event.token_refresh_id.as_deref()?, t)))
            .collect();
        for token in &self.tokens {
            let Some(granted) = token.event.scopes_granted.as_ref() else {
                continue;
            };
            let id = short(token.id());
            let mut problems = Vec::new();
            let mut evidence = vec![token.event.event_id.as_str()];
            match token.event.token_parent_id.as_deref() {
                Some(parent_id) => match by_refresh.get(parent_id) {
                    Some(parent) => {
                        let held = scope_set(&parent.event.scopes_granted);
                        let wider = missing(granted, &held);
                        evidence.push(&parent.event.event_id);
                        if !wider.is_empty() {
                            problems.push(format!(
                                "refresh {id} widened {} of its parent {} to {}",
                                list(&held),
                                short(parent.id()),
                                list(&scope_set(&Some(granted.clone())))
                            ));
                        }
                    }
                    None => checked.unknown(
                        [&token.event.event_id],
                        format!("the parent of refresh {id} is not in this connection"),
                    ),
                },
                None if !asked.is_empty() => {
                    let extra = missing(granted, &asked);
                    evidence.extend(asked_in.iter().map(|s| s.as_str()));
                    if !extra.is_empty() {
                        problems.push(format!(
                            "token {id} grants {}, neither requested nor in a challenge",
                            list(&extra)
                        ));
                    }
                }
                None => {}
            }
            if let Some(supported) = token.prm().and_then(|p| p.scopes_supported.as_ref()) {
                let outside = missing(granted, &supported.iter().map(String::as_str).collect());
                evidence.push(token.prm().map(|p| p.event_id.as_str()).unwrap_or_default());
                if !outside.is_empty() {
                    problems.push(format!(
                        "token {id} grants {}, which the PRM of {resource} does not list in \
                         scopes_supported",
                        list(&outside)
                    ));
                }
            } else if token.event.token_parent_id.is_none() && asked.is_empty() {
                checked.unknown(
                    [&token.event.event_id],
                    format!(
                        "neither the request, a challenge nor a PRM shows what token {id} \
                         could be granted"
                    ),
                );
                continue;
            }
            checked.fact(json!({"token_id": token.id(), "granted": granted}));
            if problems.is_empty() {
                checked.ok(
                    evidence,
                    format!(
                        "token {id} grants {}, all requested and supported",
                        list(&scope_set(&Some(granted.clone())))
                    ),
                );
            } else {
                checked.violated(evidence, problems.join("; "));
            }
        }
        checked.finish("no token issued in this connection")
    }

    /// Every successful use is at a resource in its token's audience.
    fn audience(&self) -> Link {
        let mut checked = Decision::new(LinkName::Audience);
        let by_id: HashMap<&str, &Issued> = self.tokens.iter().map(|t| (t.id(), t)).collect();
        for used in self.of_kind(Kind::ResourceAccess).filter(|u| u.succeeded()) {
            let (Some(token_id), Some(at_resource)) =
                (used.token_id.as_deref(), used.resource.as_deref())
            else {
                continue;
            };
            let Some(token) = by_id.get(token_id) else {
                continue;
            };
            let Some(audience) = token.event.token_audience.as_ref() else {
                checked.unknown(
                    [&used.event_id, &token.event.event_id],
                    format!("token {} names no audience", short(token_id)),
                );
                continue;
            };
            if audience.iter().any(|a| a == at_resource) {
                checked.ok([&used.event_id], String::new());
            } else {
                checked.fact(json!({
                    "token_id": token_id,
                    "audience": audience,
                    "used_at": at_resource,
                    "use_event_id": used.event_id,
                }));
                checked.violated(
                    [&token.event.event_id, &used.event_id],
                    format!(
                        "token {} (audience {}) was used at {at_resource} at {}",
                        short(token_id),
                        audience.join(", "),
                        at(used.time)
                    ),
                );
            }
        }
        checked.summarize_ok("every use was at a resource in its token's audience");
        checked.finish("no use of this connection's tokens was seen")
    }

    /// No use after revocation or expiry; no refresh token presented twice.
    fn liveness(&self) -> Link {
        let mut checked = Decision::new(LinkName::Liveness);
        let mut revoked: HashMap<&str, &Fact> = HashMap::new();
        for revoke in self.of_kind(Kind::TokenRevoke).filter(|r| r.succeeded()) {
            if let Some(id) = revoke.token_id.as_deref() {
                revoked.entry(id).or_insert(revoke);
            }
        }
        let by_id: HashMap<&str, &Issued> = self.tokens.iter().map(|t| (t.id(), t)).collect();
        for used in self.of_kind(Kind::ResourceAccess).filter(|u| u.succeeded()) {
            let Some(token_id) = used.token_id.as_deref() else {
                continue;
            };
            if let Some(revoke) = revoked
                .get(token_id)
                .filter(|r| used.time > r.time + self.skew)
            {
                checked.violated(
                    [&revoke.event_id, &used.event_id],
                    format!(
                        "token {} was used at {} at {}, after it was revoked at {}",
                        short(token_id),
                        used.resource.as_deref().unwrap_or("?"),
                        at(used.time),
                        at(revoke.time)
                    ),
                );
            } else if let Some(expires) = by_id
                .get(token_id)
                .and_then(|t| t.event.token_expires_at)
                .filter(|e| used.time > *e + self.skew)
            {
                checked.violated(
                    [&by_id[token_id].event.event_id, &used.event_id],
                    format!(
                        "token {} was used at {} at {}, after it expired at {}",
                        short(token_id),
                        used.resource.as_deref().unwrap_or("?"),
                        at(used.time),
                        at(expires)
                    ),
                );
            } else {
                checked.ok([&used.event_id], String::new());
            }
        }
        let mut presented: HashMap<&str, Vec<&Issued>> = HashMap::new();
        for token in &self.tokens {
            if let Some(parent) = token.event.token_parent_id.as_deref() {
                presented.entry(parent).or_default().push(token);
            }
        }
        let mut reused: Vec<(&str, Vec<&Issued>)> =
            presented.into_iter().filter(|(_, t)| t.len() > 1).collect();
        reused.sort_by_key(|(parent, _)| *parent);
        for (parent, children) in reused {
            let uses: Vec<String> = children
                .iter()
                .map(|c| format!("{} ({})", short(c.id()), at(c.event.time)))
                .collect();
            checked.violated(
                children.iter().map(|c| c.event.event_id.as_str()),
                format!(
                    "refresh token {} was presented {} times: {}",
                    short(parent),
                    children.len(),
                    uses.join(", ")
                ),
            );
        }
        for token in &self.tokens {
            let Some(parent) = token.event.token_parent_id.as_deref() else {
                continue;
            };
            if let Some(revoke) = revoked
                .get(parent)
                .filter(|r| token.event.time > r.time + self.skew)
            {
                checked.violated(
                    [&revoke.event_id, &token.event.event_id],
                    format!(
                        "refresh token {} was presented at {}, after it was revoked at {}",
                        short(parent),
                        at(token.event.time),
                        at(revoke.time)
                    ),
                );
            }
        }
        checked
            .summarize_ok("no use after revocation or expiry; every refresh token presented once");
        checked.finish("no use or refresh of this connection's tokens was seen")
    }
}

/// Accumulates one link's checks: the worst verdict wins; its explanations are kept.
struct Decision {
    link: LinkName,
    verdict: Option<Verdict>,
    evidence: Vec<String>,
    facts: Vec<Value>,
    lines: Vec<String>,
}

impl Decision {
    fn new(link: LinkName) -> Self {
        Decision {
            link,
            verdict: None,
            evidence: Vec::new(),
            facts: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn record(
        &mut self,
        verdict: Verdict,
        evidence: impl IntoIterator<Item = impl AsRef<str>>,
        line: String,
    ) {
        let worst = self.verdict.is_none_or(|v| verdict > v);
        if worst {
            // A worse verdict's explanation replaces the milder ones.
            self.lines.clear();
        }
        if self.verdict.is_none_or(|v| verdict >= v) {
            self.verdict = Some(verdict);
            if !line.is_empty() && !self.lines.contains(&line) {
                self.lines.push(line);
            }
        }
        for id in evidence {
            let id = id.as_ref();
            if !id.is_empty() && !self.evidence.iter().any(|e| e == id) {
                self.evidence.push(id.to_owned());
            }
        }
    }

    fn ok(&mut self, evidence: impl IntoIterator<Item = impl AsRef<str>>, line: String) {
        self.record(Verdict::Ok, evidence, line);
    }

    fn unknown(&mut self, evidence: impl IntoIterator<Item = impl AsRef<str>>, line: String) {
        self.record(Verdict::Unknown, evidence, line);
    }

    fn violated(&mut self, evidence: impl IntoIterator<Item = impl AsRef<str>>, line: String) {
        self.record(Verdict::Violated, evidence, line);
    }

    fn fact(&mut self, fact: Value) {
        if !self.facts.contains(&fact) {
            self.facts.push(fact);
        }
    }

    /// For links checked once per use: when all were ok, one summary line.
    fn summarize_ok(&mut self, line: &str) {
        if self.verdict == Some(Verdict::Ok) && self.lines.is_empty() {
            let uses = self.evidence.len();
            self.lines.push(format!(
                "{line} ({uses} event{})",
                if uses == 1 { "" } else { "s" }
            ));
        }
    }

    /// `vacuous`: the explanation when nothing was there to check; such a link is `ok`
    /// when nothing could break it (no uses) and `unknown` when evidence is missing.
    fn finish(self, vacuous: &str) -> Link {
        let nothing_to_check = self.verdict.is_none();
        let verdict = self.verdict.unwrap_or(match self.link {
            LinkName::Audience | LinkName::Liveness => Verdict::Ok,
            _ => Verdict::Unknown,
        });
        let mut lines = self.lines;
        if nothing_to_check {
            lines.push(vacuous.to_owned());
        }
        // Long lists of identical checks read better cut: the evidence has them all.
        let more = lines.len().saturating_sub(3);
        lines.truncate(3);
        let mut explanation = lines.join("; ");
        if more > 0 {
            explanation.push_str(&format!("; and {more} more"));
        }
        Link {
            link: self.link,
            verdict,
            evidence: self.evidence,
            facts: Value::Array(self.facts),
            explanation,
            as_of: None,
        }
    }
}

/// Why a document fetch was unsafe (DOMAIN.md §1.4), if it was.
fn unsafe_fetch(document: &Document, client: &str) -> Option<String> {
    if document.kind != Kind::ClientDocumentFetch {
        return None;
    }
    if !client.starts_with("https://") {
        return Some(format!("was fetched from {client}, not an https URL"));
    }
    if let Some(status) = document.http_status.filter(|s| *s != 200) {
        return Some(format!("answered HTTP {status}"));
    }
    if document.redirected == Some(true) {
        return Some("followed a redirect".to_owned());
    }
    if let Some(bytes) = document.http_bytes.filter(|b| *b > MAX_DOCUMENT_BYTES) {
        return Some(format!(
            "was {bytes} bytes, above the {MAX_DOCUMENT_BYTES}-byte limit"
        ));
    }
    let ip = document.resolved_ip.as_deref()?;
    let kind = special_address(ip.parse().ok()?)?;
    Some(format!("resolved to {kind} address {ip}"))
}

/// The special-use class of an address a client document must never be fetched from.
pub fn special_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || v4.is_broadcast() || a == 0 {
                Some("unspecified")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (CGNAT)")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => special_address(IpAddr::V4(v4)),
            None if v6.is_loopback() => Some("loopback"),
            None if v6.is_unspecified() => Some("unspecified"),
            None if v6.is_unique_local() => Some("private (unique local)"),
            None if v6.is_unicast_link_local() => Some("link-local"),
            None => None,
        },
    }
}

fn safe_redirect(uri: &str) -> bool {
    if uri.starts_with("https://") {
        return true;
    }
    url::Url::parse(uri).is_ok_and(|url| {
        url.scheme() == "http"
            && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    })
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

fn describe_prm(resource: &str, prm: &Prm) -> String {
    format!(
        "the PRM of {resource} (fetched {}, sha256 {})",
        at(from_us(prm.time_us)),
        short(prm.sha256.as_deref().unwrap_or("?"))
    )
}

fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::ClientRegister => "DCR registration",
        _ => "document",
    }
}

fn scope_set(scopes: &Option<Vec<String>>) -> BTreeSet<&str> {
    scopes.iter().flatten().map(String::as_str).collect()
}

fn missing<'a>(granted: &'a [String], allowed: &BTreeSet<&str>) -> BTreeSet<&'a str> {
    granted
        .iter()
        .map(String::as_str)
        .filter(|s| !allowed.contains(s))
        .collect()
}

fn list(scopes: &BTreeSet<&str>) -> String {
    format!("[{}]", scopes.iter().copied().collect::<Vec<_>>().join(" "))
}

/// Ids and hashes cut to what a person compares at a glance.
fn short(id: &str) -> String {
    if id.chars().count() > 16 {
        format!("{}…", id.chars().take(12).collect::<String>())
    } else {
        id.to_owned()
    }
}

fn at(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn from_us(us: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(us).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_named() {
        let class = |ip: &str| special_address(ip.parse().unwrap());
        assert_eq!(class("127.0.0.1"), Some("loopback"));
        assert_eq!(class("10.20.0.7"), Some("private"));
        assert_eq!(class("192.168.1.1"), Some("private"));
        assert_eq!(class("169.254.169.254"), Some("link-local"));
        assert_eq!(class("100.64.0.1"), Some("shared (CGNAT)"));
        assert_eq!(class("0.0.0.0"), Some("unspecified"));
        assert_eq!(class("::1"), Some("loopback"));
        assert_eq!(class("fd00::1"), Some("private (unique local)"));
        assert_eq!(class("fe80::1"), Some("link-local"));
        assert_eq!(class("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(class("34.120.1.2"), None);
        assert_eq!(class("2606:4700::1"), None);
    }

    #[test]
    fn redirects_must_be_https_or_loopback() {
        assert!(safe_redirect("https://app.example.com/cb"));
        assert!(safe_redirect("http://localhost:7777/callback"));
        assert!(safe_redirect("http://127.0.0.1:7777/callback"));
        assert!(!safe_redirect("http://app.example.com/cb"));
        assert!(!safe_redirect("http://localhost.attacker.example/cb"));
        assert!(!safe_redirect("myapp://cb"));
    }

    fn fetch(fill: impl FnOnce(&mut Document)) -> Document {
        let mut document = Document {
            event_id: "e1".into(),
            time_us: 0,
            kind: Kind::ClientDocumentFetch,
            client_id: Some("https://app.example.com/client.json".into()),
            issuer: None,
            registration: Some(Registration::Cimd),
            sha256: Some("aa".into()),
            redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
            http_status: Some(200),
            http_bytes: Some(900),
            resolved_ip: Some("34.120.1.2".into()),
            redirected: Some(false),
        };
        fill(&mut document);
        document
    }

    #[test]
    fn unsafe_document_fetches_say_why() {
        let client = "https://app.example.com/client.json";
        assert_eq!(unsafe_fetch(&fetch(|_| {}), client), None);
        let why = |fill: fn(&mut Document)| unsafe_fetch(&fetch(fill), client).unwrap();
        assert_eq!(why(|d| d.http_status = Some(302)), "answered HTTP 302");
        assert_eq!(why(|d| d.redirected = Some(true)), "followed a redirect");
        assert_eq!(
            why(|d| d.http_bytes = Some(48_000)),
            "was 48000 bytes, above the 5120-byte limit"
        );
        assert_eq!(
            why(|d| d.resolved_ip = Some("127.0.0.1".into())),
            "resolved to loopback address 127.0.0.1"
        );
        assert_eq!(
            unsafe_fetch(&fetch(|_| {}), "http://app.example.com/client.json").unwrap(),
            "was fetched from http://app.example.com/client.json, not an https URL"
        );
    }
}
