//! MCP gateway access logs: one JSON record per HTTP request through the gateway, with
//! the fields agentgateway, Pomerium, Cloudflare and Azure API Management log for MCP
//! traffic: `ts` (RFC 3339), `request_id`, `session_id` (`Mcp-Session-Id`), `method`,
//! `path`, `host`, `status`, `www_authenticate`, `client_ip`, `user_agent`, `mcp_method`,
//! `mcp_tool`, `decision` (`allow`/`deny`), `jwt` (the validated token's claims `iss`,
//! `sub`, `aud`, `azp` or `client_id`, `scope`, `jti_sha256` or `jti`, `exp`),
//! `response_sha256`, `prm` (the served Protected Resource Metadata), and `gateway` (the
//! gateway instance).
//!
//! | record | kind | outcome, reason |
//! |---|---|---|
//! | `GET /.well-known/oauth-protected-resource[/…]` | `metadata.fetch` | 2xx success, else failure |
//! | status 401, or 403 that is not an MCP request with `jwt` | `resource.challenge` | 401 failure, 403 denied; reason = challenge `error`, `missing_token` for a 401 without token or error |
//! | `jwt` and `mcp_method` | `resource.access` | `deny` or 403 denied (reason = challenge `error`), other 4xx/5xx failure, else success |
//!
//! Every shape: id = `request_id`, `source.name` = `gateway` (else `host`),
//! `connection_id` = `session_id`, `network` = `client_ip`/`user_agent`, `http.status`,
//! the `jwt` claims (`token.id` = `jti_sha256`, else `jti`: an identifier, not the token),
//! `tool` = `mcp_tool`, `resource` = `https://{host}{path}` (for PRM fetches `prm.resource`,
//! and `metadata.url` the fetched URL). A Bearer `WWW-Authenticate` gives `reason`
//! (`error`), `scopes.requested` (`scope`) and `metadata.url` (`resource_metadata`). The
//! header is taken only when that is all it says; otherwise (other parameters or
//! challenges, or a malformed header, noted in `attributes.www_authenticate_error`) it is
//! kept as sent. `method`, `mcp_method` and `decision` are taken only where the kind
//! implies them (POST, `tools/call` with a tool, allow/deny). Not carried: [`NOT_CARRIED`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::www_authenticate::{self, Bearer, Challenge};
use super::{Context, Fields, json, object, overlay};
use crate::event::{Kind, Outcome, SourceType, WireEvent};

/// Fields of `trustpath.event.v1` this format does not carry; see adapt::without.
pub const NOT_CARRIED: &[&str] = &[
    // An access token names its client by id only; name, registration and document are
    // the authorization server's knowledge.
    "client.name",
    "client.registration",
    "client.document_sha256",
    "client.redirect_uris",
    // Token lineage and grant type are not access-token claims.
    "token.parent_id",
    "token.refresh_token_id",
    "token.grant_type",
    // Authorization-server steps.
    "redirect_uri",
    "consent",
    // The access log has no byte count, upstream address or redirect flag.
    "http.bytes",
    "http.resolved_ip",
    "http.redirected",
    // A challenge carries only the PRM's URL, not the document.
    "resource.challenge:metadata.document_sha256",
    "resource.challenge:metadata.authorization_servers",
    "resource.challenge:metadata.scopes_supported",
    "resource.access:metadata.document_sha256",
    "resource.access:metadata.authorization_servers",
    "resource.access:metadata.scopes_supported",
    // A failed PRM fetch logs its status, not an OAuth error.
    "metadata.fetch:reason",
    // Only the record's own unmapped fields (attributes.gateway) go back out.
    "attributes",
];

/// The path of RFC 9728 Protected Resource Metadata, with any resource path appended.
const PRM_PATH: &str = "/.well-known/oauth-protected-resource";

/// The Bearer parameters this adapter maps; a header with others is kept as sent.
const MAPPED_PARAMS: [&str; 3] = ["error", "scope", "resource_metadata"];

/// The three kinds of request the gateway log tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    MetadataFetch,
    Challenge,
    Access,
}

impl Shape {
    /// Decided by looking only, before anything is taken.
    fn of(fields: &Fields) -> Result<Shape, String> {
        let method = fields.peek("method").and_then(Value::as_str);
        let path = fields.peek("path").and_then(Value::as_str);
        let status = status(fields);
        let mcp_call =
            fields.peek("jwt").is_some_and(Value::is_object) && fields.peek("mcp_method").is_some();
        match (method, status, mcp_call) {
            (Some("GET"), _, _) if path.is_some_and(is_prm_path) => Ok(Shape::MetadataFetch),
            (_, Some(401), _) => Ok(Shape::Challenge),
            (_, _, true) => Ok(Shape::Access),
            (_, Some(403), false) => Ok(Shape::Challenge),
            _ => Err(format!(
                "not an authorization event (method {}, path {}, status {}, {}): trustpath reads \
                 GET {PRM_PATH}[/…] (metadata.fetch), 401/403 responses (resource.challenge) \
                 and MCP requests with `mcp_method` and `jwt` claims (resource.access)",
                method.unwrap_or("-"),
                path.unwrap_or("-"),
                status.map_or("-".to_owned(), |s| s.to_string()),
                if fields.peek("jwt").is_some() {
                    "with jwt"
                } else {
                    "no jwt"
                },
            )),
        }
    }

