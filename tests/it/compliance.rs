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
        let fixture = Fixture::empty();
        let events = fixture.simulate("sim.ndjson", 3);
        fixture.ingest(&events);
        fixture
    }

    /// A temporary directory where the store will be; nothing in it yet.
    fn empty() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("trustpath.duckdb");
        Fixture { dir, store }
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

/// [`crate::FULL_EVENT`] under `id`, with values that are easy to store or digest
/// differently: text that JSON escapes, attributes with nesting and numbers of every kind,
/// an empty list, a missing one, NULLs.
fn awkward_event(id: &str) -> String {
    let mut event: Value = serde_json::from_str(crate::FULL_EVENT).unwrap();
    event["id"] = id.into();
    event["attributes"] = serde_json::json!({
        "note": "tab\t quote\" backslash\\ bell\u{7} é ✓ \u{1F600} </script>",
        "numbers": [1.5e300, -0.0, 0.1, 12345678901234567890_u64, -42],
        "nested": {"list": [1, "two", null, true], "empty": {}},
    });
    event["client"]["redirect_uris"] = serde_json::json!([]);
    event["scopes"]["granted"] = Value::Null;
    event["http"]["bytes"] = Value::Null;
    event.to_string()
}

/// Events go into `events` straight from their Arrow batch when none of their ids can be a
/// repeat, and through the staging table's merge otherwise; the chain digests the first as
/// appended and reads the second back. Both paths must store the same row, and the chain
/// must hold for both.
#[test]
fn rows_appended_directly_and_merged_store_alike_and_the_chain_holds() {
    let fixture = Fixture::empty();
    let direct = fixture.path("direct.ndjson");
    std::fs::write(&direct, format!("{}\n", awkward_event("direct-1"))).unwrap();
    fixture.ingest(&direct);
    // A repeated id within the batch sends it through the merge.
    let merged = fixture.path("merged.ndjson");
    let event = awkward_event("merged-1");
    std::fs::write(&merged, format!("{event}\n{event}\n")).unwrap();
    fixture.ingest(&merged);

    let db = duckdb::Connection::open(&fixture.store).unwrap();
    let received_elsewhere: i64 = db
        .query_row(
            "SELECT count(*) FROM events e JOIN ingest_log l USING (batch_id) \
             WHERE e.received_at <> l.received_at",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        received_elsewhere, 0,
        "received_at is the batch's, to the µs"
    );
    let (rows, distinct, attributes): (i64, i64, String) = db
        .query_row(
            "SELECT (SELECT count(*) FROM events), \
                    (SELECT count(*) FROM (SELECT DISTINCT * \
                         EXCLUDE (event_id, raw_sha256, received_at, batch_id) FROM events)), \
                    (SELECT any_value(attributes::VARCHAR) FROM events)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    drop(db);
    assert_eq!((rows, distinct), (2, 1), "both paths store the same row");
    let stored: Value = serde_json::from_str(&attributes).unwrap();
    let mut sent: Value = serde_json::from_str(&awkward_event("x")).unwrap();
    // An unknown top-level field joins the attributes.
    sent["attributes"]["collector_host"] = "gw-7".into();
    assert_eq!(stored, sent["attributes"]);

    let (holds, report) = fixture.verify(&[]);
    assert!(holds, "{report:#}");
    assert_eq!(report["events"], 2, "{report:#}");
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
    let missing = fixture
        .command()
        .args(["verify", "--store", "--store-path"])
        .arg(fixture.path("typo.duckdb"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && stderr.contains("there is no store at"),
        "{stderr}"
    );
    assert!(
        !fixture.path("typo.duckdb").exists(),
        "verify creates nothing"
    );

    // Each tampering on its own copy of the store.
    let copy = |name: &str| {
        let copy = Fixture::empty();
        std::fs::copy(&fixture.store, &copy.store).unwrap();
        std::fs::copy(
            fixture.store.with_extension("signing-key.pem"),
            copy.store.with_extension("signing-key.pem"),
        )
        .unwrap();
        eprintln!("tampering: {name}");
        copy
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

    // No index keeps event ids unique any more: verify says so when one repeats.
    let repeated = copy("store an event a second time in its batch");
    repeated.sql(&format!(
        "INSERT INTO events SELECT * FROM events WHERE event_id = '{event}'"
    ));
    assert_eq!(
        repeated.first_break(),
        (Some(seq), "row_inserted".to_owned())
    );
    let (_, report) = repeated.verify(&[]);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("event id `{event}` is stored 2 times"))),
        "{findings:?}"
    );

    let stray = copy("insert a row under a batch no record names");
    stray.sql(&format!(
        "INSERT INTO events SELECT * REPLACE ('forged-2' AS event_id, uuidv7() AS batch_id) FROM events WHERE event_id = '{event}'"
    ));
    assert_eq!(stray.first_break(), (None, "row_inserted".to_owned()));

    let nameless = copy("insert a row without a batch id");
    nameless.sql(&format!(
        "ALTER TABLE events ALTER batch_id DROP NOT NULL; \
         INSERT INTO events SELECT * REPLACE ('forged-3' AS event_id, NULL AS batch_id) FROM events WHERE event_id = '{event}'"
    ));
    assert_eq!(nameless.first_break(), (None, "row_inserted".to_owned()));

    // A second, self-consistent record at an existing seq (the key dropped first).
    let doubled = copy("add a chain record under an existing seq");
    doubled.sql("CREATE TABLE chain2 AS SELECT * FROM chain; DROP TABLE chain; ALTER TABLE chain2 RENAME TO chain;");
    {
        let db = duckdb::Connection::open(&doubled.store).unwrap();
        let links = chain::load(&db).unwrap();
        let mut forged = links[seq as usize - 1].clone();
        forged.batch_id = Some(uuid::Uuid::now_v7());
        forged.events = 0;
        forged.events_sha256 = trustpath::integrity::canonical::EMPTY_SHA256.to_owned();
        forged.sha256 = forged.expected_sha256();
        db.execute(
            "INSERT INTO chain SELECT * REPLACE (?::UUID AS batch_id, 0 AS events, ? AS events_sha256, ? AS sha256) FROM chain WHERE seq = ?",
            duckdb::params![forged.batch_id.unwrap().to_string(), forged.events_sha256, forged.sha256, seq],
        )
        .unwrap();
    }
    assert_eq!(
        doubled.first_break(),
        (Some(seq), "digest_replaced".to_owned())
    );

    let unsigned = copy("delete every checkpoint");
    unsigned.sql("DELETE FROM chain_checkpoints");
    assert_eq!(unsigned.first_break(), (Some(1), "unsigned".to_owned()));

    // Neither a purge nor an export signs rows that no longer match their batch.
    let laundered = copy("edit a row, then export");
    laundered.sql(&format!(
        "UPDATE events SET scopes_granted = ['admin:all'] WHERE event_id = '{event}'"
    ));
    let output = laundered
        .command()
        .args(["export", "--from", FROM, "--to", TO, "--out"])
        .arg(laundered.path("export"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("the export did not run"),
        "{stderr}"
    );

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

    // Wiping the chain and its signatures, then restarting: the batches committed under
    // the chain are not linked again, so their rows stand out.
    let wiped = copy("wipe the chain and the checkpoints, then restart");
    wiped.sql("DELETE FROM chain; DELETE FROM chain_checkpoints;");
    let more = fixture.simulate("more.ndjson", 9);
    wiped.ingest(&more);
    assert_eq!(wiped.first_break(), (None, "row_inserted".to_owned()));

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

/// The retention the purge tests use.
const RETENTION_SECONDS: u64 = 3;

#[test]
fn a_retention_purge_verifies_and_a_deletion_without_one_does_not() {
    let fixture = Fixture::new();
    let old_events: i64 = {
        let db = duckdb::Connection::open(&fixture.store).unwrap();
        db.query_row("SELECT count(*) FROM events", [], |row| row.get(0))
            .unwrap()
    };
    // The old batches are past the retention when it runs; the newer one, a single small
    // batch committed just before, is well within it (also on a loaded machine).
    std::thread::sleep(std::time::Duration::from_secs(RETENTION_SECONDS + 2));
    let newer = fixture.path("newer.ndjson");
    let lines: Vec<String> = (1..=3)
        .map(|n| crate::event(&format!("newer-{n}")))
        .collect();
    std::fs::write(&newer, lines.join("\n") + "\n").unwrap();
    fixture.ingest(&newer);

    let purge = |fixture: &Fixture| {
        let out = succeed(
            fixture
                .command()
                .args(["purge", "--json"])
                .env(
                    "TRUSTPATH_RETENTION_EVENTS",
                    format!("{RETENTION_SECONDS}s"),
                )
                .env(
                    "TRUSTPATH_RETENTION_REJECTED",
                    format!("{RETENTION_SECONDS}s"),
                ),
        );
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let purged = purge(&fixture);
    assert_eq!(purged["events"], old_events, "{purged}");
    assert_eq!(purged["rejected"], 1, "{purged}");
    let (holds, report) = fixture.verify(&[]);
    assert!(holds, "a purge by policy verifies: {report:#}");
    assert_eq!(report["purges"][0]["events"], old_events, "{report:#}");
    assert_eq!(report["events"], 3, "the newer batch stays: {report:#}");

    // Deleting newer rows without a purge record is told apart.
    fixture.sql(
        "DELETE FROM events WHERE batch_id = (SELECT batch_id FROM chain WHERE kind = 'batch' ORDER BY seq DESC LIMIT 1)",
    );
    assert_eq!(fixture.first_break().1, "row_deleted");

    // A purge refuses to delete batches that no longer match their records.
    let edited = Fixture::new();
    std::thread::sleep(std::time::Duration::from_secs(RETENTION_SECONDS + 2));
    let event = edited.some_event();
    edited.sql(&format!(
        "UPDATE events SET scopes_granted = ['admin:all'] WHERE event_id = '{event}'"
    ));
    let output = edited
        .command()
        .arg("purge")
        .env(
            "TRUSTPATH_RETENTION_EVENTS",
            format!("{RETENTION_SECONDS}s"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("the retention purge did not run"),
        "{stderr}"
    );
    assert_eq!(edited.first_break().1, "row_edited", "nothing was deleted");

    // A purge record whose signature is removed is a deletion dressed as a purge.
    let fixture = Fixture::new();
    std::thread::sleep(std::time::Duration::from_secs(RETENTION_SECONDS + 2));
    purge(&fixture);
    fixture.sql("DELETE FROM chain_checkpoints WHERE seq = (SELECT max(seq) FROM chain WHERE kind = 'purge')");
    assert_eq!(fixture.first_break().1, "unsigned_purge");
}

const FROM: &str = "2026-11-01T00:00:00Z";
const MIDDLE: &str = "2026-11-02T00:00:00Z";
const TO: &str = "2026-11-04T00:00:00Z";

impl Fixture {
    fn export(&self, name: &str, from: &str, to: &str, extra: &[&str]) -> PathBuf {
        let out = self.path(name);
        succeed(
            self.command()
                .args(["export", "--from", from, "--to", to, "--out"])
                .arg(&out)
                .args(extra),
        );
        out
    }

    fn public_key(&self) -> PathBuf {
        let path = self.path("public.pem");
        std::fs::write(&path, succeed(self.command().args(["keys", "show"]))).unwrap();
        path
    }

    /// `verify DIR... --json`: (exit success, the report).
    fn verify_exports(&self, dirs: &[&Path], key: &Path) -> (bool, Value) {
        let output = trustpath()
            .arg("verify")
            .args(dirs)
            .arg("--public-key")
            .arg(key)
            .arg("--json")
            .output()
            .unwrap();
        let report = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.success(), report)
    }

    /// The store's events in [from, to) with every column in a comparable form, against
    /// `source`, a DuckDB table expression over an export: rows only one side has.
    fn rows_differ(&self, source: &str, from: &str, to: &str) -> (i64, i64, i64) {
        let db = duckdb::Connection::open(&self.store).unwrap();
        let mut describe = db.prepare("DESCRIBE events").unwrap();
        let columns: Vec<(String, String)> = describe
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let projection = columns
            .iter()
            .map(|(name, kind)| match kind.as_str() {
                "JSON" => format!("{name}::VARCHAR AS {name}"),
                "VARCHAR[]" => format!("(CASE WHEN typeof({name}) = 'VARCHAR' THEN {name}::VARCHAR::JSON::VARCHAR[] ELSE {name}::VARCHAR[] END) AS {name}"),
                other => format!("CAST({name} AS {other}) AS {name}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let store = format!(
            "SELECT {projection} FROM events WHERE time >= '{from}'::TIMESTAMPTZ AND time < '{to}'::TIMESTAMPTZ"
        );
        let export = format!("SELECT {projection} FROM {source}");
        let count = |sql: &str| -> i64 {
            db.query_row(&format!("SELECT count(*) FROM ({sql})"), [], |row| {
                row.get(0)
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        (
            count(&store),
            count(&format!("{store} EXCEPT ALL {export}")),
            count(&format!("{export} EXCEPT ALL {store}")),
        )
    }
}

#[test]
fn exports_read_back_equal_the_store_and_verify_offline() {
    let fixture = Fixture::new();
    let key = fixture.public_key();

    let parquet = fixture.export("parquet", FROM, TO, &["--by-day", "--rejected"]);
    let csv = fixture.export("csv", FROM, TO, &["--format", "csv"]);
    let jsonl = fixture.export("jsonl", FROM, TO, &["--format", "jsonl"]);
    let ocsf = fixture.export("ocsf", FROM, TO, &["--format", "ocsf"]);
    for dir in [&parquet, &csv, &jsonl, &ocsf] {
        let (holds, report) = fixture.verify_exports(&[dir], &key);
        assert!(holds, "{}: {report:#}", dir.display());
    }
    assert!(
        parquet
            .join("events/day=2026-11-01/events.parquet")
            .is_file()
    );

    let (stored, missing, extra) = fixture.rows_differ(
        &format!(
            "read_parquet('{}/events/*/*.parquet', hive_partitioning = true)",
            parquet.display()
        ),
        FROM,
        TO,
    );
    assert!(stored > 100);
    assert_eq!(
        (missing, extra),
        (0, 0),
        "Parquet export differs from the store"
    );
    // pandas opens them as they are (pyarrow for Parquet, its own reader for CSV).
    let pandas = succeed(Command::new("python3").arg("-c").arg(format!(
        "import pandas as pd\n\
         e = pd.read_parquet('{}/events')\n\
         c = pd.read_csv('{}/events.csv')\n\
         print(len(e), len(c), sorted(e['day'].unique())[0], e['time'].dt.tz)",
        parquet.display(),
        csv.display()
    )));
    assert_eq!(pandas.trim(), format!("{stored} {stored} 2026-11-01 UTC"));
    let (_, missing, extra) = fixture.rows_differ(
        &format!(
            "read_csv('{}/events.csv', header = true, all_varchar = true)",
            csv.display()
        ),
        FROM,
        TO,
    );
    assert_eq!(
        (missing, extra),
        (0, 0),
        "CSV export differs from the store"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(ocsf.join("manifest.json")).unwrap())
            .unwrap();
    let ocsf_events = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "events.ocsf.jsonl")
        .unwrap();
    assert_eq!(ocsf_events["rows"], stored);

    // A filtered export holds exactly the subject's events.
    let (subject, count): (String, usize) = {
        let db = duckdb::Connection::open(&fixture.store).unwrap();
        db.query_row(
            "SELECT subject, count(*) FROM events WHERE subject IS NOT NULL \
             GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
    };
    let filtered = fixture.export(
        "filtered",
        FROM,
        TO,
        &["--format", "jsonl", "--subject", &subject],
    );
    let lines: Vec<Value> = std::fs::read_to_string(filtered.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), count);
    assert!(lines.iter().all(|e| e["subject"] == subject.as_str()));
    let (holds, report) = fixture.verify_exports(&[&filtered], &key);
    assert!(holds, "{report:#}");

    // One byte changed in any file, a file removed or added, another key: each named.
    let tampered = |name: &str, change: &dyn Fn(&Path)| -> Value {
        let dir = fixture.path(name);
        copy_dir(&csv, &dir);
        change(&dir);
        let (holds, report) = fixture.verify_exports(&[&dir], &key);
        assert!(!holds, "{name}: {report:#}");
        report["exports"][0]["problems"].clone()
    };
    for file in [
        "events.csv",
        "connections.csv",
        "chain.jsonl",
        "manifest.json",
    ] {
        let problems = tampered(&format!("flip-{file}"), &|dir| {
            let path = dir.join(file);
            let mut bytes = std::fs::read(&path).unwrap();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            std::fs::write(&path, bytes).unwrap();
        });
        let expected = if file == "manifest.json" {
            "bad_signature"
        } else {
            "file_changed"
        };
        assert!(
            problems
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["problem"] == expected),
            "{file}: {problems:#}"
        );
    }
    let problems = tampered("removed", &|dir| {
        std::fs::remove_file(dir.join("alerts.csv")).unwrap()
    });
    assert_eq!(problems[0]["problem"], "file_missing", "{problems:#}");
    assert_eq!(problems[0]["path"], "alerts.csv");
    let problems = tampered("added", &|dir| {
        std::fs::write(dir.join("extra.csv"), "a\n1\n").unwrap()
    });
    assert_eq!(problems[0]["problem"], "file_added", "{problems:#}");

    let other = Fixture::new();
    let (holds, report) = fixture.verify_exports(&[&csv], &other.public_key());
    assert!(!holds);
    assert_eq!(
        report["exports"][0]["problems"][0]["problem"], "bad_signature",
        "{report:#}"
    );
    let problems = tampered("resigned", &|dir| {
        // Signed by another store's key over the same bytes: still not the trusted key.
        let foreign = other.export("foreign", FROM, TO, &["--format", "csv"]);
        std::fs::copy(foreign.join("manifest.sig"), dir.join("manifest.sig")).unwrap();
    });
    assert_eq!(problems[0]["problem"], "bad_signature", "{problems:#}");

    // Consecutive exports: adjoining windows join; a missing day is a gap.
    let first = fixture.export("day1", FROM, MIDDLE, &[]);
    let second = fixture.export("day2", MIDDLE, TO, &[]);
    let (holds, report) = fixture.verify_exports(&[&second, &first], &key);
    assert!(holds, "{report:#}");
    let third = fixture.export("day3", "2026-11-03T00:00:00Z", TO, &[]);
    let (holds, report) = fixture.verify_exports(&[&first, &third], &key);
    assert!(!holds);
    assert_eq!(report["between"][0]["problem"], "gap", "{report:#}");

    // An event of the first window that arrives after the first export was made is in
    // neither export: the next export's manifest says so.
    let late = fixture.path("late.ndjson");
    let mut event: Value = serde_json::from_str(&crate::event("late-1")).unwrap();
    event["time"] = "2026-11-01T12:00:00Z".into();
    std::fs::write(&late, format!("{event}\n")).unwrap();
    fixture.ingest(&late);
    let after_late = fixture.export("day2-after-late", MIDDLE, TO, &[]);
    let (holds, report) = fixture.verify_exports(&[&first, &after_late], &key);
    assert!(!holds, "{report:#}");
    let detail = report["between"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("1 events from before"), "{detail}");
    let again = fixture.export("day1-again", FROM, MIDDLE, &[]);
    let (holds, report) = fixture.verify_exports(&[&again, &after_late], &key);
    assert!(
        holds,
        "exported again, the first window holds it: {report:#}"
    );

    // A backfilled event from before both windows is no gap between them.
    let backfill = fixture.path("backfill.ndjson");
    event["id"] = "backfill-1".into();
    event["time"] = "2026-10-15T12:00:00Z".into();
    std::fs::write(&backfill, format!("{event}\n")).unwrap();
    fixture.ingest(&backfill);
    let after_backfill = fixture.export("day2-after-backfill", MIDDLE, TO, &[]);
    let (holds, report) = fixture.verify_exports(&[&again, &after_backfill], &key);
    assert!(holds, "{report:#}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_job_over_the_api_downloads_and_verifies_offline() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::harness::TestApp::start(crate::harness::test_config(dir.path())).await;
    succeed(trustpath().args(["simulate", "--flows", "10", "--http", &app.base]));

    let post = |body: Value| {
        let request = app
            .http
            .post(format!("{}/v1/exports", app.base))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, bad) = post(serde_json::json!({"from": TO, "to": FROM})).await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("the window is empty"),
        "{bad}"
    );
    let (status, job) =
        post(serde_json::json!({"from": FROM, "to": TO, "format": "jsonl", "rejected": true}))
            .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let job = crate::harness::eventually("the export finishes", || {
        let app = &app;
        let id = id.clone();
        async move {
            let (_, job) = app.get(&format!("/v1/exports/{id}")).await;
            (job["status"] != "running").then_some(job)
        }
    })
    .await;
    assert_eq!(job["status"], "done", "{job:#}");

    let local = dir.path().join("downloaded");
    let mut names: Vec<String> = job["manifest"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    names.extend(["manifest.json".to_owned(), "manifest.sig".to_owned()]);
    for name in &names {
        let response = app
            .http
            .get(format!("{}/v1/exports/{id}/files/{name}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let path = local.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, response.bytes().await.unwrap()).unwrap();
    }
    let (status, _) = app
        .get(&format!("/v1/exports/{id}/files/..%2Ftrustpath.duckdb"))
        .await;
    assert_eq!(status, 404, "only the export's listed files are served");

    let public = dir.path().join("public.pem");
    let pem = succeed(
        trustpath()
            .args(["keys", "show", "--key"])
            .arg(dir.path().join("trustpath.signing-key.pem")),
    );
    std::fs::write(&public, pem).unwrap();
    app.stop().await;
    let out = succeed(
        trustpath()
            .arg("verify")
            .arg(&local)
            .arg("--public-key")
            .arg(&public),
    );
    assert!(out.contains("RESULT: the export holds."), "{out}");
}

#[test]
fn the_review_report_shows_drift_violations_and_how_alerts_were_resolved() {
    let fixture = Fixture::empty();
    let events = fixture.path("sim.ndjson");
    succeed(
        trustpath()
            .args([
                "simulate",
                "--flows",
                "30",
                "--seed",
                "5",
                "--attacks",
                "TP001",
                "--out",
            ])
            .arg(&events),
    );
    fixture.ingest(&events);
    let alerts: Value =
        serde_json::from_str(&succeed(fixture.command().args(["alerts", "--json"]))).unwrap();
    let alert = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule_id"] == "TP001")
        .unwrap_or_else(|| panic!("TP001 raised: {alerts:#}"));
    succeed(fixture.command().args([
        "alert",
        alert["alert_id"].as_str().unwrap(),
        "--set",
        "resolved",
        "--by",
        "alice@sec",
        "--note",
        "rotation <confirmed> with vendor",
    ]));

    let markdown = succeed(
        fixture
            .command()
            .args(["report", "--from", FROM, "--to", TO]),
    );
    for heading in [
        "## Clients approved",
        "## Scopes held per resource",
        "## Trust-path violations",
        "## Alerts and their resolution",
        "## Coverage: sources",
        "## Coverage: ingestion",
    ] {
        assert!(markdown.contains(heading), "{heading}:\n{markdown}");
    }
    assert!(markdown.contains("DRIFT: 2 documents"), "{markdown}");
    assert!(markdown.contains("| client_document |"), "{markdown}");
    let resolved = markdown
        .lines()
        .find(|l| l.starts_with("| TP001 |"))
        .unwrap_or_else(|| panic!("{markdown}"));
    assert!(
        resolved.contains("| resolved | alice@sec | rotation &lt;confirmed> with vendor |"),
        "{resolved}"
    );

    // An export's alerts carry the same current status.
    let export = fixture.export("export", FROM, TO, &["--format", "csv"]);
    let db = duckdb::Connection::open_in_memory().unwrap();
    let status: String = db
        .query_row(
            &format!(
                "SELECT status FROM read_csv('{}/alerts.csv', header = true) WHERE alert_id = ?",
                export.display()
            ),
            [alert["alert_id"].as_str().unwrap()],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(status, "resolved");

    let html_path = fixture.path("report.html");
    succeed(
        fixture
            .command()
            .args([
                "report", "--from", FROM, "--to", TO, "--format", "html", "--out",
            ])
            .arg(&html_path),
    );
    let html = std::fs::read_to_string(html_path).unwrap();
    assert!(
        html.contains("rotation &lt;confirmed&gt; with vendor"),
        "escaped"
    );
    assert!(!html.contains("<confirmed>"));
}

#[test]
fn a_store_from_before_the_chain_gets_its_batches_linked_at_first_start() {
    let fixture = Fixture::new();
    let (_, before) = fixture.verify(&[]);
    // Back to schema 4: no chain at all.
    fixture.sql(
        "DROP TABLE chain; DROP TABLE chain_checkpoints; DELETE FROM schema_migrations WHERE version >= 5;",
    );
    // Whichever command opens it first links the earlier batches (here: report).
    succeed(
        fixture
            .command()
            .args(["report", "--from", FROM, "--to", TO]),
    );
    let (holds, linked) = fixture.verify(&["--require-signed-head"]);
    assert!(!holds, "not signed until a writer runs: {linked:#}");
    assert_eq!(linked["findings"][0]["change"], "unsigned", "{linked:#}");
    assert_eq!(linked["events"], before["events"], "{linked:#}");
    let more = fixture.simulate("more.ndjson", 8);
    fixture.ingest(&more);
    let (holds, after) = fixture.verify(&["--require-signed-head"]);
    assert!(holds, "{after:#}");
    assert!(
        after["batches"].as_i64().unwrap() > before["batches"].as_i64().unwrap(),
        "the earlier batches and the new ones: {after:#}"
    );
    assert!(after["events"].as_i64().unwrap() > before["events"].as_i64().unwrap());
    assert_eq!(after["rejected"], 2, "one rejected line from each ingest");
}

/// `(storage version, compression of connections.trust_path)` of a closed store file.
fn storage_of(store: &Path) -> (String, String) {
    let db = duckdb::Connection::open(store).unwrap();
    db.query_row(
        "SELECT (SELECT tags['storage_version'] FROM duckdb_databases() \
                 WHERE database_name = current_database()), \
                (SELECT string_agg(DISTINCT compression) FROM pragma_storage_info('connections') \
                 WHERE column_name = 'trust_path' AND segment_type <> 'VALIDITY')",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .unwrap()
}

/// Every table's row count and an order-independent hash of its rows.
fn contents(store: &Path) -> Vec<(String, i64, i64)> {
    let db = duckdb::Connection::open(store).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT table_name FROM duckdb_tables() ORDER BY 1")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|table| {
            let (rows, hash) = db
                .query_row(
                    &format!("SELECT count(*), coalesce(sum(hash(t) % 1000003), 0) FROM {table} t"),
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            (table, rows, hash)
        })
        .collect()
}

/// The indexes and constraints of a store file, sorted.
fn schema(store: &Path) -> Vec<String> {
    let db = duckdb::Connection::open(store).unwrap();
    let mut schema: Vec<String> = db
        .prepare(
            "SELECT sql FROM duckdb_indexes() UNION ALL \
             SELECT table_name || ': ' || constraint_text FROM duckdb_constraints()",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    schema.sort();
    schema
}

#[test]
fn compact_rewrites_an_old_format_store_row_for_row_and_it_still_verifies() {
    // A new store is written in the current format, its trust paths compressed.
    let fresh = Fixture::new();
    let (version, compression) = storage_of(&fresh.store);
    assert!(version.starts_with("v1.5"), "{version}");
    assert_eq!(compression, "ZSTD");

    // A store created before trustpath chose the format (DuckDB's v1.0 default).
    let old = Fixture::empty();
    duckdb::Connection::open(&old.store).unwrap();
    let events = old.simulate("sim.ndjson", 3);
    old.ingest(&events);
    let (version, compression) = storage_of(&old.store);
    assert!(version.starts_with("v1.0"), "{version}");
    assert_eq!(compression, "Uncompressed");

    let out = old.path("compacted.duckdb");
    let said = succeed(old.command().args(["compact", "--json", "--out"]).arg(&out));
    let said: Value = serde_json::from_str(&said).unwrap();
    assert!(said["events"].as_i64().unwrap() > 100, "{said:#}");
    let (version, compression) = storage_of(&out);
    assert!(version.starts_with("v1.5"), "{version}");
    assert_eq!(compression, "ZSTD");
    assert_eq!(contents(&out), contents(&old.store));
    let indexes = schema(&out);
    assert!(
        indexes
            .iter()
            .any(|s| s.contains("connection_tokens_token_id")),
        "{indexes:?}"
    );
    assert_eq!(indexes, schema(&old.store));

    // The key came along, so the copy verifies as the original did.
    assert_eq!(
        said["signing_key"].as_str().map(PathBuf::from),
        Some(old.path("compacted.signing-key.pem"))
    );
    let compacted = Fixture {
        dir: old.dir,
        store: out,
    };
    let (holds, report) = compacted.verify(&["--require-signed-head"]);
    assert!(holds, "{report:#}");
    assert_eq!(report["events"], said["events"], "{report:#}");
    // The original store, for the cases below.
    let old_command = |fixture: &Fixture| {
        let mut command = fixture.command();
        command.env("TRUSTPATH_STORE_PATH", fixture.path("trustpath.duckdb"));
        command
    };

    // A new file whose key path is the store's own key leaves that key as it is; a key in
    // the way of the copy stops the compaction before anything is written.
    let key = std::fs::read(compacted.path("trustpath.signing-key.pem")).unwrap();
    let beside = compacted.path("trustpath.new");
    let said = succeed(
        old_command(&compacted)
            .args(["compact", "--json", "--out"])
            .arg(&beside),
    );
    let said: Value = serde_json::from_str(&said).unwrap();
    assert_eq!(
        said["signing_key"].as_str().map(PathBuf::from),
        Some(compacted.path("trustpath.signing-key.pem"))
    );
    assert_eq!(
        std::fs::read(compacted.path("trustpath.signing-key.pem")).unwrap(),
        key
    );
    std::fs::write(
        compacted.path("other.signing-key.pem"),
        "not this store's key",
    )
    .unwrap();
    let blocked = old_command(&compacted)
        .args(["compact", "--out"])
        .arg(compacted.path("other.duckdb"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(
        !blocked.status.success() && stderr.contains("signing key"),
        "{stderr}"
    );
    assert!(!compacted.path("other.duckdb").exists());

    // An existing file is never overwritten.
    let again = compacted
        .command()
        .args(["compact", "--out"])
        .arg(&compacted.store)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && stderr.contains("exists"),
        "{stderr}"
    );
}
