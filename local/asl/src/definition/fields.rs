//! Typed access to a JSON object's fields, with errors that name the state and field.

use serde_json::{Map, Value};

use super::states::IoPath;
use super::{code, field_pointer, DefinitionError, Diagnostic, Location};
use crate::intrinsic::Intrinsic;
use crate::path::Path;
use crate::template::{Template, TemplateError};

// AWS caps TimeoutSeconds, IntervalSeconds and friends at this value.
const MAX_SECONDS: u64 = 99_999_999;

/// Fields that are valid ASL but refused by the local cloud, with the reason given to the user.
const UNSUPPORTED_FIELDS: &[(&str, &str)] = &[
    (
        "Credentials",
        "cross-account task credentials are not supported by the local cloud",
    ),
    (
        "ItemReader",
        "Distributed Map features are not supported by the local cloud",
    ),
    (
        "ItemBatcher",
        "Distributed Map features are not supported by the local cloud",
    ),
    (
        "ResultWriter",
        "Distributed Map features are not supported by the local cloud",
    ),
    (
        "ToleratedFailurePercentage",
        "Distributed Map features are not supported by the local cloud",
    ),
    (
        "ToleratedFailurePercentagePath",
        "Distributed Map features are not supported by the local cloud",
    ),
    (
        "ToleratedFailureCount",
        "Distributed Map features are not supported by the local cloud",
    ),
    (
        "ToleratedFailureCountPath",
        "Distributed Map features are not supported by the local cloud",
    ),
    ("Label", "Distributed Map features are not supported by the local cloud"),
];

