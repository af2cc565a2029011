//! Rule files: the header that describes a rule and the SQL body that finds its hits
//! (queries/rules/README.md is the contract). The built-in pack is compiled in; operators
//! add or override rules with files in `rules.dir`. A file that cannot be read as a rule is
//! reported with its path and line, and the others still load.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::RulesConfig;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

macro_rules! builtin {
    ($($stem:literal),+ $(,)?) => {
        /// The MCP rule pack of DOMAIN.md §4: (file name, text).
        const BUILTIN: &[(&str, &str)] = &[
            $((concat!($stem, ".sql"), include_str!(concat!("../../queries/rules/", $stem, ".sql")))),+
        ];
        /// Their fixtures: (file name, text).
        pub const BUILTIN_FIXTURES: &[(&str, &str)] = &[
            $((concat!($stem, ".fixtures.json"), include_str!(concat!("../../queries/rules/", $stem, ".fixtures.json")))),+
        ];
    };
}

builtin!(
    "tp001_client_document_drift",
    "tp002_new_client_host",
    "tp003_unsafe_client_document_fetch",
    "tp004_redirect_not_registered",
    "tp005_scope_escalation",
    "tp006_scope_outside_metadata",
    "tp007_issuer_not_advertised",
    "tp008_metadata_drift",
    "tp009_audience_mismatch",
    "tp010_token_replay_across_resources",
    "tp011_consent_missing",
    "tp012_revoked_token_use",
    "tp013_refresh_token_reuse",
    "tp014_step_up_loop",
    "tp015_auth_failure_burst",
    "tp016_dcr_where_cimd_expected",
    "tp017_issuer_endpoint_origin",
);

/// How urgent an alert is, lowest first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "`{other}` is not a severity (low, medium, high, critical)"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a rule looks for (DOMAIN.md §4; documentation, the SQL does the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    Match,
    FirstSeen,
    Drift,
    Threshold,
    Sequence,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Match => "match",
            RuleKind::FirstSeen => "first-seen",
            RuleKind::Drift => "drift",
            RuleKind::Threshold => "threshold",
            RuleKind::Sequence => "sequence",
        }
    }
}

impl FromStr for RuleKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "match" => Ok(RuleKind::Match),
            "first-seen" => Ok(RuleKind::FirstSeen),
            "drift" => Ok(RuleKind::Drift),
            "threshold" => Ok(RuleKind::Threshold),
            "sequence" => Ok(RuleKind::Sequence),
            other => Err(format!(
                "`{other}` is not a rule kind (match, first-seen, drift, threshold, sequence)"
            )),
        }
    }
}

/// A rule parameter's value, as written in a header or the config file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Integer(i64),
    /// Bound as BIGINT microseconds.
    Duration(#[serde(with = "humantime_serde")] Duration),
    Text(String),
    /// An array or object, bound as JSON text.
    Json(serde_json::Value),
}

impl ParamValue {
    /// Reads a header value: an integer, a duration (`10m`), or JSON.
    fn parse(text: &str) -> Result<ParamValue, String> {
        if let Ok(n) = text.parse::<i64>() {
            return Ok(ParamValue::Integer(n));
        }
        if let Ok(d) = humantime::parse_duration(text) {
            return Ok(ParamValue::Duration(d));
        }
        match serde_json::from_str(text) {
            Ok(value) => ParamValue::from_json(value),
            Err(_) => Err(format!(
                "`{text}` is not an integer, a duration (10m, 24h) or JSON (\"text\", [..], {{..}})"
            )),
        }
    }

    /// Reads a config value, shaped like the parameter's default.
    fn from_config(default: &ParamValue, value: serde_json::Value) -> Result<ParamValue, String> {
        match (default, value) {
            (ParamValue::Duration(_), serde_json::Value::String(text)) => {
                humantime::parse_duration(&text)
                    .map(ParamValue::Duration)
                    .map_err(|e| format!("`{text}` is not a duration (e.g. 10m, 24h): {e}"))
            }
            (ParamValue::Duration(_), other) => Err(format!(
                "expected a duration such as \"10m\", found {other}"
            )),
            (ParamValue::Integer(_), serde_json::Value::Number(n)) => n
                .as_i64()
                .map(ParamValue::Integer)
                .ok_or_else(|| format!("expected an integer, found {n}")),
            (ParamValue::Integer(_), other) => Err(format!("expected an integer, found {other}")),
            (_, value) => ParamValue::from_json(value),
        }
    }

