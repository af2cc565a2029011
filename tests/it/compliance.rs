//! Tamper evidence, retention and exports against real stores and the real binary: every
//! kind of tampering is named by `verify --store`, a purge by policy verifies, a deletion
//! without one does not.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;
use trustpath::integrity::chain::{self, Table};

use crate::harness::{succeed, trustpath};

/// A store built by `trustpath ingest` in small batches (each head signed), with one
/// rejected line, and its signing key beside it.
struct Fixture {
    dir: TempDir,
    store: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("trustpath.duckdb");
        let fixture = Fixture { dir, store };
        let events = fixture.simulate("sim.ndjson", 3);
        fixture.ingest(&events);
        fixture
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn simulate(&self, name: &str, seed: u64) -> PathBuf {
        let out = self.path(name);
        succeed(
            trustpath()
                .args([
                    "simulate",
                    "--flows",
                    "12",
                    "--seed",
                    &seed.to_string(),
                    "--out",
                ])
                .arg(&out),
        );
        let mut text = std::fs::read_to_string(&out).unwrap();
        text.push_str("{\"id\": \"half an event\"\n");
        std::fs::write(&out, text).unwrap();
        out
    }

    fn command(&self) -> Command {
        let mut command = trustpath();
        command
            .env("TRUSTPATH_STORE_PATH", &self.store)
            .env("TRUSTPATH_INGEST_BATCH_MAX_EVENTS", "40")
            .env("TRUSTPATH_STORE_CHECKPOINT_EVERY", "0s");
        command
    }

    fn ingest(&self, file: &Path) {
        succeed(self.command().arg("ingest").arg(file));
    }

    fn sql(&self, sql: &str) {
        let db = duckdb::Connection::open(&self.store).unwrap();
        db.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `verify --store --json`: (exit success, the report).
    fn verify(&self, extra: &[&str]) -> (bool, Value) {
        let output = self
            .command()
            .args(["verify", "--store", "--json"])
            .args(extra)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.success(), report)
    }

    /// The first finding's (seq, change) after `verify` failed.
    fn first_break(&self) -> (Option<i64>, String) {
        let (holds, report) = self.verify(&[]);
        assert!(!holds, "verify passed a tampered store: {report:#}");
        let first = &report["findings"][0];
        (
            first["seq"].as_i64(),
            first["change"].as_str().unwrap().to_owned(),
        )
    }

    /// The chain record of the batch holding `event_id`.
    fn seq_of_event(&self, event_id: &str) -> i64 {
        let db = duckdb::Connection::open(&self.store).unwrap();
        db.query_row(
            "SELECT seq FROM chain JOIN events USING (batch_id) WHERE event_id = ?",
            [event_id],
            |row| row.get(0),
        )
        .unwrap()
    }

