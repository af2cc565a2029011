//! Versioned schema: each file of `queries/migrations/` runs once per store, in order, in
//! its own transaction, and is recorded in `schema_migrations`. A later schema change is a
//! new file here; existing stores pick it up at their next start.

use std::path::Path;

use duckdb::Connection;

use super::StoreError;

/// (version, name, DDL). Versions are dense and never reused.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "events",
        include_str!("../../queries/migrations/0001_events.sql"),
    ),
    (
        2,
        "connections",
        include_str!("../../queries/migrations/0002_connections.sql"),
    ),
    (
        3,
        "correlated_batches",
        include_str!("../../queries/migrations/0003_correlated_batches.sql"),
    ),
    (
        4,
        "alerts",
        include_str!("../../queries/migrations/0004_alerts.sql"),
    ),
    (
        5,
        "chain",
        include_str!("../../queries/migrations/0005_chain.sql"),
    ),
    (
        6,
        "compressed_trust_paths",
        include_str!("../../queries/migrations/0006_compressed_trust_paths.sql"),
    ),
    (
        7,
        "ids_without_indexes",
        include_str!("../../queries/migrations/0007_ids_without_indexes.sql"),
    ),
];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

pub fn apply(db: &Connection, path: &Path) -> Result<(), StoreError> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
    )?;
    let found: i64 = db.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )?;
    if found > current_version() {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            known: current_version(),
        });
    }
    for &(version, name, ddl) in MIGRATIONS.iter().filter(|(version, _, _)| *version > found) {
        let run = || -> Result<(), duckdb::Error> {
            db.execute_batch("BEGIN TRANSACTION")?;
            db.execute_batch(ddl)?;
            db.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now())",
                duckdb::params![version, name],
            )?;
            db.execute_batch("COMMIT")
        };
        if let Err(source) = run() {
            let _ = db.execute_batch("ROLLBACK");
            return Err(StoreError::Migration {
                version,
                name,
                source,
            });
        }
        // Creating a store is routine (scratch stores of `rules test` and `eval` too);
        // upgrading one is worth a line in the log.
        if found == 0 {
            tracing::debug!(version, name, "store created");
        } else {
            tracing::info!(version, name, "store migrated");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once_and_refuses_newer_stores() {
        let db = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        apply(&db, path).unwrap();
        apply(&db, path).unwrap();
        let versions: i64 = db
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(versions, MIGRATIONS.len() as i64);

        db.execute(
            "INSERT INTO schema_migrations VALUES (999, 'future', now())",
            [],
        )
        .unwrap();
        let error = apply(&db, path).unwrap_err();
        assert!(
            matches!(error, StoreError::TooNew { found: 999, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("upgrade trustpath"));
    }
}
