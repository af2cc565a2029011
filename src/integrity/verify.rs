//! `trustpath verify --store`: recompute the chain from the rows as stored and say what
//! holds, and for what does not, the first broken link and the kind of change it shows.
//!
//! [`check_links`] needs only the records and checkpoints, so an export's `chain.jsonl` is
//! checked by the same code offline; [`verify_store`] adds the rows and the purges, and
//! [`check_batches`] re-hashes batches (also before a purge deletes them and before an
//! export signs them, so neither launders an earlier change).

use std::collections::HashMap;
use std::fmt;

use duckdb::Connection;
use serde::Serialize;

use super::chain::{self, Checkpoint, GENESIS, Link, LinkKind, Table};
use super::keys::PublicKey;
use crate::store::StoreError;

const UNCHAINED: &str = include_str!("../../queries/integrity/unchained.sql");
const REPEATED_IDS: &str = include_str!("../../queries/integrity/repeated_ids.sql");

/// The kind of change a broken link shows (printed as its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A batch's rows no longer hash to its digest, with as many rows as recorded.
    RowEdited,
    /// A batch has fewer rows than recorded, and no purge explains it.
    RowDeleted,
    /// A batch has more rows than recorded, or rows name a batch no record knows.
    RowInserted,
    /// Chain records are out of the order they were written in.
    Reordered,
    /// A chain record, or a purge record, no longer is the one written (the head signed
    /// later says so when the whole rest of the chain was recomputed), or one was added.
    DigestReplaced,
    /// Chain records are missing.
    DigestDeleted,
    /// A checkpoint's signature does not verify with the trusted key.
    BadSignature,
    /// Records no checkpoint signs: none at all, or (when a signed head is required) the
    /// newest ones.
    Unsigned,
    /// A purge record without a valid signature: a deletion dressed as a purge.
    UnsignedPurge,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::RowEdited => "row_edited",
            Change::RowDeleted => "row_deleted",
            Change::RowInserted => "row_inserted",
            Change::Reordered => "reordered",
            Change::DigestReplaced => "digest_replaced",
            Change::DigestDeleted => "digest_deleted",
            Change::BadSignature => "bad_signature",
            Change::Unsigned => "unsigned",
            Change::UnsignedPurge => "unsigned_purge",
        })
    }
}

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The chain record it concerns; None for rows no record names.
    pub seq: Option<i64>,
    pub change: Change,
    pub detail: String,
}

impl Finding {
    pub fn new(seq: impl Into<Option<i64>>, change: Change, detail: impl Into<String>) -> Self {
        Finding {
            seq: seq.into(),
            change,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "seq {seq}: {}: {}", self.change, self.detail),
            None => write!(f, "{}: {}", self.change, self.detail),
        }
    }
}

/// What the records and their signatures say, before looking at rows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinksCheck {
    pub records: usize,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    pub checkpoints: usize,
    /// The highest seq whose head is signed by the trusted key and matches.
    pub signed_through: Option<i64>,
    pub findings: Vec<Finding>,
}

impl LinksCheck {
    /// Records after the last signed head: protected by the chain alone.
    pub fn unsigned_tail(&self) -> i64 {
        match (self.last_seq, self.signed_through) {
            (Some(last), Some(signed)) => (last - signed).max(0),
            (Some(_), None) => self.records as i64,
            _ => 0,
        }
    }
}

/// Which records no checkpoint signs are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsigned {
    /// None: the head must be signed (`verify --store --require-signed-head`).
    Refused,
    /// The newest, after the last checkpoint (a running or crashed trustpath), but not all.
    Tail,
    /// All: something else signs them (an export's manifest).
    Allowed,
}

