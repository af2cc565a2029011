//! Compliance exports: the rows of a window in a format a reviewer's tools open, with a
//! signed `manifest.json` that an auditor checks offline ([`verify`]).
//!
//! An export directory holds, per table, one file (or, with `by_day`, one hive-style
//! `day=YYYY-MM-DD` folder per day of event time): `events`, `connections` (with their
//! trust paths), `alerts` (with their current status) and `alert_status` (their
//! lifecycle), optionally `rejected`; `chain.jsonl` and `checkpoints.jsonl`, the chain
//! records from the first one holding an exported row to the head; `manifest.json` listing
//! every file with its rows and SHA-256; `manifest.sig`, the Ed25519 signature of the
//! manifest's bytes.
//!
//! Everything is read in one transaction: one snapshot of the store.

pub mod verify;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray as _, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMicrosecondType};
use chrono::{DateTime, Utc};
use duckdb::{Connection, ToSql, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::integrity::chain::{self, Checkpoint, Link};
use crate::integrity::{Signer, canonical};
use crate::store::{StoreError, in_transaction, rfc3339};

const EVENTS: &str = include_str!("../../queries/export/events.sql");
const EVENTS_OCSF: &str = include_str!("../../queries/export/events_ocsf.sql");
const CONNECTIONS: &str = include_str!("../../queries/export/connections.sql");
const ALERTS: &str = include_str!("../../queries/export/alerts.sql");
const ALERT_STATUS: &str = include_str!("../../queries/export/alert_status.sql");
const REJECTED: &str = include_str!("../../queries/export/rejected.sql");
const CHAIN_START: &str = include_str!("../../queries/export/chain_start.sql");
const EARLIER_ROWS: &str = include_str!("../../queries/export/earlier_rows.sql");
const UNCORRELATED: &str = include_str!("../../queries/export/uncorrelated.sql");

/// The manifest's own format.
pub const MANIFEST_FORMAT: &str = "trustpath.export.v1";

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Apache Parquet (Snappy), one file per table (or per day with --by-day).
    Parquet,
    /// CSV with a header; lists as JSON arrays.
    Csv,
    /// One JSON object per row and line.
    Jsonl,
    /// Events as OCSF 1.3.0 records (NDJSON); the other tables as jsonl.
    Ocsf,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Ocsf => "jsonl",
        }
    }
}

/// What to export: `trustpath export` and `POST /v1/exports`.
#[derive(Debug, Clone, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Start of the window: events at or after this time (RFC 3339).
    #[arg(long)]
    pub from: DateTime<Utc>,
    /// End of the window: events before this time (RFC 3339).
    #[arg(long)]
    pub to: DateTime<Utc>,
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The OAuth client id.
    #[arg(long = "client")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
    #[serde(default = "default_format")]
    pub format: ExportFormat,
    /// Include the rejected input received in the window.
    #[arg(long)]
    #[serde(default)]
    pub rejected: bool,
    /// Parquet and CSV: events in one folder per day of event time (day=YYYY-MM-DD).
    #[arg(long)]
    #[serde(default)]
    pub by_day: bool,
}

fn default_format() -> ExportFormat {
    ExportFormat::Parquet
}

impl ExportRequest {
    /// Whether the request makes sense on its own: a non-empty window, `by_day` only for
    /// Parquet and CSV.
    pub fn check(&self) -> Result<(), ExportError> {
        if self.from >= self.to {
            return Err(ExportError::Request(format!(
                "the window is empty: --from {} is not before --to {}",
                self.from, self.to
            )));
        }
        if self.by_day && !matches!(self.format, ExportFormat::Parquet | ExportFormat::Csv) {
            return Err(ExportError::Request(
                "--by-day partitions Parquet and CSV exports only".to_owned(),
            ));
        }
        Ok(())
    }
}

