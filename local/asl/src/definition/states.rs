//! The state types and how each is read from the definition.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::fields::{Fields, PathOrIntrinsic};
use super::{parse_state_set, DefinitionError, Location, StateSet};
use crate::choice::{parse_timestamp, ChoiceRule};
use crate::intrinsic::Intrinsic;
use crate::path::Path;
use crate::retry::{self, Catcher, ResultPath, Retrier, RetryError};
use crate::task::{parse_resource, Resource};
use crate::template::Template;

/// InputPath or OutputPath: absent (`$`), null (`{}`), or a path.
#[derive(Debug, Clone)]
pub(crate) enum IoPath {
    Default,
    Null,
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum Transition {
    Next(String),
    End,
}

/// A number of seconds given directly or through a reference path.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
}

/// ResultSelector and ResultPath.
#[derive(Debug, Clone)]
pub(crate) struct ResultHandling {
    pub(crate) selector: Option<Template>,
    pub(crate) path: ResultPath,
}

/// Retry and Catch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recovery {
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub(crate) name: String,
    /// `QueryLanguage: "JSONata"`, set on the state or inherited from the top level.
    pub(crate) jsonata: bool,
    /// Variables the state sets ("Passing data between states with variables").
    pub(crate) assign: Option<Template>,
    /// JSONata only: the state output, replacing the default (the result, or the input).
    pub(crate) output: Option<Template>,
    pub(crate) input_path: IoPath,
    pub(crate) output_path: IoPath,
    pub(crate) kind: StateKind,
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: ResultPath,
        transition: Transition,
    },
    Task(Box<TaskState>),
    Choice {
        rules: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
        transition: Transition,
    },
    Succeed,
    Fail {
        error: FailSource,
        cause: FailSource,
    },
    Parallel(Box<ParallelState>),
    Map(Box<MapState>),
}

#[derive(Debug, Clone)]
pub(crate) struct TaskState {
    pub(crate) resource: Resource,
    pub(crate) parameters: Option<Template>,
    pub(crate) result: ResultHandling,
    pub(crate) timeout: Option<Seconds>,
    pub(crate) heartbeat: Option<Seconds>,
    /// JSONata: TimeoutSeconds / HeartbeatSeconds given as `{% … %}` expressions.
    pub(crate) timeout_expr: Option<Template>,
    pub(crate) heartbeat_expr: Option<Template>,
    pub(crate) recovery: Recovery,
    pub(crate) transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) struct ParallelState {
    pub(crate) parameters: Option<Template>,
    pub(crate) result: ResultHandling,
    pub(crate) branches: Vec<StateSet>,
    pub(crate) recovery: Recovery,
    pub(crate) transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) struct MapState {
    pub(crate) items_path: Option<Path>,
    /// JSONata only: the array to iterate (default: the state input).
    pub(crate) items: Option<Template>,
    pub(crate) item_selector: Option<Template>,
    pub(crate) result: ResultHandling,
    pub(crate) max_concurrency: Option<Seconds>,
    /// JSONata: MaxConcurrency given as a `{% … %}` expression.
    pub(crate) max_concurrency_expr: Option<Template>,
    pub(crate) processor: StateSet,
    pub(crate) recovery: Recovery,
    pub(crate) transition: Transition,
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(DateTime<FixedOffset>),
    TimestampPath(Path),
    /// JSONata: `Seconds` given as an expression.
    SecondsJsonata(Template),
    /// JSONata: `Timestamp` given as an expression.
    TimestampJsonata(Template),
}

/// Where a Fail state's Error or Cause comes from.
#[derive(Debug, Clone)]
pub(crate) enum FailSource {
    None,
    Fixed(String),
    Path(Path),
    Intrinsic(Intrinsic),
    /// JSONata: Error or Cause given as an expression.
    Jsonata(Template),
}

