//! Executions seen through a state machine's log group (FilterLogEvents),
//! as ops see them on AWS: Step Functions serves no ListExecutions,
//! DescribeExecution or GetExecutionHistory for Express executions
//! (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html:
//! "Express Workflows don't record execution history in AWS Step Functions"),
//! and a Standard machine logs the same lines when it has a logging
//! configuration. Used by the admin API, `zb demo` and the end-to-end tests
//! (`zb_local::express_logs` re-exports this module); works against AWS unchanged.
//!
//! A line is Step Functions' log format
//! (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-log-level,
//! "Log event format"): `id`, `type`, `details` (the history event's
//! `<kind>EventDetails`), `previous_event_id`, `event_timestamp` (epoch
//! milliseconds), `execution_arn`, each id and time a string.

use serde_json::Value;

/// One finished execution, from its log lines.
#[derive(Debug, Clone)]
pub struct ExpressRun {
    pub execution_arn: String,
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
    /// ExecutionStarted's input (logged only with IncludeExecutionData).
    pub input: Option<String>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Every line of the execution (the messages, parsed), oldest first.
    pub lines: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExpressLogError {
    #[error("DescribeStateMachine {arn}: {detail}")]
    Describe {
        arn: String,
        detail: String,
        transient: bool,
    },
    #[error("state machine {0} logs to no CloudWatch Logs group")]
    NoLogGroup(String),
    #[error("FilterLogEvents on {group}: {detail}")]
    Filter {
        group: String,
        detail: String,
        transient: bool,
    },
}

impl ExpressLogError {
    /// Worth retrying: throttled, unreachable or failing on the service's side.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Describe { transient, .. } | Self::Filter { transient, .. } => *transient,
            Self::NoLogGroup(_) => false,
        }
    }
}

/// Whether an SDK error is worth retrying: no answer, an unreadable one, or
/// one of the codes AWS documents as retryable (throttling, service faults).
/// (`aws_sdk_sfn::error::SdkError` is the smithy type every SDK crate
/// re-exports, so CloudWatch Logs' errors are classified by it too.)
pub(crate) fn transient<E, R>(e: &aws_sdk_sfn::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata,
{
    use aws_sdk_sfn::error::SdkError;
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(s) => matches!(
            s.err().code(),
            Some(
                "ThrottlingException"
                    | "Throttling"
                    | "TooManyRequestsException"
                    | "ServiceUnavailable"
                    | "ServiceUnavailableException"
                    | "InternalFailure"
                    | "InternalServerError"
            )
        ),
        _ => false,
    }
}

/// The log group named by a log group ARN (`…:log-group:<name>` or `…:log-group:<name>:*`).
pub fn group_of_arn(arn: &str) -> Option<String> {
    let (_, rest) = arn.split_once(":log-group:")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty()).then(|| name.to_string())
}

/// The log group a state machine's executions are logged to (its
/// loggingConfiguration's destination).
pub async fn log_group_of(sfn: &aws_sdk_sfn::Client, machine_arn: &str) -> Result<String, ExpressLogError> {
    let out = sfn
        .describe_state_machine()
        .state_machine_arn(machine_arn)
        .send()
        .await
        .map_err(|e| ExpressLogError::Describe {
            arn: machine_arn.to_string(),
            transient: transient(&e),
            detail: aws_sdk_sfn::error::DisplayErrorContext(&e).to_string(),
        })?;
    out.logging_configuration()
        .into_iter()
        .flat_map(|l| l.destinations())
        .filter_map(|d| d.cloud_watch_logs_log_group()?.log_group_arn())
        .find_map(group_of_arn)
        .ok_or_else(|| ExpressLogError::NoLogGroup(machine_arn.to_string()))
}

/// Every message of a group matching a filter pattern, all pages, parsed
/// (lines that are not JSON are skipped).
pub async fn lines(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    pattern: &str,
) -> Result<Vec<Value>, ExpressLogError> {
    lines_since(logs, group, pattern, None).await
}