    fn kind(self) -> Kind {
        match self {
            Shape::MetadataFetch => Kind::MetadataFetch,
            Shape::Challenge => Kind::ResourceChallenge,
            Shape::Access => Kind::ResourceAccess,
        }
    }

    /// The HTTP method the kind stands for; the field is taken only when it is this one.
    fn method(self) -> &'static str {
        match self {
            Shape::MetadataFetch => "GET",
            Shape::Challenge | Shape::Access => "POST",
        }
    }
}

/// Reads one gateway access log record.
pub fn read(fields: &mut Fields, context: &Context) -> Result<WireEvent, String> {
    let time = fields.time("ts")?;
    let shape = Shape::of(fields)?;
    let source_name = fields
        .string("gateway")
        .or_else(|| fields.peek_string("host"));
    let id = context.event_id(fields.string("request_id"));
    let mut event = super::event(id, time, shape.kind(), SourceType::Gateway, source_name);

    fields.take_if_eq("method", shape.method());
    let path = fields
        .string("path")
        .map(|path| match path.split_once('?') {
            // The resource is the URL without its query; the query is kept, any credential in
            // it (RFC 6750 §2.3 allows `?access_token=`) only as a hash.
            Some((path, query)) => {
                fields.put_back("query", Value::String(super::redact_query(query)));
                path.to_owned()
            }
            None => path,
        });
    let url = https_url(fields.string("host"), path);
    let status = status(fields).and_then(|s| u16::try_from(s).ok());
    if status.is_some() {
        fields.take("status");
    }
    event.http.status = status;
    event.connection_id = fields.string("session_id");
    event.network.ip = fields.string("client_ip");
    event.network.user_agent = fields.string("user_agent");
    let has_jwt = fields.peek("jwt").is_some();
    read_jwt(fields, &mut event);
    event.tool = fields.string("mcp_tool");
    if event.tool.is_some() {
        fields.take_if_eq("mcp_method", "tools/call");
    }

    match shape {
        Shape::MetadataFetch => {
            event.outcome = status.map(|s| match s {
                200..=299 => Outcome::Success,
                _ => Outcome::Failure,
            });
            event.metadata.url = url;
            event.metadata.document_sha256 = fields.string("response_sha256");
            event.resource = fields.string("prm.resource");
            event.metadata.authorization_servers = fields.strings("prm.authorization_servers");
            event.metadata.scopes_supported = fields.strings("prm.scopes_supported");
        }
        Shape::Challenge => {
            event.resource = url;
            let error = read_challenge(fields, &mut event);
            fields.take_if_eq("decision", "deny");
            event.outcome = Some(match status {
                Some(403) => Outcome::Denied,
                _ => Outcome::Failure,
            });
            // RFC 6750 §3.1: a request without any token gets a 401 challenge without
            // `error`. A malformed header says nothing either way.
            event.reason = match error {
                Ok(None) if status == Some(401) && !has_jwt => Some("missing_token".to_owned()),
                Ok(error) => error,
                Err(()) => None,
            };
        }
        Shape::Access => {
            event.resource = url;
            let error = read_challenge(fields, &mut event).ok().flatten();
            let decision = fields.peek_string("decision");
            event.outcome = Some(match (decision.as_deref(), status) {
                (Some("deny"), _) | (_, Some(403)) => Outcome::Denied,
                (_, Some(400..)) => Outcome::Failure,
                _ => Outcome::Success,
            });
            if matches!(decision.as_deref(), Some("allow" | "deny")) {
                fields.take("decision");
            }
            if event.outcome != Some(Outcome::Success) {
                event.reason = error;
            }
        }
    }
    Ok(event)
}

/// The token's claims, as the gateway validated them.
fn read_jwt(fields: &mut Fields, event: &mut WireEvent) {
    event.issuer = fields.string("jwt.iss");
    event.subject = fields.string("jwt.sub");
    event.client.id = fields
        .string("jwt.azp")
        .or_else(|| fields.string("jwt.client_id"));
    event.token.audience = fields.strings("jwt.aud");
    event.scopes.granted = fields.strings("jwt.scope");
    event.token.id = fields
        .string("jwt.jti_sha256")
        .or_else(|| fields.string("jwt.jti"));
    event.token.expires_at = epoch_seconds(fields, "jwt.exp");
}

