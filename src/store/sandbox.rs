//! Ad-hoc SQL for analysts (`POST /v1/sql`), sandboxed in layers:
//!
//! 1. The text must parse (sqlparser, DuckDB dialect) as exactly one query: a SELECT or
//!    WITH … SELECT. Anything else (COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET, DDL, DML, a
//!    second statement) is refused with its name. Its FROM clauses may name only the
//!    store's tables, its own CTEs and a few pure table functions ([`TABLES`],
//!    [`TABLE_FUNCTIONS`]): DuckDB has table functions with instance-wide side effects
//!    (`enable_logging`, `checkpoint`) that neither a read-only transaction nor external
//!    access settings stop. Scalar functions with side effects ([`DENIED_FUNCTIONS`]) are
//!    refused too. What runs is the parsed query rendered back, so no trailing text can
//!    ride along.
//! 2. It runs in a `READ ONLY` transaction that is rolled back: a function with side
//!    effects cannot write either.
//! 3. The store's DuckDB instance has external access disabled and its configuration
//!    locked at open ([`super::Store::open`]): no file or network table function
//!    (`read_csv`, `read_text`, `read_json`, …) and no settings change.
//! 4. A row limit, and a timeout that interrupts the query.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectName, Query, SetExpr, Statement, TableFactor, Visit, Visitor};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

use super::StoreError;

/// Tables (and views) a query may read.
pub const TABLES: &[&str] = &[
    "events",
    "rejected",
    "ingest_log",
    "schema_migrations",
    "connections",
    "connection_tokens",
    "connection_members",
    "verdict_changes",
    "client_pins",
    "alerts",
    "alert_hits",
    "alert_status",
    "alert_deliveries",
    "chain",
    "chain_checkpoints",
];
/// Table functions a query may call: they only compute.
pub const TABLE_FUNCTIONS: &[&str] = &["range", "generate_series", "unnest"];
/// Scalar functions with side effects or access to the process.
pub const DENIED_FUNCTIONS: &[&str] = &[
    "getenv",
    "nextval",
    "currval",
    "setseed",
    "enable_logging",
    "disable_logging",
    "checkpoint",
];

/// Checks `sql` and returns the single query to run, as sqlparser renders it.
pub fn check(sql: &str) -> Result<String, StoreError> {
    let refused = |why: String| StoreError::Refused(why);
    let statements = Parser::parse_sql(&DuckDbDialect {}, sql).map_err(|e| {
        StoreError::BadParameter(format!(
            "the query could not be parsed (DuckDB dialect, as the sandbox reads it): {e}"
        ))
    })?;
    match statements.as_slice() {
        [] => Err(refused("the query is empty".to_owned())),
        [Statement::Query(query)] => {
            if let SetExpr::Select(select) = query.body.as_ref()
                && select.into.is_some()
            {
                return Err(refused(
                    "SELECT … INTO writes a table; only reading is allowed".to_owned(),
                ));
            }
            if let ControlFlow::Break(why) = statements[0].visit(&mut Allowlist::default()) {
                return Err(refused(why));
            }
            Ok(statements[0].to_string())
        }
        [other] => Err(refused(format!(
            "only a single SELECT (or WITH … SELECT) is allowed; {} statements are not",
            statement_name(other)
        ))),
        many => Err(refused(format!(
            "exactly one statement is allowed; this has {} (separated by `;`)",
            many.len()
        ))),
    }
}

/// Walks the query: every relation must be a store table, a CTE of the query or an
/// allowed table function; no denied scalar function may appear.
#[derive(Default)]
struct Allowlist {
    ctes: BTreeSet<String>,
}

fn last_part(name: &ObjectName) -> String {
    name.to_string()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .trim_matches('"')
        .to_ascii_lowercase()
}

impl Visitor for Allowlist {
    type Break = String;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if let Some(with) = &query.with {
            self.ctes.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| cte.alias.name.value.to_ascii_lowercase()),
            );
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table {
                name, args: None, ..
            } => {
                let table = last_part(name);
                let schema_ok =
                    name.0.len() == 1 || name.to_string().to_ascii_lowercase().starts_with("main.");
                if schema_ok && (TABLES.contains(&table.as_str()) || self.ctes.contains(&table)) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(format!(
                        "`{name}` is not a table the sandbox reads; it reads {} and the query's own CTEs",
                        TABLES.join(", ")
                    ))
                }
            }
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            } => {
                if TABLE_FUNCTIONS.contains(&last_part(name).as_str()) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(format!(
                        "table function `{name}` is not allowed; the sandbox allows {}",
                        TABLE_FUNCTIONS.join(", ")
                    ))
                }
            }
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. }
            | TableFactor::Pivot { .. }
            | TableFactor::Unpivot { .. } => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!("`{other}` is not allowed in the sandbox")),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        if let Expr::Function(function) = expr {
            let name = last_part(&function.name);
            if DENIED_FUNCTIONS.contains(&name.as_str()) {
                return ControlFlow::Break(format!(
                    "function `{name}` is not allowed in the sandbox"
                ));
            }
        }
        ControlFlow::Continue(())
    }
}

