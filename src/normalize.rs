//! normalize: raw records → typed [`Event`]s, or a [`Rejection`] that says what was wrong.
//!
//! Every collector (NATS, HTTP, file) hands its raw bytes to the same [`Normalizer`], so a
//! record is judged the same way whichever way it came in. The JSON Schema in `schemas/`
//! is the authority on what a valid event is; this module turns its findings into reasons
//! a person can act on ("field `time`: not an RFC 3339 timestamp: '26/11/2026'").
//! No I/O happens here.

use std::fmt;

use bytes::Bytes;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::adapt::Adapters;
use crate::event::{Event, WireEvent};

/// The wire format's JSON Schema, compiled into the binary.
pub const EVENT_SCHEMA: &str = include_str!("../schemas/trustpath.event.v1.schema.json");

pub use crate::adapt::Format;

/// Why a record was not stored as an event. The `Display` text is what lands in the
/// `rejected` table and in API answers, so it names the field and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("empty record")]
    Empty,
    /// `received` is what arrived, or what was kept of a longer line (file ingest stops
    /// reading a line just past the limit).
    #[error(
        "record exceeds the limit of {limit} bytes (ingest.max_event_bytes; {received} bytes \
         received or kept)"
    )]
    TooLarge { received: usize, limit: usize },
    #[error("not valid UTF-8: invalid byte sequence at byte offset {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("truncated JSON: the record ends before the JSON value does ({0})")]
    TruncatedJson(String),
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON object: got {0}; each record must be one JSON object (format `{1}`)")]
    NotAnObject(&'static str, Format),
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error(
        "no adapter for format `{0}`: trustpath reads {formats}; the record is kept here and \
         can be re-ingested with the right format",
        formats = crate::adapt::format_names()
    )]
    UnknownFormat(String),
    /// An adapter could not read a vendor record; `problem` says what was wrong with it.
    #[error("{format} record: {problem}")]
    Adapter { format: Format, problem: String },
}

/// One record as a collector received it: one NATS message, one NDJSON line, one element
/// of a JSON array.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// Exactly the bytes received.
    pub raw: Bytes,
    /// Where it came from: `nats:<subject>#<stream seq>`, `http:<peer> line <n>`,
    /// `file:<path>:<line>`.
    pub origin: String,
    /// Identifies a delivery that may be repeated (a JetStream stream sequence), so that
    /// a redelivered bad record is kept once. `None` for HTTP and file input.
    pub delivery_key: Option<String>,
    /// The format the record was sent as (from the NATS subject or the `format` option).
    pub format: String,
}

/// A record that could not become an event, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub record: RawRecord,
    pub reason: String,
    /// SHA-256 (hex) of the record as received (`record.raw` may have credentials hashed).
    pub raw_sha256: String,
}

impl Rejected {
    /// A record kept as received, except that credentials in a JSON object (client secrets,
    /// passwords, raw tokens: see `adapt::redact_secrets`) are replaced by their SHA-256,
    /// which the reason then says: the audit trail must not become a store of secrets.
    pub fn new(mut record: RawRecord, mut reason: String) -> Rejected {
        let raw_sha256 = sha256_hex(&record.raw);
        if let Some(redacted) = without_credentials(&record.raw) {
            record.raw = redacted;
            reason.push_str(
                " (credentials in the record are kept as their SHA-256; raw_sha256 is of the \
                 record as received)",
            );
        }
        Rejected {
            record,
            reason,
            raw_sha256,
        }
    }
}

/// The record with its credentials hashed, when it is a JSON object that holds any.
fn without_credentials(raw: &[u8]) -> Option<Bytes> {
    let Ok(Value::Object(mut object)) = serde_json::from_slice(raw) else {
        return None;
    };
    crate::adapt::redact_secrets(&mut object)
        .then(|| Bytes::from(serde_json::to_vec(&object).expect("JSON serializes")))
}

