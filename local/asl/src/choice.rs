//! Choice rules: parsing (with the spec's well-formedness checks) and evaluation.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use crate::env::Env;
use crate::path::{Path, PathError};
use crate::template::{Template, TemplateError};
use crate::value::compare_numbers;

/// Why a Choice rule is malformed or could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    #[error("{at}: {source}")]
    Path { at: String, source: PathError },
    // Worded like the AWS States.Runtime cause for a missing Variable.
    #[error("Invalid path '{path}': The choice state's condition path references an invalid value.")]
    Missing { path: String },
    #[error("{0}")]
    Template(#[from] TemplateError),
    // AWS's words for a Condition that is not a boolean (query_language snapshots).
    #[error("The JSONata expression '{text}' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '{kind}' for value: {value}")]
    NotBoolean {
        text: String,
        kind: &'static str,
        value: String,
    },
}

impl ChoiceError {
    /// True when the failure is a JSONata one (States.QueryEvaluationError).
    pub(crate) fn is_query_evaluation(&self) -> bool {
        match self {
            Self::Template(e) => e.is_query_evaluation(),
            Self::NotBoolean { .. } => true,
            _ => false,
        }
    }
}

/// A top-level rule of a Choice state.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
    /// The rule's Assign, applied when it matches (JSONPath: a `.$` template; JSONata: `{% %}`).
    pub(crate) assign: Option<Template>,
    /// The rule's Output (JSONata only), the state's output when it matches.
    pub(crate) output: Option<Template>,
}

/// A boolean expression or a data test.
#[derive(Debug, Clone)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Test {
        variable: Path,
        test: Test,
    },
    /// A JSONata rule's `Condition`: an expression (or a literal boolean) that must be a boolean.
    Jsonata(Template),
}

/// A comparison against the value the Variable selects.
#[derive(Debug, Clone)]
pub enum Test {
    String(Comparison, Operand),
    Numeric(Comparison, Operand),
    Timestamp(Comparison, Operand),
    Boolean(Operand),
    Matches(Vec<Glob>),
    IsNull(bool),
    IsPresent(bool),
    IsNumeric(bool),
    IsString(bool),
    IsBoolean(bool),
    IsTimestamp(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

/// The right-hand side: a literal, or a path (`...Path` operators) into the input.
#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

/// One piece of a StringMatches pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Glob {
    Char(char),
    Star,
}

const KINDS: [(&str, Kind); 5] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Timestamp", Kind::Timestamp),
    ("Boolean", Kind::Boolean),
    ("Is", Kind::Is),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Numeric,
    Timestamp,
    Boolean,
    Is,
}

impl ChoiceRule {
    /// Parses an element of `Choices`; `at` locates it for error messages (e.g. `Choices[0]`).
    pub fn parse(value: &Value, at: &str) -> Result<Self, ChoiceError> {
        let map = as_object(value, at)?;
        let next = match map.get("Next") {
            Some(Value::String(next)) => next.clone(),
            Some(_) => return Err(invalid(at, "\"Next\" must be a string")),
            None => return Err(invalid(at, "a top-level choice rule must have \"Next\"")),
        };
        let condition = Condition::parse(map, at, true)?;
        let assign = map
            .get("Assign")
            .map(|value| Template::compile(value).map_err(ChoiceError::Template))
            .transpose()?;
        Ok(Self {
            condition,
            next,
            assign,
            output: None,
        })
    }

