//! adapt: the formats trustpath reads, and the adapters that turn each into
//! `trustpath.event.v1` (DOMAIN.md §5).
//!
//! An adapter reads one vendor record (a JSON object) through [`Fields`]: every field it
//! maps is *taken* out of the record, and whatever is left at the end is kept in the
//! event's `attributes` under the format's name (`attributes.okta.debugContext…`). So a
//! source field no adapter understands is never lost, by construction, and the stored
//! `raw_sha256` ties the row to the exact bytes received. A record an adapter cannot read
//! at all becomes a [`Rejection`] with the adapter's reason, and is kept in `rejected`.
//!
//! Each format's module also *emits* its shape from an event ([`emit`]): the simulator uses
//! it to produce vendor logs, and `ocsf` doubles as trustpath's OCSF export. `read(emit(e))`
//! gives `e` back except for the fields the vendor does not log ([`not_carried`]); the
//! tests check exactly that, and README lists the fields.
//!
//! - [`keycloak`]: Keycloak user events and admin events on clients.
//! - [`okta`]: Okta System Log `LogEvent`s of custom authorization servers.
//! - [`auth0`]: Auth0 tenant log events.
//! - [`ocsf`]: OCSF 1.x Authentication, Authorize Session, API Activity; in and out.
//! - [`gateway`]: MCP gateway access logs, with [`www_authenticate`] challenges.

pub mod auth0;
pub mod gateway;
pub mod keycloak;
pub mod ocsf;
pub mod okta;
pub mod www_authenticate;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::config::AdaptersConfig;
use crate::event::{Kind, Outcome, Source, SourceType, WireEvent};
use crate::normalize::Rejection;

/// How a record is encoded, i.e. which adapter reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Format {
    /// `trustpath.event.v1` (DOMAIN.md §2)
    Native,
    /// Keycloak user events and admin events on clients
    Keycloak,
    /// Okta System Log events of custom authorization servers
    Okta,
    /// Auth0 tenant log events
    Auth0,
    /// OCSF 1.x Authentication, Authorize Session, API Activity
    Ocsf,
    /// MCP gateway access logs
    Gateway,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Native,
        Format::Keycloak,
        Format::Okta,
        Format::Auth0,
        Format::Ocsf,
        Format::Gateway,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "native",
            Format::Keycloak => "keycloak",
            Format::Okta => "okta",
            Format::Auth0 => "auth0",
            Format::Ocsf => "ocsf",
            Format::Gateway => "gateway",
        }
    }

    /// The NATS subjects that carry this format unless `adapters.<format>.subjects` says
    /// otherwise.
    pub fn default_subject(self) -> String {
        format!("trustpath.in.{}.>", self.as_str())
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = Rejection;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name == crate::event::SCHEMA_VERSION {
            return Ok(Format::Native);
        }
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == name)
            .ok_or_else(|| Rejection::UnknownFormat(name.to_owned()))
    }
}

/// The vendor format whose id namespace (`okta:…`) `id` is in, if any.
pub fn reserved_prefix(id: &str) -> Option<Format> {
    let (prefix, _) = id.split_once(':')?;
    Format::ALL
        .into_iter()
        .find(|format| *format != Format::Native && format.as_str() == prefix)
}

/// The names of every format, for messages: "native, keycloak, okta, auth0, ocsf, gateway".
pub fn format_names() -> String {
    Format::ALL.map(Format::as_str).join(", ")
}

/// What an adapter knows beyond the record: the configuration of its format, and the hash
/// of the record's bytes (an event id when the source gives none).
pub struct Context<'a> {
    pub format: Format,
    /// Source key (Keycloak realm, Okta authorization server name, Auth0 domain) → issuer.
    pub issuers: &'a BTreeMap<String, String>,
    /// Keycloak: the server's base URL; a realm's issuer is `{issuer_base}/realms/{realm}`.
    pub issuer_base: Option<&'a str>,
    pub raw_sha256: &'a str,
}

impl Context<'_> {
    /// The event id: the source's own id under the format's name (`okta:<uuid>`), so ids of
    /// different sources never collide; without one, the record's hash.
    pub fn event_id(&self, source_id: Option<String>) -> String {
        match source_id {
            Some(id) => format!("{}:{id}", self.format),
            None => format!("{}:sha256:{}", self.format, &self.raw_sha256[..32]),
        }
    }

    /// The issuer a source key (realm, authorization server name, domain) stands for, when
    /// configured.
    pub fn configured_issuer(&self, key: &str) -> Option<String> {
        self.issuers.get(key).cloned()
    }
}

