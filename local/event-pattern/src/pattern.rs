//! Parsing and validating an event pattern into the rule tree the matcher
//! walks. Validation follows Event Ruler's compiler (what `PutRule` and
//! `TestEventPattern` run), with its wording, and names where in the pattern
//! each problem is.

use crate::cidr::IpRange;
use crate::numeric::{self, NumericRange};
use crate::wildcard::Wildcard;
use serde_json::{Map, Value};

/// AWS caps the sub-patterns a pattern's `$or`s expand to.
const MAX_OR_COMBINATIONS: u64 = 1000;
/// Not an AWS rule: bounds recursion on patterns built in code rather than
/// parsed (serde_json's parser already stops at 128 levels).
const MAX_DEPTH: usize = 100;
/// Inside a `$or` branch these names are taken to be operators misplaced, not fields.
const RESERVED_IN_OR: &[&str] = &[
    "anything-but",
    "prefix",
    "suffix",
    "equals-ignore-case",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
    "exactly",
    "=",
    "<",
    "<=",
    ">",
    ">=",
];

/// A parsed EventBridge event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub(crate) root: ObjectRule,
}

/// An invalid pattern: where it is (a dotted path into the pattern, with
/// `[i]` for array elements; empty for the pattern itself) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("event pattern is not valid at {}: {reason}", location(.path))]
    Invalid { path: String, reason: String },
    #[error("event pattern is too complex at {}: {reason}", location(.path))]
    TooComplex { path: String, reason: String },
}

impl PatternError {
    /// Where in the pattern the problem is.
    pub fn path(&self) -> &str {
        match self {
            PatternError::Invalid { path, .. } | PatternError::TooComplex { path, .. } => path,
        }
    }

    /// What is wrong, in EventBridge's words where it has some.
    pub fn reason(&self) -> &str {
        match self {
            PatternError::Invalid { reason, .. } | PatternError::TooComplex { reason, .. } => reason,
        }
    }
}

fn location(path: &str) -> String {
    if path.is_empty() {
        "the top level".into()
    } else {
        format!("`{path}`")
    }
}

fn invalid(path: &str, reason: impl Into<String>) -> PatternError {
    PatternError::Invalid {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// The conditions on one JSON object of the event: every field, and one
/// branch of every `$or`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectRule {
    pub(crate) fields: Vec<(String, FieldRule)>,
    pub(crate) ors: Vec<Vec<ObjectRule>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldRule {
    Object(ObjectRule),
    Values(LeafRule),
}

/// A field's array of alternatives; `source` is kept for explanations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeafRule {
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) source: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    /// A string, number, boolean or null, compared as JSON values: numbers by
    /// representation, so `300` is not `300.0`.
    Exact(Value),
    Prefix(String),
    /// Lower-cased operand.
    PrefixIgnoreCase(String),
    Suffix(String),
    /// Lower-cased operand.
    SuffixIgnoreCase(String),
    /// Lower-cased operand.
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(NumericRange),
    Cidr(IpRange),
    Exists(bool),
    AnythingBut(AnythingBut),
}