    /// Parses an element of a JSONata Choice state's `Choices`: `Condition`, `Next`, and
    /// optionally `Assign` and `Output` ("Choice workflow state", JSONata rules).
    pub(crate) fn parse_jsonata(value: &Value, at: &str) -> Result<Self, ChoiceError> {
        let map = as_object(value, at)?;
        if let Some(extra) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "Condition" | "Next" | "Assign" | "Output" | "Comment"))
        {
            return Err(invalid(
                at,
                &format!("field \"{extra}\" is not valid in a JSONata choice rule"),
            ));
        }
        let next = match map.get("Next") {
            Some(Value::String(next)) => next.clone(),
            _ => return Err(invalid(at, "a choice rule must have \"Next\"")),
        };
        let condition = match map.get("Condition") {
            Some(value @ (Value::String(_) | Value::Bool(_))) => {
                Condition::Jsonata(Template::compile_jsonata(value, "Condition")?)
            }
            Some(_) => return Err(invalid(at, "\"Condition\" must be a boolean or a JSONata expression")),
            None => return Err(invalid(at, "a JSONata choice rule must have \"Condition\"")),
        };
        let compile = |key: &str| {
            map.get(key)
                .map(|value| Template::compile_jsonata(value, key))
                .transpose()
                .map_err(ChoiceError::Template)
        };
        Ok(Self {
            condition,
            next,
            assign: compile("Assign")?,
            output: compile("Output")?,
        })
    }
}