/// The adapters with their configuration; one per [`Normalizer`](crate::normalize::Normalizer).
#[derive(Debug, Clone)]
pub struct Adapters {
    config: AdaptersConfig,
    /// Every adapter's NATS subject patterns with their format, most specific first (the
    /// most literal tokens; on a tie, the order of [`Format::ALL`]): the first that matches
    /// a message's subject names its format.
    patterns: Vec<(String, Format)>,
}

impl Default for Adapters {
    fn default() -> Self {
        Adapters::new(AdaptersConfig::default())
    }
}

impl Adapters {
    pub fn new(config: AdaptersConfig) -> Self {
        let mut patterns: Vec<(String, Format)> = Format::ALL
            .into_iter()
            .flat_map(|format| {
                let subjects = config.subjects(format);
                subjects.into_iter().map(move |pattern| (pattern, format))
            })
            .collect();
        // A stable sort keeps Format::ALL's order among equally specific patterns.
        patterns.sort_by_key(|(pattern, _)| std::cmp::Reverse(literal_tokens(pattern)));
        Adapters { config, patterns }
    }
    /// Reads one vendor record (never `Native`: the schema path handles that).
    pub fn read(
        &self,
        format: Format,
        object: Map<String, Value>,
        raw_sha256: &str,
    ) -> Result<WireEvent, Rejection> {
        let context = Context {
            format,
            issuers: self.config.issuers(format),
            issuer_base: self.config.issuer_base(format),
            raw_sha256,
        };
        let mut fields = Fields::new(object);
        let read = match format {
            Format::Native => unreachable!("native records are read against the schema"),
            Format::Keycloak => keycloak::read(&mut fields, &context),
            Format::Okta => okta::read(&mut fields, &context),
            Format::Auth0 => auth0::read(&mut fields, &context),
            Format::Ocsf => ocsf::read(&mut fields, &context),
            Format::Gateway => gateway::read(&mut fields, &context),
        };
        let mut event = read.map_err(|problem| Rejection::Adapter { format, problem })?;
        fields.keep_rest(format, &mut event.attributes);
        Ok(event)
    }

    /// The format of a NATS message on `subject`: the adapter whose subjects match it most
    /// specifically (`audit.okta.>` before `audit.>`), else the token after
    /// `trustpath.in.`, else native.
    pub fn format_of_subject(&self, subject: &str) -> String {
        if let Some((_, format)) = self
            .patterns
            .iter()
            .find(|(pattern, _)| subject_matches(pattern, subject))
        {
            return format.as_str().to_owned();
        }
        subject
            .strip_prefix("trustpath.in.")
            .and_then(|rest| rest.split('.').next())
            .filter(|format| !format.is_empty())
            .unwrap_or("native")
            .to_owned()
    }

    /// Every adapter's subjects, for the stream to capture.
    pub fn subjects(&self) -> Vec<String> {
        Format::ALL
            .into_iter()
            .flat_map(|format| self.config.subjects(format))
            .collect()
    }
}

/// How many tokens of a subject pattern are literal (not `*` or `>`).
fn literal_tokens(pattern: &str) -> usize {
    pattern
        .split('.')
        .filter(|t| !matches!(*t, "*" | ">"))
        .count()
}

/// Whether every subject `inner` matches is also matched by `outer` (both may have
/// wildcards): `trustpath.in.>` covers `trustpath.in.okta.>`, `a.*` does not cover `a.>`.
pub fn subject_covers(outer: &str, inner: &str) -> bool {
    let mut inner_tokens = inner.split('.');
    for token in outer.split('.') {
        match (token, inner_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(actual)) if actual != ">" => {}
            (literal, Some(actual)) if literal == actual => {}
            _ => return false,
        }
    }
    inner_tokens.next().is_none()
}

/// NATS subject matching: `*` matches one token, a final `>` one or more.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in pattern.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(actual)) if literal == actual => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// A vendor record being read. Adapters `take` what they map; what is left is kept.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    rest: Map<String, Value>,
}

impl Fields {
    pub fn new(object: Map<String, Value>) -> Self {
        Fields { rest: object }
    }