impl State {
    /// The type as it appears in event names (`TaskStateEntered`, ...).
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait { .. } => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }

    /// True for states that can end their set: End: true, Succeed and Fail.
    pub(crate) fn is_terminal(&self) -> bool {
        match &self.kind {
            StateKind::Succeed | StateKind::Fail { .. } => true,
            StateKind::Choice { .. } => false,
            StateKind::Pass { transition, .. } | StateKind::Wait { transition, .. } => {
                matches!(transition, Transition::End)
            }
            StateKind::Task(t) => matches!(t.transition, Transition::End),
            StateKind::Parallel(p) => matches!(p.transition, Transition::End),
            StateKind::Map(m) => matches!(m.transition, Transition::End),
        }
    }

    /// Every state this one can move to, with the field that names it.
    pub(crate) fn transitions(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        let (transition, catchers): (Option<&Transition>, &[Catcher]) = match &self.kind {
            StateKind::Pass { transition, .. } | StateKind::Wait { transition, .. } => (Some(transition), &[]),
            StateKind::Task(t) => (Some(&t.transition), &t.recovery.catch),
            StateKind::Parallel(p) => (Some(&p.transition), &p.recovery.catch),
            StateKind::Map(m) => (Some(&m.transition), &m.recovery.catch),
            StateKind::Choice { rules, default } => {
                for (i, rule) in rules.iter().enumerate() {
                    out.push((format!("Choices[{i}].Next"), rule.next.as_str()));
                }
                if let Some(default) = default {
                    out.push(("Default".to_owned(), default.as_str()));
                }
                (None, &[])
            }
            StateKind::Succeed | StateKind::Fail { .. } => (None, &[]),
        };
        if let Some(Transition::Next(next)) = transition {
            out.push(("Next".to_owned(), next.as_str()));
        }
        for (i, catcher) in catchers.iter().enumerate() {
            out.push((format!("Catch[{i}].Next"), catcher.next.as_str()));
        }
        out
    }
}

