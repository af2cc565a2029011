//! correlate: connections and their trust paths (DOMAIN.md §3).
//!
//! A *connection* is one approval chain: a token granted without a parent (authorization
//! code, client credentials, token exchange), every token refreshed from it, and the
//! events around them. Events join a connection by explicit keys first (the id of one of
//! its tokens, exact), then by context within a window: a gateway session shared with
//! exactly attached events, or the same issuer, client and subject shortly before its
//! first token. The connection id is derived from the root token, and every attachment
//! depends only on events near it in time, so the result is the same whatever order and
//! batching events arrive in.
//!
//! - [`maintain`]: run by the store writer inside each batch's transaction, or for a
//!   burst in later passes of several batches: attach the pass's events, re-attach what a late event changed, re-evaluate touched connections.
//! - [`trust_path`]: the nine links and their verdicts, from facts alone (no I/O).

pub mod maintain;
pub mod trust_path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use trust_path::evaluate;

/// A link's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Unknown,
    Violated,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Unknown => "unknown",
            Verdict::Violated => "violated",
        }
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ok" => Ok(Verdict::Ok),
            "unknown" => Ok(Verdict::Unknown),
            "violated" => Ok(Verdict::Violated),
            other => Err(format!(
                "'{other}' is not a verdict (ok, unknown, violated)"
            )),
        }
    }
}

/// The links of a trust path, in order (DOMAIN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkName {
    Metadata,
    IssuerAdvertised,
    IssuerEcho,
    ClientDocument,
    Redirect,
    Consent,
    Scopes,
    Audience,
    Liveness,
}

impl LinkName {
    pub const ALL: [LinkName; 9] = [
        LinkName::Metadata,
        LinkName::IssuerAdvertised,
        LinkName::IssuerEcho,
        LinkName::ClientDocument,
        LinkName::Redirect,
        LinkName::Consent,
        LinkName::Scopes,
        LinkName::Audience,
        LinkName::Liveness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkName::Metadata => "metadata",
            LinkName::IssuerAdvertised => "issuer_advertised",
            LinkName::IssuerEcho => "issuer_echo",
            LinkName::ClientDocument => "client_document",
            LinkName::Redirect => "redirect",
            LinkName::Consent => "consent",
            LinkName::Scopes => "scopes",
            LinkName::Audience => "audience",
            LinkName::Liveness => "liveness",
        }
    }
}

impl std::str::FromStr for LinkName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        LinkName::ALL
            .into_iter()
            .find(|link| link.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = LinkName::ALL.iter().map(|l| l.as_str()).collect();
                format!("'{text}' is not a link ({})", names.join(", "))
            })
    }
}

/// One link of a trust path: what was checked, what decided it, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub link: LinkName,
    pub verdict: Verdict,
    /// Ids of the events the verdict rests on.
    pub evidence: Vec<String>,
    /// The values that decided it (e.g. the PRM's authorization_servers at issue time).
    pub facts: Value,
    /// One line a person can read.
    pub explanation: String,
    /// Event time of the newest evidence; where a verdict change sits on a timeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
}

/// The nine links of one connection, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustPath {
    pub verdict: Verdict,
    pub links: Vec<Link>,
}

impl TrustPath {
    pub fn from_links(links: Vec<Link>) -> Self {
        let verdict = links
            .iter()
            .map(|l| l.verdict)
            .max()
            .unwrap_or(Verdict::Unknown);
        TrustPath { verdict, links }
    }

    /// Names of the links with this verdict, in order.
    pub fn with(&self, verdict: Verdict) -> Vec<&'static str> {
        self.links
            .iter()
            .filter(|l| l.verdict == verdict)
            .map(|l| l.link.as_str())
            .collect()
    }
}