/// Turns raw records into events. Cheap to share: holds the compiled schema only.
pub struct Normalizer {
    schema: jsonschema::Validator,
    max_event_bytes: usize,
    adapters: Adapters,
}

impl fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Normalizer")
            .field("max_event_bytes", &self.max_event_bytes)
            .finish_non_exhaustive()
    }
}

impl Normalizer {
    pub fn new(max_event_bytes: usize) -> Self {
        // The schema is compiled into the binary and checked by a unit test, so a failure
        // here is a build defect, not a runtime condition.
        let schema: Value = serde_json::from_str(EVENT_SCHEMA).expect("bundled schema is JSON");
        let schema = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("bundled schema compiles");
        Normalizer {
            schema,
            max_event_bytes,
            adapters: Adapters::default(),
        }
    }

    /// Reads other formats with `adapters` (their configuration) instead of the defaults.
    pub fn with_adapters(mut self, adapters: Adapters) -> Self {
        self.adapters = adapters;
        self
    }

    /// Reads one record into an event, or says why it cannot be one.
    // Both variants hand the record on by value; boxing the smaller one would only add an
    // allocation per rejection.
    #[allow(clippy::result_large_err)]
    pub fn normalize(&self, record: RawRecord) -> Result<Event, Rejected> {
        let raw_sha256 = sha256_hex(&record.raw);
        let read = record.format.parse::<Format>().and_then(|format| {
            let wire = self.read_hashed(&record.raw, format, &raw_sha256)?;
            // `<format>:` ids are the adapters' (DOMAIN.md §5): a native event taking one
            // would make the vendor's own event with that id a conflict.
            match crate::adapt::reserved_prefix(&wire.id) {
                Some(owner) if format == Format::Native => Err(Rejection::Invalid(vec![format!(
                    "field `id`: '{}' starts with `{owner}:`, which is reserved for events \
                         read by the {owner} adapter; send the record with format {owner}, or \
                         use another id",
                    wire.id
                )])),
                _ => Ok((wire, format)),
            }
        });
        match read {
            Ok((mut fields, format)) => {
                fields.fold_unknown();
                Ok(Event {
                    fields,
                    raw_sha256,
                    format: format.as_str(),
                    record,
                })
            }
            Err(rejection) => Err(Rejected::new(record, rejection.to_string())),
        }
    }

    /// Parses and validates one record's bytes.
    pub fn read(&self, raw: &[u8], format: Format) -> Result<WireEvent, Rejection> {
        self.read_hashed(raw, format, &sha256_hex(raw))
    }

