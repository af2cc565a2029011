//! The compliance commands: `keys generate|show`, `verify`, `purge`, `export`, `report`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Config;
use crate::export::verify::{check_consecutive, verify_export};
use crate::export::{ExportRequest, export};
use crate::integrity::verify::{Unsigned, verify_store};
use crate::integrity::{PublicKey, Signer};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an Ed25519 signing key (PKCS#8 PEM, mode 0600) and print its public key.
    Generate {
        /// Where to write the private key. Default: store.signing_key, else beside the store.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the public key (PEM) of the signing key, for `verify --public-key`.
    Show {
        /// The private key to read. Default: store.signing_key, else beside the store.
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

fn key_path(config: &Config, given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    given
        .or_else(|| config.store.signing_key_path())
        .context("an in-memory store has no key file; pass --out/--key or set store.signing_key")
}

pub fn keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate { out } => {
            let path = key_path(config, out)?;
            let signer = Signer::generate()?;
            signer.save(&path)?;
            eprintln!(
                "wrote the private key to {} (mode 0600); set store.signing_key to it and keep \
                 the public key below where the store's host cannot change it",
                path.display()
            );
            print!("{}", signer.public().pem());
        }
        KeysCommand::Show { key } => {
            let path = key_path(config, key)?;
            let signer = Signer::load(&path)?;
            eprintln!("key id {}", signer.public().key_id());
            print!("{}", signer.public().pem());
        }
    }
    Ok(())
}

/// The key `verify` trusts: `--public-key`, else the public half of the store's own key
/// (which proves less: whoever can write the store's host may hold that file too).
fn trusted_key(config: &Config, public_key: Option<&Path>) -> anyhow::Result<PublicKey> {
    if let Some(path) = public_key {
        return Ok(PublicKey::load(path)?);
    }
    let path = key_path(config, None)?;
    if !path.exists() {
        bail!(
            "no --public-key given and no signing key at {}; pass the public key the store's \
             checkpoints are signed with (`trustpath keys show` where the key is)",
            path.display()
        );
    }
    eprintln!(
        "note: trusting the public half of {}; pass --public-key with a copy kept elsewhere for \
         a check the store's host cannot fool",
        path.display()
    );
    Ok(Signer::load(&path)?.public())
}

pub fn verify_store_command(
    config: &Config,
    public_key: Option<&Path>,
    require_signed_head: bool,
    as_json: bool,
) -> anyhow::Result<()> {
    let store = Store::open_to_verify(&config.store)?;
    let key = trusted_key(config, public_key)?;
    let unsigned = if require_signed_head {
        Unsigned::Refused
    } else {
        Unsigned::Tail
    };
    let verification = verify_store(&store.connection()?, &key, unsigned)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&verification)?);
    } else {
        print!("store {}\n{verification}", store.path().display());
    }
    if !verification.holds() {
        bail!(
            "the store does not verify: {} findings (first: {})",
            verification.links.findings.len(),
            verification.links.findings[0]
        );
    }
    Ok(())
}

/// Applies the retention of `[retention]` now.
pub async fn purge(config: &Config, as_json: bool) -> anyhow::Result<()> {
    if !config.retention.is_set() {
        bail!("no retention is configured: set retention.events and/or retention.rejected");
    }
    let store = Store::open(&config.store)?;
    let (writer, thread) = store.writer(1, config.correlate.clone(), None)?;
    let purged = writer.purge(config.retention.clone()).await;
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join()).await?;
    let purged = purged?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&purged)?);
    } else {
        match purged {
            Some(p) => println!(
                "purge recorded at chain seq {} and signed: {} events and {} rejected records of {} batches deleted",
                p.seq, p.events, p.rejected, p.batches
            ),
            None => println!("nothing is older than the retention allows; nothing deleted"),
        }
    }
    Ok(())
}

/// `verify DIR...`: each export offline, then the gaps between consecutive ones.
pub fn verify_exports(
    dirs: &[PathBuf],
    public_key: Option<&Path>,
    as_json: bool,
) -> anyhow::Result<()> {
    let Some(public_key) = public_key else {
        bail!(
            "verifying an export needs --public-key: the public key (PEM) of the key that signed \
             it, from `trustpath keys show`"
        );
    };
    let key = PublicKey::load(public_key)?;
    let verifications: Vec<_> = dirs.iter().map(|dir| verify_export(dir, &key)).collect();
    let gaps = check_consecutive(&verifications);
    let failed = verifications.iter().filter(|v| !v.holds()).count();
    if as_json {
        let answer = serde_json::json!({
            "exports": verifications,
            "between": gaps,
            "holds": failed == 0 && gaps.is_empty(),
        });
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        for verification in &verifications {
            println!("{verification}");
        }
        if dirs.len() > 1 {
            if gaps.is_empty() {
                println!("between the exports: the windows adjoin and the chain runs on unbroken");
            } else {
                for gap in &gaps {
                    println!("between the exports: {gap}");
                }
            }
        }
    }
    if failed > 0 || !gaps.is_empty() {
        bail!(
            "{failed} of {} exports do not verify{}",
            dirs.len(),
            if gaps.is_empty() {
                ""
            } else {
                ", and something is missing between them"
            }
        );
    }
    Ok(())
}

/// `export`: reads the store directly (stop a server first, or use POST /v1/exports). A
/// store stopped in the middle of a burst is correlated first, as a start would.
pub fn export_command(
    config: &Config,
    request: &ExportRequest,
    out: &Path,
    as_json: bool,
) -> anyhow::Result<()> {
    let store = Store::open(&config.store)?;
    let signer = store
        .signer()?
        .context("an in-memory store has no signing key; set store.signing_key")?;
    let db = store.connection()?;
    crate::correlate::maintain::catch_up(&db, &config.correlate)?;
    let manifest = export(&db, &signer, request, out)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        println!("exported to {}:", out.display());
        for file in &manifest.files {
            println!(
                "  {:<44} {:>9} rows  sha256 {}",
                file.path,
                file.rows,
                &file.sha256[..16]
            );
        }
        println!(
            "manifest.json signed (manifest.sig) by key {}; check it with `trustpath verify {} --public-key KEY.pem`",
            &manifest.public_key[..16],
            out.display()
        );
    }
    Ok(())
}

/// `report`: reads the store directly (stop a server first).
pub fn report(
    config: &Config,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    format: crate::report::ReportFormat,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    use crate::report::ReportFormat;
    let store = Store::open(&config.store)?;
    let report = crate::report::build(&store.connection()?, from, to)?;
    let text = match format {
        ReportFormat::Md => report.markdown(),
        ReportFormat::Html => report.html(),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
