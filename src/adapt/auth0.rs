//! Auth0 tenant log events, as the Management API (`GET /api/v2/logs`) returns them and log
//! streams deliver them: `log_id`, `date` (RFC 3339), `type` (the log type code),
//! `description`, `hostname` (the tenant domain the request reached), `client_id`,
//! `client_name`, `user_id`, `user_name`, `ip`, `user_agent`, `audience`, `scope` (a
//! space-separated string, or an array in some log streams), `connection`, `strategy`,
//! `tenant_name` and a `details` object. A log stream's envelope
//! `{"log_id": …, "data": {<event>}}` is unwrapped.
//!
//! | `type` | kind | outcome | grant_type |
//! |---|---|---|---|
//! | `s`, `ssa` (login, silent authentication) | `authorization.request` | success | |
//! | `f`, `fp`, `fu`, `fsa` (failed login, wrong password, wrong username, failed silent auth) | `authorization.request` | failure | |
//! | `seacft` / `feacft` | `token.issue` | success / failure | `authorization_code` |
//! | `sertft` / `fertft`, `ferrt` (rotating refresh token refused, e.g. reuse) | `token.issue` | success / failure | `refresh_token` |
//! | `seccft` / `feccft` | `token.issue` | success / failure | `client_credentials` |
//! | `sede` / `fede` | `token.issue` | success / failure | `device_code` |
//! | `sepft` / `fepft` | `token.issue` | success / failure | `password` |
//! | `secte` / `fecte` (Custom Token Exchange) | `token.issue` | success / failure | `token_exchange` |
//! | `srrt` (refresh token revoked) | `token.revoke` | success | |
//!
//! Every type: id = `log_id`; `source.name` = `hostname`; issuer = the issuer configured
//! for the hostname (`adapters.auth0.issuers`), else `https://{hostname}/` (Auth0's issuer
//! is its domain with a trailing slash); `client.id`/`client.name` = `client_id`/
//! `client_name`; `network` = `ip`/`user_agent`. `subject` = `user_id`, the `sub` of the
//! tokens Auth0 issues and so what a gateway sees; `user_name` (an email or username,
//! absent from many records) is kept in `attributes.auth0`. On logins and token requests,
//! `resource` = `audience` (the API asked for) and `scope` is `scopes.requested`, except on
//! an issued token, where it is `scopes.granted`. A failure's `reason` is the OAuth error
//! Auth0 logs in `details.error.oauthError`, else the log type code itself (`feacft`):
//! Auth0 names most failures only by type and a free-text `description`, which stays in
//! `attributes.auth0` with the rest of `details`.
//! Not carried: [`NOT_CARRIED`]. Auth0 logs no consent, client registration, metadata or
//! client document fetch events: those kinds emit None.

use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use super::{Context, Fields, json, object, overlay};
use crate::event::{Kind, Outcome, SourceType, WireEvent};

/// Fields of `trustpath.event.v1` this format does not carry; see adapt::without.
pub const NOT_CARRIED: &[&str] = &[
    // Auth0 names the server by the tenant domain (`hostname`), which read puts in
    // source.name; any other name a deployment gives it is not logged.
    "source.name",
    // Auth0 sees no MCP session.
    "connection_id",
    // Auth0 logs neither how a client was registered nor its metadata.
    "client.registration",
    "client.document_sha256",
    "client.redirect_uris",
    // Login events log neither the redirect URI nor the PKCE method.
    "redirect_uri",
    "authorization.request:attributes.pkce_method",
    // Auth0 logs no token identifiers or expiry: not the access token's, not the refresh
    // token issued with it, not the refresh token presented or revoked.
    "token.id",
    "token.parent_id",
    "token.refresh_token_id",
    "token.expires_at",
    // `audience` is the API asked for (read as resource), not the issued token's `aud`,
    // which for an `openid` request also names the tenant's /userinfo.
    "token.audience",
    // `srrt` names the client and user of the revoked refresh token, not its API.
    "token.revoke:resource",
    // There is no consent log type.
    "consent",
    // Only the record's own unmapped fields (attributes.auth0) go back out.
    "attributes",
];

/// What one Auth0 log type code is as a trustpath event.
struct LogType {
    code: &'static str,
    kind: Kind,
    outcome: Outcome,
    grant_type: Option<&'static str>,
}

const fn log_type(
    code: &'static str,
    kind: Kind,
    outcome: Outcome,
    grant_type: Option<&'static str>,
) -> LogType {
    LogType {
        code,
        kind,
        outcome,
        grant_type,
    }
}

/// The log types trustpath reads. `emit` writes the first code of a (kind, outcome, grant).
const LOG_TYPES: &[LogType] = {
    use Kind::{AuthorizationRequest as Login, TokenIssue as Token, TokenRevoke as Revoke};
    use Outcome::{Failure, Success};
    &[
        log_type("s", Login, Success, None),
        log_type("ssa", Login, Success, None),
        log_type("f", Login, Failure, None),
        log_type("fp", Login, Failure, None),
        log_type("fu", Login, Failure, None),
        log_type("fsa", Login, Failure, None),
        log_type("seacft", Token, Success, Some("authorization_code")),
        log_type("feacft", Token, Failure, Some("authorization_code")),
        log_type("sertft", Token, Success, Some("refresh_token")),
        log_type("fertft", Token, Failure, Some("refresh_token")),
        log_type("ferrt", Token, Failure, Some("refresh_token")),
        log_type("seccft", Token, Success, Some("client_credentials")),
        log_type("feccft", Token, Failure, Some("client_credentials")),
        log_type("sede", Token, Success, Some("device_code")),
        log_type("fede", Token, Failure, Some("device_code")),
        log_type("sepft", Token, Success, Some("password")),
        log_type("fepft", Token, Failure, Some("password")),
        log_type("secte", Token, Success, Some("token_exchange")),
        log_type("fecte", Token, Failure, Some("token_exchange")),
        log_type("srrt", Revoke, Success, None),
    ]
};