    fn read_hashed(
        &self,
        raw: &[u8],
        format: Format,
        raw_sha256: &str,
    ) -> Result<WireEvent, Rejection> {
        if raw.len() > self.max_event_bytes {
            return Err(Rejection::TooLarge {
                received: raw.len(),
                limit: self.max_event_bytes,
            });
        }
        let text = std::str::from_utf8(raw).map_err(|e| Rejection::InvalidUtf8 {
            offset: e.valid_up_to(),
        })?;
        if text.trim().is_empty() {
            return Err(Rejection::Empty);
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() {
                Rejection::TruncatedJson(e.to_string())
            } else {
                Rejection::NotJson(e.to_string())
            }
        })?;
        let value = match value {
            Value::Object(object) if format != Format::Native => {
                let event = self.adapters.read(format, object, raw_sha256)?;
                // An adapter builds typed events, but the schema says more than the types
                // (patterns, which fields go together): what it produced is held to the
                // same contract as a native record.
                let value = serde_json::to_value(&event).expect("events serialize");
                return self
                    .check(&value)
                    .map(|()| event)
                    .map_err(|problems| Rejection::Adapter {
                        format,
                        problem: format!("the event read is not valid: {}", problems.join("; ")),
                    });
            }
            Value::Object(_) => value,
            other => return Err(Rejection::NotAnObject(json_type(&other), format)),
        };
        self.check(&value).map_err(Rejection::Invalid)?;
        serde_json::from_value(value).map_err(|e| Rejection::Invalid(vec![e.to_string()]))
    }

    /// Validates against the wire schema; the problems as sentences.
    fn check(&self, value: &Value) -> Result<(), Vec<String>> {
        // The valid case is the common one: check cheaply, describe only on failure.
        if self.schema.is_valid(value) {
            return Ok(());
        }
        Err(self
            .schema
            .iter_errors(value)
            .map(|e| describe(&e))
            .collect())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One schema violation as a sentence: the field, then what is wrong with its value.
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    let field = field_name(error.instance_path().as_str());
    let value = error.instance();
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let property = property.as_str().unwrap_or("?");
            if field.is_empty() {
                format!("missing required field `{property}`")
            } else {
                format!("missing required field `{field}.{property}`")
            }
        }
        ValidationErrorKind::Format { format } if format == "date-time" => {
            format!(
                "field `{field}`: not an RFC 3339 timestamp: {}",
                preview(value)
            )
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|values| {
                    values
                        .iter()
                        .filter(|v| !v.is_null())
                        .map(|v| v.to_string())
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "field `{field}`: {} is not one of {}",
                preview(value),
                allowed.join(", ")
            )
        }
        ValidationErrorKind::Type { kind } => {
            format!(
                "field `{field}`: expected {}, got {} {}",
                expected_types(kind),
                json_type(value),
                preview(value)
            )
        }
        _ => format!("field `{field}`: {error}"),
    }
}

/// `/client/redirect_uris/0` → `client.redirect_uris[0]`.
fn field_name(pointer: &str) -> String {
    let mut name = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() {
            name.push_str(&format!("[{segment}]"));
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&segment);
        }
    }
    name
}