/// [`lines`] from `start_ms` (epoch milliseconds) on: FilterLogEvents then
/// reads only the streams and events of that window.
pub async fn lines_since(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    pattern: &str,
    start_ms: Option<i64>,
) -> Result<Vec<Value>, ExpressLogError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .filter_pattern(pattern)
            .set_start_time(start_ms)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| ExpressLogError::Filter {
                group: group.to_string(),
                transient: transient(&e),
                detail: aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e).to_string(),
            })?;
        out.extend(
            page.events()
                .iter()
                .filter_map(|e| serde_json::from_str::<Value>(e.message()?).ok()),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

pub(crate) fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

/// A line's `id`, `previous_event_id` or `event_timestamp`: logged as a
/// decimal string (a number is taken too).
pub(crate) fn number(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The status a terminal event type gives its execution.
pub fn terminal_status(event_type: &str) -> Option<&'static str> {
    match event_type {
        "ExecutionSucceeded" => Some("SUCCEEDED"),
        "ExecutionFailed" => Some("FAILED"),
        "ExecutionTimedOut" => Some("TIMED_OUT"),
        "ExecutionAborted" => Some("ABORTED"),
        _ => None,
    }
}

/// A filter pattern's string literal: `"` and `\` escaped.
pub(crate) fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Every line of one execution, oldest first (by event id).
pub async fn execution_lines(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    execution_arn: &str,
) -> Result<Vec<Value>, ExpressLogError> {
    let pattern = format!("{{ $.execution_arn = {} }}", quoted(execution_arn));
    let mut lines = lines(logs, group, &pattern).await?;
    lines.sort_by_key(|l| number(l, "id").unwrap_or(0));
    Ok(lines)
}

/// The execution a log group shows for an ARN, once it has finished.
pub async fn finished(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    execution_arn: &str,
) -> Result<Option<ExpressRun>, ExpressLogError> {
    let lines = execution_lines(logs, group, execution_arn).await?;
    let status = lines
        .iter()
        .find_map(|l| terminal_status(l.get("type").and_then(Value::as_str)?));
    let Some(status) = status else {
        return Ok(None);
    };
    let last = lines.last().cloned().unwrap_or(Value::Null);
    Ok(Some(ExpressRun {
        execution_arn: execution_arn.to_string(),
        status: status.to_string(),
        input: lines
            .iter()
            .find(|l| l.get("type").and_then(Value::as_str) == Some("ExecutionStarted"))
            .and_then(|l| text(l, "/details/input")),
        output: text(&last, "/details/output"),
        error: text(&last, "/details/error"),
        cause: text(&last, "/details/cause"),
        lines,
    }))
}

/// The newest finished execution whose logged input names `feed_id`
/// (needs IncludeExecutionData: without it, the feed record tells its fate).
pub async fn finished_for_feed(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    feed_id: &str,
) -> Result<Option<ExpressRun>, ExpressLogError> {
    let started = lines(logs, group, r#"{ $.type = "ExecutionStarted" }"#).await?;
    let arns: Vec<String> = started
        .iter()
        .rev()
        .filter(|l| text(l, "/details/input").is_some_and(|i| i.contains(feed_id)))
        .filter_map(|l| text(l, "/execution_arn"))
        .collect();
    for arn in arns {
        if let Some(run) = finished(logs, group, &arn).await? {
            return Ok(Some(run));
        }
    }
    Ok(None)
}

/// One execution as its ExecutionStarted line and (once it has ended) its
/// terminal line show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRun {
    pub execution_arn: String,
    /// RUNNING until a terminal line is logged.
    pub status: String,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
}

/// The executions whose logged input names `feed_id`, oldest first, from
/// `start_ms` on. The input is a JSON text holding `"feedId":"<id>"`, so
/// the group is searched for the two terms `ExecutionStarted` and the id
/// (both must appear: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html,
/// "Matching terms in unstructured log events"), then each match is checked
/// on its parsed fields. Needs the ALL log level and IncludeExecutionData
/// (the template's defaults): otherwise no ExecutionStarted line names a feed.
pub async fn runs_for_feed(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    feed_id: &str,
    start_ms: Option<i64>,
) -> Result<Vec<LoggedRun>, ExpressLogError> {
    let pattern = format!("\"ExecutionStarted\" {}", quoted(feed_id));
    let started = lines_since(logs, group, &pattern, start_ms).await?;
    let mut runs: Vec<LoggedRun> = Vec::new();
    for line in &started {
        if line.get("type").and_then(Value::as_str) != Some("ExecutionStarted") {
            continue;
        }
        let names_feed = text(line, "/details/input")
            .and_then(|i| serde_json::from_str::<Value>(&i).ok())
            .is_some_and(|input| input.get("feedId").and_then(Value::as_str) == Some(feed_id));
        let Some(arn) = text(line, "/execution_arn").filter(|_| names_feed) else {
            continue;
        };
        if runs.iter().any(|r| r.execution_arn == arn) {
            continue; // a line delivered twice
        }
        runs.push(LoggedRun {
            execution_arn: arn,
            status: "RUNNING".into(),
            start_ms: number(line, "event_timestamp").unwrap_or(0),
            stop_ms: None,
        });
    }
    for run in &mut runs {
        let pattern = format!(
            "{{ $.execution_arn = {} && ($.type = \"ExecutionSucceeded\" || $.type = \"ExecutionFailed\" || \
             $.type = \"ExecutionTimedOut\" || $.type = \"ExecutionAborted\") }}",
            quoted(&run.execution_arn)
        );
        let ends = lines_since(logs, group, &pattern, Some(run.start_ms)).await?;
        if let Some((status, at)) = ends.iter().find_map(|l| {
            let status = terminal_status(l.get("type").and_then(Value::as_str)?)?;
            Some((status, number(l, "event_timestamp")))
        }) {
            run.status = status.to_string();
            run.stop_ms = at;
        }
    }
    runs.sort_by(|a, b| (a.start_ms, &a.execution_arn).cmp(&(b.start_ms, &b.execution_arn)));
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_come_from_either_arn_form() {
        assert_eq!(
            group_of_arn("arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/x:*").as_deref(),
            Some("/aws/vendedlogs/states/x")
        );
        assert_eq!(
            group_of_arn("arn:aws:logs:us-east-1:123456789012:log-group:g").as_deref(),
            Some("g")
        );
        assert_eq!(group_of_arn("arn:aws:logs:us-east-1:123456789012:log-group:"), None);
        assert_eq!(group_of_arn("nothing"), None);
    }

    #[test]
    fn literals_are_escaped_for_filter_patterns() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