/// Reads one Auth0 log event.
pub fn read(fields: &mut Fields, context: &Context) -> Result<WireEvent, String> {
    unwrap_stream_envelope(fields);
    let code = fields
        .string("type")
        .ok_or("field `type` (the log type code, such as `seacft`) is missing or not text")?;
    let Some(log_type) = LOG_TYPES.iter().find(|known| known.code == code) else {
        let codes: Vec<&str> = LOG_TYPES.iter().map(|known| known.code).collect();
        return Err(format!(
            "log type `{code}` is not an authorization event; trustpath reads {}",
            codes.join(", ")
        ));
    };
    let time = fields.time("date")?;
    let hostname = fields.string("hostname");
    let mut event = super::event(
        context.event_id(fields.string("log_id")),
        time,
        log_type.kind,
        SourceType::AuthorizationServer,
        hostname.clone(),
    );
    event.outcome = Some(log_type.outcome);
    event.issuer = hostname.map(|hostname| {
        context
            .configured_issuer(&hostname)
            .unwrap_or_else(|| format!("https://{hostname}/"))
    });
    event.subject = fields.string("user_id");
    event.client.id = fields.string("client_id");
    event.client.name = fields.string("client_name");
    event.network.ip = fields.string("ip");
    event.network.user_agent = fields.string("user_agent");
    event.token.grant_type = log_type.grant_type.map(str::to_owned);
    if matches!(log_type.kind, Kind::AuthorizationRequest | Kind::TokenIssue) {
        event.resource = fields.string("audience");
        let scope = fields.strings("scope");
        if issues_a_token(log_type.kind, log_type.outcome) {
            event.scopes.granted = scope;
        } else {
            event.scopes.requested = scope;
        }
    }
    if log_type.outcome == Outcome::Failure {
        event.reason = Some(fields.string("details.error.oauthError").unwrap_or(code));
    }
    Ok(event)
}

/// The Auth0 log event for `event`: None for kinds and outcomes Auth0 has no log type for.
pub fn emit(event: &WireEvent) -> Option<Value> {
    if event.source.source_type != Some(SourceType::AuthorizationServer) {
        return None;
    }
    let outcome = event.outcome?;
    let log_type = LOG_TYPES.iter().find(|known| {
        known.kind == event.kind
            && known.outcome == outcome
            && known.grant_type == event.token.grant_type.as_deref()
    })?;
    let id = event.id.strip_prefix("auth0:").unwrap_or(&event.id);
    // Auth0 logs milliseconds.
    let date = event.time.to_rfc3339_opts(SecondsFormat::Millis, true);
    let hostname = event
        .issuer
        .as_deref()
        .and_then(issuer_host)
        .or_else(|| event.source.name.clone());
    let (audience, scopes) = match event.kind {
        Kind::AuthorizationRequest | Kind::TokenIssue => {
            let scopes = if issues_a_token(event.kind, outcome) {
                &event.scopes.granted
            } else {
                &event.scopes.requested
            };
            (
                event.resource.clone(),
                scopes.as_ref().map(|scopes| scopes.join(" ")),
            )
        }
        _ => (None, None),
    };
    // A reason that is the type code itself is what read gives when Auth0 logs no OAuth error.
    let oauth_error = event
        .reason
        .as_deref()
        .filter(|reason| outcome == Outcome::Failure && *reason != log_type.code);
    let mut record = object([
        ("log_id", Some(id.into())),
        ("date", Some(date.into())),
        ("type", Some(log_type.code.into())),
        ("hostname", hostname.map(Into::into)),
        ("client_id", json(&event.client.id)),
        ("client_name", json(&event.client.name)),
        ("user_id", json(&event.subject)),
        ("ip", json(&event.network.ip)),
        ("user_agent", json(&event.network.user_agent)),
        ("audience", audience.map(Into::into)),
        ("scope", scopes.map(Into::into)),
        (
            "details",
            oauth_error.map(|error| json!({"error": {"oauthError": error}})),
        ),
    ]);
    // The vendor fields a read of this event kept (description, user_name, details...):
    // they are what Auth0 logged.
    if let Some(Value::Object(kept)) = event.attributes.get("auth0") {
        overlay(&mut record, kept);
    }
    Some(Value::Object(record))
}

/// Whether the log type stands for a token handed out (whose scope is the token's).
fn issues_a_token(kind: Kind, outcome: Outcome) -> bool {
    kind == Kind::TokenIssue && outcome == Outcome::Success
}

/// Log streams wrap the event as `{"log_id": …, "data": {<event>}}`: read the event, and
/// keep what the envelope adds beyond a repeated `log_id` under `envelope`.
fn unwrap_stream_envelope(fields: &mut Fields) {
    if !matches!(fields.peek("data.type"), Some(Value::String(_))) {
        return;
    }
    let Some(Value::Object(data)) = fields.take("data") else {
        return;
    };
    let envelope = std::mem::replace(fields, Fields::new(data));
    let mut extra = Map::new();
    for (key, value) in envelope.rest {
        match fields.peek(&key) {
            None => {
                fields.rest.insert(key, value);
            }
            Some(same) if *same == value => {}
            Some(_) => {
                extra.insert(key, value);
            }
        }
    }
    if !extra.is_empty() {
        fields
            .rest
            .insert("envelope".to_owned(), Value::Object(extra));
    }
}

