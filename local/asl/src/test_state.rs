//! The TestState API's core: run one state on an input, once, and report its output or its error,
//! the state it would move to, and (DEBUG/TRACE) the data after each processing step. A request may
//! mock what the state invokes (`mock`), give the context object (`context`) and say where a retry
//! or a Map run stands (`stateConfiguration`); [`TestRequest::options_for`] checks what may be
//! combined, in AWS's words (AWS API reference, TestState; LocalStack's AWS recordings
//! tests/aws/services/stepfunctions/v2/test_state/*.snapshot.json).

mod context_object;
mod mock;

pub use mock::{FieldValidationMode, Mock, MockError, MockRequest};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::context::ExecutionContext;
use crate::definition::{self, DefinitionError, State, StateKind, StateMachine};
use crate::execution::ExecutionOptions;
use crate::history::{HistoryEvent, Recorder};
use crate::interpreter::{Inspector, Runtime, Scope, StatesError};
use crate::task::Resource;
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
    /// A Map state's items (test_state_context_object.snapshot.json::
    /// test_state_map_context_object[EXECUTION_INPUT_VALUES]).
    pub after_items_path: Option<Value>,
    /// A Map state's MaxConcurrency, 0 when unset (test_state_configuration.snapshot.json::
    /// test_map_state_error_caused_by_state[DEBUG]).
    pub max_concurrency: Option<u64>,
    /// A JSONata state's data after Arguments (AWS API reference, InspectionData.afterArguments;
    /// test_state_configuration.snapshot.json::test_state_configuration_retrier_retry_count[DEBUG]).
    pub after_arguments: Option<Value>,
    /// The workflow variables after the state: those the request gave and those the state assigned
    /// (AWS API reference, InspectionData.variables). None when there are none: AWS shows no
    /// `variables` for a state that has none (test_test_state_machine_scenarios.snapshot.json::
    /// test_base_state_name_multi_state[DEBUG-State0], a JSONata Pass).
    pub variables: Option<Value>,
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
        ("afterArguments", &data.after_arguments),
        ("result", &data.result),
        ("afterResultSelector", &data.after_result_selector),
        ("afterResultPath", &data.after_result_path),
        ("afterItemsPath", &data.after_items_path),
        ("variables", &data.variables),
    ] {
        if let Some(value) = value {
            out.insert(key.to_owned(), json!(value.to_string()));
        }
    }
    if let Some(n) = data.max_concurrency {
        out.insert("maxConcurrency".to_owned(), json!(n));
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

/// Why TestState cannot run the request, worded as AWS words it; [`Self::aws_code`] is the error
/// code the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestStateError {
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// test_test_state_machine_scenarios.snapshot.json::test_base_state_name_validation_failures[dne].
    #[error("State not found in definition")]
    NoSuchState { name: String, available: Vec<String> },
    /// A Map or Parallel state without a mock (test_state_mock_validation.snapshot.json::
    /// test_state_type_requires_mock[MapState]); AWS's message does not name the state.
    #[error("TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]")]
    NotTestable { name: String, kind: &'static str },
    /// test_state_mock_validation.snapshot.json::test_state_type_does_not_accept_mock[mock_result-PassState].
    #[error("State type '{kind}' is not supported when a mock is specified")]
    MockNotAccepted { kind: &'static str },
    /// test_state_mock_validation.snapshot.json::test_reveal_secrets_is_true_and_mock_result_is_set.
    #[error("TestState does not support RevealSecrets when a mock is specified.")]
    MockWithRevealSecrets,
    /// test_state_mock_validation.snapshot.json::test_both_mock_result_and_mock_error_output_are_set.
    #[error("A test mock should have only one of the following fields: [result, errorOutput].")]
    MockBothFields,
    /// Not recorded from AWS: worded after MockBothFields.
    #[error("A test mock should have one of the following fields: [result, errorOutput].")]
    MockEmpty,
    /// test_test_state_mock_scenarios.snapshot.json::test_base_lambda_service_task_mock_is_not_json_string.
    #[error("Mocked result must be valid JSON")]
    MockNotJson,
    /// test_state_mock_validation.snapshot.json::test_mock_result_is_not_array_on_map_state_without_result_writer
    /// and ::test_mock_result_is_not_array_on_parallel_state.
    #[error("Mocked result must be an array.")]
    MockNotArray,
    /// test_state_mock_validation.snapshot.json::test_mock_result_array_size_mismatch_on_parallel_state.
    #[error("Mocked result must contain the same number of items as number of Parallel branches.")]
    MockBranchCount,
    /// test_field_validation_mode.snapshot.json::test_strict_mode_lambda_task[wrong_integer_type_string].
    #[error("Mock result schema validation error: {0}")]
    MockSchema(String),
    /// test_state_mock_validation.snapshot.json::test_map_iteration_failure_count_without_mock.
    #[error("TestState does not support MapIterationFailureCount when a mock is not specified.")]
    FailureCountWithoutMock,
    /// test_state_mock_validation.snapshot.json::test_map_iteration_failure_count_exceeds_mock_result_items.
    #[error("Map iteration failure count must be less than or equal to the number of Map iterations")]
    FailureCountAboveItems,
    /// test_state_context_object.snapshot.json::test_state_context_object_validation_failures.
    #[error("Invalid Context object provided: {0}")]
    InvalidContext(String),
    /// `variables` that is not a JSON object of variables (AWS API reference, TestState: "JSON object
    /// literal that sets variables used in the state under test"). Not recorded from AWS: worded
    /// after InvalidContext.
    #[error("Invalid variables provided: {0}")]
    InvalidVariables(String),
}

impl TestStateError {
    /// The API error code: a definition TestState cannot run is InvalidDefinition, as in
    /// test_state_mock_validation.snapshot.json::test_state_type_requires_mock; every other
    /// refusal is a ValidationException.
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::Definition(_) | Self::NotTestable { .. } => "InvalidDefinition",
            _ => "ValidationException",
        }
    }

    /// The message the API answers with.
    pub fn aws_message(&self) -> String {
        match self {
            Self::Definition(d) => d.aws_message(),
            other => other.to_string(),
        }
    }
}