/// A JSON object being parsed, and where it sits in the definition: the state it belongs to (for
/// our messages) and its JSON pointer (for AWS's).
pub(crate) struct Fields<'a> {
    location: Location,
    pointer: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(location: Location, pointer: String, value: &'a Value) -> Result<Self, DefinitionError> {
        match value.as_object() {
            Some(map) => Ok(Self { location, pointer, map }),
            None => Err(DefinitionError::invalid(
                location,
                "must be a JSON object",
                code::SCHEMA,
                "Expected value of type [OBJECT]",
                &pointer,
            )),
        }
    }

    pub(crate) fn location(&self) -> &Location {
        &self.location
    }

    /// The object's JSON pointer ("" for the definition's root).
    pub(crate) fn pointer(&self) -> &str {
        &self.pointer
    }

    /// A schema violation of this object as a whole.
    pub(crate) fn invalid(&self, message: &str) -> DefinitionError {
        self.invalid_as(message, code::SCHEMA, message, "")
    }

    /// A schema violation of one field (`key` may be a dotted path such as `Retry[0].BackoffRate`).
    pub(crate) fn invalid_at(&self, key: &str, message: &str) -> DefinitionError {
        self.invalid_as(message, code::SCHEMA, message, key)
    }

    /// A violation AWS reports with its own code and words, at `key` below this object.
    pub(crate) fn invalid_as(
        &self,
        message: &str,
        code: &'static str,
        aws_message: &str,
        key: &str,
    ) -> DefinitionError {
        DefinitionError::invalid(self.location.clone(), message, code, aws_message, &self.pointer_to(key))
    }

    pub(crate) fn unsupported(&self, message: &str) -> DefinitionError {
        DefinitionError::Unsupported {
            location: self.location.clone(),
            message: message.to_owned(),
            diagnostic: Diagnostic {
                code: code::UNSUPPORTED,
                message: message.to_owned(),
                location: self.pointer_to(""),
            },
        }
    }

    fn pointer_to(&self, key: &str) -> String {
        match (self.pointer.is_empty(), key.is_empty()) {
            (true, true) => "/".to_owned(),
            (false, true) => self.pointer.clone(),
            (_, false) => format!("{}/{}", self.pointer, field_pointer(key)),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Refuses unknown fields; `what` describes the object (e.g. "a Task state").
    /// QueryLanguage is accepted here; which language it names is checked by the state parser.
    pub(crate) fn check_allowed(&self, what: &str, allowed: &[&str]) -> Result<(), DefinitionError> {
        for (key, value) in self.map {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            if key == "QueryLanguage" {
                match value.as_str() {
                    Some("JSONPath" | "JSONata") => continue,
                    _ => {
                        return Err(self.invalid_at(
                            "QueryLanguage",
                            "field \"QueryLanguage\" must be \"JSONPath\" or \"JSONata\"",
                        ))
                    }
                }
            }
            if let Some((_, reason)) = UNSUPPORTED_FIELDS.iter().find(|(name, _)| name == key) {
                return Err(self.unsupported(&format!("field \"{key}\" is not supported ({reason})")));
            }
            return Err(self.invalid_as(
                &format!("field \"{key}\" is not valid in {what}"),
                code::SCHEMA,
                &format!("Field '{key}' is not supported"),
                key,
            ));
        }
        Ok(())
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid_at(key, &format!("field \"{key}\" must be a string"))),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid_at(key, &format!("field \"{key}\" must be true or false"))),
        }
    }

    fn int_at_least(&self, key: &str, min: u64, what: &str) -> Result<Option<u64>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| (min..=MAX_SECONDS).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    self.invalid_at(
                        key,
                        &format!("field \"{key}\" must be {what} integer up to {MAX_SECONDS}"),
                    )
                }),
        }
    }

    pub(crate) fn positive_int(&self, key: &str) -> Result<Option<u64>, DefinitionError> {
        self.int_at_least(key, 1, "a positive")
    }

    pub(crate) fn non_negative_int(&self, key: &str) -> Result<Option<u64>, DefinitionError> {
        self.int_at_least(key, 0, "a non-negative")
    }

    /// InputPath/OutputPath: absent, null, or a path.
    pub(crate) fn io_path(&self, key: &str) -> Result<IoPath, DefinitionError> {
        match self.map.get(key) {
            None => Ok(IoPath::Default),
            Some(Value::Null) => Ok(IoPath::Null),
            Some(Value::String(text)) => Path::parse(text)
                .map(IoPath::Path)
                .map_err(|e| self.invalid_at(key, &format!("field \"{key}\": {e}"))),
            Some(_) => Err(self.invalid_at(key, &format!("field \"{key}\" must be a path or null"))),
        }
    }

    /// A field that must hold a reference path (a single node).
    pub(crate) fn reference_path(&self, key: &str) -> Result<Option<Path>, DefinitionError> {
        match self.str(key)? {
            None => Ok(None),
            Some(text) => Path::parse_reference(text)
                .map(Some)
                .map_err(|e| self.invalid_at(key, &format!("field \"{key}\": {e}"))),
        }
    }

    pub(crate) fn template(&self, key: &str) -> Result<Option<Template>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(value) => Template::compile(value).map(Some).map_err(|e| {
                let message = format!("field \"{key}\": {e}");
                self.invalid_as(&message, code::SCHEMA, &template_aws_message(&e, &message), key)
            }),
        }
    }

    /// A JSONata field (Output, Arguments, Assign, ...): any value, `{% … %}` strings expressions.
    pub(crate) fn jsonata(&self, key: &str) -> Result<Option<Template>, DefinitionError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(value) => Template::compile_jsonata(value, key).map(Some).map_err(|e| {
                let message = e.to_string();
                self.invalid_as(&message, code::SCHEMA, &message, key)
            }),
        }
    }

    /// Assign: an object of variable names ("Passing data between states with variables": a
    /// name starts with a letter or `_`, is made of letters, digits and `_`, at most 80
    /// characters, and is not `states`); JSONPath values are `.$` templates, JSONata values
    /// `{% … %}` templates.
    pub(crate) fn assign(&self, jsonata: bool) -> Result<Option<Template>, DefinitionError> {
        let Some(value) = self.map.get("Assign") else {
            return Ok(None);
        };
        let Some(map) = value.as_object() else {
            return Err(self.invalid_at("Assign", "field \"Assign\" must be an object"));
        };
        for key in map.keys() {
            let name = if jsonata {
                key.as_str()
            } else {
                key.strip_suffix(".$").unwrap_or(key)
            };
            if !valid_variable_name(name) {
                let message = format!("The variable name '{name}' is not valid");
                return Err(self.invalid_as(&message, code::SCHEMA, &message, &format!("Assign.{key}")));
            }
        }
        if jsonata {
            self.jsonata("Assign")
        } else {
            self.template("Assign")
        }
    }

    /// ErrorPath/CausePath: a reference path or an intrinsic function.
    pub(crate) fn path_or_intrinsic(&self, key: &str) -> Result<Option<PathOrIntrinsic>, DefinitionError> {
        match self.str(key)? {
            None => Ok(None),
            Some(text) if text.starts_with('$') => Path::parse_reference(text)
                .map(|p| Some(PathOrIntrinsic::Path(p)))
                .map_err(|e| self.invalid_at(key, &format!("field \"{key}\": {e}"))),
            Some(text) => Intrinsic::parse(text)
                .map(|c| Some(PathOrIntrinsic::Intrinsic(c)))
                .map_err(|e| self.invalid_at(key, &format!("field \"{key}\": {e}"))),
        }
    }

    /// Refuses `a` and `b` together (e.g. TimeoutSeconds and TimeoutSecondsPath).
    pub(crate) fn exclusive(&self, a: &str, b: &str) -> Result<(), DefinitionError> {
        if self.has(a) && self.has(b) {
            return Err(self.invalid_at(b, &format!("fields \"{a}\" and \"{b}\" cannot both be set")));
        }
        Ok(())
    }
}

// AWS's limit on variable name length ("Passing data between states with variables").
const MAX_VARIABLE_NAME_CHARS: usize = 80;

/// A workflow variable name: a letter or `_`, then letters, digits or `_`; `states` is reserved.
pub(crate) fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= MAX_VARIABLE_NAME_CHARS
        && name != "states"
}

/// How CreateStateMachine words a payload template it cannot compile: a `.$` value that is neither
/// a path nor an intrinsic function call is named by its field (test_base_scenarios.py::
/// TestBaseScenarios::test_illegal_escapes[ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION]); other
/// refusals keep our own words.
fn template_aws_message(error: &TemplateError, ours: &str) -> String {
    match error {
        TemplateError::Path { field, .. } | TemplateError::Intrinsic { field, .. } => {
            format!("The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call")
        }
        _ => ours.to_owned(),
    }
}

pub(crate) enum PathOrIntrinsic {
    Path(Path),
    Intrinsic(Intrinsic),
}
