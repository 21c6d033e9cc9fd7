//! TestState's `context`: the context object (`$$`) the tested state sees, checked the way AWS
//! checks it (test_state_context_object.snapshot.json::test_state_context_object_validation_failures).

use serde_json::Value;

use super::TestStateError;

/// How a context field's value must look.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Integer,
    Any,
}

/// The sections a caller may give and their fields: the context object's documented fields
/// (Step Functions guide, "Accessing execution data from the Context object"), as LocalStack's
/// validator lists them. `Map` is refused with its own message, `Task` unless the state waits for a
/// task token (see [`refuse_task_token`]).
const SECTIONS: &[(&str, &[(&str, Kind)])] = &[
    (
        "Execution",
        &[
            ("Id", Kind::String),
            ("Input", Kind::Any),
            ("Name", Kind::String),
            ("RoleArn", Kind::String),
            ("StartTime", Kind::String),
        ],
    ),
    (
        "State",
        &[
            ("EnteredTime", Kind::String),
            ("Name", Kind::String),
            ("RetryCount", Kind::Integer),
        ],
    ),
    ("StateMachine", &[("Id", Kind::String), ("Name", Kind::String)]),
    ("Task", &[("Token", Kind::String)]),
];

/// Parses and checks `context`.
pub(super) fn parse(text: &str) -> Result<Value, TestStateError> {
    let value: Value = serde_json::from_str(text).map_err(|e| invalid(format!("{e}")))?;
    let Value::Object(sections) = &value else {
        return Err(invalid("the Context object must be a JSON object".to_owned()));
    };
    for (name, section) in sections {
        if name == "Map" {
            return Err(invalid(
                "'Map' field is not supported when mocking a Context object".to_owned(),
            ));
        }
        let fields = SECTIONS
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, fields)| *fields)
            .ok_or_else(|| invalid(format!("Field '{name}' is not allowed")))?;
        check_section(name, section, fields)?;
    }
    Ok(value)
}

fn check_section(section_name: &str, section: &Value, fields: &[(&str, Kind)]) -> Result<(), TestStateError> {
    let Value::Object(given) = section else {
        return Err(invalid(format!("{section_name} must be an object")));
    };
    for (name, value) in given {
        let kind = fields
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| invalid(format!("Field '{name}' is not allowed")))?;
        let fits = match kind {
            Kind::String => value.is_string(),
            Kind::Integer => value.is_i64() || value.is_u64(),
            Kind::Any => true,
        };
        if !fits {
            let wanted = match kind {
                Kind::Integer => "an integer",
                _ => "a string",
            };
            return Err(invalid(format!("{section_name}.{name} must be {wanted}")));
        }
    }
    Ok(())
}

/// A `Task` section (the task token) only fits a `.waitForTaskToken` or `.sync` Task, which the
/// local cloud does not run (test_state_context_object.snapshot.json::
/// test_state_context_object_invalid_states[TOKEN_TASK_NOT_SYNC]).
pub(super) fn refuse_task_token(context: &Value) -> Result<(), TestStateError> {
    if context.get("Task").is_some() {
        return Err(invalid(
            "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern"
                .to_owned(),
        ));
    }
    Ok(())
}

fn invalid(detail: String) -> TestStateError {
    TestStateError::InvalidContext(detail)
}
