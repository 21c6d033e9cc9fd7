//! Target input: `InputPath` and `InputTransformer`
//! ("Amazon EventBridge input transformation").
//!
//! How a value lands in an `InputTemplate` depends on where its placeholder
//! sits, as the docs describe:
//!
//! * In a JSON template (one that starts with `{`, `[` or `"`), a placeholder
//!   *outside* a JSON string is replaced by the value's JSON, so a string
//!   arrives quoted ("EventBridge automatically adds quotes to string variable
//!   values") and an object or array arrives as JSON.
//! * A placeholder *inside* a JSON string gets the raw text of a string, not
//!   escaped ("EventBridge doesn't escape values extracted by Input Path"); an
//!   object or array there loses its internal quotes ("removes any internal
//!   quotes to ensure a valid string").
//! * Any other template is plain text: strings go in raw, other values as JSON.
//!
//! A path that selects nothing leaves its variable uncreated: it renders as
//! nothing inside a string or text, and as `""` where a JSON value is expected,
//! so the output stays JSON (what LocalStack does too). Unlike AWS, which
//! accepts any path and then silently produces nothing, a path that is not
//! JSONPath at all is an error here: a local cloud should surface it.

use crate::jsonpath::{self, Selection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

const RULE_ARN: &str = "aws.events.rule-arn";
const RULE_NAME: &str = "aws.events.rule-name";
const INGESTION_TIME: &str = "aws.events.event.ingestion-time";
const EVENT: &str = "aws.events.event";
const EVENT_JSON: &str = "aws.events.event.json";
const PREDEFINED: &[&str] = &[RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON];

/// API limits on `PutTargets`.
const MAX_VARIABLES: usize = 100;
const MAX_PATH_LEN: usize = 256;
const MAX_TEMPLATE_LEN: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("`{path}` is not a JSONPath EventBridge can evaluate: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("`{path}` is {len} characters long; EventBridge allows at most {MAX_PATH_LEN}")]
    PathTooLong { path: String, len: usize },
    #[error("InputPath `{path}` selects nothing in the event")]
    PathNotFound { path: String },
    #[error("InputPathsMap has {count} variables; EventBridge allows at most {MAX_VARIABLES}")]
    TooManyVariables { count: usize },
    #[error("InputPathsMap key `{key}` is not allowed: {reason}")]
    InvalidVariableName { key: String, reason: String },
    #[error("InputTemplate must be 1 to {MAX_TEMPLATE_LEN} characters long, not {len}")]
    TemplateLength { len: usize },
    #[error("InputTemplate uses <{name}>, which is neither an InputPathsMap key nor a predefined variable")]
    UnknownPlaceholder { name: String },
    #[error("InputTemplate uses <{name}> as an object key, which EventBridge does not allow")]
    PlaceholderAsKey { name: String },
    #[error("InputTemplate uses <{name}> but no {what} was given; use InputTransformer::apply_with")]
    MissingContext { name: String, what: String },
}

/// EventBridge target `InputPath` (a JSONPath) applied to an event. A definite
/// path yields the value it names; one with wildcards or filters yields the
/// array of everything it selects.
pub fn input_path(event: &Value, path: &str) -> Result<Value, TransformError> {
    check_path_len(path)?;
    match resolve(event, path)? {
        Some(value) => Ok(value),
        None => Err(TransformError::PathNotFound { path: path.to_string() }),
    }
}

fn check_path_len(path: &str) -> Result<(), TransformError> {
    let len = path.chars().count();
    if len > MAX_PATH_LEN {
        return Err(TransformError::PathTooLong {
            path: path.to_string(),
            len,
        });
    }
    Ok(())
}

fn resolve(event: &Value, path: &str) -> Result<Option<Value>, TransformError> {
    match jsonpath::select(event, path) {
        Ok(Selection::One(value)) => Ok(value),
        Ok(Selection::Many(values)) => Ok(Some(Value::Array(values))),
        Err(reason) => Err(TransformError::InvalidPath {
            path: path.to_string(),
            reason,
        }),
    }
}

/// A target's `InputTransformer`. Deserialises from the API/CloudFormation
/// shape (`InputPathsMap`, `InputTemplate`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    #[serde(default)]
    pub input_paths_map: BTreeMap<String, String>,
    pub input_template: String,
}

/// What the predefined variables need beyond the event itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformContext {
    /// For `<aws.events.rule-name>`.
    pub rule_name: Option<String>,
    /// For `<aws.events.rule-arn>`.
    pub rule_arn: Option<String>,
    /// For `<aws.events.event.ingestion-time>` (ISO 8601). Without it the
    /// event's own `time` is used: the local bus stamps it on receipt.
    pub ingestion_time: Option<String>,
}

/// Where a placeholder sits, which decides how its value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    JsonValue,
    InString,
    Text,
}

impl InputTransformer {
    /// The transformed input, as the target would receive it. The rule-name
    /// and rule-ARN variables need [`InputTransformer::apply_with`].
    pub fn apply(&self, event: &Value) -> Result<String, TransformError> {
        self.apply_with(event, &TransformContext::default())
    }

