//! Plain-text renderings for the terminal: a connection's trust path (`trustpath explain`)
//! and an incident timeline (`trustpath timeline`). Pure: values in, text out.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::correlate::{Link, Verdict};
use crate::store::connections::{
    ConnectionDetail, ConnectionSummary, Timeline, TimelineEntry, TimelineGroup,
};

/// A trust path as a person reads it: who, what, then each link with its evidence.
pub fn trust_path(detail: &ConnectionDetail) -> String {
    let mut out = String::new();
    let c = &detail.connection;
    let _ = writeln!(out, "connection {}", c.connection_id);
    let _ = writeln!(out, "  subject   {}", or_dash(&c.subject));
    let _ = writeln!(out, "  client    {}", or_dash(&c.client_id));
    let _ = writeln!(out, "  resource  {}", or_dash(&c.resource));
    let _ = writeln!(out, "  issuer    {}", or_dash(&c.issuer));
    let _ = writeln!(
        out,
        "  active    {} → {}  ({} events, {} tokens)",
        at(c.first_seen),
        at(c.last_seen),
        c.events,
        c.tokens
    );
    let _ = writeln!(
        out,
        "  verdict   {}\n",
        verdict_word(detail.trust_path.verdict)
    );
    let _ = writeln!(out, "trust path (evaluated {})", at(detail.evaluated_at));
    for (position, link) in detail.trust_path.links.iter().enumerate() {
        write_link(&mut out, position + 1, link);
    }
    if !detail.tokens.is_empty() {
        let _ = writeln!(out, "\ntokens");
        for token in &detail.tokens {
            let parent = match token["parent_id"].as_str() {
                Some(parent) => format!("  (refresh of {parent})"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}  {}  {}{parent}",
                cell(&token["issued_at"]),
                cell(&token["token_id"]),
                cell(&token["grant_type"]),
            );
        }
    }
    if !detail.verdict_changes.is_empty() {
        let _ = writeln!(out, "\nverdict changes");
        for change in &detail.verdict_changes {
            let _ = writeln!(
                out,
                "  {}  {}: {} → {}",
                cell(&change["time"]),
                cell(&change["link"]),
                change["before"].as_str().unwrap_or("new"),
                cell(&change["after"]),
            );
        }
    }
    out
}

fn write_link(out: &mut String, position: usize, link: &Link) {
    let name = link.link.as_str().replace('_', " ");
    let _ = writeln!(
        out,
        "  {position}. {name:<18} {:<9} {}",
        verdict_word(link.verdict),
        link.explanation
    );
    if !link.evidence.is_empty() {
        let _ = writeln!(
            out,
            "     {:<18} evidence: {}",
            "",
            link.evidence.join(", ")
        );
    }
}

/// A timeline, one block per connection, entries in time order.
pub fn timeline(timeline: &Timeline, key: &str) -> String {
    let mut out = String::new();
    let events: usize = timeline
        .groups
        .iter()
        .flat_map(|g| &g.entries)
        .filter(|e| matches!(e, TimelineEntry::Event { .. }))
        .count();
    let _ = writeln!(
        out,
        "timeline of {key}, {} → {}: {events} events in {} groups{}",
        at(timeline.from),
        at(timeline.to),
        timeline.groups.len(),
        if timeline.truncated {
            " (cut at the limit: narrow the window)"
        } else {
            ""
        }
    );
    for group in &timeline.groups {
        write_group(&mut out, group);
    }
    out
}

fn write_group(out: &mut String, group: &TimelineGroup) {
    match &group.connection {
        Some(c) => {
            let _ = writeln!(out, "\n{}", connection_line(c));
        }
        None => {
            let _ = writeln!(out, "\nnot part of any connection");
        }
    }
    for entry in &group.entries {
        match entry {
            TimelineEntry::Event { time, event } => {
                let detail = ["outcome", "reason", "tool", "token_id", "ip", "event_id"]
                    .iter()
                    .filter_map(|key| event[*key].as_str().map(|v| format!("{key}={v}")))
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = writeln!(
                    out,
                    "  {}  {:<22} {detail}",
                    at_ms(*time),
                    cell(&event["kind"])
                );
            }
            TimelineEntry::VerdictChange {
                time,
                link,
                before,
                after,
                explanation,
            } => {
                let _ = writeln!(
                    out,
                    "  {}  ! {link}: {} → {after}: {explanation}",
                    at_ms(*time),
                    before.as_deref().unwrap_or("new"),
                );
            }
            TimelineEntry::Alert { time, alert } => {
                let _ = writeln!(
                    out,
                    "  {}  ALERT {} {} [{}] {} ({}, {})",
                    at_ms(*time),
                    cell(&alert["rule_id"]),
                    cell(&alert["rule_name"]),
                    cell(&alert["severity"]),
                    cell(&alert["summary"]),
                    cell(&alert["alert_id"]),
                    cell(&alert["status"]),
                );
            }
        }
    }
}

/// Alerts as a table: one line each, most recently seen first.
pub fn alerts(alerts: &[Value]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<35} {:<6} {:<8} {:<12} {:>5}  {:<20}  summary",
        "alert", "rule", "severity", "status", "count", "last seen"
    );
    for alert in alerts {
        let last_seen = alert["last_seen"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            .map_or_else(|| "-".to_owned(), at);
        let _ = writeln!(
            out,
            "{:<35} {:<6} {:<8} {:<12} {:>5}  {:<20}  {}",
            cell(&alert["alert_id"]),
            cell(&alert["rule_id"]),
            cell(&alert["severity"]),
            cell(&alert["status"]),
            cell(&alert["count"]),
            last_seen,
            cell(&alert["summary"]),
        );
    }
    out
}

/// One line naming a connection: who, where, through whom, and how it stands.
pub fn connection_line(c: &ConnectionSummary) -> String {
    let broken = if c.violated.is_empty() {
        String::new()
    } else {
        format!(" [{}]", c.violated.join(", "))
    };
    format!(
        "connection {}  {} → {} via {} (client {})  {}{broken}",
        c.connection_id,
        or_dash(&c.subject),
        or_dash(&c.resource),
        or_dash(&c.issuer),
        or_dash(&c.client_id),
        verdict_word(c.verdict),
    )
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "ok",
        Verdict::Unknown => "unknown",
        Verdict::Violated => "VIOLATED",
    }
}

fn or_dash(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

/// A JSON value as a table cell: text unquoted, null as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn at(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

fn at_ms(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string()
}