    /// Looks at a field (dotted path into nested objects) without taking it.
    pub fn peek(&self, path: &str) -> Option<&Value> {
        let mut current = &self.rest;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let value = current.get(part)?;
            if parts.peek().is_none() {
                return (!value.is_null()).then_some(value);
            }
            current = value.as_object()?;
        }
        None
    }

    /// Takes a field out (dotted path); `null` counts as absent.
    pub fn take(&mut self, path: &str) -> Option<Value> {
        let (parents, leaf) = match path.rsplit_once('.') {
            Some((parents, leaf)) => (Some(parents), leaf),
            None => (None, path),
        };
        let mut current = &mut self.rest;
        if let Some(parents) = parents {
            for part in parents.split('.') {
                current = current.get_mut(part)?.as_object_mut()?;
            }
        }
        current.remove(leaf).filter(|value| !value.is_null())
    }

    /// A text field. Numbers and booleans are read as their text (ids are often numbers);
    /// an empty string is absent. Objects and arrays are left in place.
    pub fn string(&mut self, path: &str) -> Option<String> {
        match self.peek(path)? {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            _ => return None,
        }
        match self.take(path)? {
            Value::String(text) if text.is_empty() => None,
            Value::String(text) => Some(text),
            other => Some(other.to_string()),
        }
    }

    /// A list of strings: a JSON array of strings, or one string of space-separated items
    /// (OAuth `scope`). Anything else is left in place.
    pub fn strings(&mut self, path: &str) -> Option<Vec<String>> {
        match self.peek(path)? {
            Value::String(_) => {
                let text = self.string(path)?;
                Some(split_list(&text))
            }
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let Some(Value::Array(items)) = self.take(path) else {
                    return None;
                };
                Some(
                    items
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                )
            }
            _ => None,
        }
    }

    /// A number (or a numeric string); anything else is left in place.
    pub fn number(&mut self, path: &str) -> Option<i64> {
        let number = match self.peek(path)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        self.take(path);
        Some(number)
    }

    /// A boolean (or "true"/"false"); anything else is left in place.
    pub fn boolean(&mut self, path: &str) -> Option<bool> {
        let flag = match self.peek(path)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }?;
        self.take(path);
        Some(flag)
    }

    /// A non-empty text field, looked at but left in place.
    pub fn peek_string(&self, path: &str) -> Option<String> {
        self.peek(path)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }

    /// Takes a field only when it holds exactly `expected` (a value the event implies, or
    /// the same fact said twice); any other value stays, to be kept. Says whether it took.
    pub fn take_if_eq(&mut self, path: &str, expected: impl Into<Value>) -> bool {
        let matches = self.peek(path) == Some(&expected.into());
        if matches {
            self.take(path);
        }
        matches
    }

    /// Returns an unmapped part of the record (say, what is left of a nested object the
    /// adapter took apart), to be kept with the rest.
    pub fn put_back(&mut self, key: &str, value: Value) {
        self.rest.insert(key.to_owned(), value);
    }

    /// The event time: RFC 3339 text, or epoch milliseconds (a number or numeric text).
    /// Missing or unreadable is the record's fault, with the field named.
    pub fn time(&mut self, path: &str) -> Result<DateTime<Utc>, String> {
        let value = self
            .peek(path)
            .ok_or_else(|| format!("missing required field `{path}` (the event time)"))?;
        let time = match value {
            Value::Number(n) => n.as_i64().and_then(epoch_millis),
            Value::String(text) => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc))
                .or_else(|| text.parse().ok().and_then(epoch_millis)),
            _ => None,
        }
        .ok_or_else(|| {
            format!("field `{path}`: not an RFC 3339 timestamp or epoch milliseconds: {value}")
        })?;
        self.take(path);
        Ok(time)
    }

    /// Moves what no adapter step took into `attributes.<format>`, dropping emptied
    /// objects. An attribute the adapter set itself is never overwritten.
    fn keep_rest(self, format: Format, attributes: &mut Map<String, Value>) {
        let mut rest = self.rest;
        prune(&mut rest);
        redact_secrets(&mut rest);
        if rest.is_empty() {
            return;
        }
        match attributes.get_mut(format.as_str()) {
            Some(Value::Object(kept)) => overlay(kept, &rest),
            _ => {
                attributes.insert(format.as_str().to_owned(), Value::Object(rest));
            }
        }
    }
}

