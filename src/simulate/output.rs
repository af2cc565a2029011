//! Where simulated events go: an NDJSON file or stdout, trustpath's HTTP endpoint, or
//! NATS JetStream (`trustpath.in.native.sim`, publish acks awaited in windows so the
//! publisher is not the bottleneck). `rate` paces a live stream; without it, as fast as
//! the sink takes them.

use std::time::Duration;

use async_nats::jetstream;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::{SimEvent, encode_native};
use crate::client::ServerClient;

/// NATS subject simulated events are published to.
pub const SUBJECT: &str = "trustpath.in.native.sim";
/// Events per HTTP request and per window of outstanding JetStream acks.
const CHUNK: usize = 1_000;

#[derive(Debug, Clone)]
pub enum Sink {
    /// A file path, or `-` for stdout.
    File(String),
    /// Base URL of a trustpath server.
    Http(String),
    /// NATS server URL.
    Nats(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Http(#[from] crate::client::ClientError),
    #[error("trustpath rejected simulated events (a simulator bug): {0}")]
    Rejected(String),
    #[error("cannot connect to NATS at {url}: {source}")]
    NatsConnect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error("NATS JetStream: {0}")]
    Nats(String),
}

/// Paces emission at `rate` events per second.
struct Pace {
    started: Instant,
    rate: Option<f64>,
    sent: u64,
}

impl Pace {
    fn new(rate: Option<f64>) -> Self {
        Pace {
            started: Instant::now(),
            rate: rate.filter(|r| *r > 0.0),
            sent: 0,
        }
    }

    async fn sent(&mut self, count: usize) {
        self.sent += count as u64;
        if let Some(rate) = self.rate {
            let due = self.started + Duration::from_secs_f64(self.sent as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
    }
}

/// Sends `events` to `sink`. Returns how many were sent.
pub async fn send(
    events: &[SimEvent],
    sink: &Sink,
    rate: Option<f64>,
) -> Result<usize, OutputError> {
    // A paced stream goes out in small steps so it looks live; volume goes in chunks.
    let step = match rate {
        Some(rate) if rate > 0.0 => ((rate / 10.0).ceil() as usize).clamp(1, CHUNK),
        _ => CHUNK,
    };
    let mut pace = Pace::new(rate);
    match sink {
        Sink::File(path) => {
            let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = if path == "-" {
                Box::new(tokio::io::stdout())
            } else {
                Box::new(
                    tokio::fs::File::create(path)
                        .await
                        .map_err(|source| write_error(path, source))?,
                )
            };
            let mut out = tokio::io::BufWriter::new(&mut out);
            for chunk in events.chunks(step) {
                for event in chunk {
                    let mut line = encode_native(event);
                    line.push(b'\n');
                    out.write_all(&line)
                        .await
                        .map_err(|source| write_error(path, source))?;
                }
                if rate.is_some() {
                    out.flush()
                        .await
                        .map_err(|source| write_error(path, source))?;
                }
                pace.sent(chunk.len()).await;
            }
            out.flush()
                .await
                .map_err(|source| write_error(path, source))?;
        }
        Sink::Http(base) => {
            let server = ServerClient::new(base);
            for chunk in events.chunks(step) {
                let mut body = Vec::new();
                for event in chunk {
                    body.extend_from_slice(&encode_native(event));
                    body.push(b'\n');
                }
                let answer = server.ingest(body, "native").await?;
                if let Some(error) = answer.errors.first() {
                    return Err(OutputError::Rejected(error.reason.clone()));
                }
                pace.sent(chunk.len()).await;
            }
        }
        Sink::Nats(url) => {
            let client =
                async_nats::connect(url)
                    .await
                    .map_err(|source| OutputError::NatsConnect {
                        url: url.clone(),
                        source,
                    })?;
            let js = jetstream::new(client);
            for chunk in events.chunks(step) {
                let mut acks = Vec::with_capacity(chunk.len());
                for event in chunk {
                    let ack = js
                        .publish(SUBJECT, encode_native(event).into())
                        .await
                        .map_err(|e| OutputError::Nats(format!("publish failed: {e}")))?;
                    acks.push(ack);
                }
                for ack in futures::future::join_all(
                    acks.into_iter().map(std::future::IntoFuture::into_future),
                )
                .await
                {
                    ack.map_err(|e| {
                        OutputError::Nats(format!(
                            "no publish ack (is there a stream on {SUBJECT}? start `trustpath serve --nats-url …` first): {e}"
                        ))
                    })?;
                }
                pace.sent(chunk.len()).await;
            }
        }
    }
    Ok(events.len())
}

fn write_error(path: &str, source: std::io::Error) -> OutputError {
    OutputError::Write {
        path: path.to_owned(),
        source,
    }
}
