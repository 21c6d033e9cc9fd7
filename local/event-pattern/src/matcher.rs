//! Matching an event against a parsed pattern.
//!
//! The walk follows the pattern, not the event: fields the pattern does not
//! name are never looked at. Arrays in the event are "crushed": a leaf field
//! matches if any element matches, and a nested object matches if any one
//! element satisfies *all* of its conditions — the array-consistent matching
//! EventBridge does, so `{"a": {"x": [1], "y": [2]}}` does not match
//! `{"a": [{"x": 1}, {"y": 2}]}`.

use crate::numeric;
use crate::pattern::{AnythingBut, FieldRule, LeafRule, Matcher, ObjectRule, Pattern};
use serde_json::Value;

/// Why an event does not match: the first field (dotted path such as
/// `detail.state`) whose condition failed, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Mismatch {
    /// Dotted event path, e.g. `detail.state`.
    pub field: String,
    /// What the event holds there and what the pattern wanted.
    pub reason: String,
}

/// `Err(None)` when the caller did not ask for the reason: `matches` should
/// not pay for formatting explanations it throws away.
type Outcome = Result<(), Option<Mismatch>>;

impl Pattern {
    /// Whether the event matches, as `TestEventPattern` would answer.
    pub fn matches(&self, event: &Value) -> bool {
        check_object(&self.root, Some(event), "", false).is_ok()
    }

    /// Why not: the first field whose condition failed, for tooling such as
    /// `zb test-pattern`. Fields are checked in the pattern's key order.
    pub fn explain(&self, event: &Value) -> Result<(), Mismatch> {
        check_object(&self.root, Some(event), "", true).map_err(|m| {
            // Unreachable when explaining, but never panic on it.
            m.unwrap_or_else(|| Mismatch {
                field: String::new(),
                reason: "event does not match".into(),
            })
        })
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `event` is the object the rule applies to; anything else (absent, a
/// scalar) is treated as an object with no fields, so only `exists: false`
/// conditions can hold on it.
fn check_object(rule: &ObjectRule, event: Option<&Value>, path: &str, explain: bool) -> Outcome {
    let object = event.and_then(Value::as_object);
    for (key, field) in &rule.fields {
        let value = object.and_then(|o| o.get(key));
        let here = join(path, key);
        match field {
            FieldRule::Object(child) => check_nested(child, value, &here, explain)?,
            FieldRule::Values(leaf) => check_leaf(leaf, value, &here, explain)?,
        }
    }
    for branches in &rule.ors {
        check_or(branches, event, path, explain)?;
    }
    Ok(())
}

fn check_nested(rule: &ObjectRule, value: Option<&Value>, path: &str, explain: bool) -> Outcome {
    let candidates: Vec<&Value> = value
        .map(flatten)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.is_object())
        .collect();
    if candidates.is_empty() {
        return check_object(rule, None, path, explain);
    }
    let mut first_failure = None;
    for candidate in candidates {
        match check_object(rule, Some(candidate), path, explain) {
            Ok(()) => return Ok(()),
            Err(failure) => {
                if first_failure.is_none() {
                    first_failure = failure;
                }
            }
        }
    }
    Err(first_failure)
}

fn check_or(branches: &[ObjectRule], event: Option<&Value>, path: &str, explain: bool) -> Outcome {
    let mut failures = Vec::new();
    for branch in branches {
        match check_object(branch, event, path, explain) {
            Ok(()) => return Ok(()),
            Err(Some(failure)) => failures.push(failure),
            Err(None) => {}
        }
    }
    if !explain {
        return Err(None);
    }
    let field = failures
        .first()
        .map(|f| f.field.clone())
        .unwrap_or_else(|| join(path, "$or"));
    let detail: Vec<String> = failures.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect();
    Err(Some(Mismatch {
        field,
        reason: format!("no $or branch matched ({})", detail.join("; ")),
    }))
}

fn check_leaf(rule: &LeafRule, value: Option<&Value>, path: &str, explain: bool) -> Outcome {
    // Objects are not leaves: `exists` "only works on leaf nodes".
    let leaves: Vec<&Value> = value
        .map(flatten)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| !v.is_object())
        .collect();
    if rule.matchers.iter().any(|m| field_matches(m, &leaves)) {
        return Ok(());
    }
    Err(explain.then(|| Mismatch {
        field: path.to_string(),
        reason: describe(rule, value, &leaves),
    }))
}

fn field_matches(matcher: &Matcher, leaves: &[&Value]) -> bool {
    match matcher {
        Matcher::Exists(true) => !leaves.is_empty(),
        Matcher::Exists(false) => leaves.is_empty(),
        other => leaves.iter().any(|v| value_matches(other, v)),
    }
}

fn value_matches(matcher: &Matcher, value: &Value) -> bool {
    let text = value.as_str();
    match matcher {
        Matcher::Exact(expected) => expected == value,
        Matcher::Prefix(p) => text.is_some_and(|s| s.starts_with(p.as_str())),
        Matcher::PrefixIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase().starts_with(p.as_str())),
        Matcher::Suffix(p) => text.is_some_and(|s| s.ends_with(p.as_str())),
        Matcher::SuffixIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase().ends_with(p.as_str())),
        Matcher::EqualsIgnoreCase(p) => text.is_some_and(|s| s.to_lowercase() == *p),
        Matcher::Wildcard(w) => text.is_some_and(|s| w.matches(s)),
        Matcher::Numeric(range) => range.contains(value),
        Matcher::Cidr(range) => text.is_some_and(|s| range.contains(s)),
        // Field-level; never asked of a single value.
        Matcher::Exists(_) => false,
        Matcher::AnythingBut(excluded) => !excludes(excluded, value),
    }
}

