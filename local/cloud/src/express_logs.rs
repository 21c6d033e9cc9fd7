//! Express executions seen as ops see them on AWS: through the state
//! machine's log group (FilterLogEvents), since Step Functions serves no
//! ListExecutions, DescribeExecution or GetExecutionHistory for them
//! (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html:
//! "Express Workflows don't record execution history in AWS Step Functions").
//! Used by `zb demo` and the end-to-end tests; works against AWS unchanged.

use serde_json::Value;

/// One finished Express execution, from its log lines.
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
    Describe { arn: String, detail: String },
    #[error("state machine {0} logs to no CloudWatch Logs group")]
    NoLogGroup(String),
    #[error("FilterLogEvents on {group}: {detail}")]
    Filter { group: String, detail: String },
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
            detail: aws_sdk_sfn::error::DisplayErrorContext(&e).to_string(),
        })?;
    out.logging_configuration()
        .into_iter()
        .flat_map(|l| l.destinations())
        .filter_map(|d| d.cloud_watch_logs_log_group()?.log_group_arn())
        .find_map(|arn| {
            let (_, rest) = arn.split_once(":log-group:")?;
            Some(rest.strip_suffix(":*").unwrap_or(rest).to_string())
        })
        .ok_or_else(|| ExpressLogError::NoLogGroup(machine_arn.to_string()))
}

/// Every message of a group matching a filter pattern, all pages, parsed
/// (lines that are not JSON are skipped).
pub async fn lines(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    pattern: &str,
) -> Result<Vec<Value>, ExpressLogError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .filter_pattern(pattern)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| ExpressLogError::Filter {
                group: group.to_string(),
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

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

/// The execution a log group shows for an ARN, once it has finished.
pub async fn finished(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    execution_arn: &str,
) -> Result<Option<ExpressRun>, ExpressLogError> {
    let escaped = execution_arn.replace('\\', "\\\\").replace('"', "\\\"");
    let mut lines = lines(logs, group, &format!(r#"{{ $.execution_arn = "{escaped}" }}"#)).await?;
    lines.sort_by_key(|l| text(l, "/id").and_then(|i| i.parse::<u64>().ok()).unwrap_or(0));
    let status = lines.iter().find_map(|l| match l.get("type").and_then(Value::as_str)? {
        "ExecutionSucceeded" => Some("SUCCEEDED"),
        "ExecutionFailed" => Some("FAILED"),
        "ExecutionTimedOut" => Some("TIMED_OUT"),
        "ExecutionAborted" => Some("ABORTED"),
        _ => None,
    });
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
