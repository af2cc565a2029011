//! Events → rows shaped like the `events_staging` table, built as each event comes
//! ([`EventRows`]), then one Arrow [`RecordBatch`] widened into `events`' own row shape
//! with its digest for the chain ([`Prepared`]).
//!
//! The column order here is the order of the `events` table (created by
//! `queries/migrations/0001_events.sql`) minus `received_at` and `batch_id`, which are the
//! same for the whole batch; the appender matches by position (a unit test holds the two
//! in step).
//! Builders are sized once per batch, so building does not allocate per row beyond the
//! values themselves.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, FixedSizeBinaryBuilder, Int16Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;

use uuid::Uuid;

use super::StoreError;
use crate::event::{Event, SCHEMA_VERSION};
use crate::integrity::canonical::{self, RowsDigest};

type StringList = ListBuilder<StringBuilder>;

/// One builder per staged column.
struct Columns {
    event_id: StringBuilder,
    time: TimestampMicrosecondBuilder,
    kind: StringBuilder,
    outcome: StringBuilder,
    reason: StringBuilder,
    source_type: StringBuilder,
    source_name: StringBuilder,
    connection_id: StringBuilder,
    subject: StringBuilder,
    client_id: StringBuilder,
    client_registration: StringBuilder,
    client_name: StringBuilder,
    client_doc_sha256: StringBuilder,
    client_redirect_uris: StringList,
    resource: StringBuilder,
    metadata_url: StringBuilder,
    metadata_sha256: StringBuilder,
    metadata_authorization_servers: StringList,
    metadata_scopes_supported: StringList,
    issuer: StringBuilder,
    scopes_requested: StringList,
    scopes_granted: StringList,
    token_id: StringBuilder,
    token_parent_id: StringBuilder,
    token_refresh_id: StringBuilder,
    token_audience: StringList,
    grant_type: StringBuilder,
    token_expires_at: TimestampMicrosecondBuilder,
    redirect_uri: StringBuilder,
    consent: StringBuilder,
    tool: StringBuilder,
    ip: StringBuilder,
    user_agent: StringBuilder,
    http_status: Int16Builder,
    http_bytes: Int64Builder,
    http_resolved_ip: StringBuilder,
    http_redirected: BooleanBuilder,
    attributes: StringBuilder,
    raw_sha256: StringBuilder,
    format: StringBuilder,
    schema_version: StringBuilder,
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn string_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// The Arrow schema of a staged batch.
fn staging_schema() -> SchemaRef {
    use DataType::{Boolean, Int16, Int64, Utf8};
    let columns: [(&str, DataType); 41] = [
        ("event_id", Utf8),
        ("time", utc_micros()),
        ("kind", Utf8),
        ("outcome", Utf8),
        ("reason", Utf8),
        ("source_type", Utf8),
        ("source_name", Utf8),
        ("connection_id", Utf8),
        ("subject", Utf8),
        ("client_id", Utf8),
        ("client_registration", Utf8),
        ("client_name", Utf8),
        ("client_doc_sha256", Utf8),
        ("client_redirect_uris", string_list()),
        ("resource", Utf8),
        ("metadata_url", Utf8),
        ("metadata_sha256", Utf8),
        ("metadata_authorization_servers", string_list()),
        ("metadata_scopes_supported", string_list()),
        ("issuer", Utf8),
        ("scopes_requested", string_list()),
        ("scopes_granted", string_list()),
        ("token_id", Utf8),
        ("token_parent_id", Utf8),
        ("token_refresh_id", Utf8),
        ("token_audience", string_list()),
        ("grant_type", Utf8),
        ("token_expires_at", utc_micros()),
        ("redirect_uri", Utf8),
        ("consent", Utf8),
        ("tool", Utf8),
        ("ip", Utf8),
        ("user_agent", Utf8),
        ("http_status", Int16),
        ("http_bytes", Int64),
        ("http_resolved_ip", Utf8),
        ("http_redirected", Boolean),
        ("attributes", Utf8),
        ("raw_sha256", Utf8),
        ("format", Utf8),
        ("schema_version", Utf8),
    ];
    let fields: Vec<Field> = columns
        .into_iter()
        .map(|(name, data_type)| Field::new(name, data_type, true))
        .collect();
    Arc::new(Schema::new(fields))
}

impl Columns {
    fn with_capacity(rows: usize) -> Self {
        let s = || StringBuilder::with_capacity(rows, rows * 16);
        let list = || ListBuilder::with_capacity(StringBuilder::new(), rows);
        let ts = || TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
        Columns {
            event_id: s(),
            time: ts(),
            kind: s(),
            outcome: s(),
            reason: s(),
            source_type: s(),
            source_name: s(),
            connection_id: s(),
            subject: s(),
            client_id: s(),
            client_registration: s(),
            client_name: s(),
            client_doc_sha256: s(),
            client_redirect_uris: list(),
            resource: s(),
            metadata_url: s(),
            metadata_sha256: s(),
            metadata_authorization_servers: list(),
            metadata_scopes_supported: list(),
            issuer: s(),
            scopes_requested: list(),
            scopes_granted: list(),
            token_id: s(),
            token_parent_id: s(),
            token_refresh_id: s(),
            token_audience: list(),
            grant_type: s(),
            token_expires_at: ts(),
            redirect_uri: s(),
            consent: s(),
            tool: s(),
            ip: s(),
            user_agent: s(),
            http_status: Int16Builder::with_capacity(rows),
            http_bytes: Int64Builder::with_capacity(rows),
            http_resolved_ip: s(),
            http_redirected: BooleanBuilder::with_capacity(rows),
            attributes: s(),
            raw_sha256: s(),
            format: s(),
            schema_version: s(),
        }
    }