/// The state TestState runs.
#[derive(Debug, Clone)]
pub struct TestTarget {
    state: State,
}

/// The name a lone state (a definition without `stateName`) is run under: AWS's, as `$$.State.Name`
/// shows it (test_state_configuration.snapshot.json::test_map_state_failure_count[INFO-BASE_MAP_STATE])
/// and definition errors point at it (test_state_mock_validation.snapshot.json::
/// test_parallel_state_empty_branches: `/States/StateName/Branches`). A state inside a lone Map
/// may be called `TestState`, as in those recordings.
const LONE_STATE_NAME: &str = "StateName";

impl TestTarget {
    /// `name` in a whole state machine (TestState with `stateName`), at any depth.
    pub fn in_machine(machine: &StateMachine, name: &str) -> Result<Self, TestStateError> {
        let state = machine
            .find_state(name)
            .ok_or_else(|| TestStateError::NoSuchState {
                name: name.to_owned(),
                available: machine.all_state_names(),
            })?
            .clone();
        Ok(Self { state })
    }

    /// A definition that is one state (TestState without `stateName`). Its transitions are not
    /// checked against other states: there are none.
    pub fn lone_state(definition: &str) -> Result<Self, TestStateError> {
        let value: Value = serde_json::from_str(definition).map_err(|e| DefinitionError::Json(e.to_string()))?;
        let state = definition::parse_lone_state(LONE_STATE_NAME, &value, &mut HashSet::new())?;
        Ok(Self { state })
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The state's type (`Task`, `Pass`, ...).
    pub fn type_name(&self) -> &'static str {
        self.state.type_name()
    }

    /// Whether the state's QueryLanguage is JSONata (its own or its machine's).
    pub fn jsonata(&self) -> bool {
        self.state.jsonata
    }
}

/// `stateConfiguration` (AWS API reference, TestStateConfiguration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateConfiguration {
    /// Retries already spent by the retrier that matches the error.
    pub retrier_retry_count: u64,
    /// The state inside a Map or Parallel the mocked error comes from. It names the origin only:
    /// the answer is the mocked error either way (test_state_configuration.snapshot.json::
    /// test_map_state_error_caused_by_state).
    pub error_caused_by_state: Option<String>,
    /// Failed Map iterations. It counts against ToleratedFailureCount/Percentage, which the local
    /// cloud's definitions cannot have, and is otherwise ignored, as AWS ignores it for a Map without
    /// a tolerance (test_state_configuration.snapshot.json::test_map_state_failure_count[INFO-BASE_MAP_STATE]).
    pub map_iteration_failure_count: Option<u64>,
    /// What a Distributed Map's ItemReader would read; the local cloud runs no ItemReader.
    pub map_item_reader_data: Option<String>,
}

/// What a TestState request asks beyond the definition and the input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestRequest {
    pub mock: Option<MockRequest>,
    pub reveal_secrets: bool,
    /// The context object, as JSON text.
    pub context: Option<String>,
    pub configuration: StateConfiguration,
    /// The workflow variables the state sees, as JSON text (AWS API reference, TestState
    /// `variables`).
    pub variables: Option<String>,
}

impl TestRequest {
    /// The options to run `target` with, once the request's parts are known to fit the state and
    /// each other. The checks run in the order LocalStack's provider runs them, so that a request
    /// with several faults gets AWS's first complaint.
    pub fn options_for(&self, target: &TestTarget, state_machine_arn: &str) -> Result<TestOptions, TestStateError> {
        self.check_failure_count()?;
        let mock = self.checked_mock(&target.state)?;
        let context = self.checked_context()?;
        let variables = self.checked_variables()?;
        let mut options = TestOptions::new(state_machine_arn);
        options.retries_so_far = self.configuration.retrier_retry_count;
        options.mock = mock;
        options.context = context;
        options.variables = variables;
        Ok(options)
    }