/// Parses one state; `pointer` is where it sits in the definition (`/States/<name>`).
pub(crate) fn parse_state(
    name: &str,
    pointer: &str,
    body: &Value,
    names: &mut HashSet<String>,
    inherited_jsonata: bool,
) -> Result<State, DefinitionError> {
    let f = Fields::new(Location::State(name.to_owned()), pointer.to_owned(), body)?;
    let jsonata = language(&f, inherited_jsonata)?;
    if jsonata {
        return super::jsonata::parse_state(name, &f, names);
    }
    let kind_name = f.str("Type")?.ok_or_else(|| {
        f.invalid_as(
            "field \"Type\" is required",
            super::code::SCHEMA,
            "These fields are required: [Type]",
            "",
        )
    })?;
    let terminal = matches!(kind_name, "Choice" | "Succeed" | "Fail");
    if terminal && (f.has("Next") || f.has("End")) {
        let field = if f.has("Next") { "Next" } else { "End" };
        return Err(f.invalid_at(field, &format!("a {kind_name} state cannot have \"Next\" or \"End\"")));
    }
    let kind = match kind_name {
        "Pass" => {
            f.check_allowed(
                "a Pass state",
                &[
                    "Type",
                    "Comment",
                    "InputPath",
                    "OutputPath",
                    "Parameters",
                    "Result",
                    "ResultPath",
                    "Assign",
                    "Next",
                    "End",
                ],
            )?;
            StateKind::Pass {
                parameters: f.template("Parameters")?,
                result: f.get("Result").cloned(),
                result_path: result_path(&f)?,
                transition: transition(&f)?,
            }
        }
        "Task" => StateKind::Task(Box::new(task(&f)?)),
        "Choice" => {
            f.check_allowed(
                "a Choice state",
                &[
                    "Type",
                    "Comment",
                    "InputPath",
                    "OutputPath",
                    "Choices",
                    "Default",
                    "Assign",
                ],
            )?;
            let choices = f
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    f.invalid_at("Choices", "field \"Choices\" must be a non-empty array of choice rules")
                })?;
            let rules = choices
                .iter()
                .enumerate()
                .map(|(i, rule)| {
                    ChoiceRule::parse(rule, &format!("Choices[{i}]"))
                        .map_err(|e| f.invalid_at(&format!("Choices[{i}]"), &e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            StateKind::Choice {
                rules,
                default: f.str("Default")?.map(str::to_owned),
            }
        }
        "Wait" => {
            f.check_allowed(
                "a Wait state",
                &[
                    "Type",
                    "Comment",
                    "InputPath",
                    "OutputPath",
                    "Seconds",
                    "SecondsPath",
                    "Timestamp",
                    "TimestampPath",
                    "Assign",
                    "Next",
                    "End",
                ],
            )?;
            StateKind::Wait {
                wait: wait(&f)?,
                transition: transition(&f)?,
            }
        }
        "Succeed" => {
            f.check_allowed("a Succeed state", &["Type", "Comment", "InputPath", "OutputPath"])?;
            StateKind::Succeed
        }
        "Fail" => {
            f.check_allowed(
                "a Fail state",
                &["Type", "Comment", "Error", "ErrorPath", "Cause", "CausePath"],
            )?;
            f.exclusive("Error", "ErrorPath")?;
            f.exclusive("Cause", "CausePath")?;
            StateKind::Fail {
                error: fail_source(&f, "Error", "ErrorPath")?,
                cause: fail_source(&f, "Cause", "CausePath")?,
            }
        }
        "Parallel" => StateKind::Parallel(Box::new(parallel(&f, names, inherited_jsonata)?)),
        "Map" => StateKind::Map(Box::new(map(&f, names, inherited_jsonata)?)),
        other => return Err(unknown_type(&f, other)),
    };
    let (input_path, output_path) = match kind {
        StateKind::Fail { .. } => (IoPath::Default, IoPath::Default),
        _ => (f.io_path("InputPath")?, f.io_path("OutputPath")?),
    };
    let assign = match kind {
        StateKind::Succeed | StateKind::Fail { .. } => None,
        _ => f.assign(false)?,
    };
    Ok(State {
        name: name.to_owned(),
        jsonata: false,
        assign,
        output: None,
        input_path,
        output_path,
        kind,
    })
}

/// The state's query language: its own `QueryLanguage`, else the top level's. A JSONata machine's
/// states cannot go back to JSONPath ("Transforming data with JSONata in Step Functions":
/// JSONPath states may opt in to JSONata, not the reverse).
pub(super) fn language(f: &Fields<'_>, inherited_jsonata: bool) -> Result<bool, DefinitionError> {
    match f.get("QueryLanguage") {
        None => Ok(inherited_jsonata),
        Some(Value::String(s)) if s == "JSONata" => Ok(true),
        Some(Value::String(s)) if s == "JSONPath" && !inherited_jsonata => Ok(false),
        Some(Value::String(s)) if s == "JSONPath" => Err(f.invalid_at(
            "QueryLanguage",
            "The QueryLanguage 'JSONPath' cannot be used in a state of a state machine whose QueryLanguage is 'JSONata'",
        )),
        Some(_) => Err(f.invalid_at(
            "QueryLanguage",
            "field \"QueryLanguage\" must be \"JSONPath\" or \"JSONata\"",
        )),
    }
}

/// An unknown `Type`, refused in AWS's words (test_test_state_machine_scenarios.py::
/// TestStateMachineScenarios::test_state_name_invalid_state_definition).
/// A Task's `Resource`: required, and one the local cloud can run (in either query language).
pub(super) fn task_resource(f: &Fields<'_>) -> Result<Resource, DefinitionError> {
    let resource_text = f.str("Resource")?.ok_or_else(|| {
        f.invalid_as(
            "field \"Resource\" is required",
            super::code::SCHEMA,
            "These fields are required: [Resource]",
            "",
        )
    })?;
    parse_resource(resource_text).map_err(|reason| {
        f.unsupported(&format!(
            "Resource {resource_text} is not supported by the local cloud ({reason})"
        ))
    })
}

pub(super) fn unknown_type(f: &Fields<'_>, other: &str) -> DefinitionError {
    f.invalid_as(
        &format!("field \"Type\": \"{other}\" is not a state type"),
        super::code::SCHEMA,
        "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
        "Type",
    )
}

pub(super) fn transition(f: &Fields<'_>) -> Result<Transition, DefinitionError> {
    let next = f.str("Next")?;
    let end = f.bool("End")?.unwrap_or(false);
    match (next, end) {
        (Some(_), true) => Err(f.invalid_at("End", "a state cannot have both \"Next\" and \"End\": true")),
        (Some(next), false) => Ok(Transition::Next(next.to_owned())),
        (None, true) => Ok(Transition::End),
        (None, false) => Err(f.invalid("a non-terminal state must have \"Next\" or \"End\": true")),
    }
}

fn result_path(f: &Fields<'_>) -> Result<ResultPath, DefinitionError> {
    match f.get("ResultPath") {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(text)) => retry::parse_result_path(text)
            .map_err(|e| f.invalid_at("ResultPath", &format!("field \"ResultPath\": {e}"))),
        Some(_) => Err(f.invalid_at("ResultPath", "field \"ResultPath\" must be a path or null")),
    }
}

fn result_handling(f: &Fields<'_>) -> Result<ResultHandling, DefinitionError> {
    Ok(ResultHandling {
        selector: f.template("ResultSelector")?,
        path: result_path(f)?,
    })
}

pub(super) fn recovery(f: &Fields<'_>, jsonata: bool) -> Result<Recovery, DefinitionError> {
    let convert = |e: RetryError| match &e {
        RetryError::Invalid { at, .. } | RetryError::Path { at, .. } | RetryError::Template { at, .. } => {
            f.invalid_at(at, &e.to_string())
        }
    };
    let retry = match f.get("Retry") {
        Some(value) => retry::parse_retriers(value, "Retry").map_err(convert)?,
        None => Vec::new(),
    };
    let catch = match f.get("Catch") {
        Some(value) => retry::parse_catchers(value, "Catch", jsonata).map_err(convert)?,
        None => Vec::new(),
    };
    Ok(Recovery { retry, catch })
}

fn seconds(f: &Fields<'_>, fixed: &str, path: &str) -> Result<Option<Seconds>, DefinitionError> {
    f.exclusive(fixed, path)?;
    if let Some(n) = f.positive_int(fixed)? {
        return Ok(Some(Seconds::Fixed(n)));
    }
    Ok(f.reference_path(path)?.map(Seconds::Path))
}

fn task(f: &Fields<'_>) -> Result<TaskState, DefinitionError> {
    f.check_allowed(
        "a Task state",
        &[
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Retry",
            "Catch",
            "Assign",
            "Next",
            "End",
        ],
    )?;
    let resource = task_resource(f)?;
    if resource == Resource::LambdaInvoke {
        check_invoke_parameters(f)?;
    }
    let timeout = seconds(f, "TimeoutSeconds", "TimeoutSecondsPath")?;
    // Heartbeats come only from activities and callback tasks, which are refused above; a
    // HeartbeatSeconds on a Lambda task is checked and shown in TaskScheduled but never fires.
    let heartbeat = seconds(f, "HeartbeatSeconds", "HeartbeatSecondsPath")?;
    if let (Some(Seconds::Fixed(h)), Some(Seconds::Fixed(t))) = (&heartbeat, &timeout) {
        if h >= t {
            return Err(f.invalid_at(
                "HeartbeatSeconds",
                "field \"HeartbeatSeconds\" must be smaller than \"TimeoutSeconds\"",
            ));
        }
    }
    Ok(TaskState {
        resource,
        parameters: f.template("Parameters")?,
        result: result_handling(f)?,
        timeout,
        heartbeat,
        timeout_expr: None,
        heartbeat_expr: None,
        recovery: recovery(f, false)?,
        transition: transition(f)?,
    })
}

// The lambda:invoke integration takes the Lambda Invoke API's request fields.
fn check_invoke_parameters(f: &Fields<'_>) -> Result<(), DefinitionError> {
    let params = f.get("Parameters").and_then(Value::as_object).ok_or_else(|| {
        f.invalid_at(
            "Parameters",
            "field \"Parameters\" is required for arn:aws:states:::lambda:invoke (it carries FunctionName and Payload)",
        )
    })?;
    let mut has_function = false;
    for (key, value) in params {
        let base = key.strip_suffix(".$").unwrap_or(key);
        match base {
            "FunctionName" => has_function = true,
            "Payload" | "Qualifier" | "ClientContext" | "LogType" => {}
            "InvocationType" => {
                if key == base && value.as_str() != Some("RequestResponse") {
                    return Err(f.unsupported(&format!(
                        "field \"Parameters.InvocationType\" is not supported with value {value} (only RequestResponse invocations are)"
                    )));
                }
            }
            _ => {
                return Err(f.invalid_at(
                    &format!("Parameters.{key}"),
                    &format!(
                        "field \"Parameters.{key}\": the field '{base}' is not supported by Step Functions for lambda:invoke"
                    ),
                ))
            }
        }
    }
    if !has_function {
        return Err(f.invalid_at(
            "Parameters",
            "field \"Parameters.FunctionName\" is required for arn:aws:states:::lambda:invoke",
        ));
    }
    Ok(())
}

fn wait(f: &Fields<'_>) -> Result<WaitFor, DefinitionError> {
    let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|k| f.has(k))
        .collect();
    if given.len() != 1 {
        return Err(f.invalid(
            "a Wait state needs exactly one of \"Seconds\", \"SecondsPath\", \"Timestamp\" or \"TimestampPath\"",
        ));
    }
    if let Some(n) = f.non_negative_int("Seconds")? {
        return Ok(WaitFor::Seconds(n));
    }
    if let Some(text) = f.str("Timestamp")? {
        // AWS's words and pointer (test_base_scenarios.py::TestBaseScenarios::test_wait_timestamp_invalid[NO_T]).
        return parse_timestamp(text).map(WaitFor::Timestamp).ok_or_else(|| {
            f.invalid_as(
                "field \"Timestamp\" must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z",
                super::code::SCHEMA,
                "String does not match RFC3339 timestamp",
                "Timestamp",
            )
        });
    }
    if let Some(path) = f.reference_path("SecondsPath")? {
        return Ok(WaitFor::SecondsPath(path));
    }
    f.reference_path("TimestampPath")?
        .map(WaitFor::TimestampPath)
        .ok_or_else(|| f.invalid("field \"TimestampPath\" must be a path"))
}