    fn from_json(value: serde_json::Value) -> Result<ParamValue, String> {
        match value {
            serde_json::Value::String(text) => Ok(ParamValue::Text(text)),
            serde_json::Value::Number(n) if n.is_i64() => {
                Ok(ParamValue::Integer(n.as_i64().unwrap_or_default()))
            }
            value @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                Ok(ParamValue::Json(value))
            }
            other => Err(format!("{other} is not an integer, text, array or object")),
        }
    }

    /// The value as DuckDB gets it.
    pub fn to_sql(&self) -> duckdb::types::Value {
        use duckdb::types::Value;
        match self {
            ParamValue::Integer(n) => Value::BigInt(*n),
            ParamValue::Duration(d) => {
                Value::BigInt(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            }
            ParamValue::Text(text) => Value::Text(text.clone()),
            ParamValue::Json(value) => Value::Text(value.to_string()),
        }
    }
}

/// One loaded rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub kind: RuleKind,
    pub description: String,
    pub references: Vec<String>,
    pub key: String,
    #[serde(with = "humantime_serde")]
    pub dedup: Duration,
    #[serde(with = "humantime_serde")]
    pub lookback: Duration,
    /// Parameters with their values in force (header default, then config).
    pub params: BTreeMap<String, ParamValue>,
    #[serde(skip)]
    pub sql: String,
    /// Where it came from: `builtin:<file>` or a path.
    pub source: String,
    /// Line of `source` where the SQL body starts (to place DuckDB's errors).
    #[serde(skip)]
    pub body_line: usize,
}