/// Checks the records' own hashes, their order and links, and the checkpoints against
/// `key`. `prev` is the hash the first record must follow: [`GENESIS`] for a whole chain,
/// the record before for a slice.
pub fn check_links(
    links: &[Link],
    checkpoints: &[Checkpoint],
    key: &PublicKey,
    prev: &str,
    unsigned: Unsigned,
) -> LinksCheck {
    let mut findings = check_order(links, prev);
    let signed_through = check_checkpoints(links, checkpoints, key, &mut findings);
    for purge in links.iter().filter(|l| l.kind == LinkKind::Purge) {
        let signed = checkpoints.iter().any(|c| {
            c.seq == purge.seq
                && c.sha256 == purge.sha256
                && c.public_key == key.key_id()
                && c.verifies(key)
        });
        if !signed {
            findings.push(Finding::new(
                purge.seq,
                Change::UnsignedPurge,
                "the purge record carries no valid signature of the trusted key",
            ));
        }
    }
    let mut check = LinksCheck {
        records: links.len(),
        first_seq: links.first().map(|l| l.seq),
        last_seq: links.last().map(|l| l.seq),
        checkpoints: checkpoints.len(),
        signed_through,
        findings,
    };
    let tail = check.unsigned_tail();
    let refused = match unsigned {
        Unsigned::Refused => true,
        Unsigned::Tail => signed_through.is_none(),
        Unsigned::Allowed => false,
    };
    if tail > 0 && refused {
        let first = signed_through.map_or(check.first_seq.unwrap_or(1), |s| s + 1);
        check.findings.push(Finding::new(
            first,
            Change::Unsigned,
            format!(
                "no valid checkpoint signs records {first}..{}: they could have been rewritten \
                 (trustpath signs the head when it stops; a crash leaves the newest unsigned)",
                check.last_seq.unwrap_or(first)
            ),
        ));
    }
    check.findings.sort_by_key(|f| (f.seq.is_none(), f.seq));
    check.findings.dedup();
    check
}

/// Each record's own hash, its seq after the one before, and its link to it.
fn check_order(links: &[Link], prev: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    // Where each record was written: before the one naming it, after the one it names.
    let successor: HashMap<&str, i64> = links
        .iter()
        .map(|l| (l.prev_sha256.as_str(), l.seq))
        .collect();
    let by_sha: HashMap<&str, &Link> = links.iter().map(|l| (l.sha256.as_str(), l)).collect();
    let mut batches: HashMap<uuid::Uuid, i64> = HashMap::new();
    if let Some(first) = links.first()
        && prev == GENESIS
        && first.seq > 1
    {
        findings.push(Finding::new(
            1,
            Change::DigestDeleted,
            format!("chain records 1..{} are missing", first.seq - 1),
        ));
    }
    let mut previous: Option<&Link> = None;
    for link in links {
        if let Some(batch_id) = link.batch_id
            && let Some(first) = batches.insert(batch_id, link.seq)
        {
            findings.push(Finding::new(
                link.seq,
                Change::DigestReplaced,
                format!(
                    "batch {batch_id} is named by records {first} and {} (one was added)",
                    link.seq
                ),
            ));
        }
        match previous {
            Some(p) if link.seq <= p.seq => {
                findings.push(Finding::new(
                    link.seq,
                    Change::DigestReplaced,
                    format!("two records claim seq {} (one was added)", link.seq),
                ));
                continue;
            }
            Some(p) if link.seq > p.seq + 1 => findings.push(Finding::new(
                p.seq + 1,
                Change::DigestDeleted,
                format!(
                    "chain records {}..{} are missing: seq {} follows seq {}",
                    p.seq + 1,
                    link.seq - 1,
                    link.seq,
                    p.seq
                ),
            )),
            _ => {}
        }
        if link.expected_sha256() != link.sha256 {
            let candidates = [
                successor.get(link.sha256.as_str()).map(|s| s - 1),
                by_sha.get(link.prev_sha256.as_str()).map(|p| p.seq + 1),
            ];
            let written_at = candidates.into_iter().flatten().find(|&at| {
                at != link.seq
                    && Link {
                        seq: at,
                        ..link.clone()
                    }
                    .expected_sha256()
                        == link.sha256
            });
            findings.push(match written_at {
                Some(at) => Finding::new(
                    link.seq,
                    Change::Reordered,
                    format!(
                        "the record stored at seq {} was written as seq {at}",
                        link.seq
                    ),
                ),
                None => Finding::new(
                    link.seq,
                    Change::DigestReplaced,
                    "the record's fields no longer hash to its sha256 (edited in place)",
                ),
            });
        } else {
            let expected_prev = match previous {
                Some(p) if p.seq + 1 == link.seq => Some(p.sha256.as_str()),
                Some(_) => None, // a gap, reported above
                None if link.seq == 1 || prev != GENESIS => Some(prev),
                None => None, // the missing first records, reported above
            };
            if let Some(expected_prev) = expected_prev.filter(|e| *e != link.prev_sha256) {
                findings.push(match (by_sha.get(link.prev_sha256.as_str()), previous) {
                    (Some(other), _) => Finding::new(
                        link.seq,
                        Change::Reordered,
                        format!(
                            "seq {} was written after seq {}, not after seq {}",
                            link.seq,
                            other.seq,
                            link.seq - 1
                        ),
                    ),
                    (None, Some(_)) => Finding::new(
                        link.seq - 1,
                        Change::DigestReplaced,
                        format!(
                            "seq {} was written after a record with sha256 {}, which is not the \
                             record at seq {} now (its digest was replaced and re-hashed)",
                            link.seq,
                            short(&link.prev_sha256),
                            link.seq - 1
                        ),
                    ),
                    (None, None) => Finding::new(
                        link.seq,
                        Change::DigestReplaced,
                        format!(
                            "the first record follows {}, expected {}",
                            short(&link.prev_sha256),
                            short(expected_prev)
                        ),
                    ),
                });
            }
        }
        previous = Some(link);
    }
    findings
}

