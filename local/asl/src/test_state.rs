//! The TestState API's core: run one state on an input, once, and report its output or its error,
//! the state it would move to, and (DEBUG/TRACE) the data after each processing step.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::context::ExecutionContext;
use crate::definition::{self, DefinitionError, State, StateKind, StateMachine};
use crate::execution::ExecutionOptions;
use crate::history::{HistoryEvent, Recorder};
use crate::interpreter::{Inspector, Runtime, Scope, StatesError};
use crate::task::TaskInvoker;
use crate::timing::Clock;

/// AWS stops a TestState call after five minutes.
pub const TEST_STATE_TIME_LIMIT: Duration = Duration::from_secs(300);

/// How much TestState reports. TRACE adds the HTTP request and response of HTTP Tasks, which the
/// local cloud does not run, so it reports what DEBUG does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectionLevel {
    #[default]
    Info,
    Debug,
    Trace,
}

impl InspectionLevel {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "INFO" => Some(Self::Info),
            "DEBUG" => Some(Self::Debug),
            "TRACE" => Some(Self::Trace),
            _ => None,
        }
    }
}

/// TestState's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Succeeded,
    Failed,
    /// A Catch handled the error: `next_state` is the catcher's Next, `output` its ResultPath result.
    CaughtError,
    /// A Retry would run the state again: `next_state` is the state itself.
    Retriable,
}

impl TestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::CaughtError => "CAUGHT_ERROR",
            Self::Retriable => "RETRIABLE",
        }
    }
}

/// Which Retry or Catch entry handled the error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    pub catch_index: Option<usize>,
    pub retry_index: Option<usize>,
    pub retry_backoff_interval_seconds: Option<u64>,
}

/// The state's data after each step; a step the state does not reach (or does not have) is None.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InspectionData {
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    pub error_details: Option<ErrorDetails>,
}

/// What TestState answers.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStateResult {
    pub status: TestStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    pub inspection: InspectionData,
}

impl TestStateResult {
    pub(crate) fn succeeded(output: Value, next_state: Option<String>) -> Self {
        Self {
            status: TestStatus::Succeeded,
            output: Some(output),
            error: None,
            cause: None,
            next_state,
            inspection: InspectionData::default(),
        }
    }

    pub(crate) fn failed(failure: StatesError) -> Self {
        Self {
            status: TestStatus::Failed,
            output: None,
            error: failure.error,
            cause: failure.cause,
            next_state: None,
            inspection: InspectionData::default(),
        }
    }

    /// The TestState response body: JSON values as JSON text, as the API carries them;
    /// `inspectionData` at DEBUG and TRACE only.
    pub fn to_json(&self, level: InspectionLevel) -> Value {
        let mut out = Map::new();
        out.insert("status".to_owned(), json!(self.status.as_str()));
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                out.insert(key.to_owned(), value);
            }
        };
        put("output", self.output.as_ref().map(|v| json!(v.to_string())));
        put("error", self.error.clone().map(Value::String));
        put("cause", self.cause.clone().map(Value::String));
        put("nextState", self.next_state.clone().map(Value::String));
        if level != InspectionLevel::Info {
            out.insert("inspectionData".to_owned(), inspection_json(&self.inspection));
        }
        Value::Object(out)
    }
}

fn inspection_json(data: &InspectionData) -> Value {
    let mut out = Map::new();
    for (key, value) in [
        ("input", &data.input),
        ("afterInputPath", &data.after_input_path),
        ("afterParameters", &data.after_parameters),
        ("result", &data.result),
        ("afterResultSelector", &data.after_result_selector),
        ("afterResultPath", &data.after_result_path),
    ] {
        if let Some(value) = value {
            out.insert(key.to_owned(), json!(value.to_string()));
        }
    }
    if let Some(details) = &data.error_details {
        let mut d = Map::new();
        if let Some(i) = details.catch_index {
            d.insert("catchIndex".to_owned(), json!(i));
        }
        if let Some(i) = details.retry_index {
            d.insert("retryIndex".to_owned(), json!(i));
        }
        if let Some(s) = details.retry_backoff_interval_seconds {
            d.insert("retryBackoffIntervalSeconds".to_owned(), json!(s));
        }
        out.insert("errorDetails".to_owned(), Value::Object(d));
    }
    Value::Object(out)
}