    fn push(&mut self, event: &Event) {
        let e = &event.fields;
        self.event_id.append_value(&e.id);
        self.time.append_value(e.time.timestamp_micros());
        self.kind.append_value(e.kind.as_str());
        self.outcome.append_option(e.outcome.map(|o| o.as_str()));
        self.reason.append_option(e.reason.as_deref());
        self.source_type
            .append_option(e.source.source_type.map(|t| t.as_str()));
        self.source_name.append_option(e.source.name.as_deref());
        self.connection_id.append_option(e.connection_id.as_deref());
        self.subject.append_option(e.subject.as_deref());
        self.client_id.append_option(e.client.id.as_deref());
        self.client_registration
            .append_option(e.client.registration.map(|r| r.as_str()));
        self.client_name.append_option(e.client.name.as_deref());
        self.client_doc_sha256
            .append_option(e.client.document_sha256.as_deref());
        append_list(
            &mut self.client_redirect_uris,
            e.client.redirect_uris.as_deref(),
        );
        self.resource.append_option(e.resource.as_deref());
        self.metadata_url.append_option(e.metadata.url.as_deref());
        self.metadata_sha256
            .append_option(e.metadata.document_sha256.as_deref());
        append_list(
            &mut self.metadata_authorization_servers,
            e.metadata.authorization_servers.as_deref(),
        );
        append_list(
            &mut self.metadata_scopes_supported,
            e.metadata.scopes_supported.as_deref(),
        );
        self.issuer.append_option(e.issuer.as_deref());
        append_list(&mut self.scopes_requested, e.scopes.requested.as_deref());
        append_list(&mut self.scopes_granted, e.scopes.granted.as_deref());
        self.token_id.append_option(e.token.id.as_deref());
        self.token_parent_id
            .append_option(e.token.parent_id.as_deref());
        self.token_refresh_id
            .append_option(e.token.refresh_token_id.as_deref());
        append_list(&mut self.token_audience, e.token.audience.as_deref());
        self.grant_type.append_option(e.token.grant_type.as_deref());
        self.token_expires_at
            .append_option(e.token.expires_at.map(|t| t.timestamp_micros()));
        self.redirect_uri.append_option(e.redirect_uri.as_deref());
        self.consent.append_option(e.consent.map(|c| c.as_str()));
        self.tool.append_option(e.tool.as_deref());
        self.ip.append_option(e.network.ip.as_deref());
        self.user_agent
            .append_option(e.network.user_agent.as_deref());
        // The schema bounds status to 100..=599 and bytes to 2^53 - 1, so both fit.
        self.http_status
            .append_option(e.http.status.and_then(|s| i16::try_from(s).ok()));
        self.http_bytes
            .append_option(e.http.bytes.and_then(|b| i64::try_from(b).ok()));
        self.http_resolved_ip
            .append_option(e.http.resolved_ip.as_deref());
        self.http_redirected.append_option(e.http.redirected);
        if e.attributes.is_empty() {
            self.attributes.append_null();
        } else {
            // Serializing a map of JSON values cannot fail.
            let text = serde_json::to_string(&e.attributes).expect("JSON map serializes");
            self.attributes.append_value(text);
        }
        self.raw_sha256.append_value(&event.raw_sha256);
        self.format.append_value(event.format);
        self.schema_version.append_value(SCHEMA_VERSION);
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.reason.finish()),
            Arc::new(self.source_type.finish()),
            Arc::new(self.source_name.finish()),
            Arc::new(self.connection_id.finish()),
            Arc::new(self.subject.finish()),
            Arc::new(self.client_id.finish()),
            Arc::new(self.client_registration.finish()),
            Arc::new(self.client_name.finish()),
            Arc::new(self.client_doc_sha256.finish()),
            Arc::new(self.client_redirect_uris.finish()),
            Arc::new(self.resource.finish()),
            Arc::new(self.metadata_url.finish()),
            Arc::new(self.metadata_sha256.finish()),
            Arc::new(self.metadata_authorization_servers.finish()),
            Arc::new(self.metadata_scopes_supported.finish()),
            Arc::new(self.issuer.finish()),
            Arc::new(self.scopes_requested.finish()),
            Arc::new(self.scopes_granted.finish()),
            Arc::new(self.token_id.finish()),
            Arc::new(self.token_parent_id.finish()),
            Arc::new(self.token_refresh_id.finish()),
            Arc::new(self.token_audience.finish()),
            Arc::new(self.grant_type.finish()),
            Arc::new(self.token_expires_at.finish()),
            Arc::new(self.redirect_uri.finish()),
            Arc::new(self.consent.finish()),
            Arc::new(self.tool.finish()),
            Arc::new(self.ip.finish()),
            Arc::new(self.user_agent.finish()),
            Arc::new(self.http_status.finish()),
            Arc::new(self.http_bytes.finish()),
            Arc::new(self.http_resolved_ip.finish()),
            Arc::new(self.http_redirected.finish()),
            Arc::new(self.attributes.finish()),
            Arc::new(self.raw_sha256.finish()),
            Arc::new(self.format.finish()),
            Arc::new(self.schema_version.finish()),
        ]
    }
}