/// Each checkpoint against the trusted key and the record it signed; returns the highest
/// seq whose signed head holds.
fn check_checkpoints(
    links: &[Link],
    checkpoints: &[Checkpoint],
    key: &PublicKey,
    findings: &mut Vec<Finding>,
) -> Option<i64> {
    let by_seq: HashMap<i64, &Link> = links.iter().map(|l| (l.seq, l)).collect();
    let by_sha: HashMap<&str, &Link> = links.iter().map(|l| (l.sha256.as_str(), l)).collect();
    let last_seq = links.last().map(|l| l.seq);
    let mut signed_through = None;
    for checkpoint in checkpoints {
        let seq = checkpoint.seq;
        if checkpoint.public_key != key.key_id() {
            findings.push(Finding::new(
                seq,
                Change::BadSignature,
                format!(
                    "the checkpoint names key {}, not the trusted key {} (the wrong \
                     --public-key, or the store's key was replaced)",
                    short(&checkpoint.public_key),
                    short(&key.key_id())
                ),
            ));
            continue;
        }
        if !checkpoint.verifies(key) {
            findings.push(Finding::new(
                seq,
                Change::BadSignature,
                "the checkpoint's signature does not verify (the checkpoint was edited)",
            ));
            continue;
        }
        match by_seq.get(&seq) {
            None if last_seq.is_some_and(|last| last > seq) => findings.push(Finding::new(
                seq,
                Change::DigestDeleted,
                "the signed head's record is missing",
            )),
            None => findings.push(Finding::new(
                seq,
                Change::DigestDeleted,
                format!(
                    "a head at seq {seq} was signed, but the chain ends before it (records \
                     were removed from its end)"
                ),
            )),
            Some(link) if link.sha256 != checkpoint.sha256 => {
                findings.push(match by_sha.get(checkpoint.sha256.as_str()) {
                    Some(moved) => Finding::new(
                        seq,
                        Change::Reordered,
                        format!(
                            "the head signed at seq {seq} is stored at seq {} now",
                            moved.seq
                        ),
                    ),
                    None => Finding::new(
                        seq,
                        Change::DigestReplaced,
                        format!(
                            "the head signed at {} was {}, the chain has {} there now: the \
                             chain was recomputed up to here",
                            checkpoint.signed_at.to_rfc3339(),
                            short(&checkpoint.sha256),
                            short(&link.sha256)
                        ),
                    ),
                })
            }
            Some(_) => signed_through = signed_through.max(Some(seq)),
        }
    }
    signed_through
}

/// A purge, as `verify` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeSummary {
    pub seq: i64,
    pub events_before: Option<chrono::DateTime<chrono::Utc>>,
    pub rejected_before: Option<chrono::DateTime<chrono::Utc>>,
    pub events: i64,
    pub rejected: i64,
}

/// The answer of `verify --store`.
#[derive(Debug, Clone, Serialize)]
pub struct StoreVerification {
    pub key: String,
    pub batches: usize,
    pub events: i64,
    pub rejected: i64,
    pub purges: Vec<PurgeSummary>,
    #[serde(flatten)]
    pub links: LinksCheck,
}

impl StoreVerification {
    pub fn holds(&self) -> bool {
        self.links.findings.is_empty()
    }
}