/// Why TestState cannot run the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestStateError {
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    #[error("the state machine has no state named '{name}'; it has {}", available.join(", "))]
    NoSuchState { name: String, available: Vec<String> },
    #[error("state '{name}' is a {kind} state; TestState runs Map and Parallel states only with a mocked result, which the local cloud does not support")]
    NotTestable { name: String, kind: &'static str },
}

/// The state TestState runs.
#[derive(Debug, Clone)]
pub struct TestTarget {
    state: State,
}

/// The name a lone state (a definition without `stateName`) is run under.
const LONE_STATE_NAME: &str = "TestState";

impl TestTarget {
    /// `name` in a whole state machine (TestState with `stateName`).
    pub fn in_machine(machine: &StateMachine, name: &str) -> Result<Self, TestStateError> {
        let state = machine
            .find_state(name)
            .ok_or_else(|| TestStateError::NoSuchState {
                name: name.to_owned(),
                available: machine.all_state_names(),
            })?
            .clone();
        Self::checked(state)
    }

    /// A definition that is one state (TestState without `stateName`). Its transitions are not
    /// checked against other states: there are none.
    pub fn lone_state(definition: &str) -> Result<Self, TestStateError> {
        let value: Value = serde_json::from_str(definition).map_err(|e| DefinitionError::Json(e.to_string()))?;
        let state = definition::parse_lone_state(LONE_STATE_NAME, &value, &mut HashSet::new())?;
        Self::checked(state)
    }

    fn checked(state: State) -> Result<Self, TestStateError> {
        match state.kind {
            StateKind::Map(_) | StateKind::Parallel(_) => Err(TestStateError::NotTestable {
                name: state.name.clone(),
                kind: state.type_name(),
            }),
            _ => Ok(Self { state }),
        }
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The state's type (`Task`, `Pass`, ...).
    pub fn type_name(&self) -> &'static str {
        self.state.type_name()
    }
}

/// Everything about a TestState call that does not come from the state or the input.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The machine the state belongs to, for `$$.StateMachine` and the region.
    pub state_machine_arn: String,
    /// stateConfiguration.retrierRetryCount: retries already spent by the matching retrier.
    pub retries_so_far: u64,
    pub time_limit: Duration,
}

impl TestOptions {
    pub fn new(state_machine_arn: &str) -> Self {
        Self {
            state_machine_arn: state_machine_arn.to_owned(),
            retries_so_far: 0,
            time_limit: TEST_STATE_TIME_LIMIT,
        }
    }
}

/// Runs `target` once on `input`, invoking Task functions through `invoker`.
pub async fn test_state<I: TaskInvoker>(
    target: &TestTarget,
    input: Value,
    invoker: &I,
    options: &TestOptions,
) -> TestStateResult {
    let execution = ExecutionOptions::new(
        &options.state_machine_arn,
        &format!("test-state-{}", uuid::Uuid::new_v4()),
    );
    let region = options
        .state_machine_arn
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_owned();
    // TestState has no execution history; the events are recorded and dropped.
    let mut events: Vec<HistoryEvent> = Vec::new();
    let recorder = Recorder::new(&mut events);
    let context = ExecutionContext::new(&execution, &input);
    let inspector = Inspector::new(&target.state.name, &input);
    let runtime = Runtime {
        invoker,
        recorder: &recorder,
        context: &context,
        clock: Clock::new(1.0),
        region: &region,
        inspector: Some(&inspector),
    };
    let cancel = CancellationToken::new();
    let mut scope = Scope::new(&target.state);
    let run = runtime.test_run(&mut scope, input, options.retries_so_far, &cancel);
    let mut result = match tokio::time::timeout(options.time_limit, run).await {
        Ok(result) => result,
        Err(_) => {
            cancel.cancel();
            TestStateResult::failed(StatesError::new(
                crate::retry::STATES_TIMEOUT,
                format!(
                    "TestState did not finish within {} seconds",
                    options.time_limit.as_secs()
                ),
            ))
        }
    };
    result.inspection = inspector.take();
    result
}
