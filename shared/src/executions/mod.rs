//! Step Functions executions as operators see them (the admin API): the
//! state machines' definitions (DescribeStateMachine), a Standard
//! execution from DescribeExecution and GetExecutionHistory, an Express one
//! from its machine's log group ([`logs`]), both shaped alike: one list of
//! events with the state each belongs to.
//!
//! API reference followed:
//! https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachine.html,
//! .../API_DescribeExecution.html, .../API_GetExecutionHistory.html,
//! .../API_HistoryEvent.html; the log format:
//! https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html.

pub mod logs;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::HistoryEvent;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// What reading executions came to, besides an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutionsError {
    /// Throttled, unreachable or failing on AWS's side: worth retrying.
    #[error("{0}")]
    Transient(String),
    /// Refused (access denied, a machine that does not exist, a log group
    /// missing): a deployment problem, not the caller's.
    #[error("{0}")]
    Failed(String),
}

impl From<logs::ExpressLogError> for ExecutionsError {
    fn from(e: logs::ExpressLogError) -> Self {
        if e.is_transient() {
            Self::Transient(e.to_string())
        } else {
            Self::Failed(e.to_string())
        }
    }
}

fn sdk_error<E, R>(op: &str, e: &aws_sdk_sfn::error::SdkError<E, R>) -> ExecutionsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = format!("{op}: {}", aws_sdk_sfn::error::DisplayErrorContext(e));
    if logs::transient(e) {
        ExecutionsError::Transient(text)
    } else {
        ExecutionsError::Failed(text)
    }
}

/// A state machine as DescribeStateMachine shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineInfo {
    pub state_machine_arn: String,
    pub name: String,
    /// EXPRESS or STANDARD.
    pub kind: String,
    /// The Amazon States Language text.
    pub definition: String,
    /// Its loggingConfiguration's log group, if it logs.
    pub log_group: Option<String>,
}

/// An execution ARN, taken apart:
/// `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>` for
/// a Standard execution, `…:express:<machine>:<name>[:<id>]` for an Express one
/// (resource types `execution` and `express`, as StartExecution returns them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub express: bool,
    pub machine: String,
    pub name: String,
}

impl ExecutionArn {
    pub fn parse(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        let (express, max) = match parts.get(5) {
            Some(&"execution") => (false, 8),
            Some(&"express") => (true, 9),
            _ => return None,
        };
        if parts.len() < 8 || parts.len() > max || parts[0] != "arn" || parts[2] != "states" {
            return None;
        }
        if parts.iter().enumerate().any(|(i, p)| p.is_empty() && i != 3 && i != 4) {
            return None;
        }
        Some(Self {
            partition: parts[1].into(),
            region: parts[3].into(),
            account: parts[4].into(),
            express,
            machine: parts[6].into(),
            name: parts[7].into(),
        })
    }

    /// Whether this is an execution of the machine `machine_arn`
    /// (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`).
    pub fn of_machine(&self, machine_arn: &str) -> bool {
        let parts: Vec<&str> = machine_arn.split(':').collect();
        parts.len() == 7
            && parts[0] == "arn"
            && parts[1] == self.partition
            && parts[2] == "states"
            && parts[3] == self.region
            && parts[4] == self.account
            && parts[5] == "stateMachine"
            && parts[6] == self.machine
    }
}

/// One event of an execution, from its history or its log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: i64,
    pub previous_event_id: i64,
    /// RFC 3339, milliseconds, UTC.
    pub timestamp: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The state the event belongs to: named by `*StateEntered`/`*StateExited`
    /// events, and inherited along `previousEventId` by the events between
    /// them (a Task's LambdaFunctionScheduled, …Failed, …); none for the
    /// execution's own events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Where an execution's account came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// DescribeExecution and GetExecutionHistory (Standard).
    History,
    /// The machine's log group (Express).
    Log,
}

/// One execution with its events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionView {
    pub execution_arn: String,
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (or PENDING_REDRIVE).
    pub status: String,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub source: Source,
    pub events: Vec<EventView>,
}