/// Maps the Bearer challenge of `www_authenticate` onto the event and returns its `error`.
/// `Err` when the header is malformed: the problem goes in `attributes`, the header stays.
fn read_challenge(fields: &mut Fields, event: &mut WireEvent) -> Result<Option<String>, ()> {
    let Some(header) = fields.peek_string("www_authenticate") else {
        return Ok(None);
    };
    let challenges = match www_authenticate::parse(&header) {
        Ok(challenges) => challenges,
        Err(problem) => {
            event
                .attributes
                .insert("www_authenticate_error".into(), problem.into());
            return Err(());
        }
    };
    let Some(challenge) = challenges.iter().find(|c| c.is_bearer()) else {
        return Ok(None);
    };
    let bearer = Bearer::from(challenge);
    event.metadata.url = bearer.resource_metadata;
    event.scopes.requested = (!bearer.scope.is_empty()).then_some(bearer.scope);
    let fully_mapped = challenges.len() == 1
        && challenge.token68.is_none()
        && challenge
            .params
            .keys()
            .all(|name| MAPPED_PARAMS.contains(&name.as_str()));
    if fully_mapped {
        fields.take("www_authenticate");
    }
    Ok(bearer.error)
}

/// The vendor record a gateway would log for `event`; None for events it does not see
/// (those of authorization servers) or cannot express (no https resource or PRM URL).
pub fn emit(event: &WireEvent) -> Option<Value> {
    if event.source.source_type != Some(SourceType::Gateway) {
        return None;
    }
    let (shape, url) = match event.kind {
        Kind::MetadataFetch => (Shape::MetadataFetch, event.metadata.url.as_deref()?),
        Kind::ResourceChallenge => (Shape::Challenge, event.resource.as_deref()?),
        Kind::ResourceAccess => (Shape::Access, event.resource.as_deref()?),
        _ => return None,
    };
    let (host, path) = split_https_url(url)?;
    let readable = match shape {
        Shape::MetadataFetch => is_prm_path(path),
        Shape::Challenge => matches!(event.http.status, Some(401 | 403)),
        Shape::Access => true,
    };
    if !readable {
        return None;
    }
    let id = event.id.strip_prefix("gateway:").unwrap_or(&event.id);
    let time = event.time.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let mut record = object([
        ("ts", Some(time.into())),
        ("request_id", Some(id.into())),
        ("gateway", json(&event.source.name)),
        ("session_id", json(&event.connection_id)),
        ("method", Some(shape.method().into())),
        ("host", Some(host.into())),
        ("path", Some(path.into())),
        ("status", json(&event.http.status)),
        ("client_ip", json(&event.network.ip)),
        ("user_agent", json(&event.network.user_agent)),
        ("jwt", jwt_claims(event)),
        (
            "mcp_method",
            event.tool.as_ref().map(|_| "tools/call".into()),
        ),
        ("mcp_tool", json(&event.tool)),
    ]);
    let specific = match shape {
        Shape::MetadataFetch => {
            let prm = object([
                ("resource", json(&event.resource)),
                (
                    "authorization_servers",
                    json(&event.metadata.authorization_servers),
                ),
                ("scopes_supported", json(&event.metadata.scopes_supported)),
            ]);
            object([
                ("response_sha256", json(&event.metadata.document_sha256)),
                ("prm", (!prm.is_empty()).then_some(Value::Object(prm))),
            ])
        }
        Shape::Challenge => {
            // `missing_token` is trustpath's name for a challenge without `error`.
            let error = event.reason.as_deref().filter(|r| *r != "missing_token");
            object([("www_authenticate", bearer_header(event, error))])
        }
        Shape::Access => {
            let denied = event.outcome == Some(Outcome::Denied);
            let header = (event.outcome != Some(Outcome::Success))
                .then(|| bearer_header(event, event.reason.as_deref()))
                .flatten();
            object([
                (
                    "decision",
                    Some(if denied { "deny" } else { "allow" }.into()),
                ),
                ("www_authenticate", header),
            ])
        }
    };
    record.extend(specific);
    // The vendor fields a read of this event kept as they were: they are what the gateway
    // logged (a header with more than trustpath maps, a method other than POST).
    if let Some(Value::Object(kept)) = event.attributes.get("gateway") {
        overlay(&mut record, kept);
    }
    // The record needs `mcp_method` to read as an access; without a tool it is unknown.
    if shape == Shape::Access && !record.contains_key("mcp_method") {
        return None;
    }
    Some(Value::Object(record))
}

/// The token claims a gateway logs, as in a validated JWT.
fn jwt_claims(event: &WireEvent) -> Option<Value> {
    let audience = match event.token.audience.as_deref() {
        Some([one]) => Some(Value::from(one.as_str())),
        many => many.map(Value::from),
    };
    let scope = event.scopes.granted.as_ref().map(|scopes| scopes.join(" "));
    let claims = object([
        ("iss", json(&event.issuer)),
        ("sub", json(&event.subject)),
        ("aud", audience),
        ("azp", json(&event.client.id)),
        ("scope", json(&scope)),
        ("jti_sha256", json(&event.token.id)),
        (
            "exp",
            event.token.expires_at.map(|exp| exp.timestamp().into()),
        ),
    ]);
    (!claims.is_empty()).then_some(Value::Object(claims))
}

