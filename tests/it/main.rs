//! Integration tests against real processes: `nats-server`, DuckDB files, the trustpath
//! binary. One test binary (DuckDB links once); one module per area.

mod adapters;
mod api;
mod auth;
mod bench;
mod compliance;
mod delivery;
mod detect;
mod harness;
mod ingest;
mod queries;
mod rejects;
mod resilience;
mod simulate;
mod sql;
mod trust_paths;

use serde_json::{Value, json};

/// DOMAIN.md §2's example event with every field set (and one unknown field).
pub const FULL_EVENT: &str = include_str!("../fixtures/full_event.json");

/// A valid minimal event with the given id.
pub fn event(id: &str) -> String {
    json!({
        "id": id,
        "time": "2026-11-26T10:00:00Z",
        "kind": "resource.access",
        "source": {"type": "gateway", "name": "gw-1"},
        "subject": "bob@example.com",
        "token": {"id": format!("tok-{id}")},
        "outcome": "success"
    })
    .to_string()
}

/// Asserts that the stored row of [`FULL_EVENT`] has every DOMAIN.md column mapped.
pub fn assert_full_event(row: &Value, format: &str) {
    let expected = json!({
        "event_id": "evt-0001",
        "time": "2026-11-26T10:00:00.123000Z",
        "kind": "token.issue",
        "outcome": "success",
        "reason": null,
        "source_type": "authorization_server",
        "source_name": "auth-eu-1",
        "connection_id": "sess-8f2c",
        "subject": "alice@example.com",
        "client_id": "https://app.example.com/oauth/client.json",
        "client_registration": "cimd",
        "client_name": "Example App",
        "client_doc_sha256": "9f2b5c1e0d4a7b3c8e6f1a2d5b7c9e0f3a6b8d1c4e7f0a2b5c8d1e4f7a0b3c6d",
        "client_redirect_uris": ["https://app.example.com/cb", "http://localhost:8765/cb"],
        "resource": "https://mcp.example.com/mcp",
        "metadata_url": "https://mcp.example.com/.well-known/oauth-protected-resource",
        "metadata_sha256": "41aa6c2f0d8e3b7a9c1d5e4f2a6b8c0d3e7f9a1b5c2d4e6f8a0b1c3d5e7f9a2b",
        "metadata_authorization_servers": ["https://auth.example.com"],
        "metadata_scopes_supported": ["files:read", "files:write"],
        "issuer": "https://auth.example.com",
        "scopes_requested": ["files:read"],
        "scopes_granted": ["files:read"],
        "token_id": "tok-sha256-7c1f2e",
        "token_parent_id": "rt-sha256-0a0a0a",
        "token_refresh_id": "rt-sha256-1b1b1b",
        "token_audience": ["https://mcp.example.com/mcp"],
        "grant_type": "authorization_code",
        "token_expires_at": "2026-11-26T11:00:00.000000Z",
        "redirect_uri": "https://app.example.com/cb",
        "consent": "explicit",
        "tool": "search_files",
        "ip": "203.0.113.7",
        "user_agent": "example-mcp-client/1.2",
        "http_status": 200,
        "http_bytes": 812,
        "http_resolved_ip": "198.51.100.4",
        "http_redirected": false,
        "attributes": {"tenant": "acme", "collector_host": "gw-7"},
        "raw_sha256": trustpath::normalize::sha256_hex(FULL_EVENT.trim_end().as_bytes()),
        "format": format,
        "schema_version": "trustpath.event.v1",
    });
    for (column, value) in expected.as_object().expect("object") {
        assert_eq!(&row[column], value, "column {column}");
    }
    for column in ["received_at", "batch_id"] {
        assert!(row[column].is_string(), "column {column} is set: {row}");
    }
}