/// The schema's `type` is "T" or ["T", "null"]; "null" means "may be absent", so it is
/// left out of the sentence.
fn expected_types(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(single) => vec![single.to_string()],
        TypeKind::Multiple(set) => set.into_iter().map(|t| t.to_string()).collect(),
    };
    let names: Vec<String> = names.into_iter().filter(|name| name != "null").collect();
    if names.is_empty() {
        "another type".to_owned()
    } else {
        names.join(" or ")
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The offending value, short enough for a log line: strings in single quotes.
fn preview(value: &Value) -> String {
    const MAX: usize = 80;
    let text = match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(raw: &str) -> RawRecord {
        RawRecord {
            raw: Bytes::copy_from_slice(raw.as_bytes()),
            origin: "test".to_owned(),
            delivery_key: None,
            format: "native".to_owned(),
        }
    }

    fn reject(raw: &str) -> String {
        Normalizer::new(64 * 1024)
            .normalize(record(raw))
            .expect_err("record must be rejected")
            .reason
    }

    const MINIMAL: &str = r#"{"id":"e1","time":"2026-11-26T10:00:00Z","kind":"token.issue","source":{"type":"authorization_server"}}"#;

    #[test]
    fn minimal_event_is_accepted() {
        let event = Normalizer::new(1024).normalize(record(MINIMAL)).unwrap();
        assert_eq!(event.fields.id, "e1");
        assert_eq!(event.format, "native");
        assert_eq!(event.raw_sha256, sha256_hex(MINIMAL.as_bytes()));
    }

    #[test]
    fn time_that_is_not_rfc3339_is_named() {
        let reason = reject(&MINIMAL.replace("2026-11-26T10:00:00Z", "26/11/2026"));
        assert_eq!(
            reason,
            "field `time`: not an RFC 3339 timestamp: '26/11/2026'"
        );
    }

    #[test]
    fn missing_required_fields_are_each_named() {
        assert_eq!(
            reject(
                r#"{"time":"2026-11-26T10:00:00Z","kind":"token.issue","source":{"type":"client"}}"#
            ),
            "missing required field `id`"
        );
        assert_eq!(
            reject(r#"{"id":"x","time":"2026-11-26T10:00:00Z","kind":"token.issue","source":{}}"#),
            "missing required field `source.type`"
        );
    }

    #[test]
    fn unknown_kind_lists_the_known_ones() {
        let reason = reject(&MINIMAL.replace("token.issue", "token.minted"));
        assert!(
            reason.starts_with("field `kind`: 'token.minted' is not one of \"resource.challenge\""),
            "{reason}"
        );
    }

    #[test]
    fn wrong_types_name_the_field_and_value() {
        let reason = reject(&MINIMAL.replace(r#""id":"e1""#, r#""id":42"#));
        assert_eq!(reason, "field `id`: expected string, got number 42");
        let reason = reject(
            r#"{"id":"e1","time":"2026-11-26T10:00:00Z","kind":"token.issue","source":{"type":"client"},"http":{"status":"ok"}}"#,
        );
        assert!(
            reason.contains("field `http.status`: expected integer, got string 'ok'"),
            "{reason}"
        );
    }

    #[test]
    fn broken_bytes_are_told_apart() {
        assert!(reject(r#"{"id":"e1","time""#).starts_with("truncated JSON"));
        assert!(reject("hello").starts_with("not JSON: expected value at line 1 column 1"));
        assert!(reject("[1,2]").starts_with("not a JSON object: got array"));
        let bad_utf8 = Normalizer::new(1024)
            .read(b"{\"id\":\"\xff\"}", Format::Native)
            .unwrap_err();
        assert_eq!(bad_utf8, Rejection::InvalidUtf8 { offset: 7 });
        let big = Normalizer::new(10)
            .read(MINIMAL.as_bytes(), Format::Native)
            .unwrap_err();
        assert!(matches!(big, Rejection::TooLarge { limit: 10, .. }));
    }

    #[test]
    fn unknown_fields_are_kept_in_attributes() {
        let raw = MINIMAL.replace(
            r#""source":{"type":"authorization_server"}"#,
            r#""source":{"type":"authorization_server","region":"eu"},"tenant":"acme","attributes":{"tenant":"given"}"#,
        );
        let event = Normalizer::new(1024).normalize(record(&raw)).unwrap();
        let attributes = &event.fields.attributes;
        assert_eq!(attributes["tenant"], "given");
        assert_eq!(attributes["_unknown.tenant"], "acme");
        assert_eq!(attributes["source.region"], "eu");
    }

    #[test]
    fn native_events_cannot_take_an_adapters_ids() {
        let spoof = MINIMAL.replace(r#""id":"e1""#, r#""id":"okta:2c7e0b6a""#);
        let rejected = Normalizer::new(1024).normalize(record(&spoof)).unwrap_err();
        assert!(
            rejected
                .reason
                .contains("reserved for events read by the okta adapter"),
            "{}",
            rejected.reason
        );
        let fine = MINIMAL.replace(r#""id":"e1""#, r#""id":"urn:evt:1""#);
        Normalizer::new(1024).normalize(record(&fine)).unwrap();
    }

    #[test]
    fn unknown_format_is_kept_with_a_reason() {
        let mut ping = record(MINIMAL);
        ping.format = "pingfederate".to_owned();
        let rejected = Normalizer::new(1024).normalize(ping).unwrap_err();
        assert!(
            rejected.reason.starts_with(
                "no adapter for format `pingfederate`: trustpath reads native, keycloak"
            ),
            "{}",
            rejected.reason
        );
        assert_eq!(rejected.record.raw.as_ref(), MINIMAL.as_bytes());
    }

    #[test]
    fn field_names_read_like_paths() {
        assert_eq!(
            field_name("/client/redirect_uris/0"),
            "client.redirect_uris[0]"
        );
        assert_eq!(field_name(""), "");
    }
}