/// What went wrong exporting. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Request(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0} exists and is not empty; export into a new directory (an export is never mixed \
         with other files)"
    )]
    NotEmpty(PathBuf),
    #[error("writing {path}: {detail}")]
    Write { path: PathBuf, detail: String },
    #[error(
        "{batches} committed batch(es) with events in the window are not correlated yet, so \
         their connections would be missing from the export. A running service correlates a \
         burst's batches within about correlate.max_lag: export again in a few seconds. If \
         this persists, correlating them failed (the log names the batches); they are tried \
         again when trustpath next starts, and by `trustpath export` on the stopped store"
    )]
    Uncorrelated { batches: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<duckdb::Error> for ExportError {
    fn from(error: duckdb::Error) -> Self {
        ExportError::Store(StoreError::Query(error))
    }
}

/// One file of an export, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFile {
    /// Relative to the export directory, `/`-separated.
    pub path: String,
    /// events, connections, alerts, alert_status, rejected, chain or checkpoints.
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// The chain slice an export carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSlice {
    pub first_seq: i64,
    pub last_seq: i64,
    /// The hash the first record follows (the record before the slice).
    pub first_prev_sha256: String,
    /// The head at export time.
    pub head_sha256: String,
    pub records: u64,
    pub checkpoints: u64,
    /// Events of earlier windows (event time before `window.from`, same filters) in the
    /// slice's batches: late arrivals an earlier export cannot hold if it was made before
    /// they were committed (`verify` checks consecutive exports against it).
    pub earlier_rows: Vec<EarlierRows>,
}

/// Late events of earlier windows committed in one batch of a slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierRows {
    pub seq: i64,
    pub rows: i64,
    /// The newest event time among them: which earlier window they reach into.
    pub newest: DateTime<Utc>,
}

/// The window and filters, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest: String,
    pub trustpath_version: String,
    pub created_at: DateTime<Utc>,
    pub window: Window,
    pub filters: BTreeMap<String, String>,
    pub format: ExportFormat,
    pub rejected_included: bool,
    pub files: Vec<ExportFile>,
    pub chain: Option<ChainSlice>,
    /// The signing key's raw public key, hex.
    pub public_key: String,
}

/// Writes the export of `request` into `out` (created; must be new or empty) from `db`,
/// signs the manifest with `signer` and returns it. An export that fails or is refused
/// leaves nothing behind: `out` is removed if it created it, emptied otherwise.
pub fn export(
    db: &Connection,
    signer: &Signer,
    request: &ExportRequest,
    out: &Path,
) -> Result<Manifest, ExportError> {
    request.check()?;
    let created = prepare_dir(out)?;
    // One snapshot: every file and the chain slice are of the same moment.
    let exported = in_transaction(db, || write_all(db, signer, request, out));
    if exported.is_err() {
        discard(out, created);
    }
    exported
}

/// Makes sure `out` is an empty directory; returns whether it had to create it.
fn prepare_dir(out: &Path) -> Result<bool, ExportError> {
    let io = |source| ExportError::Io {
        path: out.to_owned(),
        source,
    };
    if out.exists() {
        if std::fs::read_dir(out).map_err(io)?.next().is_some() {
            return Err(ExportError::NotEmpty(out.to_owned()));
        }
        return Ok(false);
    }
    std::fs::create_dir_all(out).map_err(io)?;
    Ok(true)
}

/// Removes what a failed export wrote into `out` (which was empty), and `out` itself if
/// the export created it, so no partial export without a manifest is left to be mistaken
/// for one.
fn discard(out: &Path, created: bool) {
    let removed = if created {
        std::fs::remove_dir_all(out)
    } else {
        std::fs::read_dir(out).and_then(|entries| {
            entries.into_iter().try_for_each(|entry| {
                let path = entry?.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(path)
                } else {
                    std::fs::remove_file(path)
                }
            })
        })
    };
    if let Err(error) = removed {
        tracing::warn!(%error, path = %out.display(), "removing a failed export's files failed");
    }
}

/// The window's filters followed by `extra`: the parameters of a query that takes one more.
fn filters_and<'a>(filters: &[&'a dyn ToSql], extra: &'a dyn ToSql) -> Vec<&'a dyn ToSql> {
    filters.iter().copied().chain([extra]).collect()
}

