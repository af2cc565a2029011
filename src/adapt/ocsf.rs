//! OCSF 1.x: trustpath's SIEM export (`GET /v1/events?format=ocsf`, written as OCSF 1.3.0)
//! and a reader of the OCSF events identity providers and MCP gateways already produce.
//!
//! Three classes carry the trust path; a record of any other class is rejected.
//!
//! | trustpath kind | OCSF class (`class_uid`) | `activity_id` |
//! |---|---|---|
//! | `authorization.request`, `token.issue` | Authentication (3002) | 1 Logon |
//! | `token.revoke` | Authentication (3002) | 2 Logoff |
//! | `consent.grant`, `consent.deny` | Authorize Session (3003) | 1 Assign Privileges (the scopes) |
//! | `client.register` | API Activity (6003) | 1 Create |
//! | `metadata.fetch`, `as_metadata.fetch`, `client.document.fetch` | API Activity (6003) | 2 Read |
//! | `resource.challenge`, `resource.access` | API Activity (6003) | 99 Other (an MCP call's effect is unknown) |
//!
//! The fetches are API Activity, not HTTP Activity (4002): they are calls to a well-known
//! API of the resource or authorization server, every reader of this format (trustpath's
//! included) takes exactly these three classes, and one class for all resource-side calls
//! keeps SIEM queries simple. `unmapped.trustpath_kind` names the kind, so trustpath's own
//! export reads back exactly; without it (a vendor's record) the kind follows from the class:
//! Authentication is `token.issue` when `unmapped.grant_type` or `unmapped.token_id` is
//! there, `token.revoke` on Logoff, else `authorization.request`; Authorize Session is
//! `consent.grant`, or `consent.deny` when it failed; API Activity is `resource.access` when it
//! is an MCP call (an MCP JSON-RPC method as `api.operation`, or an `mcp.tool` resource) and
//! rejected otherwise (a cloud control plane's API Activity is no MCP access).
//!
//! | trustpath | OCSF |
//! |---|---|
//! | id, time | `metadata.uid` (read as `ocsf:<uid>`), `time` (epoch ms) |
//! | outcome, reason | `status_id` 1 success / 2 failure (`unmapped.trustpath_outcome` = `denied` marks a denial), `status_detail` |
//! | source.name | `unmapped.source_name`, else a vendor's `metadata.product.name` |
//! | subject, connection_id | `user.name`, `session.uid` (3002, 3003); `actor.user.name`, `actor.session.uid` (6003); also `unmapped.session_id` |
//! | client.id, client.name | `actor.app_uid`, `actor.app_name` (also `unmapped.client_id`) |
//! | resource | `service.name` (3002), `api.service.name` (6003), `unmapped.resource` (3003) |
//! | scopes | `privileges` = granted (3003); else `unmapped.scope` is the scope of the event's own OAuth message (requested for `authorization.request` and `resource.challenge`, granted otherwise), the other list `unmapped.requested_scope` / `unmapped.granted_scope` |
//! | tool | `resources[]` `{type: "mcp.tool", name}`, with `api.operation` `tools/call` (else the kind) |
//! | network.ip, network.user_agent | `src_endpoint.ip`, `http_request.user_agent` |
//! | http.status, http.bytes, http.resolved_ip | `http_response.code`, `http_response.length`, `dst_endpoint.ip` (6003; `unmapped.http_*` in 3002/3003) |
//! | metadata.url | `http_request.url.url_string` (`metadata.fetch`), else `unmapped.metadata_url`; `as_metadata.fetch`'s `attributes.metadata_url` is its `url_string` too |
//! | everything else | `unmapped`: `source_type`, `issuer`, `client_registration`, `client_document_sha256`, `client_redirect_uris`, `metadata_document_sha256`, `metadata_authorization_servers`, `metadata_scopes_supported`, `token_id`, `token_parent_id`, `refresh_token_id`, `audience`, `grant_type`, `token_expiration_time` (epoch ms), `redirect_uri`, `consent`, `http_redirected`, `attributes` |
//!
//! Every trustpath field is carried (`NOT_CARRIED` is empty); times are written in epoch
//! milliseconds, so sub-millisecond digits are not. Every event is `severity_id` 1
//! (Informational): severity belongs to trustpath's alerts, not to the events. The issuer
//! of a vendor record without `unmapped.issuer` is `adapters.ocsf.issuers` keyed by its source
//! name (`unmapped.source_name`, else `metadata.product.name`).

use std::str::FromStr;

use serde_json::{Map, Value, json};

use super::{Context, Fields};
use crate::event::{Consent, Kind, Outcome, Registration, SourceType, WireEvent};

/// Nothing: each trustpath field has an OCSF attribute or a key in `unmapped`.
pub const NOT_CARRIED: &[&str] = &[];

const OCSF_VERSION: &str = "1.3.0";
/// `metadata.product.name` and `vendor_name` of trustpath's export.
const PRODUCT: &str = "trustpath";
const SEVERITY_INFORMATIONAL: i64 = 1;
const MCP_TOOL: &str = "mcp.tool";
const TOOLS_CALL: &str = "tools/call";

const LOGON: i64 = 1;
const LOGOFF: i64 = 2;
const ASSIGN_PRIVILEGES: i64 = 1;
const CREATE: i64 = 1;
const READ: i64 = 2;
const OTHER: i64 = 99;

/// Attributes the OCSF 1.3.0 base event requires of every class
/// (https://schema.ocsf.io/1.3.0/classes/base_event).
const BASE_REQUIRED: &[&str] = &[
    "activity_id",
    "category_uid",
    "class_uid",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
];
/// `severity_id` values of OCSF 1.3.0: Unknown, Informational, Low, Medium, High, Critical,
/// Fatal, Other.
const SEVERITY_IDS: &[i64] = &[0, 1, 2, 3, 4, 5, 6, 99];
/// `status_id` values of OCSF 1.3.0: Unknown, Success, Failure, Other.
const STATUS_IDS: &[i64] = &[0, 1, 2, 99];

/// The OCSF classes trustpath reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Authentication,
    AuthorizeSession,
    ApiActivity,
}

impl Class {
    const ALL: [Class; 3] = [
        Class::Authentication,
        Class::AuthorizeSession,
        Class::ApiActivity,
    ];

    fn uid(self) -> i64 {
        match self {
            Class::Authentication => 3002,
            Class::AuthorizeSession => 3003,
            Class::ApiActivity => 6003,
        }
    }

    fn from_uid(uid: i64) -> Option<Class> {
        Class::ALL.into_iter().find(|class| class.uid() == uid)
    }

    fn name(self) -> &'static str {
        match self {
            Class::Authentication => "Authentication",
            Class::AuthorizeSession => "Authorize Session",
            Class::ApiActivity => "API Activity",
        }
    }

    fn category_uid(self) -> i64 {
        self.uid() / 1000
    }

    fn category_name(self) -> &'static str {
        match self {
            Class::Authentication | Class::AuthorizeSession => "Identity & Access Management",
            Class::ApiActivity => "Application Activity",
        }
    }

    /// The class's `activity_id` values with their captions (OCSF 1.3.0 class pages;
    /// Authentication's 6 Preauth is listed by the 1.4.0 reference and accepted too).
    fn activities(self) -> &'static [(i64, &'static str)] {
        match self {
            Class::Authentication => &[
                (0, "Unknown"),
                (1, "Logon"),
                (2, "Logoff"),
                (3, "Authentication Ticket"),
                (4, "Service Ticket Request"),
                (5, "Service Ticket Renew"),
                (6, "Preauth"),
                (99, "Other"),
            ],
            Class::AuthorizeSession => &[
                (0, "Unknown"),
                (1, "Assign Privileges"),
                (2, "Assign Groups"),
                (99, "Other"),
            ],
            Class::ApiActivity => &[
                (0, "Unknown"),
                (1, "Create"),
                (2, "Read"),
                (3, "Update"),
                (4, "Delete"),
                (99, "Other"),
            ],
        }
    }

    fn activity_name(self, activity_id: i64) -> Option<&'static str> {
        self.activities()
            .iter()
            .find(|(id, _)| *id == activity_id)
            .map(|(_, name)| *name)
    }

    /// The class's own required attributes, beyond the base event's (OCSF 1.3.0:
    /// https://schema.ocsf.io/1.3.0/classes/authentication, .../authorize_session,
    /// .../api_activity).
    fn required(self) -> &'static [&'static str] {
        match self {
            Class::Authentication | Class::AuthorizeSession => &["user"],
            Class::ApiActivity => &["actor", "api", "src_endpoint"],
        }
    }

    /// Who reports events of this class when the record does not say.
    fn default_source(self) -> SourceType {
        match self {
            Class::Authentication | Class::AuthorizeSession => SourceType::AuthorizationServer,
            Class::ApiActivity => SourceType::Gateway,
        }
    }

    /// The subject: the IAM classes have a `user`, API Activity an `actor`.
    fn subject_path(self) -> &'static str {
        match self {
            Class::ApiActivity => "actor.user.name",
            _ => "user.name",
        }
    }

    fn session_path(self) -> &'static str {
        match self {
            Class::ApiActivity => "actor.session.uid",
            _ => "session.uid",
        }
    }

    /// The MCP server: Authentication's `service` (what the user authenticates to), the
    /// API's service; Authorize Session has no place for it.
    fn resource_path(self) -> &'static str {
        match self {
            Class::Authentication => "service.name",
            Class::AuthorizeSession => "unmapped.resource",
            Class::ApiActivity => "api.service.name",
        }
    }

    /// `http.status`, `http.bytes`, `http.resolved_ip`: only API Activity has an HTTP
    /// response and a destination of the call.
    fn http_paths(self) -> [&'static str; 3] {
        match self {
            Class::ApiActivity => [
                "http_response.code",
                "http_response.length",
                "dst_endpoint.ip",
            ],
            _ => [
                "unmapped.http_status",
                "unmapped.http_bytes",
                "unmapped.http_resolved_ip",
            ],
        }
    }
}

