//! States whose QueryLanguage is JSONata ("Transforming data with JSONata in Step Functions"):
//! `Arguments` and `Output` replace InputPath, Parameters, ResultSelector, ResultPath and
//! OutputPath, and any `{% … %}` string is an expression. The JSONPath-only fields are refused in
//! them, each by name, as CreateStateMachine refuses them.

use std::collections::HashSet;

use serde_json::Value;

use super::fields::Fields;
use super::states::{
    branches, map_processor, recovery, task_resource, transition, unknown_type, FailSource, IoPath, MapState,
    ParallelState, ResultHandling, Seconds, State, StateKind, TaskState, WaitFor,
};
use super::{code, DefinitionError};
use crate::choice::ChoiceRule;
use crate::retry::ResultPath;
use crate::template::Template;

/// Fields that only JSONPath states have; one of them in a JSONata state is a definition error.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ErrorPath",
    "CausePath",
];

/// Parses a JSONata state (`f` is its body).
pub(super) fn parse_state(name: &str, f: &Fields<'_>, names: &mut HashSet<String>) -> Result<State, DefinitionError> {
    refuse_jsonpath_fields(f)?;
    let kind_name = f.str("Type")?.ok_or_else(|| {
        f.invalid_as(
            "field \"Type\" is required",
            code::SCHEMA,
            "These fields are required: [Type]",
            "",
        )
    })?;
    let common = ["Type", "Comment", "QueryLanguage"];
    let allowed: Vec<&str> = match kind_name {
        "Pass" => vec!["Output", "Assign", "Next", "End"],
        "Task" => vec![
            "Resource",
            "Arguments",
            "Output",
            "Assign",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Choice" => vec!["Choices", "Default", "Output", "Assign"],
        "Wait" => vec!["Seconds", "Timestamp", "Output", "Assign", "Next", "End"],
        "Succeed" => vec!["Output"],
        "Fail" => vec!["Error", "Cause"],
        "Parallel" => vec![
            "Branches",
            "Arguments",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Map" => vec![
            "Items",
            "ItemSelector",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "Output",
            "Assign",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        other => return Err(unknown_type(f, other)),
    };
    let allowed: Vec<&str> = common.iter().copied().chain(allowed).collect();
    f.check_allowed(&format!("a JSONata {kind_name} state"), &allowed)?;
    if matches!(kind_name, "Choice" | "Succeed" | "Fail") && (f.has("Next") || f.has("End")) {
        return Err(f.invalid(&format!("a {kind_name} state cannot have \"Next\" or \"End\"")));
    }
    let kind = match kind_name {
        "Pass" => StateKind::Pass {
            parameters: None,
            result: None,
            result_path: ResultPath::Replace,
            transition: transition(f)?,
        },
        "Task" => StateKind::Task(Box::new(task(f)?)),
        "Choice" => choice(f)?,
        "Wait" => StateKind::Wait {
            wait: wait(f)?,
            transition: transition(f)?,
        },
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail {
            error: fail_source(f, "Error")?,
            cause: fail_source(f, "Cause")?,
        },
        "Parallel" => StateKind::Parallel(Box::new(ParallelState {
            parameters: f.jsonata("Arguments")?,
            result: replace_result(),
            branches: branches(f, names, true)?,
            recovery: recovery(f, true)?,
            transition: transition(f)?,
        })),
        _ => StateKind::Map(Box::new(map(f, names)?)),
    };
    Ok(State {
        name: name.to_owned(),
        jsonata: true,
        assign: f.assign(true)?,
        output: f.jsonata("Output")?,
        input_path: IoPath::Default,
        output_path: IoPath::Default,
        kind,
    })
}

/// A JSONPath field, or a `.$` key at the top of the state, in a JSONata state.
fn refuse_jsonpath_fields(f: &Fields<'_>) -> Result<(), DefinitionError> {
    for field in JSONPATH_ONLY {
        if f.has(field) {
            let message = format!("The field '{field}' is not supported for the JSONata QueryLanguage");
            return Err(f.invalid_as(&message, code::SCHEMA, &message, field));
        }
    }
    Ok(())
}

/// JSONata states have no ResultSelector or ResultPath: the result is the state's default output.
fn replace_result() -> ResultHandling {
    ResultHandling {
        selector: None,
        path: ResultPath::Replace,
    }
}

fn task(f: &Fields<'_>) -> Result<TaskState, DefinitionError> {
    let resource = task_resource(f)?;
    Ok(TaskState {
        resource,
        parameters: f.jsonata("Arguments")?,
        result: replace_result(),
        timeout: fixed_seconds(f, "TimeoutSeconds")?,
        heartbeat: fixed_seconds(f, "HeartbeatSeconds")?,
        timeout_expr: expression_seconds(f, "TimeoutSeconds")?,
        heartbeat_expr: expression_seconds(f, "HeartbeatSeconds")?,
        recovery: recovery(f, true)?,
        transition: transition(f)?,
    })
}

/// TimeoutSeconds, HeartbeatSeconds or MaxConcurrency given as a number.
fn fixed_seconds(f: &Fields<'_>, key: &str) -> Result<Option<Seconds>, DefinitionError> {
    match f.get(key) {
        None | Some(Value::String(_)) => Ok(None),
        Some(_) if key == "MaxConcurrency" => Ok(f.non_negative_int(key)?.map(Seconds::Fixed)),
        Some(_) => Ok(f.positive_int(key)?.map(Seconds::Fixed)),
    }
}

/// The same fields given as a `{% … %}` expression.
fn expression_seconds(f: &Fields<'_>, key: &str) -> Result<Option<Template>, DefinitionError> {
    match f.get(key) {
        Some(Value::String(_)) => f.jsonata(key),
        _ => Ok(None),
    }
}

fn choice(f: &Fields<'_>) -> Result<StateKind, DefinitionError> {
    let choices = f
        .get("Choices")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| f.invalid_at("Choices", "field \"Choices\" must be a non-empty array of choice rules"))?;
    let rules = choices
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            ChoiceRule::parse_jsonata(rule, &format!("Choices[{i}]"))
                .map_err(|e| f.invalid_at(&format!("Choices[{i}]"), &e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StateKind::Choice {
        rules,
        default: f.str("Default")?.map(str::to_owned),
    })
}

fn wait(f: &Fields<'_>) -> Result<WaitFor, DefinitionError> {
    let given = ["Seconds", "Timestamp"].into_iter().filter(|k| f.has(k)).count();
    if given != 1 {
        return Err(f.invalid("a JSONata Wait state needs exactly one of \"Seconds\" or \"Timestamp\""));
    }
    if let Some(Value::String(_)) = f.get("Seconds") {
        return Ok(f
            .jsonata("Seconds")?
            .map_or(WaitFor::Seconds(0), WaitFor::SecondsJsonata));
    }
    if let Some(n) = f.non_negative_int("Seconds")? {
        return Ok(WaitFor::Seconds(n));
    }
    let timestamp = f
        .jsonata("Timestamp")?
        .ok_or_else(|| f.invalid_at("Timestamp", "field \"Timestamp\" must be a string"))?;
    match timestamp.literal().and_then(Value::as_str) {
        Some(text) => crate::choice::parse_timestamp(text)
            .map(WaitFor::Timestamp)
            .ok_or_else(|| {
                f.invalid_as(
                    "field \"Timestamp\" must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z",
                    code::SCHEMA,
                    "String does not match RFC3339 timestamp",
                    "Timestamp",
                )
            }),
        None => Ok(WaitFor::TimestampJsonata(timestamp)),
    }
}

fn fail_source(f: &Fields<'_>, key: &str) -> Result<FailSource, DefinitionError> {
    let Some(template) = f.jsonata(key)? else {
        return Ok(FailSource::None);
    };
    Ok(match template.literal() {
        Some(Value::String(text)) => FailSource::Fixed(text.clone()),
        Some(_) => return Err(f.invalid_at(key, &format!("field \"{key}\" must be a string"))),
        None => FailSource::Jsonata(template),
    })
}

fn map(f: &Fields<'_>, names: &mut HashSet<String>) -> Result<MapState, DefinitionError> {
    f.exclusive("ItemProcessor", "Iterator")?;
    let processor = map_processor(f, names, true)?;
    Ok(MapState {
        items_path: None,
        items: f.jsonata("Items")?,
        item_selector: f.jsonata("ItemSelector")?,
        result: replace_result(),
        max_concurrency: fixed_seconds(f, "MaxConcurrency")?,
        max_concurrency_expr: expression_seconds(f, "MaxConcurrency")?,
        processor,
        recovery: recovery(f, true)?,
        transition: transition(f)?,
    })
}
