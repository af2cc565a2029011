//! The HTTP `WWW-Authenticate` header (RFC 9110 §11.6.1), as MCP servers and gateways send
//! it: RFC 6750 §3 `Bearer` challenges with `realm`, `scope`, `error`, `error_description`,
//! `error_uri`, and RFC 9728 §5.1 `resource_metadata`.
//!
//! ```text
//! WWW-Authenticate = #challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Challenges and their parameters share the comma as separator, so after a comma an
//! element is a parameter of the current challenge when it reads `token BWS "="`, and a
//! new challenge otherwise (RFC 9110's own example: `Basic realm="simple", Newauth
//! realm="apps", type=1, title="Login to \"apps\""` is two challenges).
//!
//! Written here rather than taken from a crate: `http-auth` (the maintained parser) refuses
//! `token68` challenges (`Negotiate <blob>`, valid RFC 9110) and non-ASCII `obs-text`, and
//! reports every problem as "invalid byte"; a log reader wants the whole grammar and a
//! message that says what was wrong.

use std::collections::BTreeMap;
use std::fmt;

/// One challenge: the scheme as sent, and either a token68 or named parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    /// Parameter names lower-cased (they compare case-insensitively); values unquoted.
    pub params: BTreeMap<String, String>,
    pub token68: Option<String>,
}

impl Challenge {
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }
}

/// Writes the challenge back as header text, every parameter value quoted.
impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(token68) = &self.token68 {
            return write!(f, " {token68}");
        }
        for (index, (name, value)) in self.params.iter().enumerate() {
            let separator = if index == 0 { " " } else { ", " };
            write!(f, "{separator}{name}=\"")?;
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

/// The parameters of a `Bearer` challenge that OAuth defines (RFC 6750 §3, RFC 9728 §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bearer {
    pub realm: Option<String>,
    /// `scope`: space-separated scope tokens.
    pub scope: Vec<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
    pub resource_metadata: Option<String>,
}

impl From<&Challenge> for Bearer {
    fn from(challenge: &Challenge) -> Self {
        let param = |name: &str| challenge.params.get(name).cloned();
        Bearer {
            realm: param("realm"),
            scope: param("scope")
                .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            error: param("error"),
            error_description: param("error_description"),
            error_uri: param("error_uri"),
            resource_metadata: param("resource_metadata"),
        }
    }
}

/// The first `Bearer` challenge of a header (scheme compared case-insensitively), if any.
pub fn bearer(header: &str) -> Result<Option<Bearer>, String> {
    let challenges = parse(header)?;
    Ok(challenges.iter().find(|c| c.is_bearer()).map(Bearer::from))
}

/// Every challenge of a header, in order. An empty header has none.
pub fn parse(header: &str) -> Result<Vec<Challenge>, String> {
    let mut parser = Parser {
        text: header,
        pos: 0,
    };
    let mut challenges = Vec::new();
    loop {
        parser.skip_list_separators();
        if parser.at_end() {
            return Ok(challenges);
        }
        challenges.push(parser.challenge()?);
    }
}