    /// `variables`: a JSON object whose keys are the variable names.
    fn checked_variables(&self) -> Result<Map<String, Value>, TestStateError> {
        let Some(text) = &self.variables else {
            return Ok(Map::new());
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(variables)) => Ok(variables),
            Ok(_) => Err(TestStateError::InvalidVariables(
                "the variables must be a JSON object".to_owned(),
            )),
            Err(e) => Err(TestStateError::InvalidVariables(e.to_string())),
        }
    }

    fn check_failure_count(&self) -> Result<(), TestStateError> {
        let Some(count) = self.configuration.map_iteration_failure_count else {
            return Ok(());
        };
        let Some(mock) = &self.mock else {
            return Err(TestStateError::FailureCountWithoutMock);
        };
        let items = mock
            .result
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|v| v.as_array().map(Vec::len));
        match items {
            Some(n) if count > n as u64 => Err(TestStateError::FailureCountAboveItems),
            _ => Ok(()),
        }
    }

    fn checked_mock(&self, state: &State) -> Result<Option<Mock>, TestStateError> {
        let Some(request) = &self.mock else {
            return match &state.kind {
                StateKind::Map(_) | StateKind::Parallel(_) => Err(TestStateError::NotTestable {
                    name: state.name.clone(),
                    kind: state.type_name(),
                }),
                _ => Ok(None),
            };
        };
        if matches!(
            state.kind,
            StateKind::Pass { .. } | StateKind::Fail { .. } | StateKind::Succeed
        ) {
            return Err(TestStateError::MockNotAccepted {
                kind: state.type_name(),
            });
        }
        if self.reveal_secrets {
            return Err(TestStateError::MockWithRevealSecrets);
        }
        let mock = request.parse()?;
        if let Mock::Result(result) = &mock {
            check_result_fits(state, result, request.field_validation_mode)?;
        }
        Ok(Some(mock))
    }

    fn checked_context(&self) -> Result<Option<Value>, TestStateError> {
        let Some(text) = &self.context else {
            return Ok(None);
        };
        let context = context_object::parse(text)?;
        context_object::refuse_task_token(&context)?;
        Ok(Some(context))
    }
}

/// A mocked result must have the shape the state would have produced: an array of one result per
/// branch for Parallel, an array for Map (test_state_mock_validation.snapshot.json), the service
/// API's response for a service integration (see [`mock::check_lambda_invoke`]).
fn check_result_fits(state: &State, result: &Value, mode: FieldValidationMode) -> Result<(), TestStateError> {
    match &state.kind {
        StateKind::Map(_) if !result.is_array() => Err(TestStateError::MockNotArray),
        StateKind::Parallel(_) => match result.as_array() {
            None => Err(TestStateError::MockNotArray),
            Some(items) if items.len() != parallel_branches(state) => Err(TestStateError::MockBranchCount),
            Some(_) => Ok(()),
        },
        StateKind::Task(task) if task.resource == Resource::LambdaInvoke => mock::check_lambda_invoke(result, mode),
        _ => Ok(()),
    }
}

fn parallel_branches(state: &State) -> usize {
    match &state.kind {
        StateKind::Parallel(p) => p.branches.len(),
        _ => 0,
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
    /// What the state produces instead of invoking anything (Task) or running its children (Map, Parallel).
    pub mock: Option<Mock>,
    /// The context object (`$$`) as the caller gave it, instead of one made for the test.
    pub context: Option<Value>,
    /// The workflow variables visible to the state (TestState `variables`).
    pub variables: Map<String, Value>,
}

impl TestOptions {
    pub fn new(state_machine_arn: &str) -> Self {
        Self {
            state_machine_arn: state_machine_arn.to_owned(),
            retries_so_far: 0,
            time_limit: TEST_STATE_TIME_LIMIT,
            mock: None,
            context: None,
            variables: Map::new(),
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
    let context = match &options.context {
        Some(given) => ExecutionContext::fixed(given.clone()),
        None => ExecutionContext::for_test_state(&execution, &input),
    };
    let inspector = Inspector::new(&target.state.name, &input);
    let runtime = Runtime {
        invoker,
        recorder: &recorder,
        context: &context,
        clock: Clock::new(1.0),
        region: &region,
        variable_bytes: Default::default(),
        inspector: Some(&inspector),
    };
    let cancel = CancellationToken::new();
    let mut scope = Scope::new(&target.state);
    scope.vars = Arc::new(options.variables.clone());
    let run = runtime.test_run(&mut scope, input, options, &cancel);
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
    result.inspection.variables = variables_after(&scope, &result);
    result
}

/// The variables after the state: the given ones, with the state's (or its catcher's) assignments
/// when it succeeded or was caught; a state that fails or would be retried assigns nothing
/// ("Passing data between states with variables": Assign applies when the state completes).
fn variables_after(scope: &Scope<'_>, result: &TestStateResult) -> Option<Value> {
    let mut variables = (*scope.vars).clone();
    if matches!(result.status, TestStatus::Succeeded | TestStatus::CaughtError) {
        if let Some(assigned) = &scope.assigned {
            variables.extend(assigned.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    (!variables.is_empty()).then_some(Value::Object(variables))
}