/// `Bearer error="…", scope="…", resource_metadata="…"` from the event's challenge fields;
/// None when there is nothing to say.
fn bearer_header(event: &WireEvent, error: Option<&str>) -> Option<Value> {
    let scope = event
        .scopes
        .requested
        .as_ref()
        .map(|scopes| scopes.join(" "));
    let params = [
        ("error", error.map(str::to_owned)),
        ("scope", scope),
        ("resource_metadata", event.metadata.url.clone()),
    ];
    let challenge = Challenge {
        scheme: "Bearer".into(),
        params: params
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect(),
        token68: None,
    };
    (!challenge.params.is_empty()).then(|| challenge.to_string().into())
}

fn is_prm_path(path: &str) -> bool {
    path.strip_prefix(PRM_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

/// The request's URL; gateways in front of MCP servers terminate TLS, so it is https.
fn https_url(host: Option<String>, path: Option<String>) -> Option<String> {
    Some(format!("https://{}{}", host?, path.unwrap_or_default()))
}

/// `https://host/path` → (`host`, `/path`), exactly as written (no normalization, so the
/// URL reads back the same).
fn split_https_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("https://")?;
    let path_start = rest.find('/')?;
    let (host, path) = rest.split_at(path_start);
    (!host.is_empty()).then_some((host, path))
}

/// `status` as a number (some gateways log it as text).
fn status(fields: &Fields) -> Option<i64> {
    match fields.peek("status")? {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A JWT NumericDate (seconds since the epoch); anything else is left in place.
fn epoch_seconds(fields: &mut Fields, path: &str) -> Option<DateTime<Utc>> {
    let seconds = fields.peek(path)?.as_i64()?;
    let time = DateTime::from_timestamp(seconds, 0)?;
    fields.take(path);
    Some(time)
}
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::adapt::{Adapters, Format, testing, without};
    use crate::normalize::Normalizer;

    /// Reads a record the way ingest does (leftovers go to attributes.gateway).
    fn read_record(record: &Value) -> Result<WireEvent, String> {
        let Value::Object(object) = record.clone() else {
            panic!("test records are objects");
        };
        Adapters::default()
            .read(Format::Gateway, object, &"00".repeat(32))
            .map_err(|rejection| rejection.to_string())
    }

    fn round_trip(event: &WireEvent) -> Option<WireEvent> {
        testing::round_trip(Format::Gateway, event, read_record)
    }

    fn wire(event: Value) -> WireEvent {
        serde_json::from_value(event).expect("test events are wire events")
    }

    /// the vendor sample `shared/samples/gateway.ndjson`, one record per line.
    const SAMPLES: [&str; 4] = [
        r#"{"ts":"2026-11-26T10:00:00.010Z","request_id":"r-0001","session_id":null,"method":"POST","path":"/mcp","host":"mcp.example.com","status":401,"www_authenticate":"Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource\", scope=\"files:read\"","client_ip":"203.0.113.7","user_agent":"example-mcp-client/1.2"}"#,
        r#"{"ts":"2026-11-26T10:00:00.050Z","request_id":"r-0002","method":"GET","path":"/.well-known/oauth-protected-resource","host":"mcp.example.com","status":200,"response_sha256":"41aa6c2f0d8e3b7a9c1d5e4f2a6b8c0d3e7f9a1b5c2d4e6f8a0b1c3d5e7f9a2b","prm":{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["files:read","files:write"]},"client_ip":"203.0.113.7","user_agent":"example-mcp-client/1.2"}"#,
        r#"{"ts":"2026-11-26T10:01:00.000Z","request_id":"r-0003","session_id":"sess-8f2c","method":"POST","path":"/mcp","host":"mcp.example.com","status":200,"mcp_method":"tools/call","mcp_tool":"search_files","decision":"allow","jwt":{"iss":"https://auth.example.com","sub":"alice@example.com","aud":"https://mcp.example.com/mcp","azp":"https://app.example.com/oauth/client.json","scope":"files:read","jti_sha256":"tok-7c1f2e"},"client_ip":"203.0.113.7","user_agent":"example-mcp-client/1.2"}"#,
        r#"{"ts":"2026-11-26T10:02:00.000Z","request_id":"r-0004","session_id":"sess-8f2c","method":"POST","path":"/mcp","host":"mcp.example.com","status":403,"mcp_method":"tools/call","mcp_tool":"delete_file","decision":"deny","www_authenticate":"Bearer error=\"insufficient_scope\", scope=\"files:read files:write\", resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource\"","jwt":{"iss":"https://auth.example.com","sub":"alice@example.com","aud":"https://mcp.example.com/mcp","azp":"https://app.example.com/oauth/client.json","scope":"files:read","jti_sha256":"tok-7c1f2e"},"client_ip":"203.0.113.7","user_agent":"example-mcp-client/1.2"}"#,
    ];

    const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource";

    /// Each record with the whole event it must read as (the wire JSON, `time` aside).
    fn read_cases() -> Vec<(&'static str, Value, Value)> {
        let sample = |line: usize| serde_json::from_str::<Value>(SAMPLES[line]).unwrap();
        let network = json!({"ip": "203.0.113.7", "user_agent": "example-mcp-client/1.2"});
        let who = |event: Value| {
            let mut event = event;
            let fields = json!({"subject": "alice@example.com", "issuer": "https://auth.example.com",
                "client": {"id": "https://app.example.com/oauth/client.json"},
                "token": {"id": "tok-7c1f2e", "audience": ["https://mcp.example.com/mcp"]},
                "scopes": {"granted": ["files:read"]}});
            for (key, value) in fields.as_object().unwrap() {
                match (event.get_mut(key), value) {
                    (Some(Value::Object(have)), Value::Object(add)) => have.extend(add.clone()),
                    _ => {
                        event[key] = value.clone();
                    }
                }
            }
            event
        };
        let source = |name: &str| json!({"type": "gateway", "name": name});
        let token_in_query = json!({"ts": "2026-11-26T10:00:00.010Z", "request_id": "r-q",
            "method": "POST", "path": "/mcp?access_token=eyJhbGciOi&x=1", "host": "mcp.example.com",
            "status": 401, "www_authenticate": "Bearer error=\"invalid_token\""});
        let redacted = format!(
            "access_token=redacted:sha256:{}&x=1",
            crate::normalize::sha256_hex(b"eyJhbGciOi")
        );
        vec![
            (
                "a token in the query string is kept only as a hash",
                token_in_query,
                json!({"id": "gateway:r-q", "kind": "resource.challenge", "outcome": "failure",
                    "reason": "invalid_token", "source": source("mcp.example.com"),
                    "resource": "https://mcp.example.com/mcp", "http": {"status": 401},
                    "attributes": {"gateway": {"query": redacted}}}),
            ),
            (
                "sample: 401 without a token",
                sample(0),
                json!({"id": "gateway:r-0001", "kind": "resource.challenge", "outcome": "failure",
                    "reason": "missing_token", "source": source("mcp.example.com"),
                    "resource": "https://mcp.example.com/mcp", "metadata": {"url": PRM},
                    "scopes": {"requested": ["files:read"]}, "network": network, "http": {"status": 401}}),
            ),
            (
                "sample: PRM fetch",
                sample(1),
                json!({"id": "gateway:r-0002", "kind": "metadata.fetch", "outcome": "success",
                    "source": source("mcp.example.com"), "resource": "https://mcp.example.com/mcp",
                    "metadata": {"url": PRM,
                        "document_sha256": "41aa6c2f0d8e3b7a9c1d5e4f2a6b8c0d3e7f9a1b5c2d4e6f8a0b1c3d5e7f9a2b",
                        "authorization_servers": ["https://auth.example.com"],
                        "scopes_supported": ["files:read", "files:write"]},
                    "network": network, "http": {"status": 200}}),
            ),
            (
                "sample: allowed tool call",
                sample(2),
                who(
                    json!({"id": "gateway:r-0003", "kind": "resource.access", "outcome": "success",
                    "source": source("mcp.example.com"), "connection_id": "sess-8f2c",
                    "resource": "https://mcp.example.com/mcp", "tool": "search_files",
                    "network": network, "http": {"status": 200}}),
                ),
            ),
            (
                "sample: tool call denied for scope",
                sample(3),
                who(
                    json!({"id": "gateway:r-0004", "kind": "resource.access", "outcome": "denied",
                    "reason": "insufficient_scope", "source": source("mcp.example.com"),
                    "connection_id": "sess-8f2c", "resource": "https://mcp.example.com/mcp",
                    "metadata": {"url": PRM}, "scopes": {"requested": ["files:read", "files:write"]},
                    "tool": "delete_file", "network": network, "http": {"status": 403}}),
                ),
            ),
            (
                "401 invalid_token: jti, client_id, aud array, exp; realm keeps the header",
                json!({"ts": "2026-11-26T10:03:00Z", "request_id": "r-5", "gateway": "gw-eu-1",
                    "method": "POST", "path": "/mcp", "host": "mcp.example.com", "status": "401",
                    "www_authenticate": "Bearer realm=\"mcp\", error=\"invalid_token\", error_description=\"The access token expired\"",
                    "jwt": {"iss": "https://auth.example.com", "sub": "bob", "client_id": "cli-1",
                        "aud": ["https://mcp.example.com/mcp", "https://other.example"],
                        "jti": "j-77", "exp": 1795687200}}),
                json!({"id": "gateway:r-5", "kind": "resource.challenge", "outcome": "failure",
                    "reason": "invalid_token", "source": source("gw-eu-1"), "subject": "bob",
                    "client": {"id": "cli-1"}, "resource": "https://mcp.example.com/mcp",
                    "issuer": "https://auth.example.com",
                    "token": {"id": "j-77", "audience": ["https://mcp.example.com/mcp", "https://other.example"],
                        "expires_at": "2026-11-26T10:00:00Z"},
                    "http": {"status": 401},
                    "attributes": {"gateway": {"www_authenticate": "Bearer realm=\"mcp\", error=\"invalid_token\", error_description=\"The access token expired\""}}}),
            ),
            (
                "403 step-up challenge with the presented token, no MCP method",
                json!({"ts": "2026-11-26T10:04:00Z", "request_id": "r-6", "method": "POST", "path": "/mcp",
                    "host": "mcp.example.com", "status": 403, "session_id": "sess-1",
                    "www_authenticate": "Bearer error=insufficient_scope, scope=\"files:read files:write\"",
                    "jwt": {"sub": "bob", "azp": "cli-1", "jti_sha256": "tok-1"}}),
                json!({"id": "gateway:r-6", "kind": "resource.challenge", "outcome": "denied",
                    "reason": "insufficient_scope", "source": source("mcp.example.com"),
                    "connection_id": "sess-1", "subject": "bob", "client": {"id": "cli-1"},
                    "resource": "https://mcp.example.com/mcp",
                    "scopes": {"requested": ["files:read", "files:write"]},
                    "token": {"id": "tok-1"}, "http": {"status": 403}}),
            ),
            (
                "403 by policy, without token or header",
                json!({"ts": "2026-11-26T10:05:00Z", "method": "POST", "path": "/mcp",
                    "host": "mcp.example.com", "status": 403, "decision": "deny", "client_ip": "198.51.100.9"}),
                json!({"id": format!("gateway:sha256:{}", "0".repeat(32)), "kind": "resource.challenge",
                    "outcome": "denied", "source": source("mcp.example.com"),
                    "resource": "https://mcp.example.com/mcp", "network": {"ip": "198.51.100.9"},
                    "http": {"status": 403}}),
            ),
            (
                "malformed header: kept, the problem noted, no reason guessed",
                json!({"ts": "2026-11-26T10:06:00Z", "request_id": "r-8", "method": "POST", "path": "/mcp",
                    "host": "mcp.example.com", "status": 401,
                    "www_authenticate": "Bearer error=\"invalid_token"}),
                json!({"id": "gateway:r-8", "kind": "resource.challenge", "outcome": "failure",
                    "source": source("mcp.example.com"), "resource": "https://mcp.example.com/mcp",
                    "http": {"status": 401},
                    "attributes": {
                        "www_authenticate_error": "unterminated quoted-string for parameter `error` (opened at byte 13)",
                        "gateway": {"www_authenticate": "Bearer error=\"invalid_token"}}}),
            ),
            (
                "two challenges: Bearer read, header kept",
                json!({"ts": "2026-11-26T10:07:00Z", "request_id": "r-9", "method": "POST", "path": "/mcp",
                    "host": "mcp.example.com", "status": 401,
                    "www_authenticate": format!("DPoP algs=\"ES256\", Bearer resource_metadata=\"{PRM}\"")}),
                json!({"id": "gateway:r-9", "kind": "resource.challenge", "outcome": "failure",
                    "reason": "missing_token", "source": source("mcp.example.com"),
                    "resource": "https://mcp.example.com/mcp", "metadata": {"url": PRM},
                    "http": {"status": 401},
                    "attributes": {"gateway": {"www_authenticate": format!("DPoP algs=\"ES256\", Bearer resource_metadata=\"{PRM}\"")}}}),
            ),
            (
                "upstream failure; other MCP method, GET and unknown fields kept",
                json!({"ts": 1795687200123_i64, "request_id": "r-10", "method": "GET", "path": "/mcp",
                    "host": "mcp.example.com", "status": 502, "mcp_method": "tools/list", "decision": "allow",
                    "latency_ms": 12, "jwt": {"sub": "bob", "scope": ["files:read"], "jti_sha256": "tok-1", "cnf": {"jkt": "x"}}}),
                json!({"id": "gateway:r-10", "kind": "resource.access", "outcome": "failure",
                    "source": source("mcp.example.com"), "subject": "bob",
                    "resource": "https://mcp.example.com/mcp", "scopes": {"granted": ["files:read"]},
                    "token": {"id": "tok-1"}, "http": {"status": 502},
                    "attributes": {"gateway": {"method": "GET", "mcp_method": "tools/list",
                        "latency_ms": 12, "jwt": {"cnf": {"jkt": "x"}}}}}),
            ),
            (
                "failed PRM fetch at a path-suffixed PRM URL",
                json!({"ts": "2026-11-26T10:09:00Z", "request_id": "r-11", "method": "GET",
                    "path": "/.well-known/oauth-protected-resource/mcp", "host": "mcp.example.com:8443", "status": 404}),
                json!({"id": "gateway:r-11", "kind": "metadata.fetch", "outcome": "failure",
                    "source": source("mcp.example.com:8443"),
                    "metadata": {"url": "https://mcp.example.com:8443/.well-known/oauth-protected-resource/mcp"},
                    "http": {"status": 404}}),
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
    fn every_sample_reads() {
        for line in SAMPLES {
            let record: Value = serde_json::from_str(line).unwrap();
            let event = read_record(&record).unwrap();
            assert!(event.attributes.is_empty(), "{line}: nothing left over");
        }
    }

    #[test]
    fn unreadable_records_are_rejected_with_the_shapes_read() {
        let shapes = "trustpath reads GET /.well-known/oauth-protected-resource[/…] (metadata.fetch), \
                      401/403 responses (resource.challenge) and MCP requests with `mcp_method` and \
                      `jwt` claims (resource.access)";
        let cases = [
            (json!({"request_id": "r", "status": 401}), "gateway record: missing required field `ts` (the event time)".to_owned()),
            (json!({"ts": "soon", "status": 401}), "gateway record: field `ts`: not an RFC 3339 timestamp or epoch milliseconds: \"soon\"".to_owned()),
            (
                json!({"ts": "2026-11-26T10:00:00Z", "method": "POST", "path": "/mcp", "status": 200}),
                format!("gateway record: not an authorization event (method POST, path /mcp, status 200, no jwt): {shapes}"),
            ),
            (
                json!({"ts": "2026-11-26T10:00:00Z", "method": "GET", "path": "/mcp", "status": 200, "jwt": {"sub": "a"}}),
                format!("gateway record: not an authorization event (method GET, path /mcp, status 200, with jwt): {shapes}"),
            ),
            (
                json!({"ts": "2026-11-26T10:00:00Z", "method": "POST", "path": PRM_PATH, "status": 200}),
                format!("gateway record: not an authorization event (method POST, path {PRM_PATH}, status 200, no jwt): {shapes}"),
            ),
            (
                json!({"ts": "2026-11-26T10:00:00Z"}),
                format!("gateway record: not an authorization event (method -, path -, status -, no jwt): {shapes}"),
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
        testing::read_emit_read(Format::Gateway, records, read_record);
    }

    /// The simulator's gateway events (`trustpath simulate` output), one of each shape, and
    /// shapes it does not produce (invalid_token, denied access, audience and expiry).
    const SIMULATED: [&str; 10] = [
        r#"{"id":"sim-1-00000001","time":"2026-11-01T00:10:01.070Z","kind":"resource.challenge","outcome":"failure","reason":"missing_token","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","resource":"https://mcp-files.acme.example/mcp","metadata":{"url":"https://mcp-files.acme.example/.well-known/oauth-protected-resource/mcp"},"scopes":{"requested":["files:read"]},"network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"http":{"status":401}}"#,
        r#"{"id":"sim-1-00000002","time":"2026-11-01T00:10:01.242Z","kind":"metadata.fetch","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","resource":"https://mcp-files.acme.example/mcp","metadata":{"url":"https://mcp-files.acme.example/.well-known/oauth-protected-resource/mcp","document_sha256":"05aa1e8de8f7edce53cc8798b73617e82d2420aebf5e0d26f7b7b2656f0f2fbf","authorization_servers":["https://auth-eu.acme.example","https://auth-ap.acme.example"],"scopes_supported":["files:read","files:write","files:admin"]},"network":{"ip":"203.0.113.5"},"http":{"status":200}}"#,
        r#"{"id":"sim-1-00000689","time":"2026-11-02T03:24:42.053Z","kind":"metadata.fetch","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"resource":"https://mcp-files.acme.example/mcp","metadata":{"url":"https://mcp-files.acme.example/.well-known/oauth-protected-resource/mcp","document_sha256":"05aa1e8de8f7edce53cc8798b73617e82d2420aebf5e0d26f7b7b2656f0f2fbf","authorization_servers":["https://auth-eu.acme.example","https://auth-ap.acme.example"],"scopes_supported":["files:read","files:write","files:admin"]},"http":{"status":200}}"#,
        r#"{"id":"sim-1-00000007","time":"2026-11-01T00:13:37.232Z","kind":"resource.access","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-7ab1b7d265ac6692"},"tool":"search_files","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"http":{"status":200}}"#,
        r#"{"id":"sim-1-00000015","time":"2026-11-01T01:12:37.520Z","kind":"resource.access","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-a4da1d48b804","subject":"user0004@acme.example","client":{"id":"https://claude-desktop.example.com/oauth/client-metadata.json","registration":"cimd","name":"Claude Desktop"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-88f40d85f9f39556"},"tool":"update_files","network":{"ip":"192.0.2.254","user_agent":"claude-desktop/1.9"},"http":{"status":200}}"#,
        r#"{"id":"sim-1-00000098","time":"2026-11-01T04:39:45.708Z","kind":"resource.challenge","outcome":"denied","reason":"insufficient_scope","source":{"type":"gateway","name":"gw-mcp-crm"},"connection_id":"sess-1e00469732aa","subject":"user0007@acme.example","client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd","name":"Support Bot"},"resource":"https://mcp-crm.acme.example/mcp","metadata":{"url":"https://mcp-crm.acme.example/.well-known/oauth-protected-resource/mcp"},"scopes":{"requested":["crm:read","crm:write"]},"token":{"id":"tok-b0fabddcf29c9450"},"network":{"ip":"192.0.2.66","user_agent":"support-bot/1.9"},"http":{"status":403}}"#,
        r#"{"id":"sim-1-00000739","time":"2026-11-02T06:45:16.274Z","kind":"resource.challenge","outcome":"denied","reason":"insufficient_scope","source":{"type":"gateway","name":"gw-mcp-tickets"},"connection_id":"sess-c0ba00f60a56","subject":"user0003@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-tickets.acme.example/mcp","scopes":{"requested":["tickets:read","tickets:write","tickets:admin"]},"token":{"id":"tok-ea1a3efa1de2721d"},"http":{"status":403}}"#,
        r#"{"id":"hand-1","time":"2026-11-01T05:00:00Z","kind":"resource.challenge","outcome":"failure","reason":"invalid_token","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-1","subject":"user0005@acme.example","client":{"id":"corp-copilot-agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","metadata":{"url":"https://mcp-files.acme.example/.well-known/oauth-protected-resource/mcp"},"token":{"id":"tok-1","expires_at":"2026-11-01T04:59:00Z"},"http":{"status":401}}"#,
        r#"{"id":"hand-2","time":"2026-11-01T05:01:00.5Z","kind":"resource.access","outcome":"denied","reason":"insufficient_scope","source":{"type":"gateway","name":"gw-mcp-crm"},"connection_id":"sess-2","subject":"user0007@acme.example","client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-ap.acme.example","metadata":{"url":"https://mcp-crm.acme.example/.well-known/oauth-protected-resource/mcp"},"scopes":{"requested":["crm:read","crm:write"],"granted":["crm:read"]},"token":{"id":"tok-2","audience":["https://mcp-crm.acme.example/mcp"]},"tool":"update_account","network":{"ip":"192.0.2.66"},"http":{"status":403}}"#,
        r#"{"id":"hand-3","time":"2026-11-01T05:02:00Z","kind":"resource.access","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read","files:write"]},"token":{"id":"tok-3","audience":["https://mcp-files.acme.example/mcp","https://mcp-crm.acme.example/mcp"],"expires_at":"2026-11-01T06:02:00Z"},"tool":"search_files","http":{"status":200}}"#,
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
    fn emit_writes_the_gateway_log_shape() {
        let event = wire(serde_json::from_str(SIMULATED[5]).unwrap());
        assert_eq!(
            emit(&event).unwrap(),
            json!({"ts": "2026-11-01T04:39:45.708Z", "request_id": "sim-1-00000098",
                "gateway": "gw-mcp-crm", "session_id": "sess-1e00469732aa", "method": "POST",
                "host": "mcp-crm.acme.example", "path": "/mcp", "status": 403,
                "client_ip": "192.0.2.66", "user_agent": "support-bot/1.9",
                "jwt": {"sub": "user0007@acme.example",
                    "azp": "https://support-bot.example.com/oauth/client-metadata.json",
                    "jti_sha256": "tok-b0fabddcf29c9450"},
                "www_authenticate": "Bearer error=\"insufficient_scope\", resource_metadata=\"https://mcp-crm.acme.example/.well-known/oauth-protected-resource/mcp\", scope=\"crm:read crm:write\""})
        );
    }

    #[test]
    fn events_a_gateway_does_not_log_emit_none() {
        let from_as = wire(
            json!({"id": "sim-1-00000003", "time": "2026-11-01T00:10:01.400Z",
            "kind": "as_metadata.fetch", "outcome": "success",
            "source": {"type": "authorization_server", "name": "auth-eu"},
            "issuer": "https://auth-eu.acme.example"}),
        );
        assert_eq!(emit(&from_as), None);
        let token_from_as = wire(json!({"id": "x", "time": "2026-11-01T00:10:01Z",
            "kind": "resource.access", "source": {"type": "authorization_server"},
            "resource": "https://mcp.example.com/mcp", "tool": "t"}));
        assert_eq!(emit(&token_from_as), None);
        let plain_http = wire(json!({"id": "y", "time": "2026-11-01T00:10:01Z",
            "kind": "resource.challenge", "source": {"type": "gateway"},
            "resource": "http://mcp.example.com/mcp", "http": {"status": 401}}));
        assert_eq!(emit(&plain_http), None);
    }
}