/// Whether a vendor field holds a credential: a client secret, a password, a private key,
/// a raw token, an Authorization header or cookie. Ids of tokens (`token_id`) are not.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace(['-', '.'], "_");
    [
        "secret",
        "password",
        "private_key",
        "privatekey",
        "credential",
    ]
    .iter()
    .any(|word| key.contains(word))
        || [
            "authorization",
            "cookie",
            "set_cookie",
            "token",
            "access_token",
            "refresh_token",
            "id_token",
            "registrationaccesstoken",
            "registration_access_token",
            "client_assertion",
        ]
        .contains(&key.as_str())
}

/// A URL query with the value of every credential parameter replaced by its SHA-256.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret(name) => {
                format!(
                    "{name}=redacted:sha256:{}",
                    crate::normalize::sha256_hex(value.as_bytes())
                )
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Replaces every credential among the kept fields (at any depth) by its SHA-256, so the
/// audit trail can still tell two values apart without holding either.
pub fn redact_secrets(object: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    // A typed credential (`{"type": "secret", "value": …}`, Keycloak's
    // CredentialRepresentation) holds its secret under a plain name.
    let typed_credential = object
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(is_secret);
    for (key, value) in object.iter_mut() {
        if is_secret(key) || (typed_credential && key == "value") {
            changed = true;
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            *value = Value::String(format!(
                "redacted:sha256:{}",
                crate::normalize::sha256_hex(text.as_bytes())
            ));
        } else {
            match value {
                Value::Object(inner) => changed |= redact_secrets(inner),
                Value::Array(items) => {
                    for inner in items.iter_mut().filter_map(Value::as_object_mut) {
                        changed |= redact_secrets(inner);
                    }
                }
                _ => {}
            }
        }
    }
    changed
}

/// Removes nulls and objects left empty by `take`.
fn prune(object: &mut Map<String, Value>) {
    object.retain(|_, value| {
        if let Value::Object(inner) = value {
            prune(inner);
            !inner.is_empty()
        } else {
            !value.is_null()
        }
    });
}

fn epoch_millis(millis: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis).single()
}

/// Space- (or comma-) separated items, as in OAuth's `scope`.
fn split_list(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A JSON object of the entries that have a value (for `emit`).
pub fn object<const N: usize>(entries: [(&str, Option<Value>); N]) -> Map<String, Value> {
    entries
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value?)))
        .collect()
}

/// An optional event field as a JSON value (for `emit`).
pub fn json<T: Clone + Into<Value>>(value: &Option<T>) -> Option<Value> {
    value.clone().map(Into::into)
}