/// A cursor over the header text; every method either advances past what it read or
/// returns an error naming the byte offset.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_ows(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Empty list elements are allowed (RFC 9110 §5.6.1): `, ,Bearer`.
    fn skip_list_separators(&mut self) {
        while self.skip_ows() || self.peek() == Some(',') {
            if self.peek() == Some(',') {
                self.pos += 1;
            }
        }
    }

    /// What is at the cursor, for messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the header".to_owned(),
            Some(c) => format!("`{c}` at byte {}", self.pos),
        }
    }

    fn scan(&self, allowed: impl Fn(char) -> bool) -> usize {
        self.text[self.pos..]
            .find(|c: char| !allowed(c))
            .map_or(self.text.len(), |offset| self.pos + offset)
    }

    fn token(&mut self, what: &str) -> Result<String, String> {
        let end = self.scan(is_tchar);
        if end == self.pos {
            return Err(format!("expected {what}, found {}", self.found()));
        }
        let token = self.text[self.pos..end].to_owned();
        self.pos = end;
        Ok(token)
    }

    /// Whether the cursor is at `token BWS "="` (a parameter rather than a new challenge).
    fn at_param(&self) -> bool {
        let after_name = self.scan(is_tchar);
        after_name > self.pos
            && self.text[after_name..]
                .trim_start_matches([' ', '\t'])
                .starts_with('=')
    }

    fn challenge(&mut self) -> Result<Challenge, String> {
        // `name=` cannot start a challenge (a scheme is followed by a space or nothing).
        let name_end = self.scan(is_tchar);
        if name_end > self.pos && self.text[name_end..].starts_with('=') {
            return Err(format!(
                "expected an auth-scheme at byte {}, found the parameter `{}` outside any challenge",
                self.pos,
                &self.text[self.pos..name_end]
            ));
        }
        let mut challenge = Challenge {
            scheme: self.token("an auth-scheme")?,
            ..Challenge::default()
        };
        let spaced = self.skip_ows();
        if self.at_end() || self.peek() == Some(',') {
            return Ok(challenge);
        }
        if !spaced {
            return Err(format!(
                "expected a space after the auth-scheme `{}`, found {}",
                challenge.scheme,
                self.found()
            ));
        }
        if let Some(token68) = self.token68() {
            challenge.token68 = Some(token68);
            return Ok(challenge);
        }
        loop {
            let (name, value) = self.param()?;
            if challenge.params.insert(name.clone(), value).is_some() {
                return Err(format!(
                    "parameter `{name}` repeated in the `{}` challenge",
                    challenge.scheme
                ));
            }
            self.skip_ows();
            if self.at_end() {
                return Ok(challenge);
            }
            if self.peek() != Some(',') {
                return Err(format!(
                    "expected `,` after parameter `{name}`, found {}",
                    self.found()
                ));
            }
            self.skip_list_separators();
            if self.at_end() || !self.at_param() {
                return Ok(challenge);
            }
        }
    }

    /// A token68 that makes up the whole challenge argument (it is followed by the end or a
    /// comma); otherwise the argument is a parameter list and nothing is consumed.
    fn token68(&mut self) -> Option<String> {
        let mut end = self.scan(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c));
        if end == self.pos {
            return None;
        }
        end += self.text[end..].len() - self.text[end..].trim_start_matches('=').len();
        let rest = self.text[end..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
        let token68 = self.text[self.pos..end].to_owned();
        self.pos = end;
        Some(token68)
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, the name lower-cased.
    fn param(&mut self) -> Result<(String, String), String> {
        let name = self.token("a parameter name")?.to_ascii_lowercase();
        self.skip_ows();
        if self.peek() != Some('=') {
            return Err(format!(
                "expected `=` after parameter `{name}`, found {}",
                self.found()
            ));
        }
        self.pos += 1;
        self.skip_ows();
        let value = if self.peek() == Some('"') {
            self.quoted_string(&name)?
        } else {
            self.token(&format!("a value for parameter `{name}`"))?
        };
        Ok((name, value))
    }

    /// A quoted-string (RFC 9110 §5.6.4) with its quoted-pairs resolved.
    fn quoted_string(&mut self, name: &str) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((offset, c)) = chars.next() {
            let at = self.pos + offset;
            match c {
                '"' => {
                    self.pos = at + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped))
                        if is_qdtext(escaped) || escaped == '"' || escaped == '\\' =>
                    {
                        value.push(escaped)
                    }
                    _ => {
                        return Err(format!(
                            "invalid quoted-pair at byte {at} in parameter `{name}`"
                        ));
                    }
                },
                c if is_qdtext(c) => value.push(c),
                c => {
                    return Err(format!(
                        "control character {c:?} at byte {at} in the value of parameter `{name}`"
                    ));
                }
            }
        }
        Err(format!(
            "unterminated quoted-string for parameter `{name}` (opened at byte {start})"
        ))
    }
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// `qdtext`, plus `"` and `\` handled by the caller: HTAB, SP, visible ASCII, obs-text.
fn is_qdtext(c: char) -> bool {
    c == '\t' || c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') || !c.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.to_owned(),
            params: params
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            token68: None,
        }
    }

    #[test]
    fn valid_headers_parse_to_their_challenges() {
        let cases: &[(&str, Vec<Challenge>)] = &[
            // RFC 6750 §3
            (
                r#"Bearer realm="example""#,
                vec![challenge("Bearer", &[("realm", "example")])],
            ),
            (
                r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
                vec![challenge(
                    "Bearer",
                    &[
                        ("realm", "example"),
                        ("error", "invalid_token"),
                        ("error_description", "The access token expired"),
                    ],
                )],
            ),
            (
                r#"Bearer error="insufficient_scope", scope="files:read files:write""#,
                vec![challenge(
                    "Bearer",
                    &[
                        ("error", "insufficient_scope"),
                        ("scope", "files:read files:write"),
                    ],
                )],
            ),
            // RFC 9728 §5.1
            (
                r#"Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource""#,
                vec![challenge(
                    "Bearer",
                    &[(
                        "resource_metadata",
                        "https://resource.example.com/.well-known/oauth-protected-resource",
                    )],
                )],
            ),
            // RFC 9110 §11.6.1: two challenges, a token value, an escaped quote
            (
                r#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#,
                vec![
                    challenge("Basic", &[("realm", "simple")]),
                    challenge(
                        "Newauth",
                        &[
                            ("realm", "apps"),
                            ("type", "1"),
                            ("title", r#"Login to "apps""#),
                        ],
                    ),
                ],
            ),
            // token values, mixed-case names, BWS around `=`, extra whitespace and commas
            (
                "  bearer  Error = invalid_token ,  REALM=\"a, b\" ,, ",
                vec![challenge(
                    "bearer",
                    &[("error", "invalid_token"), ("realm", "a, b")],
                )],
            ),
            // escaped backslash, non-ASCII text, an empty quoted value
            (
                r#"Bearer error_description="C:\\dir \ré", realm="""#,
                vec![challenge(
                    "Bearer",
                    &[("error_description", r"C:\dir ré"), ("realm", "")],
                )],
            ),
            // schemes without parameters, token68
            (
                "Negotiate, Negotiate YIIB/w+==, DPoP algs=\"ES256 PS256\"",
                vec![
                    challenge("Negotiate", &[]),
                    Challenge {
                        scheme: "Negotiate".into(),
                        token68: Some("YIIB/w+==".into()),
                        ..Challenge::default()
                    },
                    challenge("DPoP", &[("algs", "ES256 PS256")]),
                ],
            ),
            ("", vec![]),
        ];
        for (header, expected) in cases {
            assert_eq!(&parse(header).unwrap(), expected, "{header}");
        }
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let cases = [
            (
                r#"Bearer realm="example"#,
                "unterminated quoted-string for parameter `realm` (opened at byte 13)",
            ),
            (
                r#"realm="example""#,
                "expected an auth-scheme at byte 0, found the parameter `realm` outside any challenge",
            ),
            (
                r#"Bearer ="x""#,
                "expected a parameter name, found `=` at byte 7",
            ),
            (
                r#"Bearer realm="a", ="b""#,
                "expected an auth-scheme, found `=` at byte 18",
            ),
            (
                r#"Bearer realm="a" scope="b""#,
                "expected `,` after parameter `realm`, found `s` at byte 17",
            ),
            (
                r#"Bearer error="x", realm=, scope="b""#,
                "expected a value for parameter `realm`, found `,` at byte 24",
            ),
            (
                r#"Bearer realm "x""#,
                "expected `=` after parameter `realm`, found `\"` at byte 13",
            ),
            (
                r#"Bearer realm="a", realm="b""#,
                "parameter `realm` repeated in the `Bearer` challenge",
            ),
            (
                r#"Bearer realm="a\"#,
                "invalid quoted-pair at byte 15 in parameter `realm`",
            ),
            (
                "Bearer realm=\"a\u{1}\"",
                "control character '\\u{1}' at byte 15 in the value of parameter `realm`",
            ),
            (
                "Bearer\"x\"",
                "expected a space after the auth-scheme `Bearer`, found `\"` at byte 6",
            ),
            ("@@@", "expected an auth-scheme, found `@` at byte 0"),
        ];
        for (header, message) in cases {
            assert_eq!(parse(header).unwrap_err(), message, "{header}");
        }
    }

    /// A header cut anywhere (as a log line limit would) parses or errs, never panics.
    #[test]
    fn every_prefix_of_a_header_parses_or_errs() {
        let header = r#"Basic realm="sïmple", Negotiate YIIB/w==, Bearer error="x\"y", scope=a"#;
        for (end, _) in header.char_indices() {
            let _ = parse(&header[..end]);
        }
        assert_eq!(parse(header).unwrap().len(), 3);
    }

    #[test]
    fn bearer_picks_the_bearer_challenge() {
        let header = r#"Basic realm="x", BEARER realm="example", error="insufficient_scope", scope="files:read  files:write", error_uri="https://e.example/why", resource_metadata="https://r.example/.well-known/oauth-protected-resource""#;
        assert_eq!(
            bearer(header).unwrap(),
            Some(Bearer {
                realm: Some("example".into()),
                scope: vec!["files:read".into(), "files:write".into()],
                error: Some("insufficient_scope".into()),
                error_description: None,
                error_uri: Some("https://e.example/why".into()),
                resource_metadata: Some(
                    "https://r.example/.well-known/oauth-protected-resource".into()
                ),
            })
        );
        assert_eq!(bearer(r#"Basic realm="x""#).unwrap(), None);
        assert!(bearer(r#"Bearer realm="x"#).is_err());
    }

    #[test]
    fn challenges_write_back_as_they_parse() {
        let header = r#"Bearer error="invalid_token", error_description="say \"hi\" \\o/""#;
        let challenges = parse(header).unwrap();
        assert_eq!(challenges[0].to_string(), header);
        assert_eq!(parse(&challenges[0].to_string()).unwrap(), challenges);
    }
}
