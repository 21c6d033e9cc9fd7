//! The SDK calls behind `zb executions`, kept thin: each one pages through an
//! API and hands back the model types of `history`. No decisions here beyond
//! paging and bounds; executions.rs decides which source to read.

use crate::aws::{Aws, AwsError, Service, Target};
use crate::history::{sdk_time_ms, Event, ExecutionStatus, ExecutionSummary, HistoryError, LogEvent, Outcome};
use chrono::{DateTime, TimeZone, Utc};

fn to_chrono(t: &aws_sdk_sfn::primitives::DateTime) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(sdk_time_ms(t)).single()
}

fn status(s: &aws_sdk_sfn::types::ExecutionStatus) -> ExecutionStatus {
    // An unknown future status reads as still running rather than failing the command.
    ExecutionStatus::parse(s.as_str()).unwrap_or(ExecutionStatus::Running)
}

/// What DescribeStateMachine says about the machine we look at.
#[derive(Debug, Clone)]
pub struct Machine {
    pub arn: String,
    pub name: String,
    pub express: bool,
    /// Name of the CloudWatch Logs group its executions are logged to.
    pub log_group: Option<String>,
}

/// `arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/x:*`
/// -> `/aws/vendedlogs/states/x` (FilterLogEvents wants the name, no `:*`).
pub fn log_group_name(arn: &str) -> Option<String> {
    let (_, rest) = arn.split_once(":log-group:")?;
    let name = rest.strip_suffix(":*").unwrap_or(rest);
    (!name.is_empty()).then(|| name.to_string())
}

/// One page-through of a log group, and whether it stopped at the bound.
pub struct LogRead {
    pub events: Vec<LogEvent>,
    /// Lines in the group that are not Step Functions events (shared group).
    pub skipped: usize,
    pub truncated: bool,
}

pub struct Clients {
    sfn: aws_sdk_sfn::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    pub sfn_target: Target,
    pub logs_target: Target,
}

impl Clients {
    pub fn new(aws: &Aws) -> Clients {
        Clients {
            sfn: aws_sdk_sfn::Client::new(&aws.config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&aws.config),
            sfn_target: aws.target(Service::StepFunctions),
            logs_target: aws.target(Service::CloudWatchLogs),
        }
    }