/// Puts `kept` over `record`, descending into objects present in both: `emit` writes back
/// the vendor fields a record kept in `attributes.<format>`.
pub fn overlay(record: &mut Map<String, Value>, kept: &Map<String, Value>) {
    for (key, value) in kept {
        match (record.get_mut(key), value) {
            (Some(Value::Object(inner)), Value::Object(kept_inner)) => overlay(inner, kept_inner),
            _ => {
                record.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A new event with only the required fields set.
pub fn event(
    id: String,
    time: DateTime<Utc>,
    kind: Kind,
    source_type: SourceType,
    source_name: Option<String>,
) -> WireEvent {
    WireEvent {
        id,
        time,
        kind,
        outcome: None,
        reason: None,
        source: Source {
            source_type: Some(source_type),
            name: source_name,
            unknown: Map::new(),
        },
        connection_id: None,
        subject: None,
        client: Default::default(),
        resource: None,
        metadata: Default::default(),
        issuer: None,
        scopes: Default::default(),
        token: Default::default(),
        redirect_uri: None,
        consent: None,
        tool: None,
        network: Default::default(),
        http: Default::default(),
        attributes: Map::new(),
        unknown: Map::new(),
    }
}

/// A vendor record emitted from an event, with the format it is in. The authorization
/// server formats (keycloak, okta, auth0) carry the AS's events and leave the gateway's to
/// the gateway format, as an organisation running that AS behind an MCP gateway would log
/// them. An event the chosen formats do not log (an AS does not log its own metadata being
/// fetched) comes back as native: a deployment sends those from its own probe.
pub fn emit(format: Format, event: &WireEvent) -> (Format, Value) {
    let from_as = event.source.source_type == Some(SourceType::AuthorizationServer);
    let (format, vendor) = match format {
        Format::Native => (Format::Native, None),
        Format::Ocsf => (Format::Ocsf, ocsf::emit(event)),
        _ if !from_as => (Format::Gateway, gateway::emit(event)),
        Format::Keycloak => (Format::Keycloak, keycloak::emit(event)),
        Format::Okta => (Format::Okta, okta::emit(event)),
        Format::Auth0 => (Format::Auth0, auth0::emit(event)),
        Format::Gateway => (Format::Gateway, None),
    };
    match vendor {
        Some(record) => (format, record),
        // WireEvent holds only strings, numbers, timestamps and JSON maps: it serializes.
        None => (
            Format::Native,
            serde_json::to_value(event).expect("events serialize"),
        ),
    }
}

/// Blanks the fields a format does not carry, so an event can be compared with what came
/// back through the format's adapter. Entries are `field` (every kind), `kind:field` or
/// `kind/outcome:field`, with fields as dotted wire paths (`token.expires_at`,
/// `token.issue/failure:subject`).
pub fn without(event: &WireEvent, not_carried: &[&str]) -> WireEvent {
    let Value::Object(object) = serde_json::to_value(event).expect("events serialize") else {
        unreachable!("an event serializes to an object")
    };
    let mut fields = Fields::new(object);
    for entry in not_carried {
        let field = match entry.split_once(':') {
            Some((only, field)) if applies(only, event) => field,
            Some(_) => continue,
            None => entry,
        };
        fields.take(field);
    }
    let mut rest = fields.rest;
    prune(&mut rest);
    serde_json::from_value(Value::Object(rest))
        .expect("an event without some optional fields reads back")
}

/// Whether a `kind` or `kind/outcome` qualifier of a [`without`] entry names `event`.
fn applies(qualifier: &str, event: &WireEvent) -> bool {
    let (kind, outcome) = match qualifier.split_once('/') {
        Some((kind, outcome)) => (kind, Some(outcome)),
        None => (qualifier, None),
    };
    kind == event.kind.as_str()
        && outcome.is_none_or(|outcome| event.outcome.map(Outcome::as_str) == Some(outcome))
}

/// The fields `format` does not carry (see [`without`]); README lists them.
pub fn not_carried(format: Format) -> &'static [&'static str] {
    match format {
        Format::Native => &[],
        Format::Keycloak => keycloak::NOT_CARRIED,
        Format::Okta => okta::NOT_CARRIED,
        Format::Auth0 => auth0::NOT_CARRIED,
        Format::Ocsf => ocsf::NOT_CARRIED,
        Format::Gateway => gateway::NOT_CARRIED,
    }
}

/// What the adapters' tests share.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// What `event` reads back as after `emit` wrote it in `format` and `read` (the test's
    /// own reader, with its configuration) read it: the id, which becomes
    /// `<format>:<id>`, is checked and given back. None when `format` does not log it.
    pub fn round_trip(
        format: Format,
        event: &WireEvent,
        read: impl Fn(&Value) -> Result<WireEvent, String>,
    ) -> Option<WireEvent> {
        let (emitted_as, record) = emit(format, event);
        if emitted_as != format {
            return None;
        }
        let mut back = read(&record)
            .unwrap_or_else(|reason| panic!("emitted record does not read: {reason}\n{record:#}"));
        assert_eq!(back.id, format!("{format}:{}", event.id), "{record:#}");
        back.id.clone_from(&event.id);
        Some(back)
    }

    /// Each record, read, emitted in `format` and read again, gives the same event: `emit`
    /// writes back the vendor fields the first read kept.
    pub fn read_emit_read<'a>(
        format: Format,
        records: impl IntoIterator<Item = (&'a str, Value)>,
        read: impl Fn(&Value) -> Result<WireEvent, String>,
    ) {
        for (name, record) in records {
            let event = read(&record).unwrap_or_else(|reason| panic!("{name}: {reason}"));
            let (emitted_as, emitted) = emit(format, &event);
            assert_eq!(emitted_as, format, "{name}: emits");
            assert_eq!(read(&emitted).unwrap(), event, "{name}\n{emitted:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_match_like_nats() {
        assert!(subject_matches(
            "trustpath.in.okta.>",
            "trustpath.in.okta.prod"
        ));
        assert!(subject_matches(
            "trustpath.in.okta.>",
            "trustpath.in.okta.a.b"
        ));
        assert!(!subject_matches("trustpath.in.okta.>", "trustpath.in.okta"));
        assert!(subject_matches("audit.*.keycloak", "audit.eu.keycloak"));
        assert!(!subject_matches("audit.*.keycloak", "audit.eu.keycloak.x"));
        assert!(!subject_matches("audit.*", "other.eu"));
        assert!(subject_covers("trustpath.in.>", "trustpath.in.okta.>"));
        assert!(subject_covers("audit.*.x", "audit.*.x"));
        assert!(!subject_covers("a.*", "a.>"));
        assert!(!subject_covers("a.b", "a.*"));
    }

    #[test]
    fn the_subject_names_the_format() {
        let mut config = AdaptersConfig::default();
        config.okta.subjects = Some(vec!["audit.okta.>".to_owned()]);
        config.native.subjects = Some(vec!["audit.>".to_owned()]);
        let adapters = Adapters::new(config);
        assert_eq!(
            adapters.format_of_subject("trustpath.in.native.gw-1"),
            "native"
        );
        assert_eq!(
            adapters.format_of_subject("trustpath.in.keycloak.eu"),
            "keycloak"
        );
        assert_eq!(adapters.format_of_subject("audit.okta.prod"), "okta");
        // Configured subjects replace the default, so this is no longer Okta's...
        assert_eq!(adapters.format_of_subject("trustpath.in.okta.x"), "okta");
        // ...but the subject still names a format, and an unknown one is rejected by name.
        assert_eq!(
            adapters.format_of_subject("trustpath.in.splunk.x"),
            "splunk"
        );
        assert_eq!(adapters.format_of_subject("audit.mcp.events"), "native");
        assert_eq!(adapters.format_of_subject("other.events"), "native");
    }

    #[test]
    fn unmapped_fields_are_kept_under_the_format() {
        let object = serde_json::json!({
            "a": {"b": 1, "c": "x"}, "d": null, "e": "keep", "f": {"g": null}
        });
        let mut fields = Fields::new(object.as_object().unwrap().clone());
        assert_eq!(fields.number("a.b"), Some(1));
        assert_eq!(fields.string("a.c").as_deref(), Some("x"));
        let mut attributes = Map::new();
        fields.keep_rest(Format::Okta, &mut attributes);
        assert_eq!(
            Value::Object(attributes),
            serde_json::json!({"okta": {"e": "keep"}})
        );
    }

    #[test]
    fn credentials_are_kept_only_as_hashes() {
        let object = serde_json::json!({
            "representation": {"attributes": {"client.secret.rotated": "s3cret",
                "saml.signing.private.key": "MIIE"}, "credentials": [{"value": "pw"}],
                "clientAuthenticatorType": "client-secret-jwt"},
            "headers": {"Authorization": "Bearer eyJ", "X-Request-Id": "r1"},
            "jwt": {"token": "eyJ", "jti": "j1"},
            "token_id": "t1"
        });
        let fields = Fields::new(object.as_object().unwrap().clone());
        let mut attributes = Map::new();
        fields.keep_rest(Format::Keycloak, &mut attributes);
        let kept = Value::Object(attributes).to_string();
        for secret in ["s3cret", "MIIE", "\"pw\"", "Bearer eyJ", "\"eyJ\""] {
            assert!(!kept.contains(secret), "{secret} kept: {kept}");
        }
        for plain in ["r1", "j1", "t1"] {
            assert!(kept.contains(plain), "{plain} lost: {kept}");
        }
        assert!(kept.contains("redacted:sha256:"), "{kept}");
        let query = redact_query("a=1&access_token=eyJ&x");
        assert!(query.starts_with("a=1&access_token=redacted:sha256:") && query.ends_with("&x"));
    }

    #[test]
    fn times_are_rfc3339_or_epoch_millis() {
        let object = serde_json::json!({"a": 1795687200123_i64, "b": "2026-11-26T10:00:00Z", "c": "yesterday"});
        let mut fields = Fields::new(object.as_object().unwrap().clone());
        assert_eq!(fields.time("a").unwrap().timestamp_millis(), 1795687200123);
        assert_eq!(
            fields.time("b").unwrap().to_rfc3339(),
            "2026-11-26T10:00:00+00:00"
        );
        assert_eq!(
            fields.time("c").unwrap_err(),
            "field `c`: not an RFC 3339 timestamp or epoch milliseconds: \"yesterday\""
        );
        assert!(
            fields
                .time("z")
                .unwrap_err()
                .starts_with("missing required field `z`")
        );
    }

    #[test]
    fn scopes_split_on_spaces() {
        assert_eq!(
            split_list(" openid  files:read,x "),
            ["openid", "files:read", "x"]
        );
    }
}
