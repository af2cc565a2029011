//! `trustpath verify DIR... --public-key KEY`: checks exports with nothing but their files
//! and the public key. For each: the manifest's signature, every listed file's SHA-256 and
//! row count, no file missing or added, the chain slice's continuity and its checkpoints.
//! For consecutive exports (adjoining windows, same filters): the second's chain slice
//! starts no later than the first's ends, and the two agree where they overlap, so no
//! committed batch falls between them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{ExportFile, ExportFormat, MANIFEST_FORMAT, Manifest, hash_file};
use crate::integrity::PublicKey;
use crate::integrity::chain::{Checkpoint, Link};
use crate::integrity::verify::{
    Change, Finding, LinksCheck, Unsigned, check_links, short, write_result,
};

/// What does not hold in an export, beyond the chain's own [`Change`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The manifest cannot be read at all.
    Unreadable {
        detail: String,
    },
    /// The signature is not the trusted key's signature of these manifest bytes.
    BadSignature {
        detail: String,
    },
    FileMissing {
        path: String,
    },
    FileChanged {
        path: String,
        detail: String,
    },
    FileAdded {
        path: String,
    },
    Chain {
        finding: Finding,
    },
    /// Between two consecutive exports.
    Gap {
        detail: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable { detail } => write!(f, "manifest unreadable: {detail}"),
            Problem::BadSignature { detail } => write!(f, "signature invalid: {detail}"),
            Problem::FileMissing { path } => write!(f, "file missing: {path}"),
            Problem::FileChanged { path, detail } => write!(f, "file changed: {path}: {detail}"),
            Problem::FileAdded { path } => {
                write!(f, "file added: {path} is not in the manifest")
            }
            Problem::Chain { finding } => write!(f, "chain: {finding}"),
            Problem::Gap { detail } => write!(f, "gap between exports: {detail}"),
        }
    }
}

/// The verdict on one export directory.
#[derive(Debug, Clone, Serialize)]
pub struct ExportVerification {
    pub dir: PathBuf,
    pub manifest: Option<Manifest>,
    pub files_checked: usize,
    pub rows: u64,
    pub chain: Option<LinksCheck>,
    pub problems: Vec<Problem>,
    #[serde(skip)]
    links: Vec<Link>,
}

impl ExportVerification {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies one export directory against `key`.
pub fn verify_export(dir: &Path, key: &PublicKey) -> ExportVerification {
    let mut verification = ExportVerification {
        dir: dir.to_owned(),
        manifest: None,
        files_checked: 0,
        rows: 0,
        chain: None,
        problems: Vec::new(),
        links: Vec::new(),
    };
    let problems = &mut verification.problems;
    let (bytes, signature) = match (
        std::fs::read(dir.join("manifest.json")),
        std::fs::read(dir.join("manifest.sig")),
    ) {
        (Ok(bytes), Ok(signature)) => (bytes, signature),
        (Err(e), _) => {
            problems.push(Problem::Unreadable {
                detail: format!("{}: {e}", dir.join("manifest.json").display()),
            });
            return verification;
        }
        (_, Err(e)) => {
            problems.push(Problem::BadSignature {
                detail: format!("{}: {e}", dir.join("manifest.sig").display()),
            });
            return verification;
        }
    };
    // The signature first: a manifest that does not read is still told apart from one
    // that was signed by someone else.
    if !key.verifies(&bytes, &signature) {
        problems.push(Problem::BadSignature {
            detail: "manifest.sig is not the trusted key's signature of manifest.json (either \
                     was changed, or another key signed it)"
                .to_owned(),
        });
    }
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(manifest) => manifest,
        Err(e) => {
            problems.push(Problem::Unreadable {
                detail: format!("manifest.json is not a trustpath export manifest: {e}"),
            });
            return verification;
        }
    };
    if manifest.manifest != MANIFEST_FORMAT {
        problems.push(Problem::Unreadable {
            detail: format!(
                "manifest format {}, this trustpath reads {MANIFEST_FORMAT}",
                manifest.manifest
            ),
        });
    }
    if manifest.public_key != key.key_id() {
        problems.push(Problem::BadSignature {
            detail: format!(
                "the manifest names key {}, the trusted key is {}",
                short(&manifest.public_key),
                short(&key.key_id())
            ),
        });
    }

