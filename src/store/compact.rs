//! `trustpath compact`: the store rewritten into a new file, row for row, in the current
//! storage format and without the blocks earlier checkpoints freed. DuckDB reuses freed
//! blocks but never shrinks its file, and a store created before trustpath chose its storage
//! format keeps trust paths uncompressed until it is rewritten.

use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::Serialize;

use super::{STORAGE_VERSION, Store, StoreError};
use crate::config::StoreConfig;

/// What a compaction wrote.
#[derive(Debug, Serialize)]
pub struct Compacted {
    pub store: PathBuf,
    pub out: PathBuf,
    pub events: i64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The signing key copied beside `out`, when the store's key is the default one beside
    /// the store (a configured `store.signing_key` is used as it is).
    pub signing_key: Option<PathBuf>,
}

/// Rewrites the store at `config.path` into the new file `out`. The store is migrated first
/// (so the copy has the current schema) and must not be open elsewhere.
pub fn compact(config: &StoreConfig, out: &Path) -> Result<Compacted, StoreError> {
    if config.is_in_memory() {
        return Err(StoreError::Refused(
            "an in-memory store has no file to compact; give the store's path with --store-path"
                .to_owned(),
        ));
    }
    if !config.path.is_file() {
        return Err(StoreError::NotFound(format!(
            "there is no store at {}; give the store's path with --store-path",
            config.path.display()
        )));
    }
    if out.exists() {
        return Err(StoreError::Refused(format!(
            "{} exists; compact writes a new file: give a path that does not exist",
            out.display()
        )));
    }
    // Migrated, its WAL checkpointed into the file, and closed again.
    let events: i64 =
        Store::open(config)?
            .db
            .query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
    let bytes_before = file_size(&config.path)?;

    // A plain instance of our own: the store's instance cannot attach files (external access
    // is off), and nothing but the statements below runs here.
    let copy = || -> Result<(), duckdb::Error> {
        let db = Connection::open_in_memory_with_flags(
            duckdb::Config::default().with("storage_compatibility_version", STORAGE_VERSION)?,
        )?;
        db.execute_batch(&format!(
            "ATTACH {} AS source (READ_ONLY);
             ATTACH {} AS compacted;
             COPY FROM DATABASE source TO compacted;
             DETACH compacted;
             DETACH source;",
            literal(&config.path),
            literal(out)
        ))
    };
    if let Err(source) = copy() {
        let _ = std::fs::remove_file(out);
        let mut wal = out.as_os_str().to_owned();
        wal.push(".wal");
        let _ = std::fs::remove_file(wal);
        return Err(StoreError::Open {
            path: out.to_owned(),
            source,
        });
    }

    let signing_key = match (&config.signing_key, config.signing_key_path()) {
        (None, Some(key)) if key.is_file() => {
            let copied = StoreConfig {
                path: out.to_owned(),
                ..config.clone()
            }
            .signing_key_path()
            .expect("a store file has a default key path");
            std::fs::copy(&key, &copied).map_err(|source| StoreError::Io {
                path: copied.clone(),
                source,
            })?;
            Some(copied)
        }
        _ => None,
    };
    Ok(Compacted {
        store: config.path.clone(),
        out: out.to_owned(),
        events,
        bytes_before,
        bytes_after: file_size(out)?,
        signing_key,
    })
}

/// A path as an SQL string literal.
fn literal(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

fn file_size(path: &Path) -> Result<u64, StoreError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })
}
