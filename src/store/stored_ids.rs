//! Which event ids the store holds, kept by the writer in a Bloom filter instead of an index.
//!
//! `events.event_id` is the idempotency key, but a DuckDB index over it cannot be evicted
//! from memory: it grows by ≈ 45 bytes per event and, under `store.memory_limit`, an ingest
//! stops with an out-of-memory error once it fills the pool (docs/benchmark-notes.md). The
//! filter takes ≈ 4 bytes per event and answers "certainly new" for almost every new event,
//! so only the ids it cannot rule out (redeliveries, and about one in a million new ids)
//! are looked up in `events`, by the writer's merge (`queries/ingest/find_stored.sql`).
//!
//! Invariant: every id in `events` is in the filter. It is built from the table when the
//! writer starts and every id the writer stores is added; ids of a transaction that rolled
//! back, or of events a purge deleted, may stay in it, which only costs a lookup.

use std::time::Instant;

use duckdb::Connection;
use growable_bloom_filter::GrowableBloom;

use super::StoreError;

/// The chance that a new id is taken for a stored one and looked up in `events`.
const FALSE_POSITIVE_RATE: f64 = 1e-6;
/// Room the filter starts with beyond the ids stored; it grows in layers past that.
const HEADROOM: usize = 1_000_000;

pub(super) struct StoredIds {
    filter: GrowableBloom,
}

impl StoredIds {
    /// Reads every stored event id (one scan of `events.event_id`).
    pub(super) fn load(db: &Connection) -> Result<Self, StoreError> {
        let started = Instant::now();
        let stored: i64 = db.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
        let mut filter = GrowableBloom::new(
            FALSE_POSITIVE_RATE,
            usize::try_from(stored).unwrap_or(0) + HEADROOM,
        );
        let mut statement = db.prepare("SELECT event_id FROM events")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id = row.get_ref(0)?.as_str().map_err(|error| {
                StoreError::Internal(format!("reading a stored event id: {error}"))
            })?;
            filter.insert(id);
        }
        tracing::info!(
            ids = stored,
            took_ms = started.elapsed().as_millis() as u64,
            "stored event ids loaded"
        );
        Ok(StoredIds { filter })
    }

    /// False only for an id that is certainly not stored.
    pub(super) fn may_hold(&self, id: &str) -> bool {
        self.filter.contains(id)
    }

    pub(super) fn record(&mut self, id: &str) {
        self.filter.insert(id);
    }
}
