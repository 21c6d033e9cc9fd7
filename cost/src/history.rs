//! What one Step Functions execution consumed, from its history: the state
//! transitions Standard bills (retries included), and the duration and data
//! size Express bills. Histories come as GetExecutionHistory events (the
//! local cloud's files, the API) or as an Express workflow's log lines.

use crate::lines::SfnLogEvent;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history event {index} has no {field}")]
    Missing { index: usize, field: &'static str },
}

/// One history event, reduced to what costing reads.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub timestamp_ms: i64,
    /// The API's spelling, e.g. `TaskStateEntered`.
    pub event_type: String,
    /// The execution input (ExecutionStarted only), to find the feed.
    pub input: Option<String>,
    /// Size of the largest input or output the event carries.
    pub data_bytes: u64,
    /// What the event weighs as a log line: its JSON size.
    pub json_bytes: u64,
    /// What its log line weighs without execution data (read from a log
    /// line: the line re-serialised without input and output; else `json_bytes`).
    pub nodata_json_bytes: u64,
}

/// The usage of one execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionUse {
    pub execution_arn: String,
    /// From the ARN: `...:express:...` executions are Express.
    pub express: bool,
    pub feed_id: Option<String>,
    pub partner_id: Option<String>,
    /// First to last event.
    pub duration_ms: u64,
    /// States entered plus task retries: what Standard bills.
    pub state_transitions: u64,
    /// The largest state input or output: Express memory grows with it.
    pub max_data_bytes: u64,
    pub events: u64,
    /// The history's JSON size: an estimate of what logging at level ALL
    /// with execution data writes, when the log lines themselves are not read.
    pub history_json_bytes: u64,
}

/// Reads GetExecutionHistory's `events` (AWS's JSON shape: epoch seconds,
/// one `<kind>EventDetails` member).
pub fn events_from_api_json(events: &[Value]) -> Result<Vec<HistoryEvent>, HistoryError> {
    events
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let seconds = v
                .get("timestamp")
                .and_then(Value::as_f64)
                .ok_or(HistoryError::Missing {
                    index,
                    field: "timestamp",
                })?;
            let event_type = v
                .get("type")
                .and_then(Value::as_str)
                .ok_or(HistoryError::Missing { index, field: "type" })?;
            let details = v
                .as_object()
                .and_then(|o| o.iter().find(|(k, d)| k.ends_with("EventDetails") && d.is_object()))
                .map(|(_, d)| d);
            Ok(event(
                (seconds * 1000.0).round() as i64,
                event_type,
                details,
                json_len(v),
            ))
        })
        .collect()
}

/// One history event from its parts (e.g. the SDK's typed HistoryEvent).
pub fn event(timestamp_ms: i64, event_type: &str, details: Option<&Value>, json_bytes: u64) -> HistoryEvent {
    let text_len = |k: &str| {
        details
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .map_or(0, str::len) as u64
    };
    let input = if event_type == "ExecutionStarted" {
        details
            .and_then(|d| d.get("input"))
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        None
    };
    HistoryEvent {
        timestamp_ms,
        event_type: event_type.to_string(),
        input,
        data_bytes: text_len("input").max(text_len("output")),
        json_bytes,
        nodata_json_bytes: json_bytes,
    }
}

/// An Express workflow's log line as a history event.
pub fn event_from_log(e: &SfnLogEvent, message_bytes: u64) -> HistoryEvent {
    event(e.timestamp_ms, &e.event_type, Some(&e.details), message_bytes)
}

fn json_len(v: &Value) -> u64 {
    serde_json::to_string(v).map_or(0, |s| s.len() as u64)
}

/// The feed and partner an execution works on: the input is the
/// OrderFeedReceived detail (`InputPath: $.detail`), or the whole event.
fn feed_of(input: &str) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_str::<Value>(input) else {
        return (None, None);
    };
    let field = |k: &str| {
        v.get(k)
            .or_else(|| v.get("detail").and_then(|d| d.get(k)))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    (field("feedId"), field("partnerId"))
}