fn fail_source(f: &Fields<'_>, fixed: &str, dynamic: &str) -> Result<FailSource, DefinitionError> {
    if let Some(text) = f.str(fixed)? {
        return Ok(FailSource::Fixed(text.to_owned()));
    }
    Ok(match f.path_or_intrinsic(dynamic)? {
        Some(PathOrIntrinsic::Path(p)) => FailSource::Path(p),
        Some(PathOrIntrinsic::Intrinsic(c)) => FailSource::Intrinsic(c),
        None => FailSource::None,
    })
}

fn parallel(f: &Fields<'_>, names: &mut HashSet<String>, top: bool) -> Result<ParallelState, DefinitionError> {
    f.check_allowed(
        "a Parallel state",
        &[
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Branches",
            "Retry",
            "Catch",
            "Assign",
            "Next",
            "End",
        ],
    )?;
    Ok(ParallelState {
        parameters: f.template("Parameters")?,
        result: result_handling(f)?,
        branches: branches(f, names, top)?,
        recovery: recovery(f, false)?,
        transition: transition(f)?,
    })
}

/// Parallel's `Branches`; their states inherit the top level's query language (`top`).
pub(super) fn branches(
    f: &Fields<'_>,
    names: &mut HashSet<String>,
    top: bool,
) -> Result<Vec<StateSet>, DefinitionError> {
    let branches_value = f
        .get("Branches")
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            // AWS's words (test_state_mock_validation.py::TestStateMockValidation::test_parallel_state_empty_branches).
            f.invalid_as(
                "field \"Branches\" must be a non-empty array",
                super::code::SCHEMA,
                "Value cannot be empty",
                "Branches",
            )
        })?;
    let mut branches = Vec::with_capacity(branches_value.len());
    for (i, branch) in branches_value.iter().enumerate() {
        let prefix = format!("Branches[{i}].");
        let bf = Fields::new(f.location().clone(), format!("{}/Branches/{i}", f.pointer()), branch).map_err(|_| {
            f.invalid_at(
                &format!("Branches[{i}]"),
                &format!("field \"Branches[{i}]\" must be an object"),
            )
        })?;
        bf.check_allowed(&format!("Branches[{i}]"), &["StartAt", "States", "Comment"])?;
        branches.push(parse_state_set(&bf, &prefix, names, top)?);
    }
    Ok(branches)
}