fn append_list(builder: &mut StringList, values: Option<&[String]>) {
    match values {
        Some(values) => {
            for value in values {
                builder.values().append_value(value);
            }
            builder.append(true);
        }
        None => builder.append(false),
    }
}

/// A batch's events as rows shaped like `events_staging`, built as the events come, so a
/// batch holds each event once, as its row, rather than also as the typed event.
pub struct EventRows {
    columns: Columns,
}

impl EventRows {
    /// Builders sized for `rows` events (more may be pushed; they grow).
    pub fn with_capacity(rows: usize) -> Self {
        EventRows {
            columns: Columns::with_capacity(rows),
        }
    }

    pub fn push(&mut self, event: &Event) {
        self.columns.push(event);
    }

    /// The rows as `events` holds them (received at `received_at`), with their digest.
    pub fn finish(self, received_at: DateTime<Utc>) -> Result<Prepared, StoreError> {
        let staged = RecordBatch::try_new(staging_schema(), self.columns.finish())?;
        Prepared::new(staged, received_at)
    }
}

impl Default for EventRows {
    fn default() -> Self {
        EventRows::with_capacity(0)
    }
}

impl std::fmt::Debug for EventRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRows").finish_non_exhaustive()
    }
}

/// Where `events` has `received_at`: after `event_id` and `time`.
const RECEIVED_AT_COLUMN: usize = 2;