impl Condition {
    fn parse(map: &Map<String, Value>, at: &str, top_level: bool) -> Result<Self, ChoiceError> {
        let allowed_extra = |key: &str| key == "Comment" || (top_level && (key == "Next" || key == "Assign"));
        if !top_level && map.contains_key("Next") {
            return Err(invalid(at, "a nested choice rule must not have \"Next\""));
        }
        for (op, kind) in [("And", 0), ("Or", 1), ("Not", 2)] {
            let Some(value) = map.get(op) else { continue };
            if let Some(extra) = map.keys().find(|k| *k != op && !allowed_extra(k)) {
                return Err(invalid(
                    at,
                    &format!("field \"{extra}\" cannot be combined with \"{op}\""),
                ));
            }
            let at = format!("{at}.{op}");
            return Ok(match kind {
                2 => Condition::Not(Box::new(Condition::parse(as_object(value, &at)?, &at, false)?)),
                _ => {
                    let rules = value
                        .as_array()
                        .filter(|items| !items.is_empty())
                        .ok_or_else(|| invalid(&at, "must be a non-empty array of choice rules"))?;
                    let parsed = rules
                        .iter()
                        .enumerate()
                        .map(|(i, rule)| {
                            let at = format!("{at}[{i}]");
                            Condition::parse(as_object(rule, &at)?, &at, false)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if kind == 0 {
                        Condition::And(parsed)
                    } else {
                        Condition::Or(parsed)
                    }
                }
            });
        }

        let variable = match map.get("Variable") {
            Some(Value::String(text)) => Path::parse(text).map_err(|source| ChoiceError::Path {
                at: format!("{at}.Variable"),
                source,
            })?,
            Some(_) => return Err(invalid(at, "\"Variable\" must be a string path")),
            None => {
                return Err(invalid(
                    at,
                    "a choice rule needs \"And\", \"Or\", \"Not\" or \"Variable\"",
                ))
            }
        };
        let operators: Vec<&String> = map.keys().filter(|k| *k != "Variable" && !allowed_extra(k)).collect();
        let [operator] = operators.as_slice() else {
            return Err(invalid(
                at,
                &format!(
                    "a data-test rule needs exactly one comparison operator, found {}",
                    operators.len()
                ),
            ));
        };
        let operand = map.get(operator.as_str()).unwrap_or(&Value::Null);
        let test = parse_test(operator, operand, &format!("{at}.{operator}"))?;
        Ok(Condition::Test { variable, test })
    }

    /// Evaluates against `env`: paths read its roots, a JSONata Condition its bindings.
    pub(crate) fn evaluate_in(&self, env: &Env<'_>) -> Result<bool, ChoiceError> {
        match self {
            Condition::And(rules) => {
                for rule in rules {
                    if !rule.evaluate_in(env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(rules) => {
                for rule in rules {
                    if rule.evaluate_in(env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(rule) => Ok(!rule.evaluate_in(env)?),
            Condition::Jsonata(template) => match template.evaluate_in(env)? {
                Value::Bool(b) => Ok(b),
                other => Err(ChoiceError::NotBoolean {
                    text: template.jsonata_source().unwrap_or_default().to_owned(),
                    kind: crate::path::type_name(&other),
                    value: other.to_string(),
                }),
            },
            Condition::Test { variable, test } => {
                let read = |path: &Path| path.select_opt_in(env);
                let value = read(variable);
                if let Test::IsPresent(expected) = test {
                    return Ok(value.is_some() == *expected);
                }
                let value = value.ok_or_else(|| ChoiceError::Missing {
                    path: variable.as_str().to_owned(),
                })?;
                let operand = |operand: &Operand| -> Result<Value, ChoiceError> {
                    match operand {
                        Operand::Literal(v) => Ok(v.clone()),
                        Operand::Path(p) => read(p).ok_or_else(|| ChoiceError::Missing {
                            path: p.as_str().to_owned(),
                        }),
                    }
                };
                Ok(match test {
                    Test::String(cmp, rhs) => match (value.as_str(), operand(rhs)?.as_str()) {
                        (Some(a), Some(b)) => holds(*cmp, a.cmp(b)),
                        _ => false,
                    },
                    Test::Numeric(cmp, rhs) => match (&value, &operand(rhs)?) {
                        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b).is_some_and(|o| holds(*cmp, o)),
                        _ => false,
                    },
                    Test::Timestamp(cmp, rhs) => {
                        let rhs = operand(rhs)?;
                        match (
                            value.as_str().and_then(parse_timestamp),
                            rhs.as_str().and_then(parse_timestamp),
                        ) {
                            (Some(a), Some(b)) => holds(*cmp, a.cmp(&b)),
                            _ => false,
                        }
                    }
                    Test::Boolean(rhs) => match (value.as_bool(), operand(rhs)?.as_bool()) {
                        (Some(a), Some(b)) => a == b,
                        _ => false,
                    },
                    Test::Matches(pattern) => value.as_str().is_some_and(|s| glob_matches(pattern, s)),
                    Test::IsNull(expected) => value.is_null() == *expected,
                    Test::IsNumeric(expected) => value.is_number() == *expected,
                    Test::IsString(expected) => value.is_string() == *expected,
                    Test::IsBoolean(expected) => value.is_boolean() == *expected,
                    Test::IsTimestamp(expected) => value.as_str().and_then(parse_timestamp).is_some() == *expected,
                    Test::IsPresent(_) => true,
                })
            }
        }
    }
}

fn holds(cmp: Comparison, ordering: Ordering) -> bool {
    match cmp {
        Comparison::Equals => ordering == Ordering::Equal,
        Comparison::LessThan => ordering == Ordering::Less,
        Comparison::GreaterThan => ordering == Ordering::Greater,
        Comparison::LessThanEquals => ordering != Ordering::Greater,
        Comparison::GreaterThanEquals => ordering != Ordering::Less,
    }
}

fn parse_test(operator: &str, value: &Value, at: &str) -> Result<Test, ChoiceError> {
    if operator == "StringMatches" {
        let pattern = value.as_str().ok_or_else(|| invalid(at, "must be a string"))?;
        return Ok(Test::Matches(compile_glob(pattern).map_err(|m| invalid(at, &m))?));
    }
    let Some((kind, rest)) = KINDS
        .iter()
        .find_map(|(prefix, kind)| operator.strip_prefix(prefix).map(|r| (*kind, r)))
    else {
        return Err(invalid(at, &format!("\"{operator}\" is not a comparison operator")));
    };
    let unknown = || invalid(at, &format!("\"{operator}\" is not a comparison operator"));
    if kind == Kind::Is {
        let expected = value.as_bool().ok_or_else(|| invalid(at, "must be true or false"))?;
        return Ok(match rest {
            "Null" => Test::IsNull(expected),
            "Present" => Test::IsPresent(expected),
            "Numeric" => Test::IsNumeric(expected),
            "String" => Test::IsString(expected),
            "Boolean" => Test::IsBoolean(expected),
            "Timestamp" => Test::IsTimestamp(expected),
            _ => return Err(unknown()),
        });
    }
    let (comparison, is_path) = {
        let (base, is_path) = match rest.strip_suffix("Path") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let comparison = match base {
            "Equals" => Comparison::Equals,
            "LessThan" => Comparison::LessThan,
            "GreaterThan" => Comparison::GreaterThan,
            "LessThanEquals" => Comparison::LessThanEquals,
            "GreaterThanEquals" => Comparison::GreaterThanEquals,
            _ => return Err(unknown()),
        };
        (comparison, is_path)
    };
    if kind == Kind::Boolean && comparison != Comparison::Equals {
        return Err(unknown());
    }
    let operand = if is_path {
        let text = value.as_str().ok_or_else(|| invalid(at, "must be a path string"))?;
        Operand::Path(Path::parse(text).map_err(|source| ChoiceError::Path {
            at: at.to_owned(),
            source,
        })?)
    } else {
        let ok = match kind {
            Kind::String => value.is_string(),
            Kind::Numeric => value.is_number(),
            Kind::Boolean => value.is_boolean(),
            Kind::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
            Kind::Is => false,
        };
        if !ok {
            let expected = match kind {
                Kind::String => "a string",
                Kind::Numeric => "a number",
                Kind::Boolean => "a boolean",
                _ => "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z",
            };
            return Err(invalid(at, &format!("must be {expected}")));
        }
        Operand::Literal(value.clone())
    };
    Ok(match kind {
        Kind::String => Test::String(comparison, operand),
        Kind::Numeric => Test::Numeric(comparison, operand),
        Kind::Timestamp => Test::Timestamp(comparison, operand),
        _ => Test::Boolean(operand),
    })
}

/// Parses a timestamp with the spec's restrictions: RFC 3339, uppercase `T`, and `Z` (uppercase)
/// unless a numeric offset is given.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    if text.as_bytes().get(10) != Some(&b'T') || text.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

fn compile_glob(pattern: &str) -> Result<Vec<Glob>, String> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Glob::Star),
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '\\')) => out.push(Glob::Char(escaped)),
                _ => return Err("open escape '\\' in StringMatches: only \\* and \\\\ are allowed".to_owned()),
            },
            c => out.push(Glob::Char(c)),
        }
    }
    Ok(out)
}