/// The statement's leading keywords, e.g. `COPY`, `CREATE TABLE`, `ATTACH`.
fn statement_name(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second] if matches!(*first, "CREATE" | "DROP" | "ALTER") => {
            format!("{first} {second}")
        }
        [first, ..] => (*first).to_owned(),
        [] => "empty".to_owned(),
    }
}

/// Turns DuckDB's refusal of a sandboxed query into a sentence that says why.
pub fn explain_refusal(error: duckdb::Error) -> StoreError {
    let text = error.to_string();
    if text.contains("disabled by configuration") || text.contains("external access") {
        StoreError::Refused(format!(
            "the query reads files or the network, which the sandbox does not allow ({text})"
        ))
    } else if text.contains("read-only transaction") || text.contains("read only") {
        StoreError::Refused(format!(
            "the query tries to write, which the sandbox does not allow ({text})"
        ))
    } else if text.contains("INTERRUPT")
        || text.contains("Interrupted")
        || text.contains("interrupted")
    {
        StoreError::Interrupted
    } else {
        StoreError::BadParameter(format!("the query failed: {text}"))
    }
}

/// What a sandboxed query returned.
pub struct SqlResult {
    pub schema: duckdb::arrow::datatypes::SchemaRef,
    pub batches: Vec<duckdb::arrow::record_batch::RecordBatch>,
    /// True when more than `max_rows` rows matched and the rest were cut.
    pub truncated: bool,
}

/// Checks and runs `sql` on `db` (a connection of its own) in a rolled-back read-only
/// transaction, returning at most `max_rows` rows.
pub fn run(db: &duckdb::Connection, sql: &str, max_rows: usize) -> Result<SqlResult, StoreError> {
    let query = check(sql)?;
    db.execute_batch("BEGIN TRANSACTION READ ONLY")?;
    let result = fetch(db, &query, max_rows);
    // Nothing may stay behind, whatever happened.
    let _ = db.execute_batch("ROLLBACK");
    result
}

fn fetch(db: &duckdb::Connection, query: &str, max_rows: usize) -> Result<SqlResult, StoreError> {
    let limited = format!("SELECT * FROM ({query}) AS q LIMIT {}", max_rows + 1);
    let mut statement = db.prepare(&limited).map_err(explain_refusal)?;
    let arrow = statement.query_arrow([]).map_err(explain_refusal)?;
    let schema = arrow.get_schema();
    let mut batches = Vec::new();
    let mut rows = 0;
    for batch in arrow {
        let keep = batch.num_rows().min(max_rows - rows.min(max_rows));
        rows += batch.num_rows();
        if keep > 0 {
            batches.push(batch.slice(0, keep));
        }
    }
    Ok(SqlResult {
        schema,
        batches,
        truncated: rows > max_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str) -> String {
        check(sql).expect_err(sql).to_string()
    }

    #[test]
    fn single_queries_pass_and_are_rendered_from_the_ast() {
        assert_eq!(check("select 1 -- note\n;").unwrap(), "SELECT 1");
        assert!(check("WITH t AS (SELECT kind FROM events) SELECT count(*) FROM t").is_ok());
    }

    #[test]
    fn everything_else_is_refused_by_name() {
        assert!(refusal("COPY events TO '/tmp/x.csv'").contains("COPY statements are not"));
        assert!(refusal("ATTACH '/tmp/x.db' AS x").contains("ATTACH"));
        assert!(refusal("INSTALL httpfs").contains("INSTALL"));
        assert!(refusal("LOAD httpfs").contains("LOAD"));
        assert!(refusal("SET threads = 1").contains("SET"));
        assert!(refusal("PRAGMA database_list").contains("PRAGMA"));
        assert!(refusal("CREATE TABLE x (a INT)").contains("CREATE TABLE"));
        assert!(refusal("INSERT INTO events VALUES (1)").contains("INSERT"));
        assert!(refusal("UPDATE events SET kind = 'x'").contains("UPDATE"));
        assert!(refusal("DELETE FROM events").contains("DELETE"));
        assert!(refusal("DROP TABLE events").contains("DROP TABLE"));
        assert!(refusal("SELECT 1; DROP TABLE events").contains("exactly one statement"));
        assert!(refusal("").contains("empty"));
        assert!(
            refusal("SELECT * FROM enable_logging(level := 'trace')").contains("enable_logging")
        );
        assert!(refusal("SELECT * FROM checkpoint()").contains("checkpoint"));
        assert!(refusal("SELECT * FROM read_csv('/etc/passwd')").contains("read_csv"));
        assert!(refusal("SELECT * FROM '/etc/passwd'").contains("not a table the sandbox reads"));
        assert!(refusal("SELECT getenv('HOME')").contains("getenv"));
        assert!(refusal("SELECT * FROM other.events").contains("not a table"));
    }

    #[test]
    fn tables_ctes_and_pure_functions_pass() {
        assert!(check("SELECT * FROM main.events e JOIN rejected r ON true").is_ok());
        assert!(check("WITH recent AS (SELECT * FROM events) SELECT * FROM recent").is_ok());
        assert!(check("SELECT * FROM range(10) t(i), (SELECT 1) s").is_ok());
        assert!(check("SELECT unnest(scopes_granted) FROM events").is_ok());
    }
}
