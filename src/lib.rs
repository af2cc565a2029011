//! trustpath: audit and trust-path analytics for MCP authorization.
//!
//! The data's path is the reader's path:
//!
//! ```text
//! collect ──► normalize ──► pipeline ──► store + correlate ──► detect ──► serve
//! (nats,      (schema,      (batch per   (DuckDB: Arrow in,     (rules →    (HTTP API,
//!  http,       typed         commit)      connections kept in    alerts,     CLI reads)
//!  file)       events)                    the same transaction)  sinks)
//! ```
//!
//! - [`collect`]: transports → raw records with their origin; acks after commit.
//! - [`normalize`]: raw bytes → [`event::Event`] or a rejection with a human reason.
//! - [`pipeline`]: the one ingest path all collectors share.
//! - [`store`]: the DuckDB file: migrations, the single writer, the read queries.
//! - [`correlate`]: connections and their trust paths, maintained by the writer (in a
//!   batch's transaction, or right after a burst); [`render`] shows them in a terminal.
//! - [`detect`]: the rule pack run over each committed batch; alerts, their sinks, rule
//!   fixtures and the labelled eval.
//! - [`integrity`]: the hash chain over committed batches, signed checkpoints and purges,
//!   and `verify --store`.
//! - [`export`]: compliance exports with a signed manifest, and their offline verify.
//! - [`report`]: `trustpath report`, a compliance review of a window.
//! - [`serve`]: `App::build` / `run_until_stopped`, the axum API.
//! - [`client`], [`cli`]: the command line and its view of a running server.
//! - [`simulate`]: labelled MCP authorization traffic for demos, tests and benchmarks.
//! - [`config`], [`metrics`]: settings and Prometheus counters; [`bench`]: `trustpath bench`.
//!
//! SQL lives in `queries/`, the wire format's JSON Schema in `schemas/`.

pub mod adapt;
pub mod bench;
pub mod cli;
pub mod client;
pub mod collect;
pub mod config;
pub mod correlate;
pub mod detect;
pub mod event;
pub mod export;
pub mod integrity;
pub mod metrics;
pub mod normalize;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod store;