    /// (name, ARN) of every state machine in the account and region.
    pub async fn list_state_machines(&self) -> Result<Vec<(String, String)>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .sfn
                .list_state_machines()
                .set_next_token(token.take())
                .max_results(1000)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&self.sfn_target, "ListStateMachines", e))?;
            out.extend(
                page.state_machines()
                    .iter()
                    .map(|m| (m.name().to_string(), m.state_machine_arn().to_string())),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub async fn describe_state_machine(&self, arn: &str) -> Result<Machine, AwsError> {
        let out = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&self.sfn_target, "DescribeStateMachine", e))?;
        let log_group = out
            .logging_configuration()
            .into_iter()
            .flat_map(|l| l.destinations())
            .filter_map(|d| d.cloud_watch_logs_log_group()?.log_group_arn())
            .find_map(log_group_name);
        Ok(Machine {
            arn: out.state_machine_arn().to_string(),
            name: out.name().to_string(),
            express: out.r#type() == &aws_sdk_sfn::types::StateMachineType::Express,
            log_group,
        })
    }

    /// Newest first, at most `max`.
    pub async fn list_executions(
        &self,
        machine_arn: &str,
        filter: Option<ExecutionStatus>,
        max: usize,
    ) -> Result<Vec<ExecutionSummary>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        while out.len() < max {
            let page_size = i32::try_from((max - out.len()).min(1000)).unwrap_or(1000);
            let page = self
                .sfn
                .list_executions()
                .state_machine_arn(machine_arn)
                .set_status_filter(filter.map(|s| aws_sdk_sfn::types::ExecutionStatus::from(s.as_str())))
                .max_results(page_size)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&self.sfn_target, "ListExecutions", e))?;
            out.extend(page.executions().iter().map(|x| {
                ExecutionSummary::new(
                    x.execution_arn(),
                    x.name(),
                    status(x.status()),
                    to_chrono(x.start_date()),
                    x.stop_date().and_then(to_chrono),
                )
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// DescribeExecution as a summary plus the outcome fields it knows.
    pub async fn describe_execution(&self, arn: &str) -> Result<(ExecutionSummary, Outcome), AwsError> {
        let x = self
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&self.sfn_target, "DescribeExecution", e))?;
        let summary = ExecutionSummary::new(
            x.execution_arn(),
            x.name().unwrap_or_default(),
            status(x.status()),
            to_chrono(x.start_date()),
            x.stop_date().and_then(to_chrono),
        );
        let mut outcome = Outcome {
            status: summary.status,
            started: summary.started,
            stopped: summary.stopped,
            duration_ms: None,
            input: x.input().map(str::to_string),
            output: x.output().map(str::to_string),
            error: x.error().map(str::to_string),
            cause: x.cause().map(str::to_string),
        };
        outcome.refresh_duration();
        Ok((summary, outcome))
    }

    /// Every event of one execution, oldest first (all pages).
    pub async fn execution_history(&self, arn: &str) -> Result<Vec<Event>, SourceError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(arn)
                .include_execution_data(true)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&self.sfn_target, "GetExecutionHistory", e))?;
            for e in page.events() {
                out.push(Event::from_sdk(e)?);
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// FilterLogEvents over [start, end] with a CloudWatch filter pattern,
    /// stopping after `max_events` Step Functions events.
    pub async fn read_log_group(
        &self,
        group: &str,
        pattern: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        max_events: usize,
    ) -> Result<LogRead, AwsError> {
        let mut read = LogRead {
            events: Vec::new(),
            skipped: 0,
            truncated: false,
        };
        let mut token: Option<String> = None;
        loop {
            let page = self
                .logs
                .filter_log_events()
                .log_group_name(group)
                .filter_pattern(pattern)
                .start_time(start.timestamp_millis())
                .end_time(end.timestamp_millis())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&self.logs_target, "FilterLogEvents", e))?;
            for line in page.events() {
                match line.message().map(LogEvent::parse) {
                    Some(Ok(e)) => read.events.push(e),
                    _ => read.skipped += 1,
                }
                if read.events.len() >= max_events {
                    read.truncated = true;
                    return Ok(read);
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(read),
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Filter pattern for the execution-level lines: enough for list and watch.
pub const EXECUTION_EVENTS_PATTERN: &str = r#"{ ($.type = "ExecutionStarted") || ($.type = "ExecutionSucceeded") || ($.type = "ExecutionFailed") || ($.type = "ExecutionTimedOut") || ($.type = "ExecutionAborted") }"#;

/// Filter pattern for every line of one execution.
pub fn execution_pattern(execution_arn: &str) -> String {
    // Execution ARNs cannot contain quotes; escape anyway so a bad argument cannot break the pattern.
    let escaped = execution_arn.replace('\\', "\\\\").replace('"', "\\\"");
    format!(r#"{{ $.execution_arn = "{escaped}" }}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_group_names_from_arns() {
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/zb-order-pipeline:*")
                .as_deref(),
            Some("/aws/vendedlogs/states/zb-order-pipeline")
        );
        assert_eq!(
            log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:zb").as_deref(),
            Some("zb")
        );
        assert_eq!(log_group_name("arn:aws:logs:us-east-1:123456789012:log-group::*"), None);
        assert_eq!(log_group_name("not-an-arn"), None);
    }

    #[test]
    fn patterns() {
        assert_eq!(
            execution_pattern("arn:aws:states:us-east-1:1:express:sm:n:id"),
            r#"{ $.execution_arn = "arn:aws:states:us-east-1:1:express:sm:n:id" }"#
        );
        assert_eq!(execution_pattern(r#"a"b"#), r#"{ $.execution_arn = "a\"b" }"#);
    }
}
