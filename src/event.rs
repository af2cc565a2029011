//! The wire format `trustpath.event.v1` (DOMAIN.md §2) as Rust types.
//!
//! `schemas/trustpath.event.v1.schema.json` is the contract; these types read what it
//! accepts. Fields this version does not know are never dropped: unknown top-level fields
//! and unknown fields of the nested objects are moved into `attributes` (nested ones under
//! a dotted key such as `client.software_id`) by [`WireEvent::into_event`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::normalize::RawRecord;

/// The schema version every stored row is normalized to.
pub const SCHEMA_VERSION: &str = "trustpath.event.v1";

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the order of the schema.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The value as it is written on the wire and stored.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// What happened, in trust-path order.
    Kind {
        ResourceChallenge = "resource.challenge",
        MetadataFetch = "metadata.fetch",
        AsMetadataFetch = "as_metadata.fetch",
        ClientDocumentFetch = "client.document.fetch",
        ClientRegister = "client.register",
        AuthorizationRequest = "authorization.request",
        ConsentGrant = "consent.grant",
        ConsentDeny = "consent.deny",
        TokenIssue = "token.issue",
        TokenRevoke = "token.revoke",
        ResourceAccess = "resource.access",
    }
);

string_enum!(
    /// How it ended.
    Outcome {
        Success = "success",
        Failure = "failure",
        Denied = "denied",
    }
);

string_enum!(
    /// Which kind of component reported the event.
    SourceType {
        Gateway = "gateway",
        ResourceServer = "resource_server",
        AuthorizationServer = "authorization_server",
        Client = "client",
    }
);

string_enum!(
    /// How the client is known to the authorization server.
    Registration {
        Cimd = "cimd",
        Dcr = "dcr",
        PreRegistered = "pre_registered",
    }
);

string_enum!(
    /// How consent was given.
    Consent {
        Explicit = "explicit",
        Remembered = "remembered",
        NotRequired = "not_required",
    }
);

/// The fields of one event as it arrives on the wire. After [`WireEvent::fold_unknown`]
/// every field this version does not know is in `attributes`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WireEvent {
    pub id: String,
    pub time: DateTime<Utc>,
    pub kind: Kind,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub source: Source,
    pub connection_id: Option<String>,
    pub subject: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub client: Client,
    pub resource: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub metadata: Metadata,
    pub issuer: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub scopes: Scopes,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub token: Token,
    pub redirect_uri: Option<String>,
    pub consent: Option<Consent>,
    pub tool: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub network: Network,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub http: Http,
    /// `attributes` as sent, plus (after folding) every field this version does not know.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub attributes: Map<String, Value>,
    /// Top-level fields this version does not know; empty after folding.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The schema allows `null` for every optional object; it means the same as absent.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Source {
    #[serde(rename = "type")]
    pub source_type: Option<SourceType>,
    pub name: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Client {
    pub id: Option<String>,
    pub registration: Option<Registration>,
    pub name: Option<String>,
    pub document_sha256: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Metadata {
    pub url: Option<String>,
    pub document_sha256: Option<String>,
    pub authorization_servers: Option<Vec<String>>,
    pub scopes_supported: Option<Vec<String>>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Scopes {
    pub requested: Option<Vec<String>>,
    pub granted: Option<Vec<String>>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Token {
    pub id: Option<String>,
    pub parent_id: Option<String>,
    pub refresh_token_id: Option<String>,
    pub audience: Option<Vec<String>>,
    pub grant_type: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Network {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Http {
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub resolved_ip: Option<String>,
    pub redirected: Option<bool>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A normalized event: one row of the `events` table.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event's fields, unknown ones folded into `fields.attributes`.
    pub fields: WireEvent,
    /// SHA-256 (hex) of the record exactly as received.
    pub raw_sha256: String,
    /// Which adapter read the record (`native` for `trustpath.event.v1`).
    pub format: &'static str,
    /// The record as received, with where it came from.
    pub record: RawRecord,
}

impl WireEvent {
    /// Moves every field this version does not know into `attributes`: top-level ones
    /// under their own name, nested ones under a dotted key such as `client.software_id`.
    pub fn fold_unknown(&mut self) {
        let attributes = &mut self.attributes;
        for (key, value) in std::mem::take(&mut self.unknown) {
            keep_unknown(attributes, key, value);
        }
        let nested = [
            ("source", &mut self.source.unknown),
            ("client", &mut self.client.unknown),
            ("metadata", &mut self.metadata.unknown),
            ("scopes", &mut self.scopes.unknown),
            ("token", &mut self.token.unknown),
            ("network", &mut self.network.unknown),
            ("http", &mut self.http.unknown),
        ];
        for (parent, unknown) in nested {
            for (key, value) in std::mem::take(unknown) {
                keep_unknown(attributes, format!("{parent}.{key}"), value);
            }
        }
    }
}

/// An unknown field never overwrites an attribute the sender set explicitly: on a clash
/// it is kept under `_unknown.<key>` instead.
fn keep_unknown(attributes: &mut Map<String, Value>, key: String, value: Value) {
    if attributes.contains_key(&key) {
        attributes.insert(format!("_unknown.{key}"), value);
    } else {
        attributes.insert(key, value);
    }
}
