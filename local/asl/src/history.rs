//! Execution history events, named and shaped like GetExecutionHistory's, and the sink that
//! receives them.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::value::json_text;

/// One history event. `details` is exactly the object AWS puts under `details_key`
/// (e.g. `"stateEnteredEventDetails": {"name", "input", "inputDetails"}`); inputs and outputs in it
/// are JSON text, as in AWS. Events without details have an empty `details_key` and null `details`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: DateTime<Utc>,
    pub r#type: String,
    pub details: Value,
    pub details_key: String,
}

impl HistoryEvent {
    /// The event as a GetExecutionHistory JSON object (see [`render_event`]).
    pub fn to_json(&self) -> Value {
        render_event(self)
    }
}

/// Receives events as the execution produces them, in id order.
pub trait HistorySink: Send {
    fn record(&mut self, event: HistoryEvent);
}

impl HistorySink for Vec<HistoryEvent> {
    fn record(&mut self, event: HistoryEvent) {
        self.push(event);
    }
}

impl HistorySink for tokio::sync::mpsc::UnboundedSender<HistoryEvent> {
    fn record(&mut self, event: HistoryEvent) {
        // A dropped receiver means nobody is listening any more; the execution carries on regardless.
        let _ = self.send(event);
    }
}

/// Renders an event as GetExecutionHistory does:
/// `{"id", "previousEventId", "timestamp": <epoch seconds>, "type", "<details_key>": {..}}`.
pub fn render_event(event: &HistoryEvent) -> Value {
    let mut map = Map::new();
    map.insert("id".to_owned(), json!(event.id));
    map.insert("previousEventId".to_owned(), json!(event.previous_event_id));
    map.insert(
        "timestamp".to_owned(),
        json!(event.timestamp.timestamp_millis() as f64 / 1000.0),
    );
    map.insert("type".to_owned(), json!(event.r#type));
    if !event.details_key.is_empty() {
        map.insert(event.details_key.clone(), event.details.clone());
    }
    Value::Object(map)
}

/// Renders a whole history as the GetExecutionHistory response body `{"events": [...]}`.
pub fn render_history(events: &[HistoryEvent]) -> Value {
    json!({ "events": events.iter().map(render_event).collect::<Vec<_>>() })
}

/// Numbers events and forwards them to the sink. Branches and iterations record concurrently
/// (in one task), so the sink sits behind a mutex that is never held across an await.
pub(crate) struct Recorder<'s> {
    inner: Mutex<(u64, &'s mut dyn HistorySink)>,
}

impl<'s> Recorder<'s> {
    pub(crate) fn new(sink: &'s mut dyn HistorySink) -> Self {
        Self {
            inner: Mutex::new((0, sink)),
        }
    }

    /// Records an event and returns its id.
    pub(crate) fn record(&self, previous: u64, kind: &str, details: Option<(&str, Value)>) -> u64 {
        self.record_at(previous, kind, details, Utc::now())
    }

    pub(crate) fn record_at(
        &self,
        previous: u64,
        kind: &str,
        details: Option<(&str, Value)>,
        at: DateTime<Utc>,
    ) -> u64 {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0 += 1;
        let id = guard.0;
        let (details_key, details) = match details {
            Some((key, value)) => (key.to_owned(), value),
            None => (String::new(), Value::Null),
        };
        guard.1.record(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: at,
            r#type: kind.to_owned(),
            details,
            details_key,
        });
        id
    }
}

/// `{"truncated": false}`: we never truncate.
fn not_truncated() -> Value {
    json!({"truncated": false})
}

/// Builders for the detail objects, keyed as AWS keys them.
pub(crate) mod details {
    use super::*;

    pub(crate) fn execution_started(input: &Value, role_arn: &str) -> (&'static str, Value) {
        (
            "executionStartedEventDetails",
            json!({"input": json_text(input), "inputDetails": not_truncated(), "roleArn": role_arn}),
        )
    }

    pub(crate) fn execution_succeeded(output: &Value) -> (&'static str, Value) {
        (
            "executionSucceededEventDetails",
            json!({"output": json_text(output), "outputDetails": not_truncated()}),
        )
    }

    /// error/cause details (ExecutionFailed, ExecutionAborted, LambdaFunctionFailed, ...); empty
    /// values are left out, as AWS leaves out what it was not given.
    pub(crate) fn error_cause(key: &'static str, error: &str, cause: &str) -> (&'static str, Value) {
        let mut map = Map::new();
        if !error.is_empty() {
            map.insert("error".to_owned(), json!(error));
        }
        if !cause.is_empty() {
            map.insert("cause".to_owned(), json!(cause));
        }
        (key, Value::Object(map))
    }

    /// ExecutionFailed's details: `error` and `cause` only when the failure has them; a Fail state
    /// without Error and Cause gives `{}` (test_base.py::TestSnfBase::test_state_fail_empty).
    pub(crate) fn failure(key: &'static str, error: Option<&str>, cause: Option<&str>) -> (&'static str, Value) {
        let mut map = Map::new();
        if let Some(error) = error {
            map.insert("error".to_owned(), json!(error));
        }
        if let Some(cause) = cause {
            map.insert("cause".to_owned(), json!(cause));
        }
        (key, Value::Object(map))
    }

    pub(crate) fn state_entered(name: &str, input: &Value) -> (&'static str, Value) {
        (
            "stateEnteredEventDetails",
            json!({"name": name, "input": json_text(input), "inputDetails": not_truncated()}),
        )
    }

    pub(crate) fn state_exited(name: &str, output: &Value) -> (&'static str, Value) {
        (
            "stateExitedEventDetails",
            json!({"name": name, "output": json_text(output), "outputDetails": not_truncated()}),
        )
    }

    /// StateExited's details with the variables the state assigned, as AWS adds them:
    /// `assignedVariables` (name -> JSON text) and `assignedVariablesDetails`
    /// (assign/test_assign_reference_variables.snapshot.json).
    pub(crate) fn state_exited_with(
        name: &str,
        output: &Value,
        assigned: Option<&Map<String, Value>>,
    ) -> (&'static str, Value) {
        let (key, mut value) = state_exited(name, output);
        if let (Some(assigned), Value::Object(map)) = (assigned, &mut value) {
            let texts: Map<String, Value> = assigned
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(json_text(v))))
                .collect();
            map.insert("assignedVariables".to_owned(), Value::Object(texts));
            map.insert("assignedVariablesDetails".to_owned(), not_truncated());
        }
        (key, value)
    }

    /// EvaluationFailed: a JSONata failure, where it happened.
    pub(crate) fn evaluation_failed(state: &str, location: &str, error: &str, cause: &str) -> (&'static str, Value) {
        (
            "evaluationFailedEventDetails",
            json!({"error": error, "cause": cause, "location": location, "state": state}),
        )
    }

    pub(crate) fn task_scheduled(
        resource: &str,
        region: &str,
        parameters: &Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) -> (&'static str, Value) {
        let mut map = Map::new();
        map.insert("resourceType".to_owned(), json!("lambda"));
        map.insert("resource".to_owned(), json!(resource));
        map.insert("region".to_owned(), json!(region));
        map.insert("parameters".to_owned(), json!(json_text(parameters)));
        if let Some(t) = timeout {
            map.insert("timeoutInSeconds".to_owned(), json!(t));
        }
        if let Some(h) = heartbeat {
            map.insert("heartbeatInSeconds".to_owned(), json!(h));
        }
        ("taskScheduledEventDetails", Value::Object(map))
    }

    pub(crate) fn task_started(resource: &str) -> (&'static str, Value) {
        (
            "taskStartedEventDetails",
            json!({"resourceType": "lambda", "resource": resource}),
        )
    }

    pub(crate) fn task_succeeded(resource: &str, output: &Value) -> (&'static str, Value) {
        (
            "taskSucceededEventDetails",
            json!({"resourceType": "lambda", "resource": resource, "output": json_text(output), "outputDetails": not_truncated()}),
        )
    }

    pub(crate) fn task_error(key: &'static str, resource: &str, error: &str, cause: &str) -> (&'static str, Value) {
        let (key, mut value) = error_cause(key, error, cause);
        if let Value::Object(map) = &mut value {
            map.insert("resourceType".to_owned(), json!("lambda"));
            map.insert("resource".to_owned(), json!(resource));
        }
        (key, value)
    }

    pub(crate) fn lambda_scheduled(arn: &str, input: &Value, timeout: Option<u64>) -> (&'static str, Value) {
        let mut map = Map::new();
        map.insert("resource".to_owned(), json!(arn));
        map.insert("input".to_owned(), json!(json_text(input)));
        map.insert("inputDetails".to_owned(), not_truncated());
        if let Some(t) = timeout {
            map.insert("timeoutInSeconds".to_owned(), json!(t));
        }
        ("lambdaFunctionScheduledEventDetails", Value::Object(map))
    }

    pub(crate) fn lambda_succeeded(output: &Value) -> (&'static str, Value) {
        (
            "lambdaFunctionSucceededEventDetails",
            json!({"output": json_text(output), "outputDetails": not_truncated()}),
        )
    }

    pub(crate) fn map_started(length: usize) -> (&'static str, Value) {
        ("mapStateStartedEventDetails", json!({"length": length}))
    }

    pub(crate) fn map_iteration(key: &'static str, name: &str, index: usize) -> (&'static str, Value) {
        (key, json!({"name": name, "index": index}))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn renders_like_get_execution_history() {
        let event = HistoryEvent {
            id: 2,
            previous_event_id: 0,
            timestamp: Utc.timestamp_millis_opt(1_574_703_419_845).single().unwrap(),
            r#type: "TaskStateEntered".to_owned(),
            details: json!({"name": "Start", "input": "{}", "inputDetails": {"truncated": false}}),
            details_key: "stateEnteredEventDetails".to_owned(),
        };
        assert_eq!(
            render_event(&event),
            json!({
                "id": 2,
                "previousEventId": 0,
                "timestamp": 1_574_703_419.845,
                "type": "TaskStateEntered",
                "stateEnteredEventDetails": {"name": "Start", "input": "{}", "inputDetails": {"truncated": false}}
            })
        );
        let bare = HistoryEvent {
            r#type: "LambdaFunctionStarted".to_owned(),
            details: Value::Null,
            details_key: String::new(),
            ..event
        };
        assert_eq!(render_event(&bare).as_object().unwrap().len(), 4);
    }
}
