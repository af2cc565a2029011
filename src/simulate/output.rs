//! Where simulated events go: an NDJSON file or stdout (a directory of one file per format
//! for vendor formats), trustpath's HTTP endpoint, or NATS JetStream
//! (`trustpath.in.<format>.sim`, publish acks awaited in windows so the publisher is not
//! the bottleneck). `rate` paces a live stream; without it, as fast as
//! the sink takes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::time::Instant;

use super::Encoded;
use crate::adapt::Format;
use crate::client::ServerClient;

/// NATS subjects simulated records are published to (see [`subject`]).
pub const SUBJECTS: &str = "trustpath.in.<format>.sim";
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
    #[error(
        "--out {0}: records in several formats go to one file per format; give --out a \
         directory (it gets keycloak.ndjson, gateway.ndjson, native.ndjson, ...)"
    )]
    NeedsDirectory(String),
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

/// Sends `records` to `sink`. Returns how many were sent.
///
/// Records of one format go to one NDJSON file; records in several formats go to a directory
/// with one `<format>.ndjson` each, so each file can be ingested with its `--format`. On HTTP
/// each run of same-format records is one `POST /v1/events?format=`; on NATS each record
/// goes to `trustpath.in.<format>.sim`.
pub async fn send(
    records: &[Encoded],
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
            let mut files = Files::open(path, records).await?;
            for chunk in records.chunks(step) {
                for (format, line) in chunk {
                    files.write(*format, line).await?;
                }
                if rate.is_some() {
                    files.flush().await?;
                }
                pace.sent(chunk.len()).await;
            }
            files.flush().await?;
        }
        Sink::Http(base) => {
            let server = ServerClient::new(base);
            for chunk in records.chunks(step) {
                for run in chunk.chunk_by(|a, b| a.0 == b.0) {
                    let mut body = Vec::new();
                    for (_, line) in run {
                        body.extend_from_slice(line);
                        body.push(b'\n');
                    }
                    let answer = server.ingest(body, run[0].0.as_str()).await?;
                    if let Some(error) = answer.errors.first() {
                        return Err(OutputError::Rejected(error.reason.clone()));
                    }
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
            for chunk in records.chunks(step) {
                let mut acks = Vec::with_capacity(chunk.len());
                for (format, line) in chunk {
                    let ack = js
                        .publish(subject(*format), line.clone().into())
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
                            "no publish ack (is there a stream on {SUBJECTS}? start `trustpath serve --nats-url …` first): {e}"
                        ))
                    })?;
                }
                pace.sent(chunk.len()).await;
            }
        }
    }
    Ok(records.len())
}

/// The NATS subject simulated records of `format` are published to.
pub fn subject(format: Format) -> String {
    format!("trustpath.in.{format}.sim")
}

/// The file sink: one file (or stdout) for records of one format, a directory of
/// `<format>.ndjson` files when there are several.
struct Files {
    path: String,
    single: Option<BufWriter<Box<dyn AsyncWrite + Unpin + Send>>>,
    per_format: BTreeMap<Format, BufWriter<tokio::fs::File>>,
}

impl Files {
    async fn open(path: &str, records: &[Encoded]) -> Result<Files, OutputError> {
        // One format (native, or OCSF, which carries every kind) fits one file.
        let one_format = records.windows(2).all(|pair| pair[0].0 == pair[1].0);
        let mut files = Files {
            path: path.to_owned(),
            single: None,
            per_format: BTreeMap::new(),
        };
        if one_format {
            let out: Box<dyn AsyncWrite + Unpin + Send> = if path == "-" {
                Box::new(tokio::io::stdout())
            } else {
                Box::new(
                    tokio::fs::File::create(path)
                        .await
                        .map_err(|source| write_error(path, source))?,
                )
            };
            files.single = Some(BufWriter::new(out));
            return Ok(files);
        }
        if path == "-" {
            return Err(OutputError::NeedsDirectory(path.to_owned()));
        }
        tokio::fs::create_dir_all(path)
            .await
            .map_err(|source| write_error(path, source))?;
        let formats: BTreeSet<Format> = records.iter().map(|(format, _)| *format).collect();
        for format in formats {
            let file_path = Path::new(path).join(format!("{format}.ndjson"));
            let file = tokio::fs::File::create(&file_path)
                .await
                .map_err(|source| write_error(&file_path.display().to_string(), source))?;
            files.per_format.insert(format, BufWriter::new(file));
        }
        Ok(files)
    }

    async fn write(&mut self, format: Format, line: &[u8]) -> Result<(), OutputError> {
        let path = &self.path;
        let result = match (&mut self.single, self.per_format.get_mut(&format)) {
            (Some(out), _) => write_line(out, line).await,
            (None, Some(out)) => write_line(out, line).await,
            (None, None) => unreachable!("a file is open for every format of the records"),
        };
        result.map_err(|source| write_error(path, source))
    }

    async fn flush(&mut self) -> Result<(), OutputError> {
        if let Some(out) = &mut self.single {
            out.flush().await.map_err(|e| write_error(&self.path, e))?;
        }
        for out in self.per_format.values_mut() {
            out.flush().await.map_err(|e| write_error(&self.path, e))?;
        }
        Ok(())
    }
}

async fn write_line(out: &mut (impl AsyncWrite + Unpin), line: &[u8]) -> std::io::Result<()> {
    out.write_all(line).await?;
    out.write_all(b"\n").await
}

fn write_error(path: &str, source: std::io::Error) -> OutputError {
    OutputError::Write {
        path: path.to_owned(),
        source,
    }
}
