//! Step Functions execution logging: which history events each log level
//! writes, and the log line Step Functions writes for one event. One
//! definition, shared by the local cloud (which writes the lines) and
//! `zb cost what-if` (which prices the other choices from the lines written).
//!
//! Levels: https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html
//! (OFF logs nothing, ALL everything; ERROR and FATAL the event types of its table).
//! Line format: https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
//! (`id`, `type`, `details`, `previous_event_id`, `event_timestamp`,
//! `execution_arn`, `redrive_count`; ids and the epoch-millisecond timestamp
//! as strings), and IncludeExecutionData: "When set to false, data is
//! excluded" (https://docs.aws.amazon.com/step-functions/latest/apireference/API_LoggingConfiguration.html).

use serde_json::{json, Map, Value};

/// A state machine's `LoggingConfiguration.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    All,
    Error,
    Fatal,
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log level {0:?} is not one of ALL, ERROR, FATAL, OFF")]
pub struct UnknownLevel(pub String);

impl LogLevel {
    pub const EVERY: [LogLevel; 4] = [LogLevel::All, LogLevel::Error, LogLevel::Fatal, LogLevel::Off];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Error => "ERROR",
            Self::Fatal => "FATAL",
            Self::Off => "OFF",
        }
    }

    /// The API's spelling, exactly (the API model's enum is upper case).
    pub fn parse(s: &str) -> Result<Self, UnknownLevel> {
        Self::EVERY
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLevel(s.to_string()))
    }

    /// Whether an event of this type is logged at this level (the table of
    /// cloudwatch-log-level.html).
    pub fn logs(self, event_type: &str) -> bool {
        match self {
            Self::All => true,
            Self::Off => false,
            Self::Fatal => FATAL_EVENTS.contains(&event_type),
            Self::Error => FATAL_EVENTS.contains(&event_type) || ERROR_EVENTS.contains(&event_type),
        }
    }
}

/// Logged at FATAL (and ERROR and ALL).
const FATAL_EVENTS: &[&str] = &["ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"];

/// Logged at ERROR besides the FATAL ones.
const ERROR_EVENTS: &[&str] = &[
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStartFailed",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapStateAborted",
    "MapStateFailed",
    "ParallelStateAborted",
    "ParallelStateFailed",
    "TaskFailed",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskSubmitFailed",
    "TaskTimedOut",
    "WaitStateAborted",
];

/// The detail members that are execution data (a state's or task's input,
/// output, and the task parameters rendered from its input).
const DATA_MEMBERS: &[&str] = &["input", "output", "parameters"];

/// Removes the execution data from an event's details.
pub fn without_data(details: &Value) -> Value {
    match details {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !DATA_MEMBERS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The log line for one GetExecutionHistory-shaped event (`id`,
/// `previousEventId`, `timestamp` in epoch seconds, `type`, one
/// `<kind>EventDetails` member), or None when the event is not an object
/// with an id, a type and a timestamp.
pub fn log_line(event: &Value, execution_arn: &str, include_data: bool) -> Option<Value> {
    let id = event.get("id")?.as_u64()?;
    let previous = event.get("previousEventId").and_then(Value::as_u64).unwrap_or(0);
    let seconds = event.get("timestamp")?.as_f64()?;
    let event_type = event.get("type")?.as_str()?;
    let details = event
        .as_object()
        .and_then(|o| o.iter().find(|(k, d)| k.ends_with("EventDetails") && d.is_object()))
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| Value::Object(Map::new()));
    let details = if include_data { details } else { without_data(&details) };
    Some(json!({
        "id": id.to_string(),
        "type": event_type,
        "details": details,
        "previous_event_id": previous.to_string(),
        "event_timestamp": ((seconds * 1000.0).round() as i64).to_string(),
        "execution_arn": execution_arn,
        "redrive_count": "0",
    }))
}

/// What a line written with execution data would weigh without it: the
/// message re-serialised with [`without_data`] applied to its details.
pub fn bytes_without_data(message: &Value) -> u64 {
    let mut m = message.clone();
    if let Some(d) = m.get("details").map(without_data) {
        m["details"] = d;
    }
    serde_json::to_string(&m).map_or(0, |s| s.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html
    #[test]
    fn each_level_logs_the_documented_event_types() {
        for t in [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionSucceeded",
            "ExecutionSucceeded",
        ] {
            assert!(LogLevel::All.logs(t));
            assert!(!LogLevel::Error.logs(t), "{t}");
            assert!(!LogLevel::Fatal.logs(t), "{t}");
            assert!(!LogLevel::Off.logs(t), "{t}");
        }
        for t in ["LambdaFunctionFailed", "FailStateEntered", "TaskFailed", "TaskTimedOut"] {
            assert!(LogLevel::Error.logs(t), "{t}");
            assert!(!LogLevel::Fatal.logs(t), "{t}");
        }
        for t in ["ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"] {
            assert!(LogLevel::Fatal.logs(t) && LogLevel::Error.logs(t) && !LogLevel::Off.logs(t));
        }
        assert_eq!(LogLevel::parse("ERROR"), Ok(LogLevel::Error));
        assert!(LogLevel::parse("error").is_err());
        assert!(LogLevel::parse("DEBUG").is_err());
    }

    // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html: the fields of a line.
    #[test]
    fn a_history_event_becomes_a_log_line() {
        let ev = json!({"id": 3, "previousEventId": 2, "timestamp": 1_714_559_400.123, "type": "TaskStateEntered",
                        "stateEnteredEventDetails": {"name": "Validate", "input": "{\"feedId\":\"f\"}"}});
        let arn = "arn:aws:states:us-east-1:123456789012:express:sm:n:id";
        let line = log_line(&ev, arn, true).unwrap_or_default();
        assert_eq!(line["id"], "3");
        assert_eq!(line["previous_event_id"], "2");
        assert_eq!(line["event_timestamp"], "1714559400123");
        assert_eq!(line["type"], "TaskStateEntered");
        assert_eq!(line["execution_arn"], arn);
        assert_eq!(line["redrive_count"], "0");
        assert_eq!(line["details"]["input"], "{\"feedId\":\"f\"}");
        let bare = log_line(&ev, arn, false).unwrap_or_default();
        assert_eq!(bare["details"], json!({"name": "Validate"}));
        assert_eq!(
            bytes_without_data(&line),
            serde_json::to_string(&bare).map_or(0, |s| s.len() as u64)
        );
        assert!(log_line(&json!({"type": "X"}), arn, true).is_none());
    }
}