/// The class and activity each kind is written as (the module's first table).
fn class_of(kind: Kind) -> (Class, i64) {
    match kind {
        Kind::AuthorizationRequest | Kind::TokenIssue => (Class::Authentication, LOGON),
        Kind::TokenRevoke => (Class::Authentication, LOGOFF),
        Kind::ConsentGrant | Kind::ConsentDeny => (Class::AuthorizeSession, ASSIGN_PRIVILEGES),
        Kind::ClientRegister => (Class::ApiActivity, CREATE),
        Kind::MetadataFetch | Kind::AsMetadataFetch | Kind::ClientDocumentFetch => {
            (Class::ApiActivity, READ)
        }
        Kind::ResourceChallenge | Kind::ResourceAccess => (Class::ApiActivity, OTHER),
    }
}

/// (requested, granted) scope paths: Authorize Session's `privileges` are what was granted;
/// elsewhere `unmapped.scope` is the OAuth `scope` of the event's own message.
fn scope_paths(class: Class, kind: Kind) -> (&'static str, &'static str) {
    match (class, kind) {
        (Class::AuthorizeSession, _) => ("unmapped.requested_scope", "privileges"),
        (_, Kind::AuthorizationRequest | Kind::ResourceChallenge) => {
            ("unmapped.scope", "unmapped.granted_scope")
        }
        _ => ("unmapped.requested_scope", "unmapped.scope"),
    }
}

/// Where `metadata.url` goes: a PRM fetch's URL is the request's; elsewhere (a challenge
/// names the PRM) it has no OCSF attribute.
fn metadata_url_path(kind: Kind) -> &'static str {
    match kind {
        Kind::MetadataFetch => "http_request.url.url_string",
        _ => "unmapped.metadata_url",
    }
}

/// `api.operation` (API Activity requires one): the MCP method a tool implies, else the kind.
fn operation(kind: Kind, tool: Option<&str>) -> &'static str {
    match tool {
        Some(_) => TOOLS_CALL,
        None => kind.as_str(),
    }
}

