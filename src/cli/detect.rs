//! The detection commands: `alerts`, `alert`, `rules list|test|replay`, `eval`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::server;
use crate::config::Config;
use crate::detect::eval::{self, Labels};
use crate::detect::{Engine, REPLAY_SLICE, RuleSet, fixtures, sinks};
use crate::serve::api::ReplayRequest;
use crate::store::Store;
use crate::store::alerts::{AlertFilter, AlertStatus, StatusChange};

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The rules in force (built-in pack, rules.dir, config) and any file that does not load.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run rules' fixtures (all, or the ids given) in scratch stores.
    Test {
        /// Rule ids; all when none.
        rules: Vec<String>,
        /// Rules folder to test instead of rules.dir (built-in rules with the same id are
        /// replaced, as at start-up).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Re-run rules over stored events (backfill after adding a rule). Alerts that exist are
    /// not raised again.
    Replay {
        /// Event time to start at (RFC 3339).
        #[arg(long)]
        from: DateTime<Utc>,
        /// Event time to stop before (RFC 3339).
        #[arg(long)]
        to: DateTime<Utc>,
        /// Rule ids; all when none.
        rules: Vec<String>,
    },
}

pub async fn rules(config: &Config, command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::List { json } => list(config, json),
        RulesCommand::Test { rules, dir, json } => test(config, rules, dir, json).await,
        RulesCommand::Replay { from, to, rules } => replay(config, from, to, rules).await,
    }
}

fn list(config: &Config, as_json: bool) -> anyhow::Result<()> {
    let set = RuleSet::load(&config.rules);
    if as_json {
        let errors: Vec<String> = set.errors.iter().map(ToString::to_string).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "rules": set.rules, "errors": errors })
            )?
        );
    } else {
        for rule in &set.rules {
            println!(
                "{} {:<32} {:<8} {:<10} key: {}; dedup {}, lookback {}  ({})",
                rule.id,
                rule.name,
                rule.severity,
                rule.kind.as_str(),
                rule.key,
                humantime::format_duration(rule.dedup),
                humantime::format_duration(rule.lookback),
                rule.source
            );
        }
        for error in &set.errors {
            println!("not loaded: {error}");
        }
    }
    Ok(())
}

async fn test(
    config: &Config,
    only: Vec<String>,
    dir: Option<PathBuf>,
    as_json: bool,
) -> anyhow::Result<()> {
    let mut rules_config = config.rules.clone();
    if dir.is_some() {
        rules_config.dir = dir;
    }
    let set = RuleSet::load(&rules_config);
    let unknown: Vec<&String> = only
        .iter()
        .filter(|id| !set.rules.iter().any(|r| &r.id == *id))
        .collect();
    if !unknown.is_empty() && set.errors.is_empty() {
        bail!("no rule {unknown:?}; `trustpath rules list` shows them");
    }
    let chosen: Vec<_> = set
        .rules
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.id))
        .cloned()
        .collect();
    let reports = fixtures::run(&chosen).await;
    let failed = reports.iter().filter(|r| !r.passed()).count() + set.errors.len();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for error in &set.errors {
            println!("FAIL {error}");
        }
        for report in &reports {
            let verdict = if report.passed() { "ok  " } else { "FAIL" };
            println!(
                "{verdict} {} {}: {} cases",
                report.rule_id,
                report.name,
                report.cases.len()
            );
            if let Some(error) = &report.error {
                println!("       {error}");
            }
            for case in &report.cases {
                for problem in &case.problems {
                    println!("       {}: {problem}", case.name);
                }
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} rules failed their fixtures",
            reports.len() + set.errors.len()
        );
    }
    Ok(())
}

async fn replay(
    config: &Config,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    rules: Vec<String>,
) -> anyhow::Result<()> {
    let rules = (!rules.is_empty()).then_some(rules);
    let report = match server(config).await? {
        Some(server) => server.replay(&ReplayRequest { from, to, rules }).await?,
        None => {
            if from >= to {
                bail!("the window is empty: --from {from} is not before --to {to}");
            }
            let store = Store::open(&config.store)?;
            let db = store.connection()?;
            let mut set = RuleSet::load(&config.rules);
            Engine::check(&db, &mut set)?;
            for error in &set.errors {
                eprintln!("not loaded: {error}");
            }
            if let Some(unknown) = rules
                .iter()
                .flatten()
                .find(|id| !set.rules.iter().any(|r| &r.id == *id))
            {
                bail!("no rule {unknown} is loaded; `trustpath rules list` shows them");
            }
            // Alerts it raises wait in the outbox for the server's sinks.
            let targets = sinks::targets(&config.alerts, config.nats.url.is_some());
            let mut engine = Engine::new(set.rules, targets);
            tokio::task::spawn_blocking(move || {
                engine.replay(&db, from, to, REPLAY_SLICE, rules.as_deref())
            })
            .await??
        }
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

pub async fn alerts(config: &Config, filter: AlertFilter, as_json: bool) -> anyhow::Result<()> {
    let page = match server(config).await? {
        Some(server) => server.alerts(&filter).await?,
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            tokio::task::spawn_blocking(move || reader.alerts(&filter)).await??
        }
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    print!("{}", crate::render::alerts(&page.alerts));
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
    Ok(())
}

/// `trustpath alert ID`: show it; with `--set`, move it along its lifecycle.
pub async fn alert(
    config: &Config,
    id: &str,
    set: Option<AlertStatus>,
    by: Option<String>,
    note: Option<String>,
) -> anyhow::Result<()> {
    let change = match set {
        Some(status) => Some(StatusChange {
            status,
            by: by.context("--set needs --by: who acknowledges or resolves the alert")?,
            note,
        }),
        None => None,
    };
    let detail = match server(config).await? {
        Some(server) => match &change {
            Some(change) => server.change_alert(id, change).await?,
            None => server.alert(id).await?,
        },
        None => {
            let reader = Store::open(&config.store)?.reader()?;
            let id = id.to_owned();
            tokio::task::spawn_blocking(move || match &change {
                Some(change) => reader.change_alert_status(&id, change),
                None => reader.alert(&id),
            })
            .await??
        }
    };
    println!("{}", serde_json::to_string_pretty(&detail)?);
    Ok(())
}

pub async fn eval_command(
    config: &Config,
    events: PathBuf,
    labels: PathBuf,
    as_json: bool,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&labels)
        .with_context(|| format!("cannot read the labels {}", labels.display()))?;
    let labels: Labels = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a labels file of `trustpath simulate`",
            labels.display()
        )
    })?;
    let set = RuleSet::load(&config.rules);
    for error in &set.errors {
        eprintln!("not loaded: {error}");
    }
    let scratch = std::env::temp_dir();
    let report = eval::run(
        set.rules,
        &events,
        &labels,
        &scratch,
        config.ingest.batch_max_events,
    )
    .await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", eval::render(&report));
    }
    if !report.meets_floor() {
        bail!("some labelled attacks were missed or benign events raised alerts");
    }
    Ok(())
}