/// The item processor: `ItemProcessor`, or `Iterator`, its pre-2022 name, which AWS still runs,
/// ProcessorConfig included (test_base_scenarios.py::TestBaseScenarios::test_map_state_legacy and
/// ::test_map_state_legacy_config_inline).
pub(super) fn map_processor(
    f: &Fields<'_>,
    names: &mut HashSet<String>,
    top: bool,
) -> Result<StateSet, DefinitionError> {
    let (field, processor_value) = match (f.get("ItemProcessor"), f.get("Iterator")) {
        (Some(v), _) => ("ItemProcessor", v),
        (None, Some(v)) => ("Iterator", v),
        (None, None) => {
            return Err(f.invalid_as(
                "field \"ItemProcessor\" (or the older \"Iterator\") is required",
                super::code::SCHEMA,
                "These fields are required: [ItemProcessor]",
                "",
            ))
        }
    };
    let pf = Fields::new(
        f.location().clone(),
        format!("{}/{field}", f.pointer()),
        processor_value,
    )
    .map_err(|_| f.invalid_at(field, &format!("field \"{field}\" must be an object")))?;
    pf.check_allowed(
        &format!("\"{field}\""),
        &["StartAt", "States", "Comment", "ProcessorConfig"],
    )?;
    if let Some(config) = pf.get("ProcessorConfig") {
        processor_config(f, &pf, config, &format!("{field}.ProcessorConfig"))?;
    }
    parse_state_set(&pf, &format!("{field}."), names, top)
}