/// What `anything-but` excludes; a value matches when it is not excluded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnythingBut {
    Strings(Vec<String>),
    /// Comparable keys, so `100` and `100.0` are the same excluded number.
    Numbers(Vec<i64>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    /// Lower-cased.
    IgnoreCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

impl Pattern {
    /// Parses an EventBridge pattern; an invalid pattern is an error naming
    /// the path and the problem, under the validation rules EventBridge applies.
    pub fn parse(pattern: &Value) -> Result<Pattern, PatternError> {
        let Value::Object(object) = pattern else {
            return Err(invalid("", "Filter is not an object"));
        };
        let root = parse_object(object, "", false, 0)?;
        let combinations = or_combinations(&root);
        if combinations > MAX_OR_COMBINATIONS {
            return Err(PatternError::TooComplex {
                path: String::new(),
                reason: format!(
                    "its $or branches expand to {combinations} rule combinations; at most {MAX_OR_COMBINATIONS} are allowed"
                ),
            });
        }
        Ok(Pattern { root })
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_object(
    object: &Map<String, Value>,
    path: &str,
    inside_or: bool,
    depth: usize,
) -> Result<ObjectRule, PatternError> {
    if depth > MAX_DEPTH {
        return Err(PatternError::TooComplex {
            path: path.to_string(),
            reason: format!("patterns may nest at most {MAX_DEPTH} levels"),
        });
    }
    if object.is_empty() {
        return Err(invalid(path, "Empty objects are not allowed"));
    }
    let mut rule = ObjectRule {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in object {
        let here = join(path, key);
        // A `$or` holding an object is an ordinary field named "$or", as on AWS.
        if key == "$or" {
            if let Value::Array(members) = value {
                rule.ors.push(parse_or(members, &here, depth)?);
                continue;
            }
        }
        if inside_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return Err(invalid(
                &here,
                format!("{key} is Ruler reserved fieldName which cannot be used inside $or."),
            ));
        }
        let field = match value {
            Value::Object(child) => FieldRule::Object(parse_object(child, &here, inside_or, depth + 1)?),
            Value::Array(alternatives) => FieldRule::Values(parse_values(alternatives, &here)?),
            _ => return Err(invalid(&here, format!("\"{key}\" must be an object or an array"))),
        };
        rule.fields.push((key.clone(), field));
    }
    Ok(rule)
}

/// A `$or`'s branches, each matched against the object holding the `$or`.
fn parse_or(members: &[Value], or_path: &str, depth: usize) -> Result<Vec<ObjectRule>, PatternError> {
    let mut branches = Vec::with_capacity(members.len());
    for (i, member) in members.iter().enumerate() {
        let member_path = format!("{or_path}[{i}]");
        let Value::Object(object) = member else {
            return Err(invalid(
                &member_path,
                "Only JSON object is allowed in array of $or relationship.",
            ));
        };
        // Errors inside a branch name the branch ("detail.$or[1].x"); matching
        // itself only ever sees event paths.
        branches.push(parse_object(object, &member_path, true, depth + 1)?);
    }
    if members.len() < 2 {
        return Err(invalid(
            or_path,
            "There must have at least 2 Objects in $or relationship.",
        ));
    }
    Ok(branches)
}

fn parse_values(alternatives: &[Value], path: &str) -> Result<LeafRule, PatternError> {
    if alternatives.is_empty() {
        return Err(invalid(path, "Empty arrays are not allowed"));
    }
    let mut matchers = Vec::with_capacity(alternatives.len());
    for (i, alternative) in alternatives.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let matcher = match alternative {
            Value::Object(expression) => parse_expression(expression).map_err(|reason| invalid(&here, reason))?,
            Value::Array(_) => {
                return Err(invalid(
                    &here,
                    "Match value must be String, number, true, false, or null",
                ))
            }
            scalar => Matcher::Exact(scalar.clone()),
        };
        matchers.push(matcher);
    }
    Ok(LeafRule {
        matchers,
        source: Value::Array(alternatives.to_vec()),
    })
}

/// One `{ "operator": operand }` object.
fn parse_expression(expression: &Map<String, Value>) -> Result<Matcher, String> {
    let Some((name, operand)) = expression.iter().next() else {
        return Err("Match expression name not found".into());
    };
    // The operand is checked before the arity, as AWS's streaming parser does.
    let matcher = match name.as_str() {
        "prefix" => parse_affix("prefix", operand, Matcher::Prefix, Matcher::PrefixIgnoreCase)?,
        "suffix" => parse_affix("suffix", operand, Matcher::Suffix, Matcher::SuffixIgnoreCase)?,
        "equals-ignore-case" => match operand {
            Value::String(s) => Matcher::EqualsIgnoreCase(s.to_lowercase()),
            _ => return Err("equals-ignore-case match pattern must be a string".into()),
        },
        "wildcard" => match operand {
            Value::String(s) => Matcher::Wildcard(Wildcard::parse(s)?),
            _ => return Err("wildcard match pattern must be a string".into()),
        },
        "numeric" => Matcher::Numeric(NumericRange::parse(operand)?),
        "exists" => match operand {
            Value::Bool(b) => Matcher::Exists(*b),
            _ => return Err("exists match pattern must be either true or false.".into()),
        },
        // AWS's message here says "prefix"; ours names the operator actually used.
        "cidr" => match operand {
            Value::String(s) => Matcher::Cidr(IpRange::parse(s)?),
            _ => return Err("cidr match pattern must be a string".into()),
        },
        "anything-but" => Matcher::AnythingBut(parse_anything_but(operand)?),
        other => return Err(format!("Unrecognized match type {other}")),
    };
    if expression.len() > 1 {
        return Err("Only one key allowed in match expression".into());
    }
    Ok(matcher)
}

/// `prefix`/`suffix`: a string, or `{"equals-ignore-case": string}`.
fn parse_affix(
    name: &str,
    operand: &Value,
    plain: fn(String) -> Matcher,
    ignore_case: fn(String) -> Matcher,
) -> Result<Matcher, String> {
    match operand {
        Value::String(s) => Ok(plain(s.clone())),
        Value::Object(inner) => {
            let capitalised = if name == "prefix" { "Prefix" } else { "Suffix" };
            let Some((inner_name, inner_operand)) = inner.iter().next() else {
                return Err(format!("{capitalised} expression name not found"));
            };
            if inner_name != "equals-ignore-case" {
                return Err(format!("Unsupported {name} pattern: {inner_name}"));
            }
            let Value::String(s) = inner_operand else {
                return Err("equals-ignore-case match pattern must be a string".into());
            };
            if inner.len() > 1 {
                return Err("Only one key allowed in match expression".into());
            }
            Ok(ignore_case(s.to_lowercase()))
        }
        _ => Err(format!("{name} match pattern must be a string")),
    }
}

fn parse_anything_but(operand: &Value) -> Result<AnythingBut, String> {
    const NOT_A_VALUE: &str = "Value of anything-but must be an array or single string/number value.";
    match operand {
        Value::String(s) => Ok(AnythingBut::Strings(vec![s.clone()])),
        Value::Number(_) => Ok(AnythingBut::Numbers(vec![anything_but_number(operand)?])),
        Value::Array(items) => {
            // Walked in order, so an unsupported element is reported before mixing.
            if items.iter().any(|v| !matches!(v, Value::String(_) | Value::Number(_))) {
                return Err("Inside anything but list, start|null|boolean is not supported.".into());
            }
            let strings: Vec<String> = items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
            if items.is_empty() || (!strings.is_empty() && strings.len() != items.len()) {
                return Err(
                    "Inside anything but list, either all values are number or string, mixed type is not supported"
                        .into(),
                );
            }
            if strings.is_empty() {
                Ok(AnythingBut::Numbers(
                    items.iter().map(anything_but_number).collect::<Result<_, _>>()?,
                ))
            } else {
                Ok(AnythingBut::Strings(strings))
            }
        }
        Value::Object(inner) => {
            let Some((name, nested)) = inner.iter().next() else {
                return Err("Anything-But expression name not found".into());
            };
            if !matches!(name.as_str(), "prefix" | "suffix" | "equals-ignore-case" | "wildcard") {
                return Err(format!("Unsupported anything-but pattern: {name}"));
            }
            if inner.len() > 1 {
                return Err("Only one key allowed in match expression".into());
            }
            let candidates: Vec<&Value> = match nested {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            if candidates.iter().any(|v| v.is_null() || v.is_boolean()) {
                return Err(NOT_A_VALUE.into());
            }
            // AWS accepts an empty list here and then fails at match time; an
            // anything-but excluding nothing is refused instead.
            if candidates.is_empty() {
                return Err("Empty arrays are not allowed".into());
            }
            parse_anything_but_nested(name, &candidates)
        }
        Value::Bool(_) | Value::Null => Err(NOT_A_VALUE.into()),
    }
}

fn anything_but_number(value: &Value) -> Result<i64, String> {
    value
        .as_f64()
        .and_then(numeric::comparable)
        .ok_or_else(|| numeric::RANGE_MESSAGE.to_string())
}

fn parse_anything_but_nested(name: &str, candidates: &[&Value]) -> Result<AnythingBut, String> {
    let type_error = match name {
        "prefix" | "suffix" => "prefix/suffix match pattern must be a string",
        "equals-ignore-case" => {
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
        }
        _ => "wildcard match pattern must be a string",
    };
    let mut texts = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let Value::String(text) = candidate else {
            return Err(type_error.into());
        };
        if matches!(name, "prefix" | "suffix") && text.is_empty() {
            return Err("Null prefix/suffix not allowed".into());
        }
        texts.push(text.clone());
    }
    Ok(match name {
        "prefix" => AnythingBut::Prefixes(texts),
        "suffix" => AnythingBut::Suffixes(texts),
        "equals-ignore-case" => AnythingBut::IgnoreCase(texts.iter().map(|t| t.to_lowercase()).collect()),
        _ => AnythingBut::Wildcards(texts.iter().map(|t| Wildcard::parse(t)).collect::<Result<_, _>>()?),
    })
}

/// AWS's count: the product of every `$or`'s branch count, nested ones included.
fn or_combinations(rule: &ObjectRule) -> u64 {
    let mut product: u64 = 1;
    for (_, field) in &rule.fields {
        if let FieldRule::Object(child) = field {
            product = product.saturating_mul(or_combinations(child));
        }
    }
    for branches in &rule.ors {
        product = product.saturating_mul(branches.len() as u64);
        for branch in branches {
            product = product.saturating_mul(or_combinations(branch));
        }
    }
    product
}