fn write_all(
    db: &Connection,
    signer: &Signer,
    request: &ExportRequest,
    out: &Path,
) -> Result<Manifest, ExportError> {
    let (from, to) = (rfc3339(request.from), rfc3339(request.to));
    let filters = params![
        from,
        to,
        request.subject,
        request.client_id,
        request.resource,
        request.issuer
    ];
    // Events and connections must agree: none of the window's events may still wait for
    // its correlation (the window is scanned only when some batch does).
    let uncorrelated: Vec<String> = crate::correlate::maintain::uncorrelated(db)?
        .into_iter()
        .map(|(batch_id, _, _)| batch_id.to_string())
        .collect();
    if !uncorrelated.is_empty() {
        let uncorrelated = serde_json::to_string(&uncorrelated).expect("strings serialize");
        let batches: i64 =
            db.query_row(UNCORRELATED, &*filters_and(filters, &uncorrelated), |row| {
                row.get(0)
            })?;
        if batches > 0 {
            return Err(ExportError::Uncorrelated { batches });
        }
    }
    // The chain slice first: its batches are re-hashed before anything is written, so an
    // export never signs rows that no longer match what was committed.
    let start: Option<i64> = db.query_row(
        CHAIN_START,
        &*filters_and(filters, &request.rejected),
        |row| row.get(0),
    )?;
    let slice = match chain::head(db)? {
        Some(head) => Some(read_slice(
            db,
            request,
            start.unwrap_or(head.seq),
            head.seq,
        )?),
        None => None,
    };

    let mut files = Vec::new();
    let format = request.format;
    if format == ExportFormat::Ocsf {
        files.push(write_ocsf_events(db, filters, out)?);
    } else {
        let mut statement = db.prepare(EVENTS)?;
        let arrow = statement.query_arrow(filters)?;
        let schema = arrow.get_schema();
        if request.by_day {
            files.extend(write_by_day(&schema, arrow, format, out)?);
        } else {
            files.push(write_table(
                &schema, arrow, format, out, "events", "events",
            )?);
        }
    }
    let window = params![from, to];
    let mut tables = vec![
        ("connections", CONNECTIONS, filters),
        ("alerts", ALERTS, filters),
        ("alert_status", ALERT_STATUS, filters),
    ];
    if request.rejected {
        // Rejected input has no trusted fields to filter on: the window only.
        tables.push(("rejected", REJECTED, window));
    }
    let table_format = if format == ExportFormat::Ocsf {
        ExportFormat::Jsonl
    } else {
        format
    };
    for (table, sql, parameters) in tables {
        let mut statement = db.prepare(sql)?;
        let arrow = statement.query_arrow(parameters)?;
        let schema = arrow.get_schema();
        files.push(write_table(
            &schema,
            arrow,
            table_format,
            out,
            table,
            table,
        )?);
    }

    let chain = match slice {
        Some(slice) => {
            files.push(write_lines(out, "chain.jsonl", "chain", &slice.links)?);
            files.push(write_lines(
                out,
                "checkpoints.jsonl",
                "checkpoints",
                &slice.checkpoints,
            )?);
            slice_of(&slice.links, slice.checkpoints.len(), slice.earlier_rows)
        }
        None => None,
    };

    let mut filters_used = BTreeMap::new();
    for (name, value) in [
        ("subject", &request.subject),
        ("client_id", &request.client_id),
        ("resource", &request.resource),
        ("issuer", &request.issuer),
    ] {
        if let Some(value) = value {
            filters_used.insert(name.to_owned(), value.clone());
        }
    }
    let manifest = Manifest {
        manifest: MANIFEST_FORMAT.to_owned(),
        trustpath_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: Utc::now(),
        window: Window {
            from: request.from,
            to: request.to,
        },
        filters: filters_used,
        format,
        rejected_included: request.rejected,
        files,
        chain,
        public_key: signer.public().key_id(),
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    bytes.push(b'\n');
    write_file(&out.join("manifest.json"), &bytes)?;
    write_file(&out.join("manifest.sig"), &signer.sign(&bytes))?;
    Ok(manifest)
}

/// The chain an export carries, as read.
struct Slice {
    links: Vec<Link>,
    checkpoints: Vec<Checkpoint>,
    earlier_rows: Vec<EarlierRows>,
}

/// The chain records `first..=head`, re-hashed against the rows as stored (refused when a
/// batch does not match), their checkpoints, and the late rows of earlier windows in them.
fn read_slice(
    db: &Connection,
    request: &ExportRequest,
    first: i64,
    head: i64,
) -> Result<Slice, ExportError> {
    let links = chain::load_range(db, Some(first), Some(head))?;
    let batches: Vec<&Link> = links.iter().collect();
    let check = crate::integrity::verify::check_batches(db, &links, &batches)?;
    if let Some(finding) = check.findings.first() {
        return Err(ExportError::Request(format!(
            "the export did not run: a batch it covers no longer matches its chain record \
             ({finding}); run `trustpath verify --store` and investigate"
        )));
    }
    let checkpoints = chain::checkpoints_range(db, Some(first), Some(head))?;
    let lowest_batch = links
        .iter()
        .filter_map(|l| l.batch_id)
        .min()
        .map(|id| id.to_string());
    let mut statement = db.prepare(EARLIER_ROWS)?;
    let earlier = statement
        .query_map(
            params![
                rfc3339(request.from),
                request.subject,
                request.client_id,
                request.resource,
                request.issuer,
                first,
                lowest_batch
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)?)),
        )?
        .map(|row| {
            let (seq, rows, newest_us) = row?;
            Ok(EarlierRows {
                seq,
                rows,
                newest: crate::store::from_micros(newest_us)?,
            })
        })
        .collect::<Result<_, ExportError>>()?;
    Ok(Slice {
        links,
        checkpoints,
        earlier_rows: earlier,
    })
}