/// Sums up one execution's history.
pub fn execution_use(execution_arn: &str, events: &[HistoryEvent]) -> ExecutionUse {
    let first = events.iter().map(|e| e.timestamp_ms).min().unwrap_or(0);
    let last = events.iter().map(|e| e.timestamp_ms).max().unwrap_or(0);
    let count = |pred: &dyn Fn(&str) -> bool| events.iter().filter(|e| pred(&e.event_type)).count() as u64;
    let entered = count(&|t| t.ends_with("StateEntered"));
    // A task state schedules its work once per attempt; attempts beyond one
    // per entry are retries, which Standard bills as transitions too.
    let task_entries = count(&|t| t == "TaskStateEntered");
    let attempts = count(&|t| matches!(t, "TaskScheduled" | "LambdaFunctionScheduled" | "ActivityScheduled"));
    let (feed_id, partner_id) = events
        .iter()
        .find_map(|e| e.input.as_deref())
        .map_or((None, None), feed_of);
    ExecutionUse {
        execution_arn: execution_arn.to_string(),
        express: execution_arn.split(':').nth(5) == Some("express"),
        feed_id,
        partner_id,
        duration_ms: u64::try_from(last - first).unwrap_or(0),
        state_transitions: entered + attempts.saturating_sub(task_entries),
        max_data_bytes: events.iter().map(|e| e.data_bytes).max().unwrap_or(0),
        events: events.len() as u64,
        history_json_bytes: events.iter().map(|e| e.json_bytes).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api_event(t: f64, kind: &str, details: Option<(&str, Value)>) -> Value {
        let mut v = json!({"id": 1, "previousEventId": 0, "timestamp": t, "type": kind});
        if let Some((k, d)) = details {
            v[k] = d;
        }
        v
    }

    #[test]
    fn a_retried_standard_execution_counts_each_attempt() {
        let input = r#"{"feedId":"f-9","partnerId":"partner-a"}"#;
        let events = vec![
            api_event(
                1000.0,
                "ExecutionStarted",
                Some(("executionStartedEventDetails", json!({"input": input}))),
            ),
            api_event(1000.001, "TaskStateEntered", None),
            api_event(1000.002, "TaskScheduled", None),
            api_event(1000.010, "TaskFailed", None),
            // Retry of the same state entry.
            api_event(1000.020, "TaskScheduled", None),
            api_event(
                1000.030,
                "TaskSucceeded",
                Some(("taskSucceededEventDetails", json!({"output": "x".repeat(500)}))),
            ),
            api_event(1000.031, "TaskStateExited", None),
            api_event(1000.032, "ChoiceStateEntered", None),
            api_event(1000.033, "ChoiceStateExited", None),
            api_event(1000.034, "SucceedStateEntered", None),
            api_event(1000.235, "ExecutionSucceeded", None),
        ];
        let parsed = events_from_api_json(&events).unwrap();
        let u = execution_use("arn:aws:states:us-east-1:1:execution:sm:n", &parsed);
        assert!(!u.express);
        assert_eq!(u.feed_id.as_deref(), Some("f-9"));
        assert_eq!(u.partner_id.as_deref(), Some("partner-a"));
        // 3 states entered + 1 retry.
        assert_eq!(u.state_transitions, 4);
        // 1000.000 -> 1000.235 s.
        assert_eq!(u.duration_ms, 235);
        assert_eq!(u.max_data_bytes, 500);
        assert_eq!(u.events, 11);
        assert_eq!(
            u.history_json_bytes,
            events.iter().map(|e| e.to_string().len() as u64).sum::<u64>()
        );
    }

    #[test]
    fn express_is_told_by_the_arn_and_the_feed_may_sit_in_detail() {
        let input = r#"{"detail":{"feedId":"f-1","partnerId":"p"}}"#;
        let e = event(5, "ExecutionStarted", Some(&json!({"input": input})), 10);
        let u = execution_use("arn:aws:states:us-east-1:1:express:sm:n:id", &[e]);
        assert!(u.express);
        assert_eq!(u.feed_id.as_deref(), Some("f-1"));
        assert_eq!(u.duration_ms, 0);
    }

    #[test]
    fn a_history_without_timestamps_is_refused() {
        let e = events_from_api_json(&[json!({"type": "ExecutionStarted"})]).unwrap_err();
        assert_eq!(e.to_string(), "history event 0 has no timestamp");
    }
}