    // An unsigned manifest is not trusted to name files: nothing it lists is opened.
    let signed = !problems
        .iter()
        .any(|p| matches!(p, Problem::BadSignature { .. } | Problem::Unreadable { .. }));
    if !signed {
        verification.manifest = Some(manifest);
        return verification;
    }
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    for file in &manifest.files {
        if !is_inside(&file.path) || !listed.insert(file.path.as_str()) {
            problems.push(Problem::Unreadable {
                detail: format!(
                    "the manifest lists `{}` more than once or outside the export",
                    file.path
                ),
            });
            continue;
        }
        match check_file(dir, file, manifest.format) {
            Ok(()) => {
                verification.files_checked += 1;
                if !matches!(file.table.as_str(), "chain" | "checkpoints") {
                    verification.rows += file.rows;
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    for path in files_under(dir) {
        if !listed.contains(path.as_str()) && path != "manifest.json" && path != "manifest.sig" {
            problems.push(Problem::FileAdded { path });
        }
    }

    if let Some(slice) = &manifest.chain {
        let links: Vec<Link> = read_lines(&dir.join("chain.jsonl"), problems);
        let checkpoints: Vec<Checkpoint> = read_lines(&dir.join("checkpoints.jsonl"), problems);
        // The manifest's signature covers the records after the slice's last checkpoint.
        let check = check_links(
            &links,
            &checkpoints,
            key,
            &slice.first_prev_sha256,
            Unsigned::Allowed,
        );
        let ends = (
            links.first().map(|l| l.seq),
            links.last().map(|l| &l.sha256),
        );
        if ends != (Some(slice.first_seq), Some(&slice.head_sha256)) {
            problems.push(Problem::Chain {
                finding: Finding {
                    seq: Some(slice.first_seq),
                    change: Change::DigestReplaced,
                    detail: "chain.jsonl does not hold the slice the manifest names".to_owned(),
                },
            });
        }
        problems.extend(
            check
                .findings
                .iter()
                .cloned()
                .map(|finding| Problem::Chain { finding }),
        );
        verification.chain = Some(check);
        verification.links = links;
    }
    verification.manifest = Some(manifest);
    verification
}

fn check_file(dir: &Path, file: &ExportFile, format: ExportFormat) -> Result<(), Problem> {
    let path = dir.join(&file.path);
    if !path.is_file() {
        return Err(Problem::FileMissing {
            path: file.path.clone(),
        });
    }
    let changed = |detail: String| Problem::FileChanged {
        path: file.path.clone(),
        detail,
    };
    let (bytes, sha256) = hash_file(&path).map_err(|e| changed(e.to_string()))?;
    if sha256 != file.sha256 {
        return Err(changed(format!(
            "SHA-256 is {}, the manifest says {} ({bytes} bytes, the manifest says {})",
            short(&sha256),
            short(&file.sha256),
            file.bytes
        )));
    }
    let rows = count_rows(&path, format, &file.table).map_err(changed)?;
    if rows != file.rows {
        return Err(changed(format!(
            "{rows} rows, the manifest says {}",
            file.rows
        )));
    }
    Ok(())
}

/// Rows in a file, read the way its format is read.
fn count_rows(path: &Path, format: ExportFormat, table: &str) -> Result<u64, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let is_lines = matches!(table, "chain" | "checkpoints") || extension == "jsonl";
    if is_lines {
        let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut rows = 0;
        for line in std::io::BufReader::new(file).lines() {
            if !line.map_err(|e| e.to_string())?.trim().is_empty() {
                rows += 1;
            }
        }
        return Ok(rows);
    }
    match format {
        ExportFormat::Parquet => {
            use parquet::file::reader::FileReader as _;
            let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
            let reader = parquet::file::reader::SerializedFileReader::new(file)
                .map_err(|e| format!("not a Parquet file: {e}"))?;
            Ok(reader.metadata().file_metadata().num_rows() as u64)
        }
        ExportFormat::Csv => {
            let mut reader = csv::Reader::from_path(path).map_err(|e| e.to_string())?;
            let mut rows = 0;
            for record in reader.records() {
                record.map_err(|e| format!("not CSV: {e}"))?;
                rows += 1;
            }
            Ok(rows)
        }
        ExportFormat::Jsonl | ExportFormat::Ocsf => Err(format!(
            "a .{extension} file in a {format:?} export, which has only JSON lines"
        )),
    }
}

/// Whether a manifest path stays inside the export: relative, no `..`, no root.
fn is_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Every file under `dir`, relative and `/`-separated; symbolic links are listed, never
/// followed.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let parts: Vec<_> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                found.push(parts.join("/"));
            }
        }
    }
    found.sort();
    found
}

fn read_lines<T: serde::de::DeserializeOwned>(path: &Path, problems: &mut Vec<Problem>) -> Vec<T> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new(); // reported as a missing file
    };
    let mut rows = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str(line) {
            Ok(row) => rows.push(row),
            Err(e) => problems.push(Problem::Unreadable {
                detail: format!("{} line {}: {e}", path.display(), n + 1),
            }),
        }
    }
    rows
}