    /// [`InputTransformer::apply`] with the rule and ingestion details the
    /// predefined variables refer to.
    pub fn apply_with(&self, event: &Value, context: &TransformContext) -> Result<String, TransformError> {
        self.validate()?;
        let mut variables: BTreeMap<&str, Option<Value>> = BTreeMap::new();
        for (name, path) in &self.input_paths_map {
            variables.insert(name, resolve(event, path)?);
        }
        let template = &self.input_template;
        let json = matches!(template.trim_start().chars().next(), Some('{' | '[' | '"'));
        let mut out = String::with_capacity(template.len());
        let mut in_string = false;
        let mut rest = template.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                if let Some((name, after)) = placeholder(rest) {
                    let slot = match (json, in_string) {
                        (false, _) => Slot::Text,
                        (true, true) => Slot::InString,
                        (true, false) => Slot::JsonValue,
                    };
                    let is_key = match slot {
                        Slot::JsonValue => after.trim_start().starts_with(':'),
                        Slot::InString => string_is_key(after),
                        Slot::Text => false,
                    };
                    if is_key {
                        return Err(TransformError::PlaceholderAsKey { name: name.to_string() });
                    }
                    let value = match variables.get(name) {
                        Some(value) => value.clone(),
                        None => Some(predefined(name, event, context)?),
                    };
                    out.push_str(&render(value.as_ref(), slot));
                    rest = after;
                    continue;
                }
            }
            // Track JSON strings so we know whether a placeholder is inside one.
            if json {
                if in_string && c == '\\' {
                    let escaped: String = rest.chars().take(2).collect();
                    out.push_str(&escaped);
                    rest = &rest[escaped.len()..];
                    continue;
                }
                if c == '"' {
                    in_string = !in_string;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        Ok(out)
    }

    /// The checks `PutTargets` makes, plus one AWS leaves to run time (a
    /// placeholder naming no variable).
    fn validate(&self) -> Result<(), TransformError> {
        if self.input_paths_map.len() > MAX_VARIABLES {
            return Err(TransformError::TooManyVariables {
                count: self.input_paths_map.len(),
            });
        }
        for (key, path) in &self.input_paths_map {
            let refuse = |reason: &str| TransformError::InvalidVariableName {
                key: key.clone(),
                reason: reason.into(),
            };
            if PREDEFINED.contains(&key.as_str()) {
                return Err(refuse("it is a predefined variable"));
            }
            if key.get(..4).is_some_and(|start| start.eq_ignore_ascii_case("aws.")) {
                return Err(refuse("keys cannot start with \"AWS.\""));
            }
            if key.is_empty() || key.contains(['<', '>']) || key.chars().any(char::is_whitespace) {
                return Err(refuse("keys must be non-empty, without whitespace, '<' or '>'"));
            }
            check_path_len(path)?;
        }
        let len = self.input_template.chars().count();
        if len == 0 || len > MAX_TEMPLATE_LEN {
            return Err(TransformError::TemplateLength { len });
        }
        let mut rest = self.input_template.as_str();
        while let Some(at) = rest.find('<') {
            rest = &rest[at..];
            match placeholder(rest) {
                Some((name, after)) => {
                    if !self.input_paths_map.contains_key(name) && !PREDEFINED.contains(&name) {
                        return Err(TransformError::UnknownPlaceholder { name: name.to_string() });
                    }
                    rest = after;
                }
                None => rest = &rest[1..],
            }
        }
        Ok(())
    }
}

/// `<name>` at the start of `text`: the name and what follows the `>`. A `<`
/// not followed by a name and `>` (as in "a < b") is ordinary text.
fn placeholder(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('<')?;
    let end = body.find('>')?;
    let name = &body[..end];
    let valid = !name.is_empty() && !name.contains(['<', '"']) && !name.chars().any(char::is_whitespace);
    valid.then(|| (name, &body[end + 1..]))
}

/// Whether the JSON string we are inside (`rest` starts somewhere in it) is
/// an object key, i.e. is followed by a `:`.
fn string_is_key(rest: &str) -> bool {
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return rest[at + 1..].trim_start().starts_with(':'),
            _ => {}
        }
    }
    false
}

fn predefined(name: &str, event: &Value, context: &TransformContext) -> Result<Value, TransformError> {
    let missing = |what: &str| TransformError::MissingContext {
        name: name.to_string(),
        what: what.to_string(),
    };
    match name {
        RULE_NAME => context
            .rule_name
            .clone()
            .map(Value::String)
            .ok_or_else(|| missing("rule name")),
        RULE_ARN => context
            .rule_arn
            .clone()
            .map(Value::String)
            .ok_or_else(|| missing("rule ARN")),
        INGESTION_TIME => context
            .ingestion_time
            .clone()
            .map(Value::String)
            .or_else(|| event.get("time").filter(|t| t.is_string()).cloned())
            .ok_or_else(|| missing("ingestion time (and the event has no `time`)")),
        // "The original event payload as JSON (without the detail field)."
        EVENT => Ok(match event {
            Value::Object(map) => {
                let mut without_detail = map.clone();
                without_detail.remove("detail");
                Value::Object(without_detail)
            }
            other => other.clone(),
        }),
        EVENT_JSON => Ok(event.clone()),
        // validate() has already refused unknown names.
        _ => Err(TransformError::UnknownPlaceholder { name: name.to_string() }),
    }
}

fn render(value: Option<&Value>, slot: Slot) -> String {
    match (value, slot) {
        (None, Slot::JsonValue) => "\"\"".into(),
        (None, _) => String::new(),
        (Some(Value::String(s)), Slot::JsonValue) => Value::String(s.clone()).to_string(),
        (Some(Value::String(s)), _) => s.clone(),
        (Some(v @ (Value::Object(_) | Value::Array(_))), Slot::InString) => v.to_string().replace('"', ""),
        (Some(v), _) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_need_a_name_and_a_closing_bracket() {
        assert_eq!(placeholder("<a>rest"), Some(("a", "rest")));
        assert_eq!(placeholder("< b>"), None);
        assert_eq!(placeholder("<a"), None);
        assert_eq!(placeholder("<>"), None);
    }
}
