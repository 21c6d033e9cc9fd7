//! The context object (`$$`): execution, state machine, state and Map item information.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::execution::ExecutionOptions;

/// The parts of the context object that stay the same for a whole execution.
pub(crate) struct ExecutionContext {
    base: Value,
    /// TestState's `context`: the caller's context object, given to every state as is.
    fixed: bool,
}

impl ExecutionContext {
    pub(crate) fn new(options: &ExecutionOptions, input: &Value) -> Self {
        let base = json!({
            "Execution": {
                "Id": options.execution_arn,
                "Input": input,
                "Name": options.execution_name,
                "RoleArn": options.role_arn,
                "StartTime": timestamp(options.start_time),
                "RedriveCount": 0
            },
            "StateMachine": {"Id": options.state_machine_arn, "Name": options.state_machine_name}
        });
        Self { base, fixed: false }
    }

    /// TestState's own context object when the caller gives none: a run's, without
    /// `Execution.RedriveCount`, which a tested state never sees on AWS (its `$$.Execution` is
    /// `{Id, Input, Name, RoleArn, StartTime}`:
    /// test_state/test_test_state_scenarios.snapshot.json::test_state_task_catch_error).
    pub(crate) fn for_test_state(options: &ExecutionOptions, input: &Value) -> Self {
        let mut context = Self::new(options, input);
        if let Some(Value::Object(execution)) = context.base.get_mut("Execution") {
            execution.remove("RedriveCount");
        }
        context
    }

    /// A context object the caller wrote (TestState's `context`): `$$` is exactly `value`, with no
    /// `State` filled in (test_state_context_object.snapshot.json::test_state_context_object_edge_cases[EMPTY]).
    pub(crate) fn fixed(value: Value) -> Self {
        Self {
            base: value,
            fixed: true,
        }
    }

    /// The context object as a state sees it. `retry_count` is None for states that cannot
    /// retry: AWS gives `$$.State.RetryCount` only to Task, Parallel and Map states (a Pass state's
    /// `$$.State` is `{EnteredTime, Name}` in LocalStack's AWS recording
    /// base/test_base.snapshot.json::test_query_context_object_values).
    pub(crate) fn for_state(&self, name: &str, entered: DateTime<Utc>, retry_count: Option<u64>) -> Value {
        let mut context = self.base.clone();
        if self.fixed {
            return context;
        }
        if let Value::Object(map) = &mut context {
            let mut state = json!({"EnteredTime": timestamp(entered), "Name": name});
            if let (Some(count), Value::Object(fields)) = (retry_count, &mut state) {
                fields.insert("RetryCount".to_owned(), count.into());
            }
            map.insert("State".to_owned(), state);
        }
        context
    }

    /// Adds `Map.Item` for a Map state's ItemSelector.
    pub(crate) fn with_map_item(state_context: &Value, index: usize, value: &Value) -> Value {
        let mut context = state_context.clone();
        if let Value::Object(map) = &mut context {
            map.insert("Map".to_owned(), json!({"Item": {"Index": index, "Value": value}}));
        }
        context
    }
}

/// ISO 8601 with milliseconds and `Z`, as AWS writes context timestamps.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