/// The parts of an event's details the view keeps.
#[derive(Debug, Default, Clone)]
struct Details {
    name: Option<String>,
    input: Option<String>,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

/// Whether an event type names the state it enters or leaves.
fn names_state(event_type: &str) -> bool {
    event_type.ends_with("StateEntered") || event_type.ends_with("StateExited")
}

/// Builds the views, oldest first, giving each event between a state's
/// entry and exit that state's name: its previousEventId leads back to the
/// entry (GetExecutionHistory: "previousEventId: The id of the previous
/// event"); an exit ends the chain, and the execution's own events
/// (`Execution*`) belong to no state.
fn views(mut raw: Vec<(i64, i64, DateTime<Utc>, String, Details)>) -> Vec<EventView> {
    raw.sort_by_key(|r| r.0);
    let mut state_of: HashMap<i64, (String, bool)> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (id, previous, at, event_type, d) in raw {
        let state_name = if names_state(&event_type) {
            d.name.clone()
        } else if event_type.starts_with("Execution") {
            None
        } else {
            // An event after an entry (or after an event that inherited one)
            // belongs to that state; after an exit, to none.
            state_of
                .get(&previous)
                .filter(|(_, open)| *open)
                .map(|(name, _)| name.clone())
                .or_else(|| d.name.clone().filter(|_| event_type == "EvaluationFailed"))
        };
        if let Some(name) = &state_name {
            state_of.insert(id, (name.clone(), !event_type.ends_with("StateExited")));
        }
        out.push(EventView {
            id,
            previous_event_id: previous,
            timestamp: crate::time::format_utc(at),
            event_type,
            state_name,
            input: d.input,
            output: d.output,
            error: d.error,
            cause: d.cause,
        });
    }
    out
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn from_sdk_time(t: &aws_sdk_sfn::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

/// The details of a log line (`details` holds the history event's
/// `<kind>EventDetails` as JSON; a Task's `parameters` is its input).
fn log_details(line: &Value) -> Details {
    let d = line.get("details").cloned().unwrap_or(Value::Null);
    let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    Details {
        name: s("name").or_else(|| s("state")),
        input: s("input").or_else(|| s("parameters")),
        output: s("output"),
        error: s("error"),
        cause: s("cause"),
    }
}

/// The details of a GetExecutionHistory event, from whichever of its
/// `<kind>EventDetails` members it carries.
fn sdk_details(e: &HistoryEvent) -> Details {
    let o = |v: Option<&str>| v.map(str::to_string);
    let mut d = Details::default();
    if let Some(x) = e.state_entered_event_details() {
        d.name = Some(x.name().to_string());
        d.input = o(x.input());
    } else if let Some(x) = e.state_exited_event_details() {
        d.name = Some(x.name().to_string());
        d.output = o(x.output());
    } else if let Some(x) = e.execution_started_event_details() {
        d.input = o(x.input());
    } else if let Some(x) = e.execution_succeeded_event_details() {
        d.output = o(x.output());
    } else if let Some(x) = e.execution_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.execution_aborted_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.execution_timed_out_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.lambda_function_scheduled_event_details() {
        d.input = o(x.input());
    } else if let Some(x) = e.lambda_function_succeeded_event_details() {
        d.output = o(x.output());
    } else if let Some(x) = e.lambda_function_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.lambda_function_schedule_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.lambda_function_start_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.lambda_function_timed_out_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.task_scheduled_event_details() {
        d.input = Some(x.parameters().to_string());
    } else if let Some(x) = e.task_succeeded_event_details() {
        d.output = o(x.output());
    } else if let Some(x) = e.task_submitted_event_details() {
        d.output = o(x.output());
    } else if let Some(x) = e.task_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.task_start_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.task_submit_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.task_timed_out_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.activity_scheduled_event_details() {
        d.input = o(x.input());
    } else if let Some(x) = e.activity_succeeded_event_details() {
        d.output = o(x.output());
    } else if let Some(x) = e.activity_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.activity_schedule_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.activity_timed_out_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.map_run_failed_event_details() {
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    } else if let Some(x) = e.evaluation_failed_event_details() {
        d.name = Some(x.state().to_string());
        (d.error, d.cause) = (o(x.error()), o(x.cause()));
    }
    d
}

/// The views of an execution's log lines (see [`logs`]), or None when the
/// group holds no line of it.
pub fn from_log_lines(execution_arn: &str, lines: &[Value]) -> Option<ExecutionView> {
    use logs::{number, terminal_status};
    let first = lines.first()?;
    let kind = |l: &Value| l.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let started = lines.iter().find(|l| kind(l) == "ExecutionStarted");
    let terminal = lines.iter().rev().find_map(|l| Some((l, terminal_status(&kind(l))?)));
    let at = |l: &Value| from_ms(number(l, "event_timestamp").unwrap_or(0));
    let events = views(
        lines
            .iter()
            .map(|l| {
                (
                    number(l, "id").unwrap_or(0),
                    number(l, "previous_event_id").unwrap_or(0),
                    at(l),
                    kind(l),
                    log_details(l),
                )
            })
            .collect(),
    );
    let end = terminal.map(|(l, _)| log_details(l)).unwrap_or_default();
    Some(ExecutionView {
        execution_arn: execution_arn.to_string(),
        name: ExecutionArn::parse(execution_arn).map(|a| a.name).unwrap_or_default(),
        status: terminal.map_or("RUNNING", |(_, s)| s).to_string(),
        // Without the ALL level no ExecutionStarted is logged: the first line is the nearest time.
        start: at(started.unwrap_or(first)),
        stop: terminal.map(|(l, _)| at(l)),
        input: started.and_then(|l| log_details(l).input),
        output: end.output,
        error: end.error,
        cause: end.cause,
        source: Source::Log,
        events,
    })
}

/// Reads state machines and executions (Step Functions and CloudWatch Logs clients).
#[derive(Debug, Clone)]
pub struct ExecutionReader {
    sfn: aws_sdk_sfn::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl ExecutionReader {
    pub fn new(sfn: aws_sdk_sfn::Client, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { sfn, logs }
    }

    /// Both clients from one SDK configuration (aws-config: endpoints from
    /// `AWS_ENDPOINT_URL[_<SERVICE>]`).
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_sfn::Client::new(sdk), aws_sdk_cloudwatchlogs::Client::new(sdk))
    }

    pub async fn machine(&self, arn: &str) -> Result<MachineInfo, ExecutionsError> {
        let out = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(arn)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeStateMachine", &e))?;
        let log_group = out
            .logging_configuration()
            .into_iter()
            .flat_map(|l| l.destinations())
            .filter_map(|d| d.cloud_watch_logs_log_group()?.log_group_arn())
            .find_map(logs::group_of_arn);
        Ok(MachineInfo {
            state_machine_arn: out.state_machine_arn().to_string(),
            name: out.name().to_string(),
            kind: out.r#type().as_str().to_string(),
            definition: out.definition().to_string(),
            log_group,
        })
    }

    /// The executions of a log group whose input names `feed_id`, oldest first.
    pub async fn runs_for_feed(
        &self,
        group: &str,
        feed_id: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<logs::LoggedRun>, ExecutionsError> {
        let start = since.map(|t| t.timestamp_millis());
        Ok(logs::runs_for_feed(&self.logs, group, feed_id, start).await?)
    }

    /// An execution from its log group's lines; None when none is logged.
    pub async fn from_log(&self, group: &str, execution_arn: &str) -> Result<Option<ExecutionView>, ExecutionsError> {
        let lines = logs::execution_lines(&self.logs, group, execution_arn).await?;
        Ok(from_log_lines(execution_arn, &lines))
    }

    /// A Standard execution: DescribeExecution, then every page of its
    /// history. None when it does not exist (ExecutionDoesNotExist).
    pub async fn from_history(&self, execution_arn: &str) -> Result<Option<ExecutionView>, ExecutionsError> {
        let described = match self.sfn.describe_execution().execution_arn(execution_arn).send().await {
            Ok(d) => d,
            Err(e) if e.code() == Some("ExecutionDoesNotExist") => return Ok(None),
            Err(e) => return Err(sdk_error("DescribeExecution", &e)),
        };
        let mut raw = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("GetExecutionHistory", &e))?;
            raw.extend(page.events().iter().map(|e| {
                (
                    e.id(),
                    e.previous_event_id(),
                    from_sdk_time(e.timestamp()),
                    e.r#type().as_str().to_string(),
                    sdk_details(e),
                )
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(Some(ExecutionView {
            execution_arn: described.execution_arn().to_string(),
            name: described.name().unwrap_or_default().to_string(),
            status: described.status().as_str().to_string(),
            start: from_sdk_time(described.start_date()),
            stop: described.stop_date().map(from_sdk_time),
            input: described.input().map(str::to_string),
            output: described.output().map(str::to_string),
            error: described.error().map(str::to_string),
            cause: described.cause().map(str::to_string),
            source: Source::History,
            events: views(raw),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn execution_arns_parse_in_both_resource_types() {
        let std =
            ExecutionArn::parse("arn:aws:states:us-east-1:123456789012:execution:s-webhook-delivery:d-1").unwrap();
        assert!(!std.express);
        assert_eq!((std.machine.as_str(), std.name.as_str()), ("s-webhook-delivery", "d-1"));
        assert!(std.of_machine("arn:aws:states:us-east-1:123456789012:stateMachine:s-webhook-delivery"));
        assert!(!std.of_machine("arn:aws:states:us-east-1:123456789012:stateMachine:s-order-pipeline"));
        assert!(!std.of_machine("arn:aws:states:eu-west-1:123456789012:stateMachine:s-webhook-delivery"));
        // AWS appends an execution id to an Express ARN; the local cloud does not.
        for arn in [
            "arn:aws:states:us-east-1:123456789012:express:s-order-pipeline:n-1:0f0e",
            "arn:aws:states:us-east-1:123456789012:express:s-order-pipeline:n-1",
        ] {
            let x = ExecutionArn::parse(arn).unwrap();
            assert!(x.express);
            assert_eq!(x.name, "n-1");
        }
        for bad in [
            "",
            "nothing",
            "arn:aws:states:us-east-1:123456789012:stateMachine:s-order-pipeline",
            "arn:aws:states:us-east-1:123456789012:execution:s-order-pipeline",
            "arn:aws:states:us-east-1:123456789012:execution:s-order-pipeline:n:extra",
            "arn:aws:lambda:us-east-1:123456789012:execution:m:n",
            "arn:aws:states:us-east-1:123456789012:execution::n",
        ] {
            assert_eq!(ExecutionArn::parse(bad), None, "{bad}");
        }
    }

    /// Lines as Step Functions logs them (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
    fn line(id: u64, prev: u64, t: &str, details: Value) -> Value {
        json!({"id": id.to_string(), "type": t, "details": details, "previous_event_id": prev.to_string(),
               "event_timestamp": (1_767_268_800_000u64 + id).to_string(),
               "execution_arn": "arn:aws:states:us-east-1:123456789012:express:m:n"})
    }

    #[test]
    fn log_lines_become_events_each_with_its_state() {
        let lines = vec![
            line(1, 0, "ExecutionStarted", json!({"input": "{\"feedId\":\"f\"}"})),
            line(2, 0, "TaskStateEntered", json!({"name": "Validate", "input": "{}"})),
            line(3, 2, "LambdaFunctionScheduled", json!({"resource": "x", "input": "{}"})),
            line(4, 3, "LambdaFunctionFailed", json!({"error": "E", "cause": "c"})),
            line(5, 4, "TaskStateExited", json!({"name": "Validate", "output": "{}"})),
            line(6, 5, "FailStateEntered", json!({"name": "FeedFailed", "input": "{}"})),
            line(7, 6, "ExecutionFailed", json!({"error": "E", "cause": "c"})),
        ];
        let v = from_log_lines("arn:aws:states:us-east-1:123456789012:express:m:n", &lines).unwrap();
        assert_eq!(v.status, "FAILED");
        assert_eq!(v.name, "n");
        assert_eq!(v.input.as_deref(), Some("{\"feedId\":\"f\"}"));
        assert_eq!((v.error.as_deref(), v.cause.as_deref()), (Some("E"), Some("c")));
        let states: Vec<Option<&str>> = v.events.iter().map(|e| e.state_name.as_deref()).collect();
        assert_eq!(
            states,
            [
                None,
                Some("Validate"),
                Some("Validate"),
                Some("Validate"),
                Some("Validate"),
                Some("FeedFailed"),
                None
            ]
        );
        assert_eq!(v.events[3].error.as_deref(), Some("E"));
        assert_eq!(v.events[0].timestamp, "2026-01-01T12:00:00.001Z");
        assert_eq!(
            v.stop.map(crate::time::format_utc).as_deref(),
            Some("2026-01-01T12:00:00.007Z")
        );
        assert_eq!(from_log_lines("arn", &[]), None);
        // Running: no terminal line yet.
        let running = from_log_lines("arn:aws:states:us-east-1:1:express:m:n", &lines[..3]).unwrap();
        assert_eq!((running.status.as_str(), running.stop), ("RUNNING", None));
    }
}