/// Rows of the batches checked, and what does not match.
#[derive(Debug, Default)]
pub struct BatchesCheck {
    pub events: i64,
    pub rejected: i64,
    pub findings: Vec<Finding>,
}

/// Re-hashes the rows of each of `batches` and compares them with its record. `links`
/// holds them and the records after them: a batch a later purge covers must have no rows
/// left in the purged table.
pub fn check_batches(
    db: &Connection,
    links: &[Link],
    batches: &[&Link],
) -> Result<BatchesCheck, StoreError> {
    let mut check = BatchesCheck::default();
    let purges = chain::purges(links);
    for link in batches.iter().filter(|l| l.kind == LinkKind::Batch) {
        let Some(batch_id) = link.batch_id else {
            check.findings.push(Finding::new(
                link.seq,
                Change::DigestReplaced,
                "a batch record without a batch id",
            ));
            continue;
        };
        for table in Table::ALL {
            let now = table.digest(db, batch_id)?;
            match table {
                Table::Events => check.events += now.rows,
                Table::Rejected => check.rejected += now.rows,
            }
            let (rows, sha256) = link.rows(table);
            let name = table.as_str();
            let finding = |change, detail: String| Finding::new(link.seq, change, detail);
            if let Some(purge) = chain::purging(&purges, link, table) {
                if now.rows > 0 {
                    check.findings.push(finding(
                        Change::RowInserted,
                        format!(
                            "{} {name} rows of batch {batch_id} are present, though purge seq {} \
                             deleted that batch's rows",
                            now.rows, purge.seq
                        ),
                    ));
                }
                continue;
            }
            if now.rows == rows && now.sha256 == sha256 {
                continue;
            }
            check.findings.push(if now.rows < rows {
                finding(
                    Change::RowDeleted,
                    format!(
                        "batch {batch_id} has {} of its {rows} {name} rows; no purge covers it",
                        now.rows
                    ),
                )
            } else if now.rows > rows {
                finding(
                    Change::RowInserted,
                    format!(
                        "batch {batch_id} has {} {name} rows, {rows} were committed",
                        now.rows
                    ),
                )
            } else {
                finding(
                    Change::RowEdited,
                    format!(
                        "the {rows} {name} rows of batch {batch_id} no longer hash to the digest \
                         recorded at commit ({} now, {} then)",
                        short(&now.sha256),
                        short(sha256)
                    ),
                )
            });
        }
    }
    Ok(check)
}

/// Each purge record against the batch records it covers: their digest, and rows deleted
/// against rows committed.
fn check_purges(links: &[Link]) -> (Vec<Finding>, Vec<PurgeSummary>) {
    let mut findings = Vec::new();
    let mut purges = Vec::new();
    let all = chain::purges(links);
    for purge in all.iter().copied() {
        for table in Table::ALL {
            let covered = chain::newly_covered(links, &all, purge, table);
            let committed: i64 = covered.iter().map(|l| l.rows(table).0).sum();
            let (deleted, digest) = purge.rows(table);
            let name = table.as_str();
            if chain::covered_digest(&covered, table) != digest {
                findings.push(Finding::new(
                    purge.seq,
                    Change::DigestReplaced,
                    format!("the purge record does not name the {name} batches it covers"),
                ));
            } else if deleted != committed {
                let (change, how) = if deleted < committed {
                    (Change::RowDeleted, "deleted before it")
                } else {
                    (Change::RowInserted, "inserted before it")
                };
                findings.push(Finding::new(
                    purge.seq,
                    change,
                    format!(
                        "the purge deleted {deleted} {name} rows of batches that committed \
                         {committed}: {} were {how}",
                        (committed - deleted).abs()
                    ),
                ));
            }
        }
        purges.push(PurgeSummary {
            seq: purge.seq,
            events_before: purge.events_before,
            rejected_before: purge.rejected_before,
            events: purge.events,
            rejected: purge.rejected,
        });
    }
    (findings, purges)
}

