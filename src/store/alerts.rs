//! Reads of alerts and their lifecycle: what `GET /v1/alerts`, `GET /v1/alerts/{id}`,
//! `PATCH /v1/alerts/{id}` and `trustpath alerts` answer from. The detector raises alerts
//! (see `detect`); people move them along (open → acknowledged → resolved), each step kept
//! with who and when.

use chrono::{DateTime, Utc};
use duckdb::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;
use super::read::{Cursor, DEFAULT_LIMIT, Reader, check_limit, keyset_page, parse_json};
use crate::detect::Severity;

const ALERTS: &str = include_str!("../../queries/alerts.sql");
const ALERT: &str = include_str!("../../queries/alert.sql");
const TIMELINE_ALERTS: &str = include_str!("../../queries/timeline_alerts.sql");
const INSERT_STATUS: &str = include_str!("../../queries/detect/insert_status.sql");
const TOUCH_ALERT: &str = include_str!("../../queries/detect/touch_alert.sql");

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// The filters of `GET /v1/alerts` and `trustpath alerts`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
#[command(next_help_heading = "Filters")]
pub struct AlertFilter {
    /// Alerts last seen at or after this time (RFC 3339).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Alerts first seen before this time (RFC 3339).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// A rule id, e.g. TP007.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// This severity or higher.
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    /// The rule's dedup key, e.g. a client id.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// Page size (1 to 1000, default 100).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertPage {
    pub alerts: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// A lifecycle step (`PATCH /v1/alerts/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: AlertStatus,
    /// Who makes the change (a person or a system), kept with it.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Reader {
    pub fn alerts(&self, filter: &AlertFilter) -> Result<AlertPage, StoreError> {
        let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
        check_limit(limit)?;
        let cursor = filter.cursor.as_deref().map(Cursor::decode).transpose()?;
        let db = self.connection()?;
        let (alerts, next_cursor) = keyset_page(
            &db,
            ALERTS,
            params![
                filter.from.map(|t| t.to_rfc3339()),
                filter.to.map(|t| t.to_rfc3339()),
                filter.rule,
                filter.severity.map(|s| s as i32 + 1),
                filter.status.map(AlertStatus::as_str),
                filter.key,
                filter.connection_id,
                cursor.as_ref().map(|c| c.time_us),
                cursor.as_ref().map(|c| c.id.as_str()),
                i64::from(limit),
            ],
            limit,
        )?;
        Ok(AlertPage {
            alerts,
            next_cursor,
        })
    }

    /// One alert with its lifecycle history, hits and sink deliveries.
    pub fn alert(&self, alert_id: &str) -> Result<Value, StoreError> {
        let db = self.connection()?;
        let mut statement = db.prepare_cached(ALERT)?;
        let mut rows = statement.query(params![alert_id])?;
        match rows.next()? {
            Some(row) => parse_json(&row.get::<_, String>(0)?),
            None => Err(StoreError::NotFound(format!(
                "no alert {alert_id}; list alerts with GET /v1/alerts or `trustpath alerts`"
            ))),
        }
    }

    /// Records a lifecycle step and returns the alert as it now stands.
    pub fn change_alert_status(
        &self,
        alert_id: &str,
        change: &StatusChange,
    ) -> Result<Value, StoreError> {
        if change.by.trim().is_empty() {
            return Err(StoreError::BadParameter(
                "`by` must name who changes the alert's status".into(),
            ));
        }
        // Exists, or a NotFound that says where to look.
        self.alert(alert_id)?;
        let db = self.connection()?;
        let now = super::rfc3339(Utc::now());
        // The alert's row is written too, in the same transaction: a detector adding hits
        // to it at the same moment then conflicts and retries, instead of counting hits
        // into an alert that was just resolved.
        db.execute_batch("BEGIN TRANSACTION")?;
        let written = db
            .prepare_cached(INSERT_STATUS)
            .and_then(|mut insert| {
                insert.execute(params![
                    alert_id,
                    change.status.as_str(),
                    change.by.trim(),
                    now,
                    change.note
                ])
            })
            .and_then(|_| {
                db.prepare_cached(TOUCH_ALERT)?
                    .execute(params![alert_id, now])
            })
            .and_then(|_| db.execute_batch("COMMIT"));
        if let Err(error) = written {
            let _ = db.execute_batch("ROLLBACK");
            return Err(error.into());
        }
        self.alert(alert_id)
    }

    /// Alerts whose evidence includes one of `event_ids`, overlapping `[from, to)`.
    pub(super) fn alerts_for_events(
        &self,
        db: &duckdb::Connection,
        event_ids: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Value>, StoreError> {
        let ids = serde_json::to_string(event_ids).unwrap_or_default();
        let mut statement = db.prepare_cached(TIMELINE_ALERTS)?;
        let rows = statement
            .query_map(params![ids, from.to_rfc3339(), to.to_rfc3339()], |row| {
                row.get::<_, String>(0)
            })?;
        rows.map(|json| parse_json(&json?)).collect()
    }
}
