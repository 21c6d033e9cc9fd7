//! Workflow variables (`$name` references, set by `Assign`) are not implemented by the local cloud.
//! A definition that references one is valid ASL, so it is refused as *unsupported*, whichever state
//! the reference sits in, rather than failing later as an invalid path.

use serde_json::Value;

use super::{code, DefinitionError, Diagnostic, Location};

const MESSAGE: &str = "workflow variables are not supported by the local cloud";

/// The first variable reference (or `Assign`) in any state, as an Unsupported refusal.
pub(super) fn refuse_variables(states: &Value, pointer: &str) -> Result<(), DefinitionError> {
    let Some(states) = states.as_object() else {
        return Ok(());
    };
    for (name, state) in states {
        let here = format!("{pointer}/States/{}", escape(name));
        if let Some(at) = first_reference(state, &here) {
            return Err(DefinitionError::Unsupported {
                location: Location::State(name.clone()),
                message: format!("{MESSAGE} (variable referenced at {at})"),
                diagnostic: Diagnostic {
                    code: code::UNSUPPORTED,
                    message: MESSAGE.to_owned(),
                    location: at,
                },
            });
        }
        for nested in ["Iterator", "ItemProcessor"] {
            if let Some(set) = state.get(nested) {
                refuse_variables(set.get("States").unwrap_or(&Value::Null), &format!("{here}/{nested}"))?;
            }
        }
        if let Some(Value::Array(branches)) = state.get("Branches") {
            for (i, branch) in branches.iter().enumerate() {
                refuse_variables(
                    branch.get("States").unwrap_or(&Value::Null),
                    &format!("{here}/Branches/{i}"),
                )?;
            }
        }
    }
    Ok(())
}

/// A JSON pointer to the first path-valued field of this state (not of nested state sets) that reads a
/// variable: `"x.$": "$var"`, `"InputPath": "$var.a"`, `"Variable": "$v"`, `States.Format('{}', $v)`.
fn first_reference(value: &Value, pointer: &str) -> Option<String> {
    let object = value.as_object()?;
    for (key, field) in object {
        if matches!(key.as_str(), "Iterator" | "ItemProcessor" | "Branches") {
            continue;
        }
        let here = format!("{pointer}/{}", escape(key));
        let path_valued = key.ends_with(".$") || key.ends_with("Path") || key == "Variable";
        match field {
            Value::String(text) if path_valued && reads_variable(text) => return Some(here),
            Value::Object(_) => {
                if let Some(found) = first_reference(field, &here) {
                    return Some(found);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(found) = first_reference(item, &format!("{here}/{i}")) {
                        return Some(found);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// `$` followed by a name character where a path or intrinsic argument starts (not `$.`, `$[`, `$$`).
fn reads_variable(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        let starts_argument = i == 0 || matches!(bytes[i - 1], b'(' | b',' | b' ');
        b == b'$' && starts_argument && bytes.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    })
}

/// JSON pointer escaping (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_references_are_told_from_paths() {
        assert!(reads_variable("$guess"));
        assert!(reads_variable("States.Format('{}', $name)"));
        assert!(!reads_variable("$.guess"));
        assert!(!reads_variable("$$.Execution.Id"));
        assert!(!reads_variable("$['a']"));
        assert!(!reads_variable("$"));
    }
}