/// Recomputes every batch's digests from the rows as stored and checks the chain, the
/// purges and the checkpoints against `key`.
pub fn verify_store(
    db: &Connection,
    key: &PublicKey,
    unsigned: Unsigned,
) -> Result<StoreVerification, StoreError> {
    let links = chain::load(db)?;
    let checkpoints = chain::checkpoints(db)?;
    let mut check = check_links(&links, &checkpoints, key, GENESIS, unsigned);
    let all: Vec<&Link> = links.iter().collect();
    let batches = check_batches(db, &links, &all)?;
    let (events, rejected) = (batches.events, batches.rejected);
    let mut findings = batches.findings;
    let (purge_findings, purges) = check_purges(&links);
    findings.extend(purge_findings);
    findings.extend(rows_inserted(db, UNCHAINED, |table, batch_id, rows| {
        format!("{rows} {table} rows carry batch id {batch_id}, which no chain record names")
    })?);
    findings.extend(rows_inserted(
        db,
        REPEATED_IDS,
        |event_id, batches, copies| {
            format!(
                "event id `{event_id}` is stored {copies} times (batches {batches}); the writer \
             stores an id once"
            )
        },
    )?);
    check.findings.extend(findings);
    check.findings.sort_by_key(|f| (f.seq.is_none(), f.seq));
    Ok(StoreVerification {
        key: key.key_id(),
        batches: links.iter().filter(|l| l.kind == LinkKind::Batch).count(),
        events,
        rejected,
        purges,
        links: check,
    })
}

/// A `row_inserted` finding, no record's, for each row of `query`: two texts and a count,
/// worded by `detail`.
fn rows_inserted(
    db: &Connection,
    query: &str,
    detail: impl Fn(String, String, i64) -> String,
) -> Result<Vec<Finding>, StoreError> {
    let mut statement = db.prepare(query)?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.map(|row| {
        let (a, b, n) = row?;
        Ok(Finding::new(None, Change::RowInserted, detail(a, b, n)))
    })
    .collect()
}

impl fmt::Display for StoreVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let links = &self.links;
        match (links.first_seq, links.last_seq) {
            (Some(first), Some(last)) => writeln!(
                f,
                "chain: {} records (seq {first}..{last}): {} batches, {} purges",
                links.records,
                self.batches,
                self.purges.len()
            )?,
            _ => writeln!(f, "chain: empty (nothing committed yet)")?,
        }
        writeln!(
            f,
            "rows: {} events and {} rejected records, each batch's rows re-hashed",
            self.events, self.rejected
        )?;
        write_signatures(f, links, &self.key)?;
        for purge in &self.purges {
            let cut = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
            };
            writeln!(
                f,
                "purge: seq {} deleted {} events (batches before {}) and {} rejected (before {})",
                purge.seq,
                purge.events,
                cut(purge.events_before),
                purge.rejected,
                cut(purge.rejected_before)
            )?;
        }
        write_result(f, &links.findings, "the store")
    }
}

/// The signature line of a verify report.
pub(crate) fn write_signatures(
    f: &mut fmt::Formatter<'_>,
    links: &LinksCheck,
    key: &str,
) -> fmt::Result {
    let unsigned = match (links.signed_through, links.last_seq) {
        (Some(signed), Some(last)) => last - signed,
        (None, Some(_)) => links.records as i64,
        _ => 0,
    };
    match links.signed_through {
        Some(signed) => writeln!(
            f,
            "signatures: {} checkpoints; key {} signed the head through seq {signed}{}",
            links.checkpoints,
            short(key),
            if unsigned > 0 {
                format!(" ({unsigned} later records not signed yet)")
            } else {
                String::new()
            }
        ),
        None => writeln!(
            f,
            "signatures: no valid checkpoint of key {}; {unsigned} records unsigned",
            short(key)
        ),
    }
}

/// The verdict lines of a verify report.
pub(crate) fn write_result(
    f: &mut fmt::Formatter<'_>,
    findings: &[Finding],
    what: &str,
) -> fmt::Result {
    let Some((first, rest)) = findings.split_first() else {
        return writeln!(f, "RESULT: {what} holds.");
    };
    writeln!(f, "RESULT: {what} does NOT hold.")?;
    writeln!(f, "first broken link: {first}")?;
    for finding in rest {
        writeln!(f, "  also: {finding}")?;
    }
    Ok(())
}