/// ProcessorConfig: INLINE runs here; DISTRIBUTED is refused as unsupported. `at` names the field
/// (`ItemProcessor.ProcessorConfig` or `Iterator.ProcessorConfig`) in messages.
fn processor_config(f: &Fields<'_>, pf: &Fields<'_>, config: &Value, at: &str) -> Result<(), DefinitionError> {
    let cf = Fields::new(
        f.location().clone(),
        format!("{}/ProcessorConfig", pf.pointer()),
        config,
    )
    .map_err(|_| f.invalid_at(at, &format!("field \"{at}\" must be an object")))?;
    match cf.str("Mode")? {
        None | Some("INLINE") => {}
        Some("DISTRIBUTED") => {
            return Err(f.unsupported(&format!(
                "field \"{at}.Mode\" is not supported with value \"DISTRIBUTED\" (Distributed Map is not supported by the local cloud; use INLINE)"
            )))
        }
        Some(other) => {
            return Err(f.invalid(&format!(
                "field \"{at}.Mode\" must be INLINE or DISTRIBUTED, not \"{other}\""
            )))
        }
    }
    if cf.has("ExecutionType") {
        return Err(f.unsupported(&format!(
            "field \"{at}.ExecutionType\" is not supported (Distributed Map is not supported by the local cloud)"
        )));
    }
    cf.check_allowed(&format!("\"{at}\""), &["Mode", "ExecutionType"])
}

fn map(f: &Fields<'_>, names: &mut HashSet<String>, top: bool) -> Result<MapState, DefinitionError> {
    f.check_allowed(
        "a Map state",
        &[
            "Type",
            "Comment",
            "InputPath",
            "OutputPath",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ItemProcessor",
            "Iterator",
            "Retry",
            "Catch",
            "Assign",
            "Next",
            "End",
        ],
    )?;
    f.exclusive("ItemSelector", "Parameters")?;
    f.exclusive("ItemProcessor", "Iterator")?;
    f.exclusive("MaxConcurrency", "MaxConcurrencyPath")?;
    let processor = map_processor(f, names, top)?;
    let max_concurrency = match f.non_negative_int("MaxConcurrency")? {
        Some(n) => Some(Seconds::Fixed(n)),
        None => f.reference_path("MaxConcurrencyPath")?.map(Seconds::Path),
    };
    let item_selector = match f.template("ItemSelector")? {
        Some(t) => Some(t),
        None => f.template("Parameters")?,
    };
    Ok(MapState {
        items: None,
        items_path: f.reference_path("ItemsPath")?,
        item_selector,
        result: result_handling(f)?,
        max_concurrency,
        max_concurrency_expr: None,
        processor,
        recovery: recovery(f, false)?,
        transition: transition(f)?,
    })
}
