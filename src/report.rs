//! `trustpath report`: a compliance review of a window, for a person. Each section is one
//! query of `queries/report/` rendered as a table, in Markdown, HTML or JSON:
//! the clients approved and their metadata documents (and drift), the scopes held per
//! resource, the connections whose trust path broke, the alerts and how they were
//! handled, and coverage (which sources sent events, the longest silences).

use std::fmt::Write as _;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, Utc};
use duckdb::{Connection, params};
use serde::Serialize;

use crate::integrity::chain;
use crate::store::{StoreError, in_transaction, rfc3339};

/// (title, what it shows, query, what an empty table means).
const SECTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "Summary",
        "What the window holds.",
        include_str!("../queries/report/summary.sql"),
        "",
    ),
    (
        "Clients approved",
        "Clients a token was issued to, with every client metadata document (SHA-256) seen \
         for them up to the end of the window. More than one document is drift: check that \
         each change was expected.",
        include_str!("../queries/report/clients.sql"),
        "No token was issued in the window.",
    ),
    (
        "Scopes held per resource",
        "Scopes granted in the window, per MCP server.",
        include_str!("../queries/report/scopes.sql"),
        "No token was issued in the window.",
    ),
    (
        "Trust-path violations",
        "Connections whose chain from metadata to access did not hold, and which links broke \
         (`trustpath explain <connection>` shows each).",
        include_str!("../queries/report/violations.sql"),
        "Every connection's trust path held.",
    ),
    (
        "Alerts and their resolution",
        "Alerts seen in the window, open ones first, with who last changed each and their note.",
        include_str!("../queries/report/alerts.sql"),
        "No alert in the window.",
    ),
    (
        "Coverage: sources",
        "Which sources sent events, and each one's longest silence between two events: a \
         gap in ingestion, or a quiet source.",
        include_str!("../queries/report/coverage.sql"),
        "No source sent events in the window.",
    ),
    (
        "Coverage: ingestion",
        "What each collector committed in the window, and its longest time without a commit.",
        include_str!("../queries/report/ingestion.sql"),
        "Nothing was committed in the window.",
    ),
];

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Md,
    Html,
    Json,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: String,
    pub about: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    #[serde(skip)]
    empty: String,
}

/// The chain as the report states it: how far the records go and what is signed.
#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    pub chain_records: i64,
    pub last_signed_seq: Option<i64>,
    pub last_signed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub integrity: Integrity,
    pub sections: Vec<Section>,
}

/// Runs every section over [from, to) in one snapshot.
pub fn build(
    db: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Report, StoreError> {
    if from >= to {
        return Err(StoreError::BadParameter(format!(
            "the window is empty: --from {from} is not before --to {to}"
        )));
    }
    // One snapshot: every section is of the same moment.
    in_transaction(db, || {
        let mut sections = Vec::new();
        for (title, about, sql, empty) in SECTIONS {
            sections.push(section(db, title, about, sql, empty, from, to)?);
        }
        let head = chain::head(db)?;
        let signed = chain::last_checkpoint(db)?;
        Ok(Report {
            from,
            to,
            generated_at: Utc::now(),
            integrity: Integrity {
                chain_records: head.map_or(0, |h| h.seq),
                last_signed_seq: signed.as_ref().map(|c| c.seq),
                last_signed_at: signed.map(|c| c.signed_at),
            },
            sections,
        })
    })
}

fn section(
    db: &Connection,
    title: &str,
    about: &str,
    sql: &str,
    empty: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Section, StoreError> {
    let mut statement = db.prepare(sql)?;
    let arrow = statement.query_arrow(params![rfc3339(from), rfc3339(to)])?;
    let schema = arrow.get_schema();
    let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    let options = FormatOptions::default().with_null("");
    let mut rows = Vec::new();
    for batch in arrow {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    Ok(Section {
        title: title.to_owned(),
        about: about.to_owned(),
        columns,
        rows,
        empty: empty.to_owned(),
    })
}

impl Report {
    fn integrity_line(&self) -> String {
        let signed = match (
            self.integrity.last_signed_seq,
            self.integrity.last_signed_at,
        ) {
            (Some(seq), Some(at)) => {
                let unsigned = self.integrity.chain_records - seq;
                format!(
                    "the head was last signed at seq {seq}, {}{}",
                    at.to_rfc3339(),
                    if unsigned > 0 {
                        format!(", and {unsigned} newer records are not signed yet")
                    } else {
                        String::new()
                    }
                )
            }
            _ => "no checkpoint is signed yet".to_owned(),
        };
        format!(
            "The store's chain holds {} records; {signed} (as recorded; this report does not \
             verify them: `trustpath verify --store` recomputes the chain from the rows, and \
             exports carry a signed manifest for an offline check).",
            self.integrity.chain_records
        )
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# trustpath compliance review\n\nWindow: {} to {} (UTC). Generated {}.\n\n{}\n",
            self.from.to_rfc3339(),
            self.to.to_rfc3339(),
            self.generated_at.to_rfc3339(),
            self.integrity_line()
        );
        for section in &self.sections {
            let _ = writeln!(out, "## {}\n\n{}\n", section.title, section.about);
            if section.rows.is_empty() {
                let _ = writeln!(out, "_{}_\n", section.empty);
                continue;
            }
            // Markdown passes HTML through: cells are text, so `<` and `&` are escaped.
            let cell = |text: &str| {
                text.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('|', "\\|")
                    .replace('\n', " ")
            };
            let _ = writeln!(out, "| {} |", section.columns.join(" | "));
            let _ = writeln!(out, "|{}", "---|".repeat(section.columns.len()));
            for row in &section.rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
        out
    }

    pub fn html(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>trustpath compliance review</title><style>\
             body{{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}}\
             table{{border-collapse:collapse;margin-bottom:1.5rem}}\
             th,td{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}\
             th{{background:#f3f3f3}}</style></head><body>\n\
             <h1>trustpath compliance review</h1>\n<p>Window: {} to {} (UTC). Generated {}.</p>\n<p>{}</p>\n",
            escape(&self.from.to_rfc3339()),
            escape(&self.to.to_rfc3339()),
            escape(&self.generated_at.to_rfc3339()),
            escape(&self.integrity_line())
        );
        for section in &self.sections {
            let _ = write!(
                out,
                "<h2>{}</h2>\n<p>{}</p>\n",
                escape(&section.title),
                escape(&section.about)
            );
            if section.rows.is_empty() {
                let _ = writeln!(out, "<p><em>{}</em></p>", escape(&section.empty));
                continue;
            }
            out.push_str("<table><thead><tr>");
            for column in &section.columns {
                let _ = write!(out, "<th>{}</th>", escape(column));
            }
            out.push_str("</tr></thead><tbody>\n");
            for row in &section.rows {
                out.push_str("<tr>");
                for cell in row {
                    let _ = write!(out, "<td>{}</td>", escape(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// Text as HTML: the five characters that could open markup or an attribute are escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
