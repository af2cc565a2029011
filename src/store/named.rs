//! Named queries: the SQL files of `queries/named/`, each with a header that names it,
//! describes it and declares its parameters:
//!
//! ```sql
//! -- name: tokens_per_issuer
//! -- description: Tokens issued per authorization server …
//! -- param: from TIMESTAMPTZ optional Events at or after this time.
//! ```
//!
//! The body refers to parameters as `$name` (DuckDB named parameters). Values arrive as
//! text (CLI `--param k=v`, JSON), are checked against the declared type here, and are
//! bound as text; the SQL casts them. Users and the service run the very same files.

use std::collections::BTreeMap;

use serde::Serialize;

use super::StoreError;

const FILES: &[(&str, &str)] = &[
    (
        "client_documents.sql",
        include_str!("../../queries/named/client_documents.sql"),
    ),
    (
        "first_seen_clients.sql",
        include_str!("../../queries/named/first_seen_clients.sql"),
    ),
    (
        "rejected_by_reason.sql",
        include_str!("../../queries/named/rejected_by_reason.sql"),
    ),
    (
        "scopes_held.sql",
        include_str!("../../queries/named/scopes_held.sql"),
    ),
    (
        "tokens_per_issuer.sql",
        include_str!("../../queries/named/tokens_per_issuer.sql"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ParamType {
    Varchar,
    Timestamptz,
    Bigint,
    Boolean,
}

#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub name: String,
    #[serde(rename = "type")]
    pub param_type: ParamType,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedQuery {
    pub name: String,
    pub description: String,
    pub params: Vec<Param>,
    #[serde(skip)]
    pub sql: String,
}

/// Every named query, parsed once.
pub fn all() -> &'static [NamedQuery] {
    static QUERIES: std::sync::OnceLock<Vec<NamedQuery>> = std::sync::OnceLock::new();
    QUERIES.get_or_init(|| {
        // The files are compiled in and their headers checked by a unit test, so a parse
        // failure is a build defect.
        FILES
            .iter()
            .map(|(file, text)| parse(text).unwrap_or_else(|e| panic!("queries/named/{file}: {e}")))
            .collect()
    })
}

pub fn find(name: &str) -> Result<&'static NamedQuery, StoreError> {
    all().iter().find(|q| q.name == name).ok_or_else(|| {
        let names: Vec<&str> = all().iter().map(|q| q.name.as_str()).collect();
        StoreError::NotFound(format!(
            "no query named `{name}`; the named queries are: {}",
            names.join(", ")
        ))
    })
}

fn parse(text: &str) -> Result<NamedQuery, String> {
    let mut name = None;
    let mut description = None;
    let mut params = Vec::new();
    for line in text.lines().take_while(|line| line.starts_with("--")) {
        let line = line.trim_start_matches("--").trim();
        if let Some(value) = line.strip_prefix("name:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("description:") {
            description = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("param:") {
            params.push(parse_param(value.trim())?);
        }
    }
    Ok(NamedQuery {
        name: name.ok_or("header lacks `-- name:`")?,
        description: description.ok_or("header lacks `-- description:`")?,
        params,
        sql: text.to_owned(),
    })
}

/// `NAME TYPE required|optional description…`
fn parse_param(text: &str) -> Result<Param, String> {
    let mut words = text.splitn(4, ' ');
    let name = words
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("param lacks a name")?;
    let param_type = match words.next() {
        Some("VARCHAR") => ParamType::Varchar,
        Some("TIMESTAMPTZ") => ParamType::Timestamptz,
        Some("BIGINT") => ParamType::Bigint,
        Some("BOOLEAN") => ParamType::Boolean,
        other => return Err(format!("param {name}: unknown type {other:?}")),
    };
    let required = match words.next() {
        Some("required") => true,
        Some("optional") => false,
        other => {
            return Err(format!(
                "param {name}: expected required or optional, got {other:?}"
            ));
        }
    };
    Ok(Param {
        name: name.to_owned(),
        param_type,
        required,
        description: words.next().unwrap_or("").to_owned(),
    })
}

impl NamedQuery {
    /// Checks `given` against the declared parameters: every required one present, no
    /// unknown ones, each value of its type. Returns the value (or NULL) of each declared
    /// parameter, in declaration order.
    pub fn bind(
        &self,
        given: &BTreeMap<String, String>,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let bad =
            |message: String| StoreError::BadParameter(format!("query `{}`: {message}", self.name));
        if let Some(unknown) = given
            .keys()
            .find(|key| !self.params.iter().any(|p| &p.name == *key))
        {
            let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            return Err(bad(format!(
                "unknown parameter `{unknown}`; it takes: {}",
                known.join(", ")
            )));
        }
        self.params
            .iter()
            .map(|param| {
                let value = given.get(&param.name);
                match value {
                    None if param.required => {
                        Err(bad(format!("parameter `{}` is required", param.name)))
                    }
                    None => Ok((param.name.clone(), None)),
                    Some(value) => {
                        check_type(param, value).map_err(bad)?;
                        Ok((param.name.clone(), Some(value.clone())))
                    }
                }
            })
            .collect()
    }
}

fn check_type(param: &Param, value: &str) -> Result<(), String> {
    let ok = match param.param_type {
        ParamType::Varchar => true,
        ParamType::Timestamptz => chrono::DateTime::parse_from_rfc3339(value).is_ok(),
        ParamType::Bigint => value.parse::<i64>().is_ok(),
        ParamType::Boolean => matches!(value, "true" | "false"),
    };
    if ok {
        Ok(())
    } else {
        let expected = match param.param_type {
            ParamType::Varchar => "text",
            ParamType::Timestamptz => "an RFC 3339 timestamp",
            ParamType::Bigint => "a whole number",
            ParamType::Boolean => "true or false",
        };
        Err(format!(
            "parameter `{}` must be {expected}, got '{value}'",
            param.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_uses_only_declared_parameters() {
        for query in all() {
            for param in &query.params {
                assert!(
                    query.sql.contains(&format!("${}", param.name)),
                    "{}: ${} unused",
                    query.name,
                    param.name
                );
            }
        }
        assert_eq!(all().len(), FILES.len());
    }

    #[test]
    fn binding_checks_names_and_types() {
        let query = find("tokens_per_issuer").unwrap();
        let given = BTreeMap::from([("from".to_owned(), "yesterday".to_owned())]);
        let error = query.bind(&given).unwrap_err().to_string();
        assert!(
            error.contains("parameter `from` must be an RFC 3339 timestamp, got 'yesterday'"),
            "{error}"
        );
        let given = BTreeMap::from([("form".to_owned(), "2026-11-01T00:00:00Z".to_owned())]);
        let error = query.bind(&given).unwrap_err().to_string();
        assert!(
            error.contains("unknown parameter `form`; it takes: from, to"),
            "{error}"
        );
        assert!(
            find("nope")
                .unwrap_err()
                .to_string()
                .contains("tokens_per_issuer")
        );
    }
}