/// The first 12 hex digits: enough to tell digests apart in a report.
pub(crate) fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::integrity::Signer;
    use crate::integrity::canonical::EMPTY_SHA256;

    /// A chain of `n` batch records, and a checkpoint of its head.
    fn chain(n: i64, signer: &Signer) -> (Vec<Link>, Vec<Checkpoint>) {
        let mut links: Vec<Link> = Vec::new();
        for seq in 1..=n {
            let link = Link {
                seq,
                kind: LinkKind::Batch,
                batch_id: Some(uuid::Uuid::now_v7()),
                recorded_at: Utc.timestamp_opt(1_800_000_000 + seq, 0).unwrap(),
                events: seq,
                events_sha256: format!("{seq:064x}"),
                rejected: 0,
                rejected_sha256: EMPTY_SHA256.to_owned(),
                events_before: None,
                rejected_before: None,
                prev_sha256: links
                    .last()
                    .map_or(GENESIS.to_owned(), |l| l.sha256.clone()),
                sha256: String::new(),
            }
            .sealed();
            links.push(link);
        }
        let head = links.last().unwrap();
        let checkpoint = Checkpoint::sign(signer, head, Utc::now());
        (links, vec![checkpoint])
    }

    fn changes(links: &[Link], checkpoints: &[Checkpoint], signer: &Signer) -> Vec<(i64, Change)> {
        check_links(
            links,
            checkpoints,
            &signer.public(),
            GENESIS,
            Unsigned::Tail,
        )
        .findings
        .into_iter()
        .map(|f| (f.seq.unwrap_or(-1), f.change))
        .collect()
    }

    fn swap(links: &mut [Link], a: usize, b: usize) {
        let (seq_a, seq_b) = (links[a].seq, links[b].seq);
        links.swap(a, b);
        links[a].seq = seq_a;
        links[b].seq = seq_b;
    }

    #[test]
    fn an_intact_chain_holds_and_each_record_swap_is_named_reordered() {
        let signer = Signer::generate().unwrap();
        let (links, checkpoints) = chain(8, &signer);
        let check = check_links(
            &links,
            &checkpoints,
            &signer.public(),
            GENESIS,
            Unsigned::Tail,
        );
        assert!(check.findings.is_empty(), "{:?}", check.findings);
        assert_eq!(check.signed_through, Some(8));

        for (a, b) in [(1, 2), (1, 5), (0, 7)] {
            let mut swapped = links.clone();
            swap(&mut swapped, a, b);
            let found = changes(&swapped, &checkpoints, &signer);
            let at = |i: usize| swapped[i].seq;
            assert!(
                found.contains(&(at(a), Change::Reordered)),
                "{a}<->{b}: {found:?}"
            );
            assert!(
                found.contains(&(at(b), Change::Reordered)),
                "{a}<->{b}: {found:?}"
            );
            assert!(
                !found.iter().any(|(_, c)| *c == Change::DigestReplaced),
                "{a}<->{b}: {found:?}"
            );
        }
    }

    #[test]
    fn a_rewritten_chain_is_caught_by_its_checkpoint_and_truncation_by_the_signed_head() {
        let signer = Signer::generate().unwrap();
        let (links, checkpoints) = chain(6, &signer);

        let mut rewritten = links.clone();
        rewritten[2].events_sha256 = "ff".repeat(32);
        for i in 2..rewritten.len() {
            if i > 0 {
                rewritten[i].prev_sha256 = rewritten[i - 1].sha256.clone();
            }
            rewritten[i] = rewritten[i].clone().sealed();
        }
        // With its only checkpoint broken, nothing is signed any more either.
        assert_eq!(
            changes(&rewritten, &checkpoints, &signer),
            [(1, Change::Unsigned), (6, Change::DigestReplaced)]
        );

        let truncated = &links[..4];
        assert_eq!(
            changes(truncated, &checkpoints, &signer),
            [(1, Change::Unsigned), (6, Change::DigestDeleted)]
        );

        assert_eq!(
            changes(&links[2..], &checkpoints, &signer),
            [(1, Change::DigestDeleted)],
            "the oldest records deleted"
        );

        let mut gap = links.clone();
        gap.remove(3);
        assert_eq!(
            changes(&gap, &checkpoints, &signer),
            [(4, Change::DigestDeleted)]
        );

        let other = Signer::generate().unwrap();
        assert_eq!(
            changes(&links, &checkpoints, &other),
            [(1, Change::Unsigned), (6, Change::BadSignature)],
            "another key's view: the checkpoint is not its signature"
        );
    }
}