fn slice_of(
    links: &[Link],
    checkpoints: usize,
    earlier_rows: Vec<EarlierRows>,
) -> Option<ChainSlice> {
    let (first, last) = (links.first()?, links.last()?);
    Some(ChainSlice {
        first_seq: first.seq,
        last_seq: last.seq,
        first_prev_sha256: first.prev_sha256.clone(),
        head_sha256: last.sha256.clone(),
        records: links.len() as u64,
        checkpoints: checkpoints as u64,
        earlier_rows,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Hashes a written file for the manifest.
fn entry(out: &Path, relative: &str, table: &str, rows: u64) -> Result<ExportFile, ExportError> {
    let path = out.join(relative);
    let (bytes, sha256) = hash_file(&path).map_err(|source| ExportError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(ExportFile {
        path: relative.to_owned(),
        table: table.to_owned(),
        rows,
        bytes,
        sha256,
    })
}

/// (size, SHA-256 hex) of a file, read in chunks.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn write_lines<T: Serialize>(
    out: &Path,
    relative: &str,
    table: &str,
    rows: &[T],
) -> Result<ExportFile, ExportError> {
    let mut text = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut text, row).expect("chain records serialize");
        text.push(b'\n');
    }
    write_file(&out.join(relative), &text)?;
    entry(out, relative, table, rows.len() as u64)
}

fn write_ocsf_events(
    db: &Connection,
    filters: &[&dyn duckdb::ToSql],
    out: &Path,
) -> Result<ExportFile, ExportError> {
    let relative = "events.ocsf.jsonl";
    let path = out.join(relative);
    let io = |source| ExportError::Io {
        path: path.clone(),
        source,
    };
    let mut file = BufWriter::new(File::create(&path).map_err(io)?);
    let mut statement = db.prepare(EVENTS_OCSF)?;
    let mut rows = statement.query(filters)?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let document: String = row.get(0)?;
        let document: serde_json::Value = serde_json::from_str(&document)
            .map_err(|e| StoreError::Internal(format!("a stored event does not read back: {e}")))?;
        let record = crate::store::read::ocsf_of(&document)?;
        serde_json::to_writer(&mut file, &record).map_err(|e| io(e.into()))?;
        file.write_all(b"\n").map_err(io)?;
        count += 1;
    }
    file.flush().map_err(io)?;
    drop(file);
    entry(out, relative, "events", count)
}