/// The host of an issuer URL: the tenant domain Auth0 logs as `hostname`.
fn issuer_host(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::adapt::{Adapters, Format, testing, without};
    use crate::config::AdaptersConfig;
    use crate::normalize::Normalizer;

    /// Reads a record the way ingest does (leftovers go to attributes.auth0), with
    /// `issuers` configured for Auth0.
    fn read_with(record: &Value, issuers: &[(&str, &str)]) -> Result<WireEvent, String> {
        let Value::Object(object) = record.clone() else {
            panic!("test records are objects");
        };
        let mut config = AdaptersConfig::default();
        config.auth0.issuers = issuers
            .iter()
            .map(|(host, issuer)| (host.to_string(), issuer.to_string()))
            .collect::<BTreeMap<_, _>>();
        Adapters::new(config)
            .read(Format::Auth0, object, &"00".repeat(32))
            .map_err(|rejection| rejection.to_string())
    }

    fn read_record(record: &Value) -> Result<WireEvent, String> {
        read_with(record, &[])
    }

    /// What the simulator's authorization servers are configured as: host → issuer.
    const SIM_ISSUERS: [(&str, &str); 3] = [
        ("auth-eu.acme.example", "https://auth-eu.acme.example"),
        ("auth-us.acme.example", "https://auth-us.acme.example"),
        ("auth-ap.acme.example", "https://auth-ap.acme.example"),
    ];

    /// The event `emit(e)` reads back as, with e's id (ids become `auth0:<id>`) and without
    /// the source name (Auth0's is the issuer's host, checked here).
    fn round_trip(event: &WireEvent) -> Option<WireEvent> {
        let mut back = testing::round_trip(Format::Auth0, event, |r| read_with(r, &SIM_ISSUERS))?;
        let issuer_host = event.issuer.as_deref().and_then(issuer_host);
        assert_eq!(back.source.name, issuer_host);
        back.source.name = None;
        Some(back)
    }

    fn wire(event: Value) -> WireEvent {
        serde_json::from_value(event).expect("test events are wire events")
    }

    /// the vendor sample `shared/samples/auth0.ndjson`, one record per line.
    const SAMPLES: [&str; 3] = [
        r#"{"log_id":"90020261126100000000000000000000000000000000000001","date":"2026-11-26T10:00:01.456Z","type":"seacft","description":"Authorization Code for Access Token","client_id":"aBcD1234efGH5678ijKL","client_name":"Example MCP App","ip":"203.0.113.7","user_agent":"example-mcp-client/1.2","hostname":"example.us.auth0.com","user_id":"auth0|6560a1b2c3d4e5f6a7b8c9d0","user_name":"alice@example.com","audience":"https://mcp.example.com/mcp","scope":"openid files:read","details":{"code":"*************Xk9"},"tenant_name":"example"}"#,
        r#"{"log_id":"90020261126100500000000000000000000000000000000002","date":"2026-11-26T10:05:00.000Z","type":"feacft","description":"Invalid authorization code","client_id":"zZzZ0000yYyY1111xXxX","client_name":"Unknown","ip":"198.51.100.23","user_agent":"curl/8.5.0","hostname":"example.us.auth0.com","audience":"https://mcp.example.com/mcp","details":{"code":"*************aa1"},"tenant_name":"example"}"#,
        r#"{"log_id":"90020261126110000000000000000000000000000000000003","date":"2026-11-26T11:00:00.000Z","type":"sertft","description":"Refresh Token for Access Token","client_id":"aBcD1234efGH5678ijKL","client_name":"Example MCP App","ip":"203.0.113.7","user_agent":"example-mcp-client/1.2","hostname":"example.us.auth0.com","user_id":"auth0|6560a1b2c3d4e5f6a7b8c9d0","audience":"https://mcp.example.com/mcp","scope":"openid files:read","tenant_name":"example"}"#,
    ];

    const HOST: &str = "example.us.auth0.com";
    const ISSUER: &str = "https://example.us.auth0.com/";
    const MCP: &str = "https://mcp.example.com/mcp";
    const USER: &str = "auth0|6560a1b2c3d4e5f6a7b8c9d0";

    /// A record of `type` with what most records have; `extra` is added over it.
    fn record(code: &str, extra: Value) -> Value {
        let mut record = json!({"log_id": format!("log-{code}"), "date": "2026-11-26T10:00:00.000Z",
            "type": code, "hostname": HOST, "client_id": "cli-1", "client_name": "MCP App",
            "ip": "203.0.113.7", "user_agent": "Chrome 120.0.0 / Mac OS X 10.15.7"});
        record
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        record
    }

    /// The event a `record(code, …)` reads as, with `extra` added over it.
    fn expected(code: &str, kind: &str, outcome: &str, extra: Value) -> Value {
        let mut event = json!({"id": format!("auth0:log-{code}"), "kind": kind, "outcome": outcome,
            "source": {"type": "authorization_server", "name": HOST}, "issuer": ISSUER,
            "client": {"id": "cli-1", "name": "MCP App"},
            "network": {"ip": "203.0.113.7", "user_agent": "Chrome 120.0.0 / Mac OS X 10.15.7"}});
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event
    }

    /// Each record with the whole event it must read as (the wire JSON, `time` aside).
    fn read_cases() -> Vec<(&'static str, Value, Value)> {
        let sample = |line: usize| serde_json::from_str::<Value>(SAMPLES[line]).unwrap();
        let source = json!({"type": "authorization_server", "name": HOST});
        let app = json!({"id": "aBcD1234efGH5678ijKL", "name": "Example MCP App"});
        let network = json!({"ip": "203.0.113.7", "user_agent": "example-mcp-client/1.2"});
        let token = |grant: &str| json!({"grant_type": grant});
        let granted = json!({"granted": ["openid", "files:read"]});
        vec![
            (
                "sample: code exchanged; user_name, description and masked code kept",
                sample(0),
                json!({"id": "auth0:90020261126100000000000000000000000000000000000001",
                    "kind": "token.issue", "outcome": "success", "source": source, "subject": USER,
                    "client": app, "resource": MCP, "issuer": ISSUER, "scopes": granted,
                    "token": token("authorization_code"), "network": network,
                    "attributes": {"auth0": {"description": "Authorization Code for Access Token",
                        "user_name": "alice@example.com", "details": {"code": "*************Xk9"},
                        "tenant_name": "example"}}}),
            ),
            (
                "sample: invalid code, no OAuth error logged: the type is the reason",
                sample(1),
                json!({"id": "auth0:90020261126100500000000000000000000000000000000002",
                    "kind": "token.issue", "outcome": "failure", "reason": "feacft",
                    "source": source, "client": {"id": "zZzZ0000yYyY1111xXxX", "name": "Unknown"},
                    "resource": MCP, "issuer": ISSUER, "token": {"grant_type": "authorization_code"},
                    "network": {"ip": "198.51.100.23", "user_agent": "curl/8.5.0"},
                    "attributes": {"auth0": {"description": "Invalid authorization code",
                        "details": {"code": "*************aa1"}, "tenant_name": "example"}}}),
            ),
            (
                "sample: refresh",
                sample(2),
                json!({"id": "auth0:90020261126110000000000000000000000000000000000003",
                    "kind": "token.issue", "outcome": "success", "source": source, "subject": USER,
                    "client": app, "resource": MCP, "issuer": ISSUER, "scopes": granted,
                    "token": token("refresh_token"), "network": network,
                    "attributes": {"auth0": {"description": "Refresh Token for Access Token",
                        "tenant_name": "example"}}}),
            ),
            (
                "login (log stream shape: scope as an array); connection and strategy kept",
                record(
                    "s",
                    json!({"user_id": USER, "user_name": "alice@example.com", "audience": MCP,
                    "scope": ["openid", "files:read"], "connection": "Username-Password-Authentication",
                    "strategy": "auth0", "details": {"prompts": [], "session_id": "s-1"}}),
                ),
                expected(
                    "s",
                    "authorization.request",
                    "success",
                    json!({"subject": USER,
                    "resource": MCP, "scopes": {"requested": ["openid", "files:read"]},
                    "attributes": {"auth0": {"user_name": "alice@example.com",
                        "connection": "Username-Password-Authentication", "strategy": "auth0",
                        "details": {"prompts": [], "session_id": "s-1"}}}}),
                ),
            ),
            (
                "silent authentication, no hostname: no source name, no issuer; no log_id: hashed id",
                json!({"date": "2026-11-26T10:00:00Z", "type": "ssa", "client_id": "cli-1", "user_id": USER}),
                json!({"id": format!("auth0:sha256:{}", "0".repeat(32)), "kind": "authorization.request",
                    "outcome": "success", "source": {"type": "authorization_server"}, "subject": USER,
                    "client": {"id": "cli-1"}}),
            ),
            (
                "failed login with an OAuth error; its message kept",
                record(
                    "f",
                    json!({"user_id": USER, "description": "Access denied by rule",
                    "details": {"error": {"message": "Access denied by rule", "oauthError": "access_denied"}}}),
                ),
                expected(
                    "f",
                    "authorization.request",
                    "failure",
                    json!({"reason": "access_denied", "subject": USER,
                    "attributes": {"auth0": {"description": "Access denied by rule",
                        "details": {"error": {"message": "Access denied by rule"}}}}}),
                ),
            ),
            (
                "wrong password",
                record(
                    "fp",
                    json!({"user_id": USER, "user_name": "alice@example.com",
                    "description": "Wrong email or password."}),
                ),
                expected(
                    "fp",
                    "authorization.request",
                    "failure",
                    json!({"reason": "fp", "subject": USER,
                    "attributes": {"auth0": {"user_name": "alice@example.com",
                        "description": "Wrong email or password."}}}),
                ),
            ),
            (
                "unknown user: the attempted name is kept, no subject",
                record(
                    "fu",
                    json!({"user_name": "mallory@example.com", "description": "Wrong email or password."}),
                ),
                expected(
                    "fu",
                    "authorization.request",
                    "failure",
                    json!({"reason": "fu",
                    "attributes": {"auth0": {"user_name": "mallory@example.com",
                        "description": "Wrong email or password."}}}),
                ),
            ),
            (
                "failed silent authentication: login_required; the query kept",
                record(
                    "fsa",
                    json!({"description": "Login required", "audience": MCP, "scope": "openid files:read",
                    "details": {"qs": {"prompt": "none", "response_type": "code"},
                        "error": {"message": "Login required", "oauthError": "login_required",
                            "type": "oauth-authorization"}}}),
                ),
                expected(
                    "fsa",
                    "authorization.request",
                    "failure",
                    json!({"reason": "login_required",
                    "resource": MCP, "scopes": {"requested": ["openid", "files:read"]},
                    "attributes": {"auth0": {"description": "Login required",
                        "details": {"qs": {"prompt": "none", "response_type": "code"},
                            "error": {"message": "Login required", "type": "oauth-authorization"}}}}}),
                ),
            ),
            (
                "failed refresh: invalid_grant; the scope asked for is requested",
                record(
                    "fertft",
                    json!({"user_id": USER, "audience": MCP, "scope": "files:read",
                    "details": {"error": {"oauthError": "invalid_grant"}}}),
                ),
                expected(
                    "fertft",
                    "token.issue",
                    "failure",
                    json!({"reason": "invalid_grant", "subject": USER,
                    "resource": MCP, "scopes": {"requested": ["files:read"]},
                    "token": {"grant_type": "refresh_token"}}),
                ),
            ),
            (
                "rotating refresh token refused (reuse)",
                record("ferrt", json!({"user_id": USER})),
                expected(
                    "ferrt",
                    "token.issue",
                    "failure",
                    json!({"reason": "ferrt", "subject": USER,
                    "token": {"grant_type": "refresh_token"}}),
                ),
            ),
            (
                "client credentials: no user",
                record("seccft", json!({"audience": MCP, "scope": "files:read"})),
                expected(
                    "seccft",
                    "token.issue",
                    "success",
                    json!({"resource": MCP,
                    "scopes": {"granted": ["files:read"]}, "token": token("client_credentials")}),
                ),
            ),
            (
                "client credentials refused",
                record(
                    "feccft",
                    json!({"description": "Unauthorized", "details": {"error": {"oauthError": "invalid_client"}}}),
                ),
                expected(
                    "feccft",
                    "token.issue",
                    "failure",
                    json!({"reason": "invalid_client",
                    "token": {"grant_type": "client_credentials"},
                    "attributes": {"auth0": {"description": "Unauthorized"}}}),
                ),
            ),
            (
                "device code",
                record("sede", json!({"user_id": USER, "audience": MCP})),
                expected(
                    "sede",
                    "token.issue",
                    "success",
                    json!({"subject": USER, "resource": MCP,
                    "token": token("device_code")}),
                ),
            ),
            (
                "device code refused",
                record("fede", json!({})),
                expected(
                    "fede",
                    "token.issue",
                    "failure",
                    json!({"reason": "fede",
                    "token": {"grant_type": "device_code"}}),
                ),
            ),
            (
                "password grant",
                record(
                    "sepft",
                    json!({"user_id": USER, "audience": MCP, "scope": "files:read"}),
                ),
                expected(
                    "sepft",
                    "token.issue",
                    "success",
                    json!({"subject": USER, "resource": MCP,
                    "scopes": {"granted": ["files:read"]}, "token": token("password")}),
                ),
            ),
            (
                "password grant refused",
                record("fepft", json!({"user_name": "alice@example.com"})),
                expected(
                    "fepft",
                    "token.issue",
                    "failure",
                    json!({"reason": "fepft",
                    "token": {"grant_type": "password"},
                    "attributes": {"auth0": {"user_name": "alice@example.com"}}}),
                ),
            ),
            (
                "custom token exchange",
                record("secte", json!({"user_id": USER, "audience": MCP})),
                expected(
                    "secte",
                    "token.issue",
                    "success",
                    json!({"subject": USER, "resource": MCP,
                    "token": token("token_exchange")}),
                ),
            ),
            (
                "custom token exchange refused",
                record("fecte", json!({"audience": MCP})),
                expected(
                    "fecte",
                    "token.issue",
                    "failure",
                    json!({"reason": "fecte", "resource": MCP,
                    "token": {"grant_type": "token_exchange"}}),
                ),
            ),
            (
                "refresh token revoked: an audience or scope it has is kept, not the resource",
                record(
                    "srrt",
                    json!({"user_id": USER, "description": "Successful Refresh Token Revocation",
                    "audience": MCP, "scope": "files:read"}),
                ),
                expected(
                    "srrt",
                    "token.revoke",
                    "success",
                    json!({"subject": USER,
                    "attributes": {"auth0": {"description": "Successful Refresh Token Revocation",
                        "audience": MCP, "scope": "files:read"}}}),
                ),
            ),
            (
                "log stream envelope: the event inside is read, a differing envelope field kept",
                json!({"log_id": "log-seacft", "stream": "webhook-1",
                    "data": record("seacft", json!({"user_id": USER, "audience": MCP}))}),
                expected(
                    "seacft",
                    "token.issue",
                    "success",
                    json!({"subject": USER, "resource": MCP,
                    "token": token("authorization_code"),
                    "attributes": {"auth0": {"stream": "webhook-1"}}}),
                ),
            ),
            (
                "log stream envelope whose log_id differs from the event's",
                json!({"log_id": "outer", "data": record("srrt", json!({}))}),
                expected(
                    "srrt",
                    "token.revoke",
                    "success",
                    json!({"attributes": {"auth0": {"envelope": {"log_id": "outer"}}}}),
                ),
            ),
        ]
    }

    #[test]
    fn records_read_as_their_events() {
        for (name, record, mut expected) in read_cases() {
            let event = read_record(&record).unwrap_or_else(|reason| panic!("{name}: {reason}"));
            let mut actual = serde_json::to_value(&event).unwrap();
            actual.as_object_mut().unwrap().remove("time");
            expected.as_object_mut().unwrap().remove("time");
            assert_eq!(actual, expected, "{name}");
            let native = serde_json::to_vec(&event).unwrap();
            let schema_check = Normalizer::new(1 << 20).read(&native, Format::Native);
            assert!(schema_check.is_ok(), "{name}: {schema_check:?}");
        }
    }

    #[test]
    fn every_log_type_is_read() {
        let cases = read_cases();
        for known in LOG_TYPES {
            assert!(
                cases
                    .iter()
                    .any(|(_, record, _)| record["type"] == known.code
                        || record["data"]["type"] == known.code),
                "no read case for `{}`",
                known.code
            );
        }
    }

    #[test]
    fn every_sample_reads() {
        for line in SAMPLES {
            let record: Value = serde_json::from_str(line).unwrap();
            let event = read_record(&record).unwrap();
            assert_eq!(event.source.name.as_deref(), Some(HOST), "{line}");
            assert_eq!(event.issuer.as_deref(), Some(ISSUER), "{line}");
        }
    }

    #[test]
    fn the_configured_issuer_of_the_hostname_wins() {
        let record: Value = serde_json::from_str(SAMPLES[0]).unwrap();
        let event = read_with(&record, &[(HOST, "https://login.example.com/")]).unwrap();
        assert_eq!(event.issuer.as_deref(), Some("https://login.example.com/"));
        assert_eq!(event.source.name.as_deref(), Some(HOST));
    }

    #[test]
    fn unreadable_records_are_rejected_with_the_types_read() {
        let codes = "s, ssa, f, fp, fu, fsa, seacft, feacft, sertft, fertft, ferrt, seccft, \
                     feccft, sede, fede, sepft, fepft, secte, fecte, srrt";
        let no_type = "auth0 record: field `type` (the log type code, such as `seacft`) is missing or not text";
        let cases = [
            (
                json!({"log_id": "a1", "date": "2026-11-26T10:00:00Z", "type": "sapi",
                    "description": "Create a client"}),
                format!(
                    "auth0 record: log type `sapi` is not an authorization event; trustpath reads {codes}"
                ),
            ),
            (
                json!({"log_id": "a1", "date": "2026-11-26T10:00:00Z", "type": "slo"}),
                format!(
                    "auth0 record: log type `slo` is not an authorization event; trustpath reads {codes}"
                ),
            ),
            (
                json!({"log_id": "a1", "date": "2026-11-26T10:00:00Z"}),
                no_type.to_owned(),
            ),
            (
                json!({"log_id": "a1", "date": "2026-11-26T10:00:00Z", "type": {"code": "s"}}),
                no_type.to_owned(),
            ),
            (
                json!({"log_id": "a1", "data": {"date": "2026-11-26T10:00:00Z"}}),
                no_type.to_owned(),
            ),
            (
                json!({"log_id": "a1", "type": "seacft"}),
                "auth0 record: missing required field `date` (the event time)".to_owned(),
            ),
            (
                json!({"log_id": "a1", "date": "yesterday", "type": "seacft"}),
                "auth0 record: field `date`: not an RFC 3339 timestamp or epoch milliseconds: \"yesterday\""
                    .to_owned(),
            ),
        ];
        for (record, reason) in cases {
            assert_eq!(read_record(&record).unwrap_err(), reason, "{record}");
        }
    }

    /// What was read comes back the same through emit: kept vendor fields included.
    #[test]
    fn read_events_emit_the_same_event() {
        let records = read_cases()
            .into_iter()
            .map(|(name, record, _)| (name, record));
        testing::read_emit_read(Format::Auth0, records, read_record);
    }

    /// The simulator's authorization-server events Auth0 logs (`trustpath simulate` output),
    /// and shapes it does not produce (failed login, token exchange, device code, client
    /// credentials).
    const SIMULATED: [&str; 19] = [
        r#"{"id":"sim-1-00000004","time":"2026-11-01T00:10:01.625Z","kind":"authorization.request","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"requested":["files:read"]},"redirect_uri":"https://copilot-agent.example.com/oauth/callback","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"attributes":{"pkce_method":"S256"}}"#,
        r#"{"id":"sim-1-00000006","time":"2026-11-01T00:10:09.603Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-7ab1b7d265ac6692","refresh_token_id":"rt-5a1af9c9e15c6b3d","audience":["https://mcp-files.acme.example/mcp"],"grant_type":"authorization_code","expires_at":"2026-11-01T01:10:09.993Z"},"network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"}}"#,
        r#"{"id":"sim-1-00000012","time":"2026-11-01T01:08:55.915Z","kind":"authorization.request","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0004@acme.example","client":{"id":"https://claude-desktop.example.com/oauth/client-metadata.json","registration":"cimd","name":"Claude Desktop"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"requested":["files:read"]},"redirect_uri":"https://claude-desktop.example.com/oauth/callback","network":{"ip":"192.0.2.254","user_agent":"claude-desktop/1.9"},"attributes":{"pkce_method":"S256"}}"#,
        r#"{"id":"sim-1-00000014","time":"2026-11-01T01:09:28.165Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0004@acme.example","client":{"id":"https://claude-desktop.example.com/oauth/client-metadata.json","registration":"cimd","name":"Claude Desktop"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-88f40d85f9f39556","refresh_token_id":"rt-815a6e66d7ce0c40","audience":["https://mcp-files.acme.example/mcp"],"grant_type":"authorization_code","expires_at":"2026-11-01T02:09:28.555Z"},"network":{"ip":"192.0.2.254","user_agent":"claude-desktop/1.9"}}"#,
        r#"{"id":"sim-1-00000030","time":"2026-11-01T02:44:18.358Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0008@acme.example","client":{"id":"https://sales-assistant.example.com/oauth/client-metadata.json","registration":"cimd","name":"Sales Assistant"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","scopes":{"granted":["crm:read"]},"token":{"id":"tok-11604c03e6a398d7","parent_id":"rt-0c868d5dce9afda3","refresh_token_id":"rt-677c9fa94253d19b","audience":["https://mcp-crm.acme.example/mcp"],"grant_type":"refresh_token","expires_at":"2026-11-01T03:44:20.037Z"},"network":{"ip":"198.51.100.254","user_agent":"sales-assistant/1.5"}}"#,
        r#"{"id":"sim-1-00000047","time":"2026-11-01T03:01:20.067Z","kind":"authorization.request","outcome":"success","source":{"type":"authorization_server","name":"auth-ap"},"subject":"user0006@acme.example","client":{"id":"dcr-72a6fbe243901a0b","registration":"dcr","name":"Cursor"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-ap.acme.example","scopes":{"requested":["files:read"]},"redirect_uri":"http://localhost:8857/callback","network":{"ip":"198.51.100.102","user_agent":"cursor/2.9"},"attributes":{"pkce_method":"S256"}}"#,
        r#"{"id":"sim-1-00000049","time":"2026-11-01T03:01:55.311Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-ap"},"subject":"user0006@acme.example","client":{"id":"dcr-72a6fbe243901a0b","registration":"dcr","name":"Cursor"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-ap.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-1431c79172150d30","refresh_token_id":"rt-5999623e82a4c7ac","audience":["https://mcp-files.acme.example/mcp"],"grant_type":"authorization_code","expires_at":"2026-11-01T04:01:54.925Z"},"network":{"ip":"198.51.100.102","user_agent":"cursor/2.9"}}"#,
        r#"{"id":"sim-1-00000051","time":"2026-11-01T03:58:12.552Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-ap"},"subject":"user0006@acme.example","client":{"id":"dcr-72a6fbe243901a0b","registration":"dcr","name":"Cursor"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-ap.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-89ed5403f0b802cd","parent_id":"rt-5999623e82a4c7ac","refresh_token_id":"rt-ccf69547b635917b","audience":["https://mcp-files.acme.example/mcp"],"grant_type":"refresh_token","expires_at":"2026-11-01T04:58:12.166Z"},"network":{"ip":"198.51.100.102","user_agent":"cursor/2.9"}}"#,
        r#"{"id":"sim-1-00000117","time":"2026-11-01T07:39:34.135Z","kind":"token.revoke","outcome":"success","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0007@acme.example","client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd","name":"Support Bot"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","token":{"id":"rt-8436d87c8df54d51"},"network":{"ip":"192.0.2.66","user_agent":"support-bot/1.9"}}"#,
        r#"{"id":"sim-1-00000238","time":"2026-11-01T16:24:38.019Z","kind":"token.issue","outcome":"failure","reason":"invalid_grant","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0008@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","token":{"grant_type":"authorization_code"},"network":{"ip":"198.51.100.152","user_agent":"copilot-agent/3.15"}}"#,
        r#"{"id":"sim-1-00000751","time":"2026-11-02T04:15:45.472Z","kind":"token.issue","outcome":"failure","reason":"invalid_client","source":{"type":"authorization_server","name":"auth-eu"},"client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd","name":"Support Bot"},"issuer":"https://auth-eu.acme.example","token":{"grant_type":"client_credentials"},"network":{"ip":"198.51.100.252"}}"#,
        r#"{"id":"sim-1-00000420","time":"2026-11-02T09:54:14.729Z","kind":"token.issue","outcome":"failure","reason":"invalid_grant","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0003@acme.example","client":{"id":"https://sales-assistant.example.com/oauth/client-metadata.json","registration":"cimd","name":"Sales Assistant"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","token":{"grant_type":"authorization_code"},"network":{"ip":"203.0.113.29","user_agent":"sales-assistant/1.5"}}"#,
        r#"{"id":"sim-1-00000464","time":"2026-11-02T10:28:06.373Z","kind":"token.revoke","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0001@acme.example","client":{"id":"corp-devtools","registration":"pre_registered","name":"Devtools"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","token":{"id":"rt-a14bef9acfdd9bbb"},"network":{"ip":"192.0.2.93","user_agent":"devtools/1.4"}}"#,
        r#"{"id":"sim-1-00000596","time":"2026-11-03T01:27:21.621Z","kind":"token.revoke","outcome":"success","source":{"type":"authorization_server","name":"auth-ap"},"subject":"user0005@acme.example","client":{"id":"dcr-72a6fbe243901a0b","registration":"dcr","name":"Cursor"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-ap.acme.example","token":{"id":"rt-9051692def5e59f3"},"network":{"ip":"192.0.2.218","user_agent":"cursor/2.9"}}"#,
        // A token for two APIs: Auth0 logs the one asked for.
        r#"{"id":"sim-1-00000704","time":"2026-11-02T13:16:21.876Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0009@acme.example","client":{"id":"corp-devtools","registration":"pre_registered","name":"Devtools"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-ea48a035fdde6def","refresh_token_id":"rt-0a3fbfe93d6da6b2","audience":["https://mcp-files.acme.example/mcp","https://mcp-tickets.acme.example/mcp"],"grant_type":"authorization_code","expires_at":"2026-11-02T14:16:22.266Z"},"network":{"ip":"203.0.113.46","user_agent":"devtools/1.4"}}"#,
        r#"{"id":"hand-1","time":"2026-11-01T05:00:00Z","kind":"authorization.request","outcome":"failure","reason":"access_denied","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"requested":["files:admin"]}}"#,
        r#"{"id":"hand-2","time":"2026-11-01T05:01:00.250Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0008@acme.example","client":{"id":"corp-copilot-agent"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","scopes":{"granted":["crm:read"]},"token":{"id":"tok-2","parent_id":"tok-1","audience":["https://mcp-crm.acme.example/mcp"],"grant_type":"token_exchange"}}"#,
        r#"{"id":"hand-3","time":"2026-11-01T05:02:00Z","kind":"token.issue","outcome":"failure","reason":"expired_token","source":{"type":"authorization_server","name":"auth-ap"},"subject":"user0006@acme.example","client":{"id":"tv-app"},"issuer":"https://auth-ap.acme.example","token":{"grant_type":"device_code"}}"#,
        r#"{"id":"hand-4","time":"2026-11-01T05:03:00Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"client":{"id":"batch-job"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-4","audience":["https://mcp-files.acme.example/mcp"],"grant_type":"client_credentials","expires_at":"2026-11-01T06:03:00Z"}}"#,
    ];

    #[test]
    fn simulated_events_round_trip() {
        for line in SIMULATED {
            let event = wire(serde_json::from_str(line).unwrap());
            let back = round_trip(&event).unwrap_or_else(|| panic!("{line}: emits"));
            assert_eq!(back, without(&event, NOT_CARRIED), "{line}");
        }
    }

    #[test]
    fn emit_writes_the_auth0_log_shape() {
        let issued = wire(serde_json::from_str(SIMULATED[1]).unwrap());
        assert_eq!(
            emit(&issued).unwrap(),
            json!({"log_id": "sim-1-00000006", "date": "2026-11-01T00:10:09.603Z", "type": "seacft",
                "hostname": "auth-eu.acme.example", "client_id": "corp-copilot-agent",
                "client_name": "Copilot Agent", "user_id": "user0005@acme.example",
                "ip": "203.0.113.5", "user_agent": "copilot-agent/3.15",
                "audience": "https://mcp-files.acme.example/mcp", "scope": "files:read"})
        );
        let refused = wire(serde_json::from_str(SIMULATED[10]).unwrap());
        assert_eq!(
            emit(&refused).unwrap(),
            json!({"log_id": "sim-1-00000751", "date": "2026-11-02T04:15:45.472Z", "type": "feccft",
                "hostname": "auth-eu.acme.example",
                "client_id": "https://support-bot.example.com/oauth/client-metadata.json",
                "client_name": "Support Bot", "ip": "198.51.100.252",
                "details": {"error": {"oauthError": "invalid_client"}}})
        );
    }

    /// Kinds Auth0 has no log type for, and outcomes it does not log.
    #[test]
    fn events_auth0_does_not_log_emit_none() {
        let unlogged = [
            r#"{"id":"sim-1-00000003","time":"2026-11-01T00:10:01.064Z","kind":"as_metadata.fetch","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"issuer":"https://auth-eu.acme.example","network":{"ip":"203.0.113.5"},"http":{"status":200},"attributes":{"advertised_issuer":"https://auth-eu.acme.example","cimd_supported":true,"metadata_url":"https://auth-eu.acme.example/.well-known/oauth-authorization-server"}}"#,
            r#"{"id":"sim-1-00000011","time":"2026-11-01T01:08:55.800Z","kind":"client.document.fetch","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"client":{"id":"https://claude-desktop.example.com/oauth/client-metadata.json","registration":"cimd","name":"Claude Desktop","document_sha256":"55b3e0b8f49e59fa9908202aec45e2a067f7af79ea93f8f4b7e69b67936d9105","redirect_uris":["https://claude-desktop.example.com/oauth/callback"]},"issuer":"https://auth-eu.acme.example","http":{"status":200,"bytes":297,"resolved_ip":"185.199.75.10","redirected":false}}"#,
            r#"{"id":"sim-1-00000046","time":"2026-11-01T03:01:19.410Z","kind":"client.register","outcome":"success","source":{"type":"authorization_server","name":"auth-ap"},"client":{"id":"dcr-72a6fbe243901a0b","registration":"dcr","name":"Cursor","document_sha256":"0a8fed7b66830773e62d3305a2e64ef35d9d914a8d04ac5c05111dc45327ed3b","redirect_uris":["http://localhost:8857/callback"]},"issuer":"https://auth-ap.acme.example","network":{"ip":"198.51.100.102"}}"#,
            r#"{"id":"sim-1-00000005","time":"2026-11-01T00:10:08.787Z","kind":"consent.grant","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"consent":"explicit","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"}}"#,
            r#"{"id":"sim-1-00000007","time":"2026-11-01T00:13:37.232Z","kind":"resource.access","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-7ab1b7d265ac6692"},"tool":"search_files","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"http":{"status":200}}"#,
            // A token issued from a gateway's log is not the authorization server's event.
            r#"{"id":"x-1","time":"2026-11-01T00:00:00Z","kind":"token.issue","outcome":"success","source":{"type":"gateway"},"token":{"grant_type":"authorization_code"}}"#,
            // No log type: a denied login, a failed revocation, a grant Auth0 does not name.
            r#"{"id":"x-2","time":"2026-11-01T00:00:00Z","kind":"authorization.request","outcome":"denied","source":{"type":"authorization_server"}}"#,
            r#"{"id":"x-3","time":"2026-11-01T00:00:00Z","kind":"token.revoke","outcome":"failure","source":{"type":"authorization_server"}}"#,
            r#"{"id":"x-4","time":"2026-11-01T00:00:00Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server"},"token":{"grant_type":"urn:example:custom"}}"#,
            r#"{"id":"x-5","time":"2026-11-01T00:00:00Z","kind":"token.issue","source":{"type":"authorization_server"},"token":{"grant_type":"authorization_code"}}"#,
        ];
        for line in unlogged {
            let event = wire(serde_json::from_str(line).unwrap());
            assert_eq!(emit(&event), None, "{line}");
        }
    }
}