    fn some_event(&self) -> String {
        let db = duckdb::Connection::open(&self.store).unwrap();
        db.query_row(
            "SELECT event_id FROM events JOIN chain USING (batch_id) WHERE seq = 3 \
             ORDER BY scopes_granted IS NULL, event_id LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap()
    }
}

#[test]
fn an_untouched_store_verifies_and_each_kind_of_tampering_is_named() {
    let fixture = Fixture::new();
    let (holds, report) = fixture.verify(&[]);
    assert!(holds, "{report:#}");
    let records = report["records"].as_i64().unwrap();
    assert!(records >= 5, "several batches: {report:#}");
    assert_eq!(
        report["signed_through"].as_i64(),
        Some(records),
        "{report:#}"
    );
    assert!(report["events"].as_i64().unwrap() > 100);
    assert_eq!(report["rejected"], 1);
    let human = succeed(fixture.command().args(["verify", "--store"]));
    assert!(human.contains("RESULT: the store holds."), "{human}");

    // Each tampering on its own copy of the store.
    let copy = |name: &str| {
        let copy = Fixture {
            dir: tempfile::tempdir().unwrap(),
            store: PathBuf::new(),
        };
        let store = copy.path("trustpath.duckdb");
        std::fs::copy(&fixture.store, &store).unwrap();
        std::fs::copy(
            fixture.store.with_extension("signing-key.pem"),
            store.with_extension("signing-key.pem"),
        )
        .unwrap();
        eprintln!("tampering: {name}");
        Fixture { store, ..copy }
    };
    let event = fixture.some_event();
    let seq = fixture.seq_of_event(&event);

    let edited = copy("edit a row's scopes");
    edited.sql(&format!(
        "UPDATE events SET scopes_granted = ['admin:all'] WHERE event_id = '{event}'"
    ));
    assert_eq!(edited.first_break(), (Some(seq), "row_edited".to_owned()));

    let deleted = copy("delete a row");
    deleted.sql(&format!("DELETE FROM events WHERE event_id = '{event}'"));
    assert_eq!(deleted.first_break(), (Some(seq), "row_deleted".to_owned()));

    let inserted = copy("insert a row");
    inserted.sql(&format!(
        "INSERT INTO events SELECT * REPLACE ('forged-1' AS event_id) FROM events WHERE event_id = '{event}'"
    ));
    assert_eq!(
        inserted.first_break(),
        (Some(seq), "row_inserted".to_owned())
    );

    let stray = copy("insert a row under a batch no record names");
    stray.sql(&format!(
        "INSERT INTO events SELECT * REPLACE ('forged-2' AS event_id, uuidv7() AS batch_id) FROM events WHERE event_id = '{event}'"
    ));
    assert_eq!(stray.first_break(), (None, "row_inserted".to_owned()));

    let reordered = copy("swap two chain records");
    reordered.sql(
        "UPDATE chain SET seq = 1000 WHERE seq = 2; UPDATE chain SET seq = 2 WHERE seq = 3; \
         UPDATE chain SET seq = 3 WHERE seq = 1000;",
    );
    assert_eq!(reordered.first_break(), (Some(2), "reordered".to_owned()));

    let replaced = copy("replace a digest in place");
    replaced.sql(&format!(
        "UPDATE chain SET events_sha256 = '{}' WHERE seq = {seq}",
        "ab".repeat(32)
    ));
    assert_eq!(
        replaced.first_break(),
        (Some(seq), "digest_replaced".to_owned())
    );

    // The careful attacker: edit a row, recompute its batch's digest and re-hash the rest
    // of the chain. Only the signed checkpoints can tell, and the first one after the edit
    // does.
    let rewritten = copy("edit a row and rewrite the chain after it");
    rewritten.sql(&format!(
        "UPDATE events SET scopes_granted = ['admin:all'] WHERE event_id = '{event}'"
    ));
    {
        let db = duckdb::Connection::open(&rewritten.store).unwrap();
        let mut links = chain::load(&db).unwrap();
        let mut prev = links[seq as usize - 2].sha256.clone();
        for link in links.iter_mut().skip(seq as usize - 1) {
            if link.seq == seq {
                let digest = Table::Events.digest(&db, link.batch_id.unwrap()).unwrap();
                link.events_sha256 = digest.sha256;
            }
            link.prev_sha256 = prev;
            link.sha256 = link.expected_sha256();
            prev = link.sha256.clone();
            db.execute(
                "UPDATE chain SET events_sha256 = ?, prev_sha256 = ?, sha256 = ? WHERE seq = ?",
                duckdb::params![link.events_sha256, link.prev_sha256, link.sha256, link.seq],
            )
            .unwrap();
        }
    }
    assert_eq!(
        rewritten.first_break(),
        (Some(seq), "digest_replaced".to_owned())
    );

    let truncated = copy("delete the last chain records");
    truncated.sql(&format!("DELETE FROM chain WHERE seq >= {}", records - 1));
    assert_eq!(truncated.first_break().1, "digest_deleted");

    // Another key: nothing it signed is trusted.
    let other = fixture.path("other.pem");
    succeed(trustpath().args(["keys", "generate", "--out"]).arg(&other));
    let other_public = fixture.path("other.pub.pem");
    let pem = succeed(trustpath().args(["keys", "show", "--key"]).arg(&other));
    std::fs::write(&other_public, pem).unwrap();
    let (holds, report) = fixture.verify(&["--public-key", other_public.to_str().unwrap()]);
    assert!(!holds);
    assert_eq!(
        report["findings"][0]["change"], "bad_signature",
        "{report:#}"
    );
}

#[test]
fn a_retention_purge_verifies_and_a_deletion_without_one_does_not() {
    let fixture = Fixture::new();
    let old_events: i64 = {
        let db = duckdb::Connection::open(&fixture.store).unwrap();
        db.query_row("SELECT count(*) FROM events", [], |row| row.get(0))
            .unwrap()
    };
    std::thread::sleep(std::time::Duration::from_secs(3));
    let newer = fixture.simulate("newer.ndjson", 4);
    fixture.ingest(&newer);

    let purge = |fixture: &Fixture| {
        let out = succeed(
            fixture
                .command()
                .args(["purge", "--json"])
                .env("TRUSTPATH_RETENTION_EVENTS", "2s")
                .env("TRUSTPATH_RETENTION_REJECTED", "2s"),
        );
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let purged = purge(&fixture);
    assert_eq!(purged["events"], old_events, "{purged}");
    assert_eq!(purged["rejected"], 1, "{purged}");
    let (holds, report) = fixture.verify(&[]);
    assert!(holds, "a purge by policy verifies: {report:#}");
    assert_eq!(report["purges"][0]["events"], old_events, "{report:#}");
    let remaining = report["events"].as_i64().unwrap();
    assert!(remaining > 0, "the newer batches stay: {report:#}");

    // Deleting newer rows without a purge record is told apart.
    fixture.sql(
        "DELETE FROM events WHERE batch_id = (SELECT batch_id FROM chain WHERE kind = 'batch' ORDER BY seq DESC LIMIT 1)",
    );
    assert_eq!(fixture.first_break().1, "row_deleted");

    // A purge record whose signature is removed is a deletion dressed as a purge.
    let fixture = Fixture::new();
    std::thread::sleep(std::time::Duration::from_secs(3));
    purge(&fixture);
    fixture.sql("DELETE FROM chain_checkpoints WHERE seq = (SELECT max(seq) FROM chain WHERE kind = 'purge')");
    assert_eq!(fixture.first_break().1, "unsigned_purge");
}