/// A batch's events as rows of `events` (all but `batch_id`, which the writer gives them)
/// and the digest the chain records of those rows. Finished on the thread that normalized
/// the batch ([`Batch::prepare`](super::Batch::prepare)), so the writer does not spend its
/// time on it, or by the writer for a batch that was not prepared.
///
/// The digest stands for the rows as stored only because DuckDB's appender stores these
/// values unchanged; in particular it takes `attributes` as text without parsing it, which
/// is safe because that text is always `serde_json`'s output. Debug builds (the tests)
/// check every appended batch's digest against its stored rows.
#[derive(Debug)]
pub struct Prepared {
    /// Every column of `events` but `batch_id`, in table order: what the chain digests
    /// (`queries/integrity/batch_events.sql`).
    rows: RecordBatch,
    pub digest: RowsDigest,
}

impl Prepared {
    pub fn build(events: &[Event], received_at: DateTime<Utc>) -> Result<Prepared, StoreError> {
        let mut rows = EventRows::with_capacity(events.len());
        for event in events {
            rows.push(event);
        }
        rows.finish(received_at)
    }

    fn new(staged: RecordBatch, received_at: DateTime<Utc>) -> Result<Prepared, StoreError> {
        let micros = received_at.timestamp_micros();
        let received_at_values =
            TimestampMicrosecondArray::from(vec![micros; staged.num_rows()]).with_timezone("UTC");
        let rows = with_column(
            &staged,
            RECEIVED_AT_COLUMN,
            Field::new("received_at", utc_micros(), false),
            Arc::new(received_at_values),
        )?;
        let digest = canonical::digest(std::slice::from_ref(&rows))
            .map_err(|e| StoreError::Internal(format!("digesting the batch's rows: {e}")))?;
        Ok(Prepared { rows, digest })
    }

    pub fn num_rows(&self) -> usize {
        self.rows.num_rows()
    }

    /// The rows for the `events_staging` table, which has no `received_at`.
    pub fn staged(&self) -> RecordBatch {
        let mut staged = self.rows.clone();
        staged.remove_column(RECEIVED_AT_COLUMN);
        staged
    }

    /// The rows as `events` holds them, for its appender. `batch_id` travels as Arrow's
    /// UUID extension type, which DuckDB's appender takes as a UUID.
    pub fn stored(&self, batch_id: Uuid) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows.num_rows();
        let mut batch_id_values = FixedSizeBinaryBuilder::with_capacity(rows, 16);
        for _ in 0..rows {
            batch_id_values.append_value(batch_id.as_bytes())?;
        }
        let field = Field::new("batch_id", DataType::FixedSizeBinary(16), false)
            .with_metadata([("ARROW:extension:name".to_owned(), "arrow.uuid".to_owned())].into());
        let last = self.rows.num_columns();
        with_column(&self.rows, last, field, Arc::new(batch_id_values.finish()))
    }
}

/// `batch` with `column` (named and typed by `field`) inserted at `index`.
fn with_column(
    batch: &RecordBatch,
    index: usize,
    field: Field,
    column: ArrayRef,
) -> Result<RecordBatch, ArrowError> {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    fields.insert(index, field);
    columns.insert(index, column);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The appender matches columns by position: a migration that changes `events` must
    /// change the batch with it.
    #[test]
    fn stored_rows_have_the_columns_of_events_in_its_order() {
        let db = duckdb::Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&db, std::path::Path::new(":memory:")).unwrap();
        let mut statement = db
            .prepare(
                "SELECT column_name FROM duckdb_columns() \
                 WHERE table_name = 'events' ORDER BY column_index",
            )
            .unwrap();
        let table: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let prepared = Prepared::build(&[], Utc::now()).unwrap();
        let rows = prepared.stored(Uuid::now_v7()).unwrap();
        let batch: Vec<&String> = rows
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name())
            .collect();
        assert_eq!(batch, table.iter().collect::<Vec<_>>());
    }
}
