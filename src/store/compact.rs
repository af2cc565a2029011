//! `trustpath compact`: the store rewritten into a new file, row for row, in the current
//! storage format and without the blocks earlier checkpoints freed. DuckDB reuses freed
//! blocks but gives back only those at the very end of its file, and a store created before
//! trustpath chose its storage format keeps trust paths uncompressed until it is rewritten.

use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::Serialize;

use super::{STORAGE_VERSION, Store, StoreError};
use crate::config::StoreConfig;
use crate::integrity::Signer;

/// What a compaction wrote.
#[derive(Debug, Serialize)]
pub struct Compacted {
    pub store: PathBuf,
    pub out: PathBuf,
    pub events: i64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The new file's signing key (the default one beside the store, copied to `out`'s
    /// default key path). None when `store.signing_key` is configured: it is used as it is.
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
    let key = key_to_copy(config, out)?;
    // Migrated, its WAL checkpointed into the file, and closed again.
    let store = Store::open(config)?;
    let events: i64 = store
        .db
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
    drop(store);
    let bytes_before = file_size(&config.path)?;

    // A plain instance of our own: the store's instance cannot attach files (external access
    // is off), and nothing but the statements below runs here. Same memory limit; what does
    // not fit spills beside the new file.
    let copy = || -> Result<(), duckdb::Error> {
        let mut settings = duckdb::Config::default()
            .with("storage_compatibility_version", STORAGE_VERSION)?
            .with("temp_directory", &format!("{}.tmp", out.display()))?;
        if !config.memory_limit.is_empty() {
            settings = settings.max_memory(&config.memory_limit)?;
        }
        let db = Connection::open_in_memory_with_flags(settings)?;
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
        return Err(StoreError::Compact {
            store: config.path.clone(),
            out: out.to_owned(),
            source,
        });
    }

    let signing_key = match key {
        KeyCopy::None => None,
        KeyCopy::AlreadyThere(path) => Some(path),
        KeyCopy::To { from, to } => {
            // Loaded and saved as a key: a damaged key file is found now, and the copy is
            // created new with the key's file mode.
            Signer::load(&from)?.save(&to)?;
            Some(to)
        }
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

/// What becomes of the signing key: a configured `store.signing_key` is used as it is; the
/// default key beside the store is copied to the new file's default key path.
enum KeyCopy {
    None,
    /// The new file's key path is the store's own key (`--out` differs only in extension).
    AlreadyThere(PathBuf),
    To {
        from: PathBuf,
        to: PathBuf,
    },
}

/// Decided before anything is written, so a key in the way stops the compaction, not the
/// copy of the key.
fn key_to_copy(config: &StoreConfig, out: &Path) -> Result<KeyCopy, StoreError> {
    let (None, Some(from)) = (&config.signing_key, config.signing_key_path()) else {
        return Ok(KeyCopy::None);
    };
    if !from.is_file() {
        return Ok(KeyCopy::None);
    }
    let to = StoreConfig {
        path: out.to_owned(),
        ..config.clone()
    }
    .signing_key_path()
    .expect("a store file has a default key path");
    if !to.exists() {
        return Ok(KeyCopy::To { from, to });
    }
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(&from, &to) {
        return Ok(KeyCopy::AlreadyThere(to));
    }
    Err(StoreError::Refused(format!(
        "{} exists, and compact would copy the store's signing key there; move it away or \
         choose another --out",
        to.display()
    )))
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