fn accepted_classes() -> String {
    Class::ALL
        .map(|class| format!("{} {}", class.uid(), class.name()))
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Reading

pub fn read(fields: &mut Fields, context: &Context) -> Result<WireEvent, String> {
    let class = read_class(fields)?;
    let activity_id = fields.number("activity_id").unwrap_or(0);
    take_classification(fields, class, activity_id);
    let time = fields.time("time")?;
    // A failed Authorize Session is a refusal; one of unknown status is not.
    let failed = fields.peek("status_id").and_then(Value::as_i64) == Some(2);
    let outcome = read_outcome(fields);
    let kind = read_kind(fields, class, activity_id, failed)?;
    let source_type = parse(fields, "unmapped.source_type").unwrap_or(class.default_source());
    let source_name = read_source_name(fields);
    let id = context.event_id(fields.string("metadata.uid"));
    fields.take_if_eq("metadata.version", OCSF_VERSION);
    if fields.take_if_eq("severity_id", SEVERITY_INFORMATIONAL) {
        fields.take("severity");
    }

    let mut event = super::event(id, time, kind, source_type, source_name);
    event.outcome = outcome;
    event.reason = fields.string("status_detail");
    event.issuer = fields.string("unmapped.issuer").or_else(|| {
        let key = event.source.name.as_deref()?;
        context.configured_issuer(key)
    });
    read_parties(fields, class, &mut event);
    read_oauth(fields, class, &mut event);
    read_traffic(fields, class, &mut event);
    Ok(event)
}

fn read_class(fields: &mut Fields) -> Result<Class, String> {
    let Some(uid) = fields.number("class_uid") else {
        return Err(format!(
            "missing required field `class_uid`; trustpath reads the OCSF classes {}",
            accepted_classes()
        ));
    };
    Class::from_uid(uid).ok_or_else(|| {
        let name = fields
            .peek("class_name")
            .and_then(Value::as_str)
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        format!(
            "class_uid {uid}{name} is not an authorization event; trustpath reads the OCSF \
             classes {}",
            accepted_classes()
        )
    })
}

fn read_outcome(fields: &mut Fields) -> Option<Outcome> {
    let status_id = fields.number("status_id")?;
    if (0..=2).contains(&status_id) {
        // The caption of the id; for 99 (Other) it is the source's own word and is kept.
        fields.take("status");
    }
    match status_id {
        1 => Some(Outcome::Success),
        2 if fields.take_if_eq("unmapped.trustpath_outcome", "denied") => Some(Outcome::Denied),
        2 => Some(Outcome::Failure),
        // trustpath's own export writes Unknown (0) for an event without an outcome.
        0 if fields.peek("unmapped.trustpath_kind").is_some() => None,
        // From another source, Unknown (0) or Other (99) is not a confirmed success, and an
        // absent outcome would count as one.
        _ => Some(Outcome::Failure),
    }
}

fn read_kind(
    fields: &mut Fields,
    class: Class,
    activity_id: i64,
    failed: bool,
) -> Result<Kind, String> {
    if let Some(name) = fields.string("unmapped.trustpath_kind") {
        let kind: Kind = name
            .parse()
            .map_err(|problem| format!("unmapped.trustpath_kind: {problem}"))?;
        let (expected, _) = class_of(kind);
        if expected != class {
            return Err(format!(
                "unmapped.trustpath_kind `{kind}` is written as class {} ({}), but the record \
                 is class {} ({})",
                expected.uid(),
                expected.name(),
                class.uid(),
                class.name()
            ));
        }
        return Ok(kind);
    }
    let issues_token =
        fields.peek("unmapped.grant_type").is_some() || fields.peek("unmapped.token_id").is_some();
    Ok(match class {
        Class::Authentication if activity_id == LOGOFF => Kind::TokenRevoke,
        Class::Authentication if issues_token => Kind::TokenIssue,
        Class::Authentication => Kind::AuthorizationRequest,
        Class::AuthorizeSession if failed => Kind::ConsentDeny,
        Class::AuthorizeSession => Kind::ConsentGrant,
        Class::ApiActivity if is_mcp_call(fields) => Kind::ResourceAccess,
        Class::ApiActivity => {
            return Err(format!(
                "an API Activity record that is not an MCP call (api.operation {}, no \
                 `{MCP_TOOL}` resource); trustpath reads API Activity of MCP servers and \
                 gateways only (a JSON-RPC method such as tools/call, or unmapped.trustpath_kind)",
                fields
                    .peek("api.operation")
                    .map_or("absent".to_owned(), Value::to_string)
            ));
        }
    })
}

/// An MCP request: a JSON-RPC method of MCP as the operation, or an MCP tool among the
/// resources. Other API Activity (cloud control planes, say) is no MCP access.
fn is_mcp_call(fields: &Fields) -> bool {
    const MCP_METHODS: [&str; 6] = [
        "initialize",
        "ping",
        "tools/",
        "resources/",
        "prompts/",
        "notifications/",
    ];
    let operation = fields.peek("api.operation").and_then(Value::as_str);
    let mcp_operation = operation.is_some_and(|op| {
        MCP_METHODS
            .iter()
            .any(|method| op == *method || (method.ends_with('/') && op.starts_with(method)))
    });
    let mcp_tool = matches!(fields.peek("resources"), Some(Value::Array(resources))
        if resources.iter().any(|r| r.get("type").and_then(Value::as_str) == Some(MCP_TOOL)));
    mcp_operation || mcp_tool
}

/// trustpath's export names the source in `unmapped`; a vendor's record names its product.
fn read_source_name(fields: &mut Fields) -> Option<String> {
    if fields.take_if_eq("metadata.product.name", PRODUCT) {
        fields.take_if_eq("metadata.product.vendor_name", PRODUCT);
    }
    fields
        .string("unmapped.source_name")
        .or_else(|| fields.string("metadata.product.name"))
}

/// Who: subject, client, connection, and the resource they meet at.
fn read_parties(fields: &mut Fields, class: Class, event: &mut WireEvent) {
    event.subject = fields.string(class.subject_path());
    event.connection_id = fields
        .string(class.session_path())
        .or_else(|| fields.string("unmapped.session_id"));
    event.client.id = fields
        .string("actor.app_uid")
        .or_else(|| fields.string("unmapped.client_id"));
    event.client.name = fields
        .string("actor.app_name")
        .or_else(|| fields.string("unmapped.client_name"));
    event.client.registration = parse(fields, "unmapped.client_registration");
    event.client.document_sha256 = fields.string("unmapped.client_document_sha256");
    event.client.redirect_uris = fields.strings("unmapped.client_redirect_uris");
    event.resource = fields
        .string(class.resource_path())
        .or_else(|| fields.string("unmapped.resource"));
    event.tool = read_tool(fields);
    fields.take_if_eq(
        "api.operation",
        operation(event.kind, event.tool.as_deref()),
    );
}

/// What OAuth said: metadata, scopes, tokens, consent, and trustpath's attributes.
fn read_oauth(fields: &mut Fields, class: Class, event: &mut WireEvent) {
    event.metadata.url = fields
        .string(metadata_url_path(event.kind))
        .or_else(|| fields.string("unmapped.metadata_url"));
    event.metadata.document_sha256 = fields.string("unmapped.metadata_document_sha256");
    event.metadata.authorization_servers =
        fields.strings("unmapped.metadata_authorization_servers");
    event.metadata.scopes_supported = fields.strings("unmapped.metadata_scopes_supported");

    let (requested, granted) = scope_paths(class, event.kind);
    event.scopes.requested = fields.strings(requested);
    event.scopes.granted = fields.strings(granted);

    event.token.id = fields.string("unmapped.token_id");
    event.token.parent_id = fields.string("unmapped.token_parent_id");
    event.token.refresh_token_id = fields.string("unmapped.refresh_token_id");
    event.token.audience = fields.strings("unmapped.audience");
    event.token.grant_type = fields.string("unmapped.grant_type");
    // An unreadable expiry is left in place (kept), not a reason to drop the event.
    event.token.expires_at = fields
        .peek("unmapped.token_expiration_time")
        .is_some()
        .then(|| fields.time("unmapped.token_expiration_time").ok())
        .flatten();
    event.redirect_uri = fields.string("unmapped.redirect_uri");
    event.consent = parse::<Consent>(fields, "unmapped.consent");

    if let Some(Value::Object(_)) = fields.peek("unmapped.attributes")
        && let Some(Value::Object(attributes)) = fields.take("unmapped.attributes")
    {
        event.attributes = attributes;
    }
    if event.kind == Kind::AsMetadataFetch
        && let Some(url) = fields.string("http_request.url.url_string")
    {
        event
            .attributes
            .insert("metadata_url".into(), Value::String(url));
    }
}

/// The network and HTTP side of the call.
fn read_traffic(fields: &mut Fields, class: Class, event: &mut WireEvent) {
    event.network.ip = fields.string("src_endpoint.ip");
    event.network.user_agent = fields.string("http_request.user_agent");
    let [status, bytes, resolved_ip] = class.http_paths();
    event.http.status = fields
        .number(status)
        .and_then(|code| u16::try_from(code).ok());
    event.http.bytes = fields
        .number(bytes)
        .and_then(|length| u64::try_from(length).ok());
    event.http.resolved_ip = fields.string(resolved_ip);
    event.http.redirected = fields.boolean("unmapped.http_redirected");
}

/// The tool of an MCP call: the `mcp.tool` among `resources`. `resources` is taken only
/// when the tool is all it holds; otherwise it is kept whole.
fn read_tool(fields: &mut Fields) -> Option<String> {
    let Some(Value::Array(resources)) = fields.peek("resources") else {
        return None;
    };
    let tool = resources
        .iter()
        .find(|resource| resource.get("type").and_then(Value::as_str) == Some(MCP_TOOL))?
        .get("name")?
        .as_str()?
        .to_owned();
    let only_the_tool = matches!(resources.as_slice(), [Value::Object(only)] if only.len() == 2);
    if only_the_tool {
        fields.take("resources");
    }
    Some(tool)
}

/// A text field that names one of trustpath's enum values; anything else stays.
fn parse<T: FromStr>(fields: &mut Fields, path: &str) -> Option<T> {
    let value = fields.peek(path)?.as_str()?.parse().ok()?;
    fields.take(path);
    Some(value)
}

// ---------------------------------------------------------------------------------------
// Writing

pub fn emit(event: &WireEvent) -> Option<Value> {
    let (class, activity_id) = class_of(event.kind);
    let mut record = Record::default();
    emit_classification(&mut record, event, class, activity_id);
    emit_parties(&mut record, event, class);
    emit_oauth(&mut record, event, class);
    emit_traffic(&mut record, event, class);
    for required in class.required() {
        record.ensure_object(required);
    }
    Some(Value::Object(record.0))
}

/// Takes the attributes that only restate `class_uid` and `activity_id` (names, category,
/// `type_uid`); a value that says something else (another caption, a wrong type) is kept.
fn take_classification(fields: &mut Fields, class: Class, activity_id: i64) {
    let activity_name = class.activity_name(activity_id).unwrap_or("Other");
    fields.take_if_eq("class_name", class.name());
    fields.take_if_eq("category_uid", class.category_uid());
    fields.take_if_eq("category_name", class.category_name());
    fields.take_if_eq("activity_name", activity_name);
    fields.take_if_eq("type_uid", class.uid() * 100 + activity_id);
    fields.take_if_eq("type_name", format!("{}: {activity_name}", class.name()));
}

/// The base event: class, activity, time, severity, status, metadata.
fn emit_classification(record: &mut Record, event: &WireEvent, class: Class, activity_id: i64) {
    let activity_name = class.activity_name(activity_id).unwrap_or("Other");
    record.set("class_uid", class.uid());
    record.set("class_name", class.name());
    record.set("category_uid", class.category_uid());
    record.set("category_name", class.category_name());
    record.set("activity_id", activity_id);
    record.set("activity_name", activity_name);
    record.set("type_uid", class.uid() * 100 + activity_id);
    record.set("type_name", format!("{}: {activity_name}", class.name()));
    record.set("time", event.time.timestamp_millis());
    record.set("severity_id", SEVERITY_INFORMATIONAL);
    record.set("severity", "Informational");
    let (status_id, status) = match event.outcome {
        Some(Outcome::Success) => (1, "Success"),
        Some(Outcome::Failure | Outcome::Denied) => (2, "Failure"),
        None => (0, "Unknown"),
    };
    record.set("status_id", status_id);
    record.set("status", status);
    if event.outcome == Some(Outcome::Denied) {
        record.set("unmapped.trustpath_outcome", "denied");
    }
    record.set_some("status_detail", event.reason.clone());
    record.set("metadata.version", OCSF_VERSION);
    record.set("metadata.uid", event.id.clone());
    record.set("metadata.product.name", PRODUCT);
    record.set("metadata.product.vendor_name", PRODUCT);
    record.set("unmapped.trustpath_kind", event.kind.as_str());
    record.set_some(
        "unmapped.source_type",
        event.source.source_type.map(SourceType::as_str),
    );
    record.set_some("unmapped.source_name", event.source.name.clone());
}

fn emit_parties(record: &mut Record, event: &WireEvent, class: Class) {
    record.set_some(class.subject_path(), event.subject.clone());
    record.set_some(class.session_path(), event.connection_id.clone());
    record.set_some("actor.app_uid", event.client.id.clone());
    record.set_some("actor.app_name", event.client.name.clone());
    let registration = event.client.registration.map(Registration::as_str);
    record.set_some("unmapped.client_registration", registration);
    record.set_some(
        "unmapped.client_document_sha256",
        event.client.document_sha256.clone(),
    );
    record.set_some(
        "unmapped.client_redirect_uris",
        event.client.redirect_uris.clone(),
    );
    record.set_some(class.resource_path(), event.resource.clone());
    if let Some(tool) = &event.tool {
        record.set("resources", json!([{"name": tool, "type": MCP_TOOL}]));
    }
    if class == Class::ApiActivity {
        record.set(
            "api.operation",
            operation(event.kind, event.tool.as_deref()),
        );
    }
}

fn emit_oauth(record: &mut Record, event: &WireEvent, class: Class) {
    let metadata = &event.metadata;
    record.set_some(metadata_url_path(event.kind), metadata.url.clone());
    record.set_some(
        "unmapped.metadata_document_sha256",
        metadata.document_sha256.clone(),
    );
    let authorization_servers = metadata.authorization_servers.clone();
    record.set_some(
        "unmapped.metadata_authorization_servers",
        authorization_servers,
    );
    record.set_some(
        "unmapped.metadata_scopes_supported",
        metadata.scopes_supported.clone(),
    );
    record.set_some("unmapped.issuer", event.issuer.clone());

    let (requested, granted) = scope_paths(class, event.kind);
    record.set_some(requested, event.scopes.requested.clone());
    record.set_some(granted, event.scopes.granted.clone());

    let token = &event.token;
    record.set_some("unmapped.token_id", token.id.clone());
    record.set_some("unmapped.token_parent_id", token.parent_id.clone());
    record.set_some("unmapped.refresh_token_id", token.refresh_token_id.clone());
    record.set_some("unmapped.audience", token.audience.clone());
    record.set_some("unmapped.grant_type", token.grant_type.clone());
    let expires_at = token.expires_at.map(|time| time.timestamp_millis());
    record.set_some("unmapped.token_expiration_time", expires_at);
    record.set_some("unmapped.redirect_uri", event.redirect_uri.clone());
    record.set_some("unmapped.consent", event.consent.map(Consent::as_str));

    let mut attributes = event.attributes.clone();
    if event.kind == Kind::AsMetadataFetch
        && let Some(url) = attributes.get("metadata_url").and_then(Value::as_str)
    {
        record.set("http_request.url.url_string", url);
        attributes.remove("metadata_url");
    }
    if !attributes.is_empty() {
        record.set("unmapped.attributes", attributes);
    }
}

fn emit_traffic(record: &mut Record, event: &WireEvent, class: Class) {
    record.set_some("src_endpoint.ip", event.network.ip.clone());
    record.set_some("http_request.user_agent", event.network.user_agent.clone());
    let [status, bytes, resolved_ip] = class.http_paths();
    record.set_some(status, event.http.status);
    record.set_some(bytes, event.http.bytes);
    record.set_some(resolved_ip, event.http.resolved_ip.clone());
    record.set_some("unmapped.http_redirected", event.http.redirected);
}

/// An OCSF record being written: the counterpart of [`Fields`], by dotted paths.
#[derive(Default)]
struct Record(Map<String, Value>);

impl Record {
    /// Sets `path`, creating the objects on the way.
    fn set(&mut self, path: &str, value: impl Into<Value>) {
        let (parents, leaf) = match path.rsplit_once('.') {
            Some((parents, leaf)) => (Some(parents), leaf),
            None => (None, path),
        };
        let mut object = &mut self.0;
        for part in parents.into_iter().flat_map(|parents| parents.split('.')) {
            let slot = object
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            object = slot.as_object_mut().expect("made an object just above");
        }
        object.insert(leaf.to_owned(), value.into());
    }

    fn set_some(&mut self, path: &str, value: Option<impl Into<Value>>) {
        if let Some(value) = value {
            self.set(path, value);
        }
    }

    /// A required object stays, empty when trustpath knows nothing for it (a client
    /// credentials grant has no user; an AS metadata fetch no known actor).
    fn ensure_object(&mut self, name: &str) {
        self.0
            .entry(name.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

// ---------------------------------------------------------------------------------------
// Validation

/// Checks an OCSF record's structure against the OCSF 1.3.0 schema: the base event's
/// required attributes, the class's required attributes (the tables in [`BASE_REQUIRED`]
/// and `Class::required`, from schema.ocsf.io/1.3.0), `metadata.version` and
/// `metadata.product` (required by the metadata object), `api.operation` (required by the
/// api object), integer ids and time, `category_uid == class_uid / 1000`,
/// `type_uid == class_uid * 100 + activity_id`, and the enums of `activity_id`,
/// `severity_id` and `status_id`. Only the classes of this module are known.
/// The schema's `at_least_one` constraints (e.g. Authentication's `service` or
/// `dst_endpoint`) are not checked: trustpath cannot always fill them.
pub fn check_structure(record: &Value) -> Result<(), String> {
    let object = record.as_object().ok_or("an OCSF event is a JSON object")?;
    let present = |name: &str| object.get(name).is_some_and(|value| !value.is_null());
    if let Some(missing) = BASE_REQUIRED.iter().find(|name| !present(name)) {
        return Err(format!("missing required base attribute `{missing}`"));
    }
    let integer = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("`{name}` is not an integer: {}", record[name]))
    };
    let class_uid = integer("class_uid")?;
    let category_uid = integer("category_uid")?;
    let activity_id = integer("activity_id")?;
    let type_uid = integer("type_uid")?;
    let severity_id = integer("severity_id")?;
    integer("time")?;

    let class = Class::from_uid(class_uid)
        .ok_or_else(|| format!("class_uid {class_uid} is not one of {}", accepted_classes()))?;
    if let Some(missing) = class.required().iter().find(|name| !present(name)) {
        return Err(format!(
            "missing attribute `{missing}`, required by {}",
            class.name()
        ));
    }
    if category_uid != class_uid / 1000 {
        return Err(format!(
            "category_uid {category_uid} does not match class_uid {class_uid}"
        ));
    }
    if type_uid != class_uid * 100 + activity_id {
        return Err(format!(
            "type_uid {type_uid} is not class_uid * 100 + activity_id ({class_uid}, {activity_id})"
        ));
    }
    if class.activity_name(activity_id).is_none() {
        return Err(format!(
            "activity_id {activity_id} is not an activity of {}",
            class.name()
        ));
    }
    if !SEVERITY_IDS.contains(&severity_id) {
        return Err(format!(
            "severity_id {severity_id} is not in the enum {SEVERITY_IDS:?}"
        ));
    }
    if let Some(status) = object.get("status_id") {
        let known = status.as_i64().is_some_and(|id| STATUS_IDS.contains(&id));
        if !known {
            return Err(format!(
                "status_id {status} is not in the enum {STATUS_IDS:?}"
            ));
        }
    }
    let text_at = |pointer: &str| record.pointer(pointer).and_then(Value::as_str).is_some();
    for pointer in [
        "/metadata/version",
        "/metadata/product/name",
        "/metadata/product/vendor_name",
    ] {
        if !text_at(pointer) {
            return Err(format!("missing required text at `{pointer}`"));
        }
    }
    if class == Class::ApiActivity && !text_at("/api/operation") {
        return Err("missing `api.operation`, required by the api object".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapt::{Adapters, Format, testing, without};
    use crate::config::AdaptersConfig;
    use crate::normalize::{Normalizer, Rejection};

    /// Both records of shared/samples/ocsf.ndjson.
    const SAMPLES: &str = r#"{"class_uid":3002,"class_name":"Authentication","category_uid":3,"activity_id":1,"activity_name":"Logon","type_uid":300201,"time":1795687200123,"severity_id":1,"status_id":1,"status":"Success","metadata":{"version":"1.3.0","uid":"ocsf-0001","product":{"name":"Example AS","vendor_name":"Example"}},"user":{"name":"alice@example.com","uid":"5f0c1e8a"},"src_endpoint":{"ip":"203.0.113.7"},"dst_endpoint":{"hostname":"auth.example.com"},"auth_protocol":"OAuth 2.0","http_request":{"user_agent":"example-mcp-client/1.2","url":{"url_string":"https://auth.example.com/token"}},"unmapped":{"client_id":"https://app.example.com/oauth/client.json","scope":"files:read","resource":"https://mcp.example.com/mcp","grant_type":"authorization_code","token_id":"tok-7c1f2e"}}
{"class_uid":6003,"class_name":"API Activity","category_uid":6,"activity_id":2,"activity_name":"Read","type_uid":600302,"time":1795687260000,"severity_id":1,"status_id":1,"status":"Success","metadata":{"version":"1.3.0","uid":"ocsf-0002","product":{"name":"Example MCP Gateway","vendor_name":"Example"}},"actor":{"user":{"name":"alice@example.com"},"app_name":"Example MCP App"},"api":{"operation":"tools/call","service":{"name":"https://mcp.example.com/mcp"}},"resources":[{"name":"search_files","type":"mcp.tool"}],"src_endpoint":{"ip":"203.0.113.7"},"http_request":{"user_agent":"example-mcp-client/1.2"},"unmapped":{"token_id":"tok-7c1f2e","session_id":"sess-8f2c"}}"#;

    /// One event of each shape the simulator produces (`trustpath simulate` output, one per
    /// kind, outcome, reason and set of fields), plus a remembered consent.
    const SIMULATED: &str = r#"{"id":"sim-1-00000001","time":"2026-11-01T00:10:01.070Z","kind":"resource.challenge","outcome":"failure","reason":"missing_token","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","resource":"https://mcp-files.acme.example/mcp","metadata":{"url":"https://mcp-files.acme.example/.well-known/oauth-protected-resource/mcp"},"scopes":{"requested":["files:read"]},"network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"http":{"status":401}}
{"id":"sim-1-00000002","time":"2026-11-01T00:10:01.242Z","kind":"metadata.fetch","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","resource":"https://mcp-files.acme.example/mcp","metadata":{"url":"https://mcp-files.acme.example/.well-known/oauth-protected-resource/mcp","document_sha256":"05aa1e8de8f7edce53cc8798b73617e82d2420aebf5e0d26f7b7b2656f0f2fbf","authorization_servers":["https://auth-eu.acme.example","https://auth-ap.acme.example"],"scopes_supported":["files:read","files:write","files:admin"]},"network":{"ip":"203.0.113.5"},"http":{"status":200}}
{"id":"sim-1-00000004","time":"2026-11-01T00:10:01.625Z","kind":"authorization.request","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"requested":["files:read"]},"redirect_uri":"https://copilot-agent.example.com/oauth/callback","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"attributes":{"pkce_method":"S256"}}
{"id":"sim-1-00000003","time":"2026-11-01T00:10:01.064Z","kind":"as_metadata.fetch","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"issuer":"https://auth-eu.acme.example","network":{"ip":"203.0.113.5"},"http":{"status":200},"attributes":{"advertised_issuer":"https://auth-eu.acme.example","cimd_supported":true,"code_challenge_methods_supported":["S256"],"endpoints":{"authorization_endpoint":"https://auth-eu.acme.example/authorize","registration_endpoint":"https://auth-eu.acme.example/register","token_endpoint":"https://auth-eu.acme.example/token"},"metadata_url":"https://auth-eu.acme.example/.well-known/oauth-authorization-server"}}
{"id":"sim-1-00000005","time":"2026-11-01T00:10:08.787Z","kind":"consent.grant","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"consent":"explicit","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"}}
{"id":"sim-1-00000006","time":"2026-11-01T00:10:09.603Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-7ab1b7d265ac6692","refresh_token_id":"rt-5a1af9c9e15c6b3d","audience":["https://mcp-files.acme.example/mcp"],"grant_type":"authorization_code","expires_at":"2026-11-01T01:10:09.993Z"},"network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"}}
{"id":"sim-1-00000007","time":"2026-11-01T00:13:37.232Z","kind":"resource.access","outcome":"success","source":{"type":"gateway","name":"gw-mcp-files"},"connection_id":"sess-0fbea39e96e8","subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-7ab1b7d265ac6692"},"tool":"search_files","network":{"ip":"203.0.113.5","user_agent":"copilot-agent/3.15"},"http":{"status":200}}
{"id":"sim-1-00000011","time":"2026-11-01T01:08:55.800Z","kind":"client.document.fetch","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"client":{"id":"https://claude-desktop.example.com/oauth/client-metadata.json","registration":"cimd","name":"Claude Desktop","document_sha256":"55b3e0b8f49e59fa9908202aec45e2a067f7af79ea93f8f4b7e69b67936d9105","redirect_uris":["https://claude-desktop.example.com/oauth/callback"]},"issuer":"https://auth-eu.acme.example","http":{"status":200,"bytes":297,"resolved_ip":"185.199.75.10","redirected":false}}
{"id":"sim-1-00000030","time":"2026-11-01T02:44:18.358Z","kind":"token.issue","outcome":"success","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0008@acme.example","client":{"id":"https://sales-assistant.example.com/oauth/client-metadata.json","registration":"cimd","name":"Sales Assistant"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","scopes":{"granted":["crm:read"]},"token":{"id":"tok-11604c03e6a398d7","parent_id":"rt-0c868d5dce9afda3","refresh_token_id":"rt-677c9fa94253d19b","audience":["https://mcp-crm.acme.example/mcp"],"grant_type":"refresh_token","expires_at":"2026-11-01T03:44:20.037Z"},"network":{"ip":"198.51.100.254","user_agent":"sales-assistant/1.5"}}
{"id":"sim-1-00000046","time":"2026-11-01T03:01:19.410Z","kind":"client.register","outcome":"success","source":{"type":"authorization_server","name":"auth-ap"},"client":{"id":"dcr-72a6fbe243901a0b","registration":"dcr","name":"Cursor","document_sha256":"0a8fed7b66830773e62d3305a2e64ef35d9d914a8d04ac5c05111dc45327ed3b","redirect_uris":["http://localhost:8857/callback"]},"issuer":"https://auth-ap.acme.example","network":{"ip":"198.51.100.102"}}
{"id":"sim-1-00000098","time":"2026-11-01T04:39:45.708Z","kind":"resource.challenge","outcome":"denied","reason":"insufficient_scope","source":{"type":"gateway","name":"gw-mcp-crm"},"connection_id":"sess-1e00469732aa","subject":"user0007@acme.example","client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd","name":"Support Bot"},"resource":"https://mcp-crm.acme.example/mcp","metadata":{"url":"https://mcp-crm.acme.example/.well-known/oauth-protected-resource/mcp"},"scopes":{"requested":["crm:read","crm:write"]},"token":{"id":"tok-b0fabddcf29c9450"},"network":{"ip":"192.0.2.66","user_agent":"support-bot/1.9"},"http":{"status":403}}
{"id":"sim-1-00000117","time":"2026-11-01T07:39:34.135Z","kind":"token.revoke","outcome":"success","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0007@acme.example","client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd","name":"Support Bot"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","token":{"id":"rt-8436d87c8df54d51"},"network":{"ip":"192.0.2.66","user_agent":"support-bot/1.9"}}
{"id":"sim-1-00000238","time":"2026-11-01T16:24:38.019Z","kind":"token.issue","outcome":"failure","reason":"invalid_grant","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0008@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","token":{"grant_type":"authorization_code"},"network":{"ip":"198.51.100.152","user_agent":"copilot-agent/3.15"}}
{"id":"sim-1-00000751","time":"2026-11-02T04:15:45.472Z","kind":"token.issue","outcome":"failure","reason":"invalid_client","source":{"type":"authorization_server","name":"auth-eu"},"client":{"id":"https://support-bot.example.com/oauth/client-metadata.json","registration":"cimd","name":"Support Bot"},"issuer":"https://auth-eu.acme.example","token":{"grant_type":"client_credentials"},"network":{"ip":"198.51.100.252"}}
{"id":"sim-1-00000689","time":"2026-11-02T22:36:20.034Z","kind":"metadata.fetch","outcome":"success","source":{"type":"gateway","name":"gw-mcp-crm"},"resource":"https://mcp-crm.acme.example/mcp","metadata":{"url":"https://mcp-crm.acme.example/.well-known/oauth-protected-resource/mcp","document_sha256":"3f3d9c1f2d5e0d2d0b4b8a5c5a2e4f5f0e7e2c1a9d8b7c6a5f4e3d2c1b0a9f8e","authorization_servers":["https://auth-us.acme.example","https://auth-evil.example"],"scopes_supported":["crm:read","crm:write"]},"http":{"status":200}}
{"id":"sim-1-00000739","time":"2026-11-03T06:11:10.104Z","kind":"resource.challenge","outcome":"denied","reason":"insufficient_scope","source":{"type":"gateway","name":"gw-mcp-tickets"},"connection_id":"sess-8b0a5e1d3c7f","subject":"user0002@acme.example","client":{"id":"corp-devtools","registration":"pre_registered","name":"Devtools"},"resource":"https://mcp-tickets.acme.example/mcp","scopes":{"requested":["tickets:read","tickets:write"]},"token":{"id":"tok-5d8e0f1a2b3c4d5e"},"http":{"status":403}}
{"id":"sim-1-00000720","time":"2026-11-03T03:02:55.118Z","kind":"token.revoke","outcome":"success","source":{"type":"authorization_server","name":"auth-us"},"subject":"user0003@acme.example","client":{"id":"https://sales-assistant.example.com/oauth/client-metadata.json","registration":"cimd","name":"Sales Assistant"},"resource":"https://mcp-crm.acme.example/mcp","issuer":"https://auth-us.acme.example","token":{"id":"rt-9d8c7b6a5f4e3d2c"}}
{"id":"sim-1-00000066","time":"2026-11-01T04:13:34.530Z","kind":"consent.grant","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0005@acme.example","client":{"id":"corp-copilot-agent","registration":"pre_registered","name":"Copilot Agent"},"resource":"https://mcp-tickets.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["tickets:read"]},"consent":"remembered","network":{"ip":"203.0.113.26","user_agent":"copilot-agent/3.15"}}"#;

    /// Shapes the simulator does not produce: a denied consent, a denied access, a minimal
    /// event of no subject or client, and an event with every field set.
    const HAND_MADE: &str = r#"{"id":"hm-1","time":"2026-11-04T08:00:00.001Z","kind":"consent.deny","outcome":"success","source":{"type":"authorization_server","name":"auth-eu"},"subject":"user0001@acme.example","client":{"id":"corp-devtools","registration":"pre_registered","name":"Devtools"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"requested":["files:admin"]},"consent":"explicit","network":{"ip":"192.0.2.93"}}
{"id":"hm-2","time":"2026-11-04T08:00:01.002Z","kind":"resource.access","outcome":"denied","reason":"audience_mismatch","source":{"type":"resource_server","name":"mcp-files"},"connection_id":"sess-x","subject":"user0001@acme.example","client":{"id":"corp-devtools"},"resource":"https://mcp-files.acme.example/mcp","issuer":"https://auth-eu.acme.example","scopes":{"granted":["files:read"]},"token":{"id":"tok-x"},"tool":"delete_files","network":{"ip":"192.0.2.93"},"http":{"status":403}}
{"id":"hm-3","time":"2026-11-04T08:00:02Z","kind":"as_metadata.fetch","source":{"type":"authorization_server"}}
{"id":"hm-4","time":"2026-11-04T08:00:03.500Z","kind":"token.issue","outcome":"success","source":{"type":"client","name":"agent-7"},"connection_id":"sess-y","subject":"bob@acme.example","client":{"id":"https://a.example/client.json","registration":"cimd","name":"A","document_sha256":"ab","redirect_uris":["https://a.example/cb"]},"resource":"https://mcp.example/mcp","metadata":{"url":"https://mcp.example/.well-known/oauth-protected-resource","document_sha256":"cd","authorization_servers":["https://as.example"],"scopes_supported":["x"]},"issuer":"https://as.example","scopes":{"requested":["x","y"],"granted":["x"]},"token":{"id":"t1","parent_id":"r0","refresh_token_id":"r1","audience":["https://mcp.example/mcp"],"grant_type":"token_exchange","expires_at":"2026-11-04T09:00:03.500Z"},"redirect_uri":"https://a.example/cb","consent":"not_required","tool":"t","network":{"ip":"198.51.100.1","user_agent":"ua/1"},"http":{"status":200,"bytes":10,"resolved_ip":"198.51.100.2","redirected":true},"attributes":{"pkce_method":"S256","nested":{"a":[1,2]}}}"#;

    fn events(lines: &str) -> Vec<WireEvent> {
        lines
            .lines()
            .map(|line| serde_json::from_str(line).expect("test events are wire events"))
            .collect()
    }

    fn adapters() -> Adapters {
        let mut config = AdaptersConfig::default();
        config
            .ocsf
            .issuers
            .insert("Example AS".into(), "https://auth.example.com".into());
        Adapters::new(config)
    }

    fn read_record(record: &Value) -> Result<WireEvent, String> {
        let object = record
            .as_object()
            .expect("test records are objects")
            .clone();
        adapters()
            .read(Format::Ocsf, object, &"00".repeat(32))
            .map_err(|rejection| match rejection {
                Rejection::Adapter { problem, .. } => problem,
                other => panic!("not an adapter rejection: {other}"),
            })
    }

    /// What trustpath stores for `event`: it must satisfy the wire schema.
    fn assert_valid_wire(event: &WireEvent) {
        let bytes = serde_json::to_vec(event).expect("events serialize");
        if let Err(problem) = Normalizer::new(1 << 20).read(&bytes, Format::Native) {
            panic!("{} does not satisfy the wire schema: {problem}", event.id);
        }
    }

    fn round_trip(event: &WireEvent) -> Option<WireEvent> {
        testing::round_trip(Format::Ocsf, event, read_record)
    }

    #[test]
    fn every_event_round_trips() {
        let all = [events(SIMULATED), events(HAND_MADE)].concat();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds.len(), Kind::ALL.len(), "every kind is exercised");
        for event in &all {
            let back = round_trip(event).expect("every kind emits");
            assert_eq!(back, without(event, NOT_CARRIED), "{}", event.id);
            assert_valid_wire(&back);
        }
    }

    #[test]
    fn every_emitted_record_has_the_ocsf_structure() {
        for event in [events(SIMULATED), events(HAND_MADE)].concat() {
            let record = emit(&event).expect("every kind emits");
            if let Err(problem) = check_structure(&record) {
                panic!("{} ({}): {problem}\n{record:#}", event.id, event.kind);
            }
            let (class, activity_id) = class_of(event.kind);
            assert_eq!(record["class_uid"], class.uid());
            assert_eq!(record["activity_id"], activity_id);
            assert_eq!(record["metadata"]["product"]["name"], "trustpath");
            assert_eq!(record["metadata"]["version"], "1.3.0");
            assert_eq!(record["metadata"]["uid"], event.id.as_str());
            assert_eq!(record["severity_id"], 1);
        }
    }

    #[test]
    fn emitted_records_use_the_ocsf_attributes() {
        let all = events(SIMULATED);
        let access = emit(&all[6]).unwrap();
        assert_eq!(access["type_uid"], 600399);
        assert_eq!(access["actor"]["user"]["name"], "user0005@acme.example");
        assert_eq!(access["actor"]["app_uid"], "corp-copilot-agent");
        assert_eq!(access["actor"]["session"]["uid"], "sess-0fbea39e96e8");
        assert_eq!(access["api"]["operation"], "tools/call");
        assert_eq!(
            access["api"]["service"]["name"],
            "https://mcp-files.acme.example/mcp"
        );
        assert_eq!(
            access["resources"],
            json!([{"name": "search_files", "type": "mcp.tool"}])
        );
        assert_eq!(access["src_endpoint"]["ip"], "203.0.113.5");
        assert_eq!(access["http_request"]["user_agent"], "copilot-agent/3.15");
        assert_eq!(access["http_response"]["code"], 200);
        assert_eq!(access["unmapped"]["token_id"], "tok-7ab1b7d265ac6692");
        assert_eq!(access["time"], 1793492017232_i64);

        let failed = emit(&all[12]).unwrap();
        assert_eq!(failed["type_uid"], 300201);
        assert_eq!(
            (&failed["status_id"], &failed["status"]),
            (&json!(2), &json!("Failure"))
        );
        assert_eq!(failed["status_detail"], "invalid_grant");
        assert_eq!(failed["user"]["name"], "user0008@acme.example");
        assert_eq!(
            failed["service"]["name"],
            "https://mcp-crm.acme.example/mcp"
        );

        let consent = emit(&all[4]).unwrap();
        assert_eq!(consent["type_uid"], 300301);
        assert_eq!(consent["privileges"], json!(["files:read"]));

        let client_credentials = emit(&all[13]).unwrap();
        assert_eq!(
            client_credentials["user"],
            json!({}),
            "required, and nothing is known"
        );

        let as_metadata = emit(&all[3]).unwrap();
        assert_eq!(
            as_metadata["http_request"]["url"]["url_string"],
            "https://auth-eu.acme.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            as_metadata["unmapped"]["attributes"]["cimd_supported"],
            true
        );
        assert!(
            as_metadata["unmapped"]["attributes"]
                .get("metadata_url")
                .is_none()
        );

        let denied = emit(&events(HAND_MADE)[1]).unwrap();
        assert_eq!(denied["status_id"], 2);
        assert_eq!(denied["unmapped"]["trustpath_outcome"], "denied");
    }

    #[test]
    fn samples_read() {
        for line in SAMPLES.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            let event = read_record(&record).unwrap();
            assert_valid_wire(&event);
        }
    }

    /// What a table row expects of the event read; `None` fields must be absent.
    struct Expect {
        kind: &'static str,
        outcome: Option<&'static str>,
        reason: Option<&'static str>,
        subject: Option<&'static str>,
        client_id: Option<&'static str>,
        issuer: Option<&'static str>,
        resource: Option<&'static str>,
        requested: Option<&'static [&'static str]>,
        granted: Option<&'static [&'static str]>,
        token_id: Option<&'static str>,
        /// (path into attributes, value) that must be kept.
        kept: &'static [(&'static str, &'static str)],
    }

    const NOTHING: Expect = Expect {
        kind: "",
        outcome: None,
        reason: None,
        subject: None,
        client_id: None,
        issuer: None,
        resource: None,
        requested: None,
        granted: None,
        token_id: None,
        kept: &[],
    };

    fn strings(list: Option<&[&str]>) -> Option<Vec<String>> {
        list.map(|items| items.iter().map(|item| item.to_string()).collect())
    }

    #[test]
    fn vendor_records_read() {
        let sample: Vec<Value> = SAMPLES
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let base = |class_uid: i64, activity_id: i64, status_id: i64| {
            json!({"class_uid": class_uid, "activity_id": activity_id,
                   "type_uid": class_uid * 100 + activity_id, "category_uid": class_uid / 1000,
                   "time": 1795687200123_i64, "severity_id": 3, "status_id": status_id,
                   "metadata": {"version": "1.1.0", "uid": "v-1",
                                "product": {"name": "Example AS", "vendor_name": "Example"}}})
        };
        let with = |mut record: Value, extra: Value| {
            for (key, value) in extra.as_object().unwrap() {
                record[key] = value.clone();
            }
            record
        };
        let cases: Vec<(&str, Value, Expect)> = vec![
            (
                "sample token issue",
                sample[0].clone(),
                Expect {
                    kind: "token.issue",
                    outcome: Some("success"),
                    subject: Some("alice@example.com"),
                    client_id: Some("https://app.example.com/oauth/client.json"),
                    issuer: Some("https://auth.example.com"),
                    resource: Some("https://mcp.example.com/mcp"),
                    granted: Some(&["files:read"]),
                    token_id: Some("tok-7c1f2e"),
                    kept: &[
                        ("ocsf.user.uid", "5f0c1e8a"),
                        ("ocsf.dst_endpoint.hostname", "auth.example.com"),
                        ("ocsf.auth_protocol", "OAuth 2.0"),
                        ("ocsf.metadata.product.vendor_name", "Example"),
                        (
                            "ocsf.http_request.url.url_string",
                            "https://auth.example.com/token",
                        ),
                    ],
                    ..NOTHING
                },
            ),
            (
                "sample tool call",
                sample[1].clone(),
                Expect {
                    kind: "resource.access",
                    outcome: Some("success"),
                    subject: Some("alice@example.com"),
                    resource: Some("https://mcp.example.com/mcp"),
                    token_id: Some("tok-7c1f2e"),
                    ..NOTHING
                },
            ),
            (
                "a consent of unknown status is not a success",
                with(
                    base(3003, 1, 0),
                    json!({"user": {"name": "bob"}, "privileges": ["files:read"],
                           "unmapped": {"client_id": "c1"}}),
                ),
                Expect {
                    kind: "consent.grant",
                    outcome: Some("failure"),
                    subject: Some("bob"),
                    client_id: Some("c1"),
                    issuer: Some("https://auth.example.com"),
                    granted: Some(&["files:read"]),
                    ..NOTHING
                },
            ),
            (
                "failed token request",
                with(
                    base(3002, 1, 2),
                    json!({
                "status": "Failure", "status_detail": "invalid_grant", "user": {"name": "bob"},
                "class_name": "Authentication", "activity_name": "Authentication Ticket",
                "unmapped": {"client_id": "c1", "grant_type": "refresh_token", "issuer": "https://as.example"}}),
                ),
                Expect {
                    kind: "token.issue",
                    outcome: Some("failure"),
                    reason: Some("invalid_grant"),
                    subject: Some("bob"),
                    client_id: Some("c1"),
                    issuer: Some("https://as.example"),
                    // The source's version and a caption that is not the activity's are kept.
                    kept: &[
                        ("ocsf.severity_id", "3"),
                        ("ocsf.metadata.version", "1.1.0"),
                        ("ocsf.activity_name", "Authentication Ticket"),
                    ],
                    ..NOTHING
                },
            ),
            (
                "logon without a token: the authorization request",
                with(
                    base(3002, 1, 1),
                    json!({
                "user": {"name": "bob"}, "actor": {"app_uid": "c1", "app_name": "C One"},
                "service": {"name": "https://mcp.example/mcp"},
                "unmapped": {"scope": "files:read files:write", "redirect_uri": "https://c1.example/cb"}}),
                ),
                Expect {
                    kind: "authorization.request",
                    outcome: Some("success"),
                    subject: Some("bob"),
                    client_id: Some("c1"),
                    issuer: Some("https://auth.example.com"),
                    resource: Some("https://mcp.example/mcp"),
                    requested: Some(&["files:read", "files:write"]),
                    ..NOTHING
                },
            ),
            (
                "logoff: a revocation",
                with(
                    base(3002, 2, 1),
                    json!({
                "user": {"name": "bob"}, "unmapped": {"token_id": "rt-1"}}),
                ),
                Expect {
                    kind: "token.revoke",
                    outcome: Some("success"),
                    subject: Some("bob"),
                    issuer: Some("https://auth.example.com"),
                    token_id: Some("rt-1"),
                    ..NOTHING
                },
            ),
            (
                "privileges assigned: a consent",
                with(
                    base(3003, 1, 1),
                    json!({
                "user": {"name": "bob"}, "privileges": ["files:read"], "session": {"uid": "s-9"},
                "unmapped": {"consent": "remembered", "client_id": "c1"}}),
                ),
                Expect {
                    kind: "consent.grant",
                    outcome: Some("success"),
                    subject: Some("bob"),
                    client_id: Some("c1"),
                    issuer: Some("https://auth.example.com"),
                    granted: Some(&["files:read"]),
                    ..NOTHING
                },
            ),
            (
                "failed privilege assignment: a denied consent",
                with(
                    base(3003, 1, 2),
                    json!({
                "user": {"name": "bob"}, "status_detail": "access_denied"}),
                ),
                Expect {
                    kind: "consent.deny",
                    outcome: Some("failure"),
                    reason: Some("access_denied"),
                    subject: Some("bob"),
                    issuer: Some("https://auth.example.com"),
                    ..NOTHING
                },
            ),
            (
                "failed API call with other resources",
                with(
                    base(6003, 3, 2),
                    json!({
                "status_detail": "forbidden", "actor": {"user": {"name": "bob"}},
                "api": {"operation": "tools/call", "service": {"name": "https://mcp.example/mcp"}},
                "resources": [{"name": "t", "type": "mcp.tool"}, {"name": "f.txt", "type": "file"}],
                "src_endpoint": {"ip": "192.0.2.1"}}),
                ),
                Expect {
                    kind: "resource.access",
                    outcome: Some("failure"),
                    reason: Some("forbidden"),
                    subject: Some("bob"),
                    issuer: Some("https://auth.example.com"),
                    resource: Some("https://mcp.example/mcp"),
                    kept: &[("ocsf.resources.1.type", "file"), ("ocsf.severity_id", "3")],
                    ..NOTHING
                },
            ),
            (
                "bare MCP call: no id, status or product",
                json!({"class_uid": 6003, "time": "2026-11-26T10:00:00Z",
                       "api": {"operation": "tools/list"}}),
                Expect {
                    kind: "resource.access",
                    ..NOTHING
                },
            ),
            (
                "trustpath kind named",
                with(
                    base(6003, 2, 1),
                    json!({
                "http_request": {"url": {"url_string": "https://mcp.example/.well-known/oauth-protected-resource"}},
                "unmapped": {"trustpath_kind": "metadata.fetch", "metadata_authorization_servers": ["https://as.example"]}}),
                ),
                Expect {
                    kind: "metadata.fetch",
                    outcome: Some("success"),
                    issuer: Some("https://auth.example.com"),
                    ..NOTHING
                },
            ),
        ];
        for (name, record, expect) in cases {
            let event = read_record(&record).unwrap_or_else(|problem| panic!("{name}: {problem}"));
            assert_eq!(event.kind.as_str(), expect.kind, "{name}");
            assert_eq!(event.outcome.map(Outcome::as_str), expect.outcome, "{name}");
            assert_eq!(event.reason.as_deref(), expect.reason, "{name}");
            assert_eq!(event.subject.as_deref(), expect.subject, "{name}");
            assert_eq!(event.client.id.as_deref(), expect.client_id, "{name}");
            assert_eq!(event.issuer.as_deref(), expect.issuer, "{name}");
            assert_eq!(event.resource.as_deref(), expect.resource, "{name}");
            assert_eq!(event.scopes.requested, strings(expect.requested), "{name}");
            assert_eq!(event.scopes.granted, strings(expect.granted), "{name}");
            assert_eq!(event.token.id.as_deref(), expect.token_id, "{name}");
            let attributes = Value::Object(event.attributes.clone());
            for (path, value) in expect.kept {
                let pointer = format!("/{}", path.replace('.', "/"));
                let kept = attributes
                    .pointer(&pointer)
                    .map(|v| v.to_string().trim_matches('"').to_owned());
                assert_eq!(kept.as_deref(), Some(*value), "{name}: {path} kept");
            }
            assert_valid_wire(&event);
        }
    }

    #[test]
    fn vendor_records_map_the_details() {
        let sample: Value = serde_json::from_str(SAMPLES.lines().nth(1).unwrap()).unwrap();
        let event = read_record(&sample).unwrap();
        assert_eq!(event.id, "ocsf:ocsf-0002");
        assert_eq!(event.time.timestamp_millis(), 1795687260000);
        assert_eq!(event.tool.as_deref(), Some("search_files"));
        assert_eq!(event.client.name.as_deref(), Some("Example MCP App"));
        assert_eq!(event.connection_id.as_deref(), Some("sess-8f2c"));
        assert_eq!(event.network.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(
            event.network.user_agent.as_deref(),
            Some("example-mcp-client/1.2")
        );
        assert_eq!(event.source.source_type, Some(SourceType::Gateway));
        assert_eq!(event.source.name.as_deref(), Some("Example MCP Gateway"));
        assert_eq!(
            event.attributes,
            json!({"ocsf": {"metadata": {"product": {"vendor_name": "Example"}}}})
                .as_object()
                .unwrap()
                .clone(),
            "all else was mapped"
        );

        let bare = read_record(&json!({"class_uid": 3003, "time": 1})).unwrap();
        assert!(bare.id.starts_with("ocsf:sha256:"), "{}", bare.id);
        assert_eq!(
            bare.source.source_type,
            Some(SourceType::AuthorizationServer)
        );
        assert!(bare.attributes.is_empty());
    }

    #[test]
    fn records_that_are_not_events_are_rejected() {
        let cases = [
            (
                json!({"class_uid": 4001, "class_name": "Network Activity", "time": 1}),
                "class_uid 4001 (Network Activity) is not an authorization event; trustpath reads the \
              OCSF classes 3002 Authentication, 3003 Authorize Session, 6003 API Activity",
            ),
            (
                json!({"time": 1}),
                "missing required field `class_uid`; trustpath reads the OCSF classes 3002 \
              Authentication, 3003 Authorize Session, 6003 API Activity",
            ),
            (
                json!({"class_uid": 3002}),
                "missing required field `time` (the event time)",
            ),
            (
                json!({"class_uid": 3002, "time": "yesterday"}),
                "field `time`: not an RFC 3339 timestamp or epoch milliseconds: \"yesterday\"",
            ),
            (
                json!({"class_uid": 6003, "time": 1, "unmapped": {"trustpath_kind": "token.mint"}}),
                "unmapped.trustpath_kind: 'token.mint' is not one of: resource.challenge, \
              metadata.fetch, as_metadata.fetch, client.document.fetch, client.register, \
              authorization.request, consent.grant, consent.deny, token.issue, token.revoke, \
              resource.access",
            ),
            (
                json!({"class_uid": 6003, "time": 1, "api": {"operation": "PutObject",
                       "service": {"name": "s3.amazonaws.com"}}}),
                "an API Activity record that is not an MCP call (api.operation \"PutObject\", no \
              `mcp.tool` resource); trustpath reads API Activity of MCP servers and gateways only \
              (a JSON-RPC method such as tools/call, or unmapped.trustpath_kind)",
            ),
            (
                json!({"class_uid": 6003, "time": 1, "unmapped": {"trustpath_kind": "token.issue"}}),
                "unmapped.trustpath_kind `token.issue` is written as class 3002 (Authentication), but \
              the record is class 6003 (API Activity)",
            ),
        ];
        for (record, reason) in cases {
            assert_eq!(read_record(&record).unwrap_err(), reason, "{record}");
        }
    }

    /// A change that breaks a good record.
    type Edit = fn(&mut Value);

    #[test]
    fn structure_check_finds_what_is_wrong() {
        let good = emit(&events(SIMULATED)[5]).unwrap();
        check_structure(&good).unwrap();
        let broken = |edit: Edit| {
            let mut record = good.clone();
            edit(&mut record);
            check_structure(&record).unwrap_err()
        };
        let cases: [(Edit, &str); 9] = [
            (
                |r| r["type_uid"] = json!(300202),
                "type_uid 300202 is not class_uid * 100 + activity_id (3002, 1)",
            ),
            (
                |r| r["category_uid"] = json!(6),
                "category_uid 6 does not match class_uid 3002",
            ),
            (
                |r| {
                    r.as_object_mut().unwrap().remove("user");
                },
                "missing attribute `user`, required by Authentication",
            ),
            (
                |r| {
                    r.as_object_mut().unwrap().remove("metadata");
                },
                "missing required base attribute `metadata`",
            ),
            (|r| r["time"] = json!(1.5), "`time` is not an integer: 1.5"),
            (
                |r| r["status_id"] = json!(3),
                "status_id 3 is not in the enum [0, 1, 2, 99]",
            ),
            (
                |r| r["severity_id"] = json!(7),
                "severity_id 7 is not in the enum [0, 1, 2, 3, 4, 5, 6, 99]",
            ),
            (
                |r| {
                    r["activity_id"] = json!(8);
                    r["type_uid"] = json!(300208);
                },
                "activity_id 8 is not an activity of Authentication",
            ),
            (
                |r| {
                    r["metadata"]["product"]
                        .as_object_mut()
                        .unwrap()
                        .remove("vendor_name");
                },
                "missing required text at `/metadata/product/vendor_name`",
            ),
        ];
        for (edit, problem) in cases {
            assert_eq!(broken(edit), problem);
        }
        let mut api = emit(&events(SIMULATED)[6]).unwrap();
        api["api"].as_object_mut().unwrap().remove("operation");
        assert_eq!(
            check_structure(&api).unwrap_err(),
            "missing `api.operation`, required by the api object"
        );
    }
}