/// A rule file that could not be loaded, placed at its file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleError {
    /// The file (`builtin:<name>`, a path, or `config`).
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Rule {
    /// Parses one rule file. `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Rule, RuleError> {
        let error = |line: usize, message: String| RuleError {
            file: source.to_owned(),
            line,
            message,
        };
        let mut fields: BTreeMap<&str, (usize, String)> = BTreeMap::new();
        let mut references = Vec::new();
        let mut params = BTreeMap::new();
        let mut body_line = None;
        // The header is the leading block of comment lines; a blank line ends it (notes
        // may follow as ordinary SQL comments), as does the first line of SQL.
        let mut in_header = true;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() {
                in_header = fields.is_empty() && references.is_empty() && params.is_empty();
                continue;
            }
            let Some(comment) = trimmed.strip_prefix("--") else {
                body_line = Some(number);
                break;
            };
            if !in_header {
                continue;
            }
            let comment = comment.trim();
            if comment.is_empty() {
                continue;
            }
            let Some((key, value)) = comment.split_once(':') else {
                return Err(error(
                    number,
                    format!(
                        "header line `{comment}` is not `key: value`; put notes after a blank \
                         line that ends the header"
                    ),
                ));
            };
            let (key, value) = (key.trim(), value.trim().to_owned());
            match key {
                "reference" => references.push(value),
                "param" => {
                    let Some((name, raw)) = value.split_once('=') else {
                        return Err(error(
                            number,
                            format!("`param: {value}` is not `name = value`"),
                        ));
                    };
                    let name = name.trim();
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(error(
                            number,
                            format!("parameter name `{name}` must be letters, digits and _"),
                        ));
                    }
                    let parsed = ParamValue::parse(raw.trim())
                        .map_err(|e| error(number, format!("parameter `{name}`: {e}")))?;
                    params.insert(name.to_owned(), parsed);
                }
                "id" | "name" | "severity" | "kind" | "description" | "key" | "dedup"
                | "lookback" => {
                    if fields.insert(key, (number, value)).is_some() {
                        return Err(error(number, format!("`{key}` is given twice")));
                    }
                }
                other => {
                    return Err(error(
                        number,
                        format!(
                            "unknown header key `{other}` (known: id, name, severity, kind, \
                             description, reference, key, dedup, lookback, param)"
                        ),
                    ));
                }
            }
        }
        let body_line = body_line.ok_or_else(|| error(1, "the file has no SQL body".into()))?;
        let mut take = |key: &str| {
            fields
                .remove(key)
                .ok_or_else(|| error(1, format!("the header has no `{key}:` line")))
        };
        let (_, id) = take("id")?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(error(
                1,
                format!("rule id `{id}` must be letters, digits, - and _"),
            ));
        }
        let (_, name) = take("name")?;
        let (line, severity) = take("severity")?;
        let severity = severity.parse().map_err(|e| error(line, e))?;
        let (line, kind) = take("kind")?;
        let kind = kind.parse().map_err(|e| error(line, e))?;
        let (_, description) = take("description")?;
        let (_, key) = take("key")?;
        let duration = |(line, text): (usize, String)| {
            humantime::parse_duration(&text).map_err(|e| {
                error(
                    line,
                    format!("`{text}` is not a duration (e.g. 10m, 24h): {e}"),
                )
            })
        };
        let dedup = duration(take("dedup")?)?;
        let lookback = duration(take("lookback")?)?;
        let sql = text
            .lines()
            .skip(body_line - 1)
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Rule {
            id,
            name,
            severity,
            kind,
            description,
            references,
            key,
            dedup,
            lookback,
            params,
            sql,
            source: source.to_owned(),
            body_line,
        })
    }

    /// Sets parameters from the config file; a name the rule does not declare is an error.
    pub fn configure(
        &mut self,
        values: &BTreeMap<String, serde_json::Value>,
    ) -> Result<(), String> {
        for (name, value) in values {
            let Some(default) = self.params.get(name) else {
                let known: Vec<&str> = self.params.keys().map(String::as_str).collect();
                return Err(format!(
                    "rule {} has no parameter `{name}` (it has: {})",
                    self.id,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ));
            };
            let value = ParamValue::from_config(default, value.clone())
                .map_err(|e| format!("rules.params.{}.{name}: {e}", self.id))?;
            self.params.insert(name.clone(), value);
        }
        Ok(())
    }
}

/// The rules in force and the files that could not be loaded.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub errors: Vec<RuleError>,
}

impl RuleSet {
    /// The built-in pack, then the files of `config.dir` (replacing built-ins with the same
    /// id), minus the disabled ones, with their configured parameters.
    pub fn load(config: &RulesConfig) -> RuleSet {
        let mut set = RuleSet::default();
        for (file, text) in BUILTIN {
            set.add(Rule::parse(&format!("builtin:{file}"), text));
        }
        if let Some(dir) = &config.dir {
            set.load_dir(dir);
        }
        for id in &config.disabled {
            if !set.rules.iter().any(|rule| &rule.id == id) {
                set.errors.push(RuleError {
                    file: "config".into(),
                    line: 0,
                    message: format!(
                        "rules.disabled names rule `{id}`, which is not loaded (`trustpath rules \
                         list` shows the rules)"
                    ),
                });
            }
        }
        set.rules.retain(|rule| !config.disabled.contains(&rule.id));
        for (id, values) in &config.params {
            match set.rules.iter_mut().find(|rule| &rule.id == id) {
                Some(rule) => {
                    if let Err(message) = rule.configure(values) {
                        set.errors.push(RuleError {
                            file: "config".into(),
                            line: 0,
                            message: format!("{message}; the rule runs with its defaults"),
                        });
                    }
                }
                None if config.disabled.contains(id) => {}
                None => set.errors.push(RuleError {
                    file: "config".into(),
                    line: 0,
                    message: format!(
                        "rules.params names rule `{id}`, which is not loaded (`trustpath rules \
                         list` shows the rules)"
                    ),
                }),
            }
        }
        set.rules.sort_by(|a, b| a.id.cmp(&b.id));
        set
    }

