//! The simulated organisation: MCP resources with their Protected Resource Metadata,
//! authorization servers with their metadata, clients (CIMD, DCR, pre-registered) and
//! users. Everything is drawn from the seeded RNG, so one seed is one organisation.

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use crate::event::Registration;
use crate::normalize::sha256_hex;

/// How big the organisation is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub users: usize,
    pub clients: usize,
    pub resources: usize,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub uri: String,
    pub prm_url: String,
    pub prm_sha256: String,
    /// Indexes into [`World::issuers`] of the PRM's `authorization_servers`.
    pub issuers: Vec<usize>,
    /// The PRM's `authorization_servers`.
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub tools: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Issuer {
    pub issuer: String,
    pub metadata_url: String,
    pub cimd_supported: bool,
    /// Clock offset of this server's logs, in milliseconds.
    pub skew_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub registration: Registration,
    pub name: String,
    pub document_sha256: String,
    pub redirect_uris: Vec<String>,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct World {
    pub org: String,
    pub resources: Vec<Resource>,
    pub issuers: Vec<Issuer>,
    pub clients: Vec<Client>,
    pub users: Vec<String>,
}

const RESOURCES: &[&str] = &[
    "files",
    "crm",
    "tickets",
    "wiki",
    "billing",
    "analytics",
    "mail",
    "calendar",
    "code",
    "hr",
    "search",
    "payments",
];
const APPS: &[&str] = &[
    "claude-desktop",
    "cursor",
    "copilot-agent",
    "support-bot",
    "sales-assistant",
    "devtools",
    "notebook",
    "scheduler",
    "research-agent",
    "ops-console",
    "triage-bot",
    "docs-writer",
];
const REGIONS: &[&str] = &["eu", "us", "ap"];

impl World {
    pub fn generate(rng: &mut ChaCha8Rng, size: Size) -> World {
        let org = "acme".to_owned();
        let issuers: Vec<Issuer> = REGIONS
            .iter()
            .enumerate()
            .map(|(i, region)| {
                let issuer = format!("https://auth-{region}.{org}.example");
                Issuer {
                    metadata_url: format!("{issuer}/.well-known/oauth-authorization-server"),
                    issuer,
                    // The last region runs an older server without CIMD support.
                    cimd_supported: i + 1 < REGIONS.len(),
                    skew_ms: rng.random_range(-2_000..=2_000),
                }
            })
            .collect();

        let resources = (0..size.resources.max(1))
            .map(|i| {
                let base = RESOURCES[i % RESOURCES.len()];
                let name = if i < RESOURCES.len() {
                    base.to_owned()
                } else {
                    format!("{base}{}", i / RESOURCES.len())
                };
                let host = format!("https://mcp-{name}.{org}.example");
                let mut scopes = vec![format!("{name}:read"), format!("{name}:write")];
                if rng.random_bool(0.5) {
                    scopes.push(format!("{name}:admin"));
                }
                // Some resources trust two authorization servers. The first trusts one with
                // CIMD support and one without, so every kind of client has somewhere to go.
                let first = i % issuers.len();
                let mut trusted = vec![first];
                if i == 0 {
                    trusted.push(issuers.len() - 1);
                } else if rng.random_bool(0.3) {
                    trusted.push((first + 1) % issuers.len());
                }
                let uri = format!("{host}/mcp");
                let prm_url = format!("{host}/.well-known/oauth-protected-resource/mcp");
                let authorization_servers: Vec<String> =
                    trusted.iter().map(|&t| issuers[t].issuer.clone()).collect();
                Resource {
                    prm_sha256: prm_sha256(&uri, &authorization_servers, &scopes),
                    authorization_servers,
                    uri,
                    prm_url,
                    issuers: trusted,
                    scopes_supported: scopes,
                    tools: vec![
                        format!("search_{name}"),
                        format!("get_{name}"),
                        format!("update_{name}"),
                    ],
                }
            })
            .collect();

        let clients = (0..size.clients.max(1)).map(|i| client(rng, i)).collect();
        let users = (0..size.users.max(1))
            .map(|i| format!("user{i:04}@{org}.example"))
            .collect();
        World {
            org,
            resources,
            issuers,
            clients,
            users,
        }
    }

    /// The issuers of `resource` that suit `client`: CIMD clients need CIMD support, DCR
    /// clients go where DCR is the expected fallback (no CIMD support). May be empty.
    pub fn issuers_for(&self, resource: &Resource, client: &Client) -> Vec<usize> {
        resource
            .issuers
            .iter()
            .copied()
            .filter(|&i| match client.registration {
                Registration::Cimd => self.issuers[i].cimd_supported,
                Registration::Dcr => !self.issuers[i].cimd_supported,
                Registration::PreRegistered => true,
            })
            .collect()
    }
}

fn client(rng: &mut ChaCha8Rng, i: usize) -> Client {
    let app = APPS[i % APPS.len()];
    let app = if i < APPS.len() {
        app.to_owned()
    } else {
        format!("{app}-{}", i / APPS.len())
    };
    let roll: f64 = rng.random();
    // The first three cover every registration, so each attack finds a client it needs.
    let registration = if i < 3 {
        [
            Registration::Cimd,
            Registration::Dcr,
            Registration::PreRegistered,
        ][i]
    } else if roll < 0.6 {
        Registration::Cimd
    } else if roll < 0.85 {
        Registration::Dcr
    } else {
        Registration::PreRegistered
    };
    let localhost = rng.random_bool(0.4);
    let redirect = if localhost {
        format!("http://localhost:{}/callback", rng.random_range(3000..9000))
    } else {
        format!("https://{app}.example.com/oauth/callback")
    };
    let id = match registration {
        Registration::Cimd => format!("https://{app}.example.com/oauth/client-metadata.json"),
        Registration::Dcr => format!("dcr-{:016x}", rng.random::<u64>()),
        Registration::PreRegistered => format!("corp-{app}"),
    };
    let name = app.split('-').map(capitalize).collect::<Vec<_>>().join(" ");
    let version = format!("{}.{}", rng.random_range(1..4), rng.random_range(0..20));
    Client {
        document_sha256: document_sha256(&id, &name, std::slice::from_ref(&redirect)),
        id,
        registration,
        name,
        redirect_uris: vec![redirect],
        user_agent: format!("{app}/{version}"),
    }
}

/// The hash of a PRM document with these contents.
pub fn prm_sha256(uri: &str, authorization_servers: &[String], scopes: &[String]) -> String {
    sha256_hex(format!("{{\"resource\":\"{uri}\",\"authorization_servers\":{authorization_servers:?},\"scopes_supported\":{scopes:?}}}").as_bytes())
}

/// The hash of a client's metadata document with these contents.
pub fn document_sha256(id: &str, name: &str, redirect_uris: &[String]) -> String {
    sha256_hex(format!("{{\"client_id\":\"{id}\",\"client_name\":\"{name}\",\"redirect_uris\":{redirect_uris:?}}}").as_bytes())
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A pick from a non-empty slice.
pub fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    // Every list in the world is generated non-empty (sizes are at least 1).
    items.choose(rng).expect("non-empty")
}
