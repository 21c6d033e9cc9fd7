//! What CreateStateMachine checks in JSONata expressions before anything runs: that each one
//! parses (`INVALID_JSONATA_EXPRESSION`, with the parser's message), reads nothing at the top
//! level, and reads `$states.result` / `$states.errorOutput` only where the field exists
//! (`UNSUPPORTED_JSONATA_EXPRESSION`).
//!
//! The rules and wordings: AWS, "Transforming data with JSONata in Step Functions" ("Attempting to
//! access `$states.result` or `$states.errorOutput` in fields and states where they are not
//! accessible will be caught at creation"), and the messages and locations Floci measured with
//! `aws stepfunctions validate-state-machine-definition` (floci-io/floci,
//! `StepFunctionsTopLevelReferenceIntegrationTest`): `Reference to 'phone' at the top level is not
//! supported.`, `Reference to '$$' is not supported.`, `Field '$states.errorOutput' does not
//! exist.`, at `/States/E/Output/a/b[0]`, `/States/C/Choices[0]/Condition`,
//! `/States/P/Branches[0]/States/B/...`, `/States/E/Catch[0]/Output/v`. The `$states.result`
//! sentence is the same rule's, by analogy: no recording of it was found.
//!
//! A pass over the raw definition, run before the states are parsed, because AWS's locations
//! reach inside Output and Assign objects, which the parser compiles as one template.

use serde_json::{Map, Value};

use super::{DefinitionError, Location};
use crate::jsonata;
use crate::template::jsonata_text;

const INVALID_JSONATA: &str = "INVALID_JSONATA_EXPRESSION";
const UNSUPPORTED_JSONATA: &str = "UNSUPPORTED_JSONATA_EXPRESSION";

/// Which optional `$states` field a JSONata field may read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// `$states.input` and `$states.context` only.
    Input,
    /// Also `$states.result`: a Task, Map or Parallel state's own Output and Assign.
    Result,
    /// Also `$states.errorOutput`: a Catch entry's Output and Assign.
    ErrorOutput,
}

// The JSONata-valued fields of a state other than Output and Assign, which read no result.
const INPUT_FIELDS: &[&str] = &[
    "Arguments",
    "Items",
    "ItemSelector",
    "MaxConcurrency",
    "Seconds",
    "Timestamp",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Error",
    "Cause",
];

/// Checks every JSONata expression of the state set `states` (at `pointer`, `/States` for the
/// root), whose states default to JSONata when `jsonata`.
pub(super) fn check_states(states: &Value, pointer: &str, jsonata: bool) -> Result<(), DefinitionError> {
    let Some(states) = states.as_object() else {
        return Ok(());
    };
    for (name, state) in states {
        let Some(state) = state.as_object() else { continue };
        let here = format!("{pointer}/{name}");
        let state_jsonata = match state.get("QueryLanguage").and_then(Value::as_str) {
            Some("JSONata") => true,
            Some("JSONPath") => false,
            _ => jsonata,
        };
        if state_jsonata {
            check_state(name, state, &here)?;
        }
        // Nested states default to JSONata inside a JSONata state, as the parser has it.
        let inner = state_jsonata || jsonata;
        if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
            for (i, branch) in branches.iter().enumerate() {
                if let Some(set) = branch.get("States") {
                    check_states(set, &format!("{here}/Branches[{i}]/States"), inner)?;
                }
            }
        }
        for processor in ["ItemProcessor", "Iterator"] {
            if let Some(set) = state.get(processor).and_then(|p| p.get("States")) {
                check_states(set, &format!("{here}/{processor}/States"), inner)?;
            }
        }
    }
    Ok(())
}

fn check_state(name: &str, state: &Map<String, Value>, here: &str) -> Result<(), DefinitionError> {
    let produces_result = matches!(
        state.get("Type").and_then(Value::as_str),
        Some("Task" | "Map" | "Parallel")
    );
    let own = if produces_result { Reads::Result } else { Reads::Input };
    let check = |value: Option<&Value>, at: String, reads: Reads| match value {
        Some(value) => expressions(name, value, &at, reads),
        None => Ok(()),
    };
    for field in INPUT_FIELDS {
        check(state.get(*field), format!("{here}/{field}"), Reads::Input)?;
    }
    for field in ["Output", "Assign"] {
        check(state.get(field), format!("{here}/{field}"), own)?;
    }
    for (list, reads) in [("Choices", Reads::Input), ("Catch", Reads::ErrorOutput)] {
        let Some(entries) = state.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (i, entry) in entries.iter().enumerate() {
            for field in ["Condition", "Output", "Assign"] {
                check(entry.get(field), format!("{here}/{list}[{i}]/{field}"), reads)?;
            }
        }
    }
    Ok(())
}

/// Every `{% … %}` string inside `value`, checked at its own location (object keys as `/key`,
/// array elements as `[i]`).
fn expressions(state: &str, value: &Value, at: &str, reads: Reads) -> Result<(), DefinitionError> {
    match value {
        Value::Object(map) => map
            .iter()
            .try_for_each(|(key, child)| expressions(state, child, &format!("{at}/{key}"), reads)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, child)| expressions(state, child, &format!("{at}[{i}]"), reads)),
        Value::String(text) => match jsonata_text(text) {
            Some(expression) => expression_refusal(expression, reads).map_or(Ok(()), |(code, message)| {
                Err(refuse(state, at, code, message, expression))
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Why AWS refuses `text`, if it does: the first of its diagnostics.
fn expression_refusal(text: &str, reads: Reads) -> Option<(&'static str, String)> {
    let compiled = match jsonata::compile(text) {
        Ok(compiled) => compiled,
        Err(error) => return Some((INVALID_JSONATA, error.message)),
    };
    let references = compiled.references();
    if let Some(name) = references.top_level.first() {
        let message = match name.as_str() {
            "$$" => "Reference to '$$' is not supported.".to_owned(),
            _ => format!("Reference to '{name}' at the top level is not supported."),
        };
        return Some((UNSUPPORTED_JSONATA, message));
    }
    references.states_fields.iter().find_map(|field| {
        let exists = match field.as_str() {
            "result" => reads == Reads::Result,
            "errorOutput" => reads == Reads::ErrorOutput,
            _ => true,
        };
        (!exists).then(|| (UNSUPPORTED_JSONATA, format!("Field '$states.{field}' does not exist.")))
    })
}

fn refuse(state: &str, at: &str, code: &'static str, aws_message: String, text: &str) -> DefinitionError {
    let field = at.rsplit_once(&format!("/{state}/")).map_or(at, |(_, field)| field);
    let message = format!("field \"{field}\": the JSONata expression '{text}' is refused: {aws_message}");
    DefinitionError::invalid(Location::State(state.to_owned()), message, code, aws_message, at)
}
