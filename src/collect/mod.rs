//! collect: where records come from. Each collector turns its transport's units into
//! [`RawRecord`](crate::normalize::RawRecord)s with their origin, hands them to
//! [`Ingest`](crate::pipeline::Ingest), and acknowledges its sender only after the commit.
//!
//! - [`nats`]: JetStream durable pull consumer (the production path).
//! - [`http`]: the body of `POST /v1/events` (NDJSON or a JSON array).
//! - [`file`]: NDJSON files and stdin, for backfill (`trustpath ingest`).

pub mod file;
pub mod http;
pub mod nats;