/// Checks that consecutive exports (ordered by window) leave nothing out between them:
/// their windows adjoin, their chain slices overlap or meet, and no event of an earlier
/// window was committed after the earlier export was made.
pub fn check_consecutive(exports: &[ExportVerification]) -> Vec<Problem> {
    // Only exports that verified: an unsigned manifest's numbers mean nothing.
    let mut ordered: Vec<(&ExportVerification, &Manifest)> = exports
        .iter()
        .filter(|e| e.holds())
        .filter_map(|e| Some((e, e.manifest.as_ref()?)))
        .collect();
    ordered.sort_by_key(|(_, m)| m.window.from);
    let mut problems = Vec::new();
    for pair in ordered.windows(2) {
        let [(a, ma), (b, mb)] = pair else {
            continue;
        };
        let gap = |detail: String| Problem::Gap {
            detail: format!("{} → {}: {detail}", a.dir.display(), b.dir.display()),
        };
        if ma.window.to != mb.window.from {
            problems.push(gap(format!(
                "the windows do not adjoin ({} ends, {} starts)",
                ma.window.to.to_rfc3339(),
                mb.window.from.to_rfc3339()
            )));
        }
        if ma.filters != mb.filters {
            problems.push(gap("the exports have different filters".to_owned()));
        }
        let (Some(sa), Some(sb)) = (&ma.chain, &mb.chain) else {
            continue;
        };
        if sb.first_seq > sa.last_seq.saturating_add(1) {
            problems.push(gap(format!(
                "chain records {}..{} are in neither export: what was committed then is \
                 missing (export the first window again)",
                sa.last_seq.saturating_add(1),
                sb.first_seq.saturating_sub(1)
            )));
            continue;
        }
        // Late events committed after the first export was made, reaching into its window.
        let late: Vec<&super::EarlierRows> = sb
            .earlier_rows
            .iter()
            .filter(|r| r.seq > sa.last_seq && r.newest >= ma.window.from)
            .collect();
        if !late.is_empty() {
            let rows: i64 = late.iter().map(|r| r.rows).sum();
            problems.push(gap(format!(
                "batches committed after the first export was made (after seq {}) hold {rows} \
                 events from before {}, the newest in the first window; neither export holds \
                 them: export the first window again",
                sa.last_seq,
                mb.window.from.to_rfc3339()
            )));
        }
        let earlier: HashMap<i64, &str> =
            a.links.iter().map(|l| (l.seq, l.sha256.as_str())).collect();
        let joined = if sb.first_seq == sa.last_seq.saturating_add(1) {
            sb.first_prev_sha256 == sa.head_sha256
        } else {
            b.links
                .iter()
                .filter_map(|l| earlier.get(&l.seq).map(|sha| *sha == l.sha256))
                .all(|same| same)
        };
        if !joined {
            problems.push(gap(
                "the chains do not join: the two exports disagree on the records they share"
                    .to_owned(),
            ));
        }
    }
    problems
}

impl fmt::Display for ExportVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "export {}", self.dir.display())?;
        if let Some(manifest) = &self.manifest {
            let signature_ok = !self
                .problems
                .iter()
                .any(|p| matches!(p, Problem::BadSignature { .. }));
            writeln!(
                f,
                "window: {} .. {}{}",
                manifest.window.from.to_rfc3339(),
                manifest.window.to.to_rfc3339(),
                if manifest.filters.is_empty() {
                    String::new()
                } else {
                    format!(", filters {:?}", manifest.filters)
                }
            )?;
            writeln!(
                f,
                "manifest signature: {} (key {}, created {} by trustpath {})",
                if signature_ok { "valid" } else { "INVALID" },
                short(&manifest.public_key),
                manifest.created_at.to_rfc3339(),
                manifest.trustpath_version
            )?;
            writeln!(
                f,
                "files: {} of {} match their SHA-256 and row counts ({} data rows)",
                self.files_checked,
                manifest.files.len(),
                self.rows
            )?;
        }
        if let Some(chain) = &self.chain {
            writeln!(
                f,
                "chain: {} records (seq {}..{}){}",
                chain.records,
                chain.first_seq.unwrap_or(0),
                chain.last_seq.unwrap_or(0),
                match chain.signed_through {
                    Some(seq) => format!(
                        ", {} checkpoints, signed through seq {seq}",
                        chain.checkpoints
                    ),
                    None => ", no checkpoint in the slice (the manifest's signature covers it)"
                        .to_owned(),
                }
            )?;
        }
        if self.problems.is_empty() {
            return write_result(f, &[], "the export");
        }
        writeln!(f, "RESULT: the export does NOT hold.")?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        Ok(())
    }
}