// Classic wildcard matching with backtracking to the last star.
fn glob_matches(pattern: &[Glob], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Glob::Star) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Glob::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|g| *g == Glob::Star)
}

fn as_object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ChoiceError> {
    value
        .as_object()
        .ok_or_else(|| invalid(at, "a choice rule must be a JSON object"))
}

fn invalid(at: &str, message: &str) -> ChoiceError {
    ChoiceError::Invalid {
        at: at.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn glob_examples_from_the_spec() {
        let cases = [
            ("foo*.log", "foo23.log", true),
            ("*.log", "zebra.log", true),
            ("foo*.*", "foobar.zebra", true),
            ("foo*.log", "foo23.txt", false),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("a\\\\b", "a\\b", true),
            ("*", "", true),
            ("a*b*c", "aXbYbZc", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_matches(&compile_glob(pattern).unwrap(), text),
                expected,
                "{pattern} ~ {text}"
            );
        }
        assert!(compile_glob("bad\\x").is_err());
    }

    #[test]
    fn timestamps_follow_the_spec_restrictions() {
        assert!(parse_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_timestamp("2016-03-14T01:59:00.123+02:00").is_some());
        assert!(parse_timestamp("2016-03-14t01:59:00Z").is_none());
        assert!(parse_timestamp("2016-03-14T01:59:00z").is_none());
        assert!(parse_timestamp("2016-03-14").is_none());
    }

    #[test]
    fn malformed_rules_are_rejected() {
        let cases = [
            json!({"Variable": "$.x", "Next": "A"}),
            json!({"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "A"}),
            json!({"Variable": "$.x", "StringEquals": 1, "Next": "A"}),
            json!({"Variable": "$.x", "BooleanLessThan": true, "Next": "A"}),
            json!({"Variable": "$.x", "TimestampEquals": "yesterday", "Next": "A"}),
            json!({"And": [], "Next": "A"}),
            json!({"And": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}], "Next": "A"}),
            json!({"Variable": "$.x", "StringEquals": "a"}),
        ];
        for case in cases {
            assert!(ChoiceRule::parse(&case, "Choices[0]").is_err(), "{case}");
        }
    }
}