    fn load_dir(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.errors.push(RuleError {
                    file: dir.display().to_string(),
                    line: 0,
                    message: format!("cannot read the rules folder: {e}"),
                });
                return;
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        paths.sort();
        for path in paths {
            let source = path.display().to_string();
            // This file replaces a built-in one of the same name, errors included.
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                let builtin = format!("builtin:{name}");
                self.errors.retain(|e| e.file != builtin);
            }
            match std::fs::read_to_string(&path) {
                Ok(text) => self.add(Rule::parse(&source, &text)),
                Err(e) => self.errors.push(RuleError {
                    file: source,
                    line: 0,
                    message: format!("cannot read the file: {e}"),
                }),
            }
        }
    }

    fn add(&mut self, parsed: Result<Rule, RuleError>) {
        match parsed {
            Ok(rule) => {
                self.rules.retain(|known| known.id != rule.id);
                self.rules.push(rule);
            }
            Err(error) => self.errors.push(error),
        }
    }

    /// Drops `rule_id`, recording why (a rule that failed its check against the store).
    pub fn reject(&mut self, rule_id: &str, line: usize, message: String) {
        if let Some(position) = self.rules.iter().position(|rule| rule.id == rule_id) {
            let rule = self.rules.remove(position);
            self.errors.push(RuleError {
                file: rule.source,
                line,
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "-- id: X001\n-- name: example\n-- severity: high\n-- kind: match\n\
        -- description: d\n-- reference: RFC 9728\n-- key: client id\n-- dedup: 24h\n\
        -- lookback: 1h\n-- param: threshold = 5\n-- param: within = 10m\n\
        -- param: hosts = [\"a.example\"]\n\nSELECT 1\n";

    #[test]
    fn a_header_and_body_parse() {
        let rule = Rule::parse("x.sql", RULE).unwrap();
        assert_eq!(rule.id, "X001");
        assert_eq!(rule.severity, Severity::High);
        assert_eq!(rule.lookback, Duration::from_secs(3600));
        assert_eq!(rule.body_line, 14);
        assert_eq!(rule.params["threshold"], ParamValue::Integer(5));
        assert_eq!(
            rule.params["within"],
            ParamValue::Duration(Duration::from_secs(600))
        );
        assert_eq!(
            rule.params["hosts"],
            ParamValue::Json(serde_json::json!(["a.example"]))
        );
        assert_eq!(rule.sql.trim(), "SELECT 1");
    }

    #[test]
    fn errors_name_the_line() {
        let broken = RULE.replace("-- severity: high", "-- severity: urgent");
        let error = Rule::parse("x.sql", &broken).unwrap_err();
        assert_eq!((error.line, error.file.as_str()), (3, "x.sql"));
        assert!(
            error.message.contains("`urgent` is not a severity"),
            "{error}"
        );
        let typo = RULE.replace("-- dedup: 24h", "-- dedupe: 24h");
        let error = Rule::parse("x.sql", &typo).unwrap_err();
        assert_eq!(error.line, 8);
        assert!(
            error.message.contains("unknown header key `dedupe`"),
            "{error}"
        );
    }

    #[test]
    fn config_values_take_the_parameter_shape() {
        let mut rule = Rule::parse("x.sql", RULE).unwrap();
        let values = BTreeMap::from([
            ("within".to_owned(), serde_json::json!("2m")),
            ("threshold".to_owned(), serde_json::json!(9)),
        ]);
        rule.configure(&values).unwrap();
        assert_eq!(
            rule.params["within"],
            ParamValue::Duration(Duration::from_secs(120))
        );
        assert_eq!(
            rule.params["threshold"].to_sql(),
            duckdb::types::Value::BigInt(9)
        );
        let wrong = BTreeMap::from([("treshold".to_owned(), serde_json::json!(9))]);
        let error = rule.configure(&wrong).unwrap_err();
        assert!(error.contains("no parameter `treshold`"), "{error}");
    }
}