/// Whether `anything-but` rules this value out. A value of another type
/// (a number against excluded strings, say) is never excluded.
fn excludes(excluded: &AnythingBut, value: &Value) -> bool {
    let text = value.as_str();
    match excluded {
        AnythingBut::Strings(list) => text.is_some_and(|s| list.iter().any(|x| x == s)),
        AnythingBut::Numbers(keys) => numeric::key_of(value).is_some_and(|k| keys.contains(&k)),
        AnythingBut::Prefixes(list) => text.is_some_and(|s| list.iter().any(|p| s.starts_with(p.as_str()))),
        AnythingBut::Suffixes(list) => text.is_some_and(|s| list.iter().any(|p| s.ends_with(p.as_str()))),
        AnythingBut::IgnoreCase(list) => text.is_some_and(|s| list.contains(&s.to_lowercase())),
        AnythingBut::Wildcards(list) => text.is_some_and(|s| list.iter().any(|w| w.matches(s))),
    }
}

/// The value and, through nested arrays, every element. Iterative so a
/// deeply nested event array cannot exhaust the stack.
fn flatten(value: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            other => out.push(other),
        }
    }
    out
}

fn describe(rule: &LeafRule, value: Option<&Value>, leaves: &[&Value]) -> String {
    let expected = rule.source.to_string();
    match (value, leaves) {
        (None, _) => format!("field is absent; the pattern requires {expected}"),
        (Some(Value::Object(_)), _) => format!("field is an object, not a value; the pattern requires {expected}"),
        (Some(Value::Array(items)), []) if items.is_empty() => {
            format!("field is an empty array; the pattern requires {expected}")
        }
        (Some(_), []) => format!("field holds only objects, not values; the pattern requires {expected}"),
        (Some(_), [single]) => format!("value {single} does not match {expected}"),
        (Some(_), many) => {
            let shown: Vec<String> = many.iter().map(|v| v.to_string()).collect();
            format!("none of the values [{}] matches {expected}", shown.join(","))
        }
    }
}