/// Events split by the UTC day of `time` (rows arrive ordered by time), one file per day
/// under `events/day=YYYY-MM-DD/`, written as the batches stream in.
fn write_by_day(
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    format: ExportFormat,
    out: &Path,
) -> Result<Vec<ExportFile>, ExportError> {
    let time_column = schema
        .index_of("time")
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut files = Vec::new();
    let mut current: Option<(String, TableFile)> = None;
    for batch in batches {
        let times = batch
            .column(time_column)
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or_else(|| StoreError::Internal("events.time is not a µs timestamp".into()))?;
        let day_of = |row: usize| {
            DateTime::from_timestamp_micros(times.value(row))
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        let mut start = 0;
        while start < batch.num_rows() {
            let day = day_of(start);
            let mut end = start + 1;
            while end < batch.num_rows() && day_of(end) == day {
                end += 1;
            }
            if current.as_ref().is_none_or(|(open, _)| *open != day) {
                if let Some((_, file)) = current.take() {
                    files.push(file.finish(out)?);
                }
                let dir = format!("events/day={day}");
                std::fs::create_dir_all(out.join(&dir)).map_err(|source| ExportError::Io {
                    path: out.join(&dir),
                    source,
                })?;
                let file =
                    TableFile::create(schema, format, out, &format!("{dir}/events"), "events")?;
                current = Some((day.clone(), file));
            }
            if let Some((_, file)) = current.as_mut() {
                file.write(&batch.slice(start, end - start))?;
            }
            start = end;
        }
    }
    if let Some((_, file)) = current {
        files.push(file.finish(out)?);
    }
    Ok(files)
}

/// Writes one table's batches, as they stream in, as `<stem>.<ext>`; returns its manifest
/// entry.
fn write_table(
    schema: &SchemaRef,
    batches: impl Iterator<Item = RecordBatch>,
    format: ExportFormat,
    out: &Path,
    stem: &str,
    table: &str,
) -> Result<ExportFile, ExportError> {
    let mut file = TableFile::create(schema, format, out, stem, table)?;
    for batch in batches {
        file.write(&batch)?;
    }
    file.finish(out)
}

/// One table file being written, batch by batch (memory stays one batch deep).
struct TableFile {
    relative: String,
    path: PathBuf,
    table: String,
    rows: u64,
    writer: TableWriter,
}

#[expect(clippy::large_enum_variant, reason = "one writer per open file")]
enum TableWriter {
    Parquet(parquet::arrow::ArrowWriter<File>),
    /// CSV has no lists: the schema with list columns as JSON text.
    Csv(arrow::csv::Writer<BufWriter<File>>, SchemaRef),
    Json(arrow::json::LineDelimitedWriter<BufWriter<File>>),
}

impl TableFile {
    fn create(
        schema: &SchemaRef,
        format: ExportFormat,
        out: &Path,
        stem: &str,
        table: &str,
    ) -> Result<TableFile, ExportError> {
        let relative = format!("{stem}.{}", format.extension());
        let path = out.join(&relative);
        let file = File::create(&path).map_err(|source| ExportError::Io {
            path: path.clone(),
            source,
        })?;
        let failed = |detail: String| ExportError::Write {
            path: path.clone(),
            detail,
        };
        let writer = match format {
            ExportFormat::Parquet => {
                let properties = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .build();
                TableWriter::Parquet(
                    parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(properties))
                        .map_err(|e| failed(e.to_string()))?,
                )
            }
            ExportFormat::Csv => {
                let schema = lists_as_json_schema(schema);
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(BufWriter::new(file));
                // The header now, so a table without rows still names its columns.
                writer
                    .write(&RecordBatch::new_empty(schema.clone()))
                    .map_err(|e| failed(e.to_string()))?;
                TableWriter::Csv(writer, schema)
            }
            ExportFormat::Jsonl | ExportFormat::Ocsf => {
                TableWriter::Json(arrow::json::LineDelimitedWriter::new(BufWriter::new(file)))
            }
        };
        Ok(TableFile {
            relative,
            path,
            table: table.to_owned(),
            rows: 0,
            writer,
        })
    }

    fn failed(&self, detail: impl ToString) -> ExportError {
        ExportError::Write {
            path: self.path.clone(),
            detail: detail.to_string(),
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        let written = match &mut self.writer {
            TableWriter::Parquet(writer) => writer.write(batch).map_err(|e| e.to_string()),
            TableWriter::Csv(writer, schema) => lists_as_json(batch, schema)
                .and_then(|batch| writer.write(&batch).map_err(|e| e.to_string())),
            TableWriter::Json(writer) => writer.write(batch).map_err(|e| e.to_string()),
        };
        written.map_err(|e| self.failed(e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(self, out: &Path) -> Result<ExportFile, ExportError> {
        let failed = |detail: String| ExportError::Write {
            path: self.path.clone(),
            detail,
        };
        match self.writer {
            TableWriter::Parquet(writer) => {
                writer.close().map_err(|e| failed(e.to_string()))?;
            }
            TableWriter::Csv(writer, _) => {
                writer
                    .into_inner()
                    .flush()
                    .map_err(|e| failed(e.to_string()))?;
            }
            TableWriter::Json(mut writer) => {
                writer.finish().map_err(|e| failed(e.to_string()))?;
                writer
                    .into_inner()
                    .flush()
                    .map_err(|e| failed(e.to_string()))?;
            }
        }
        entry(out, &self.relative, &self.table, self.rows)
    }
}

fn is_list(data_type: &DataType) -> bool {
    matches!(data_type, DataType::List(_) | DataType::LargeList(_))
}

/// CSV has no lists: list columns become JSON text.
fn lists_as_json_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                if is_list(f.data_type()) {
                    Arc::new(Field::new(f.name(), DataType::Utf8, true))
                } else {
                    f.clone()
                }
            })
            .collect::<Vec<_>>(),
    ))
}

fn lists_as_json(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    let columns = batch
        .columns()
        .iter()
        .map(|column| -> Result<ArrayRef, String> {
            if !is_list(column.data_type()) {
                return Ok(column.clone());
            }
            let mut text = StringBuilder::new();
            let mut buffer = Vec::new();
            for row in 0..column.len() {
                if column.is_null(row) {
                    text.append_null();
                    continue;
                }
                buffer.clear();
                canonical::encode_value(column.as_ref(), row, &mut buffer)?;
                text.append_value(String::from_utf8_lossy(&buffer));
            }
            Ok(Arc::new(text.finish()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}
