//! TestState's view of one state: the data after each processing step, and one attempt whose
//! failure is classified the way Retry and Catch would treat it, instead of being retried. A
//! mocked Task, Map or Parallel takes the mock as what it invoked or what its children returned.

use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{next_of, Halt, Runtime, Scope, StatesError};
use crate::definition::{MapState, ParallelState, Recovery, Seconds, StateKind, TaskState, Transition};
use crate::retry::{first_match, ResultPath, STATES_RUNTIME};
use crate::task::TaskInvoker;
use crate::template::Template;
use crate::test_state::{ErrorDetails, InspectionData, Mock, TestOptions, TestStateResult, TestStatus};

/// A processing step whose result TestState reports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    AfterInputPath,
    AfterParameters,
    Result,
    AfterResultSelector,
    AfterResultPath,
    AfterItemsPath,
    /// A JSONata state's Arguments (InspectionData.afterArguments, AWS API reference).
    AfterArguments,
}

/// Collects the tested state's data. Only the state named `state` is recorded, so states run on its
/// behalf (none today) could never overwrite it.
pub(crate) struct Inspector {
    state: String,
    data: Mutex<InspectionData>,
}

impl Inspector {
    pub(crate) fn new(state: &str, input: &Value) -> Self {
        Self {
            state: state.to_owned(),
            data: Mutex::new(InspectionData {
                input: Some(input.clone()),
                ..InspectionData::default()
            }),
        }
    }

    pub(crate) fn take(&self) -> InspectionData {
        std::mem::take(&mut *self.data.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn set_error_details(&self, details: ErrorDetails) {
        self.data.lock().unwrap_or_else(PoisonError::into_inner).error_details = Some(details);
    }

    fn set_max_concurrency(&self, n: u64) {
        self.data.lock().unwrap_or_else(PoisonError::into_inner).max_concurrency = Some(n);
    }

    /// A mocked Parallel reports no data after InputPath, though it applies it
    /// (test_test_state_mock_scenarios.snapshot.json::test_io_parallel_state_mock_success[DEBUG]).
    fn forget_after_input_path(&self) {
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .after_input_path = None;
    }
}

/// The result the mock stands for, or its error.
fn mocked(mock: &Mock) -> Result<Value, Halt> {
    match mock {
        Mock::Result(value) => Ok(value.clone()),
        Mock::Error(e) => Err(Halt::Failed(StatesError::new(e.error.clone(), e.cause.clone()))),
    }
}

/// `$$.X` paths read as `$.X` in AWS's ItemsPath message (test_state_context_object.snapshot.json::
/// test_state_map_context_object[EXECUTION_INPUT]).
fn shown_path(path: &str) -> &str {
    if path.starts_with("$$") {
        &path[1..]
    } else {
        path
    }
}

impl<I: TaskInvoker> Runtime<'_, I> {
    /// Records `value` as the tested state's data after `stage`; a no-op outside TestState.
    pub(super) fn note(&self, scope: &Scope<'_>, stage: Stage, value: &Value) {
        let Some(inspector) = self.inspector else {
            return;
        };
        if scope.state.name != inspector.state {
            return;
        }
        // A JSONata state has no InputPath, Parameters, ResultSelector, ResultPath or ItemsPath:
        // AWS leaves those fields out and reports Arguments as afterArguments (AWS API reference,
        // InspectionData: "Not populated when QueryLanguage is JSONata"; test_state_configuration.
        // snapshot.json::test_state_configuration_retrier_retry_count[DEBUG]). The interpreter's
        // shared steps note the JSONPath names, so they are mapped here.
        let stage = match stage {
            Stage::AfterParameters if scope.state.jsonata => Stage::AfterArguments,
            Stage::AfterInputPath | Stage::AfterResultSelector | Stage::AfterResultPath | Stage::AfterItemsPath
                if scope.state.jsonata =>
            {
                return
            }
            other => other,
        };
        let mut data = inspector.data.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = match stage {
            Stage::AfterInputPath => &mut data.after_input_path,
            Stage::AfterParameters => &mut data.after_parameters,
            Stage::Result => &mut data.result,
            Stage::AfterResultSelector => &mut data.after_result_selector,
            Stage::AfterResultPath => &mut data.after_result_path,
            Stage::AfterItemsPath => &mut data.after_items_path,
            Stage::AfterArguments => &mut data.after_arguments,
        };
        *slot = Some(value.clone());
    }

    /// Takes back what was noted after InputPath and Parameters: a Pass state with a Result
    /// still applies them, but AWS reports only its result (test_test_state_scenarios.snapshot.
    /// json::test_base_inspection_level_debug[BASE_RESULT_PASS_STATE]).
    pub(super) fn unnote_input(&self, scope: &Scope<'_>) {
        let Some(inspector) = self.inspector.filter(|i| i.state == scope.state.name) else {
            return;
        };
        let mut data = inspector.data.lock().unwrap_or_else(PoisonError::into_inner);
        data.after_input_path = None;
        data.after_parameters = None;
    }

    /// Runs the scope's state once on `raw`. Waits report their output without waiting; a failed
    /// Task, Map or Parallel attempt is RETRIABLE when a retrier with attempts left
    /// (`options.retries_so_far` used) matches, CAUGHT_ERROR when a catcher does, FAILED otherwise.
    /// The inspection data is left in the runtime's inspector.
    pub(crate) async fn test_run(
        &self,
        scope: &mut Scope<'_>,
        raw: Value,
        options: &TestOptions,
        cancel: &CancellationToken,
    ) -> TestStateResult {
        let state = scope.state;
        let retries_so_far = options.retries_so_far;
        let outcome = match &state.kind {
            StateKind::Pass {
                parameters,
                result,
                result_path,
                transition,
            } => self
                .pass(
                    scope,
                    raw,
                    parameters.as_ref(),
                    result.as_ref(),
                    result_path,
                    transition,
                )
                .map(|step| (step.output, step.next)),
            StateKind::Choice { rules, default } => self
                .choice(scope, raw, rules, default.as_deref())
                .map(|step| (step.output, step.next)),
            // A JSONata Wait or Succeed ends with its Assign and Output over `$states.input`
            // ("Transforming data with JSONata in Step Functions"); the wait is not waited.
            StateKind::Wait { wait, transition } if state.jsonata => self
                .wait_duration(scope, wait, &raw)
                .and_then(|_| self.conclude_jsonata(scope, &raw, None, &self.context_for(scope, 0)))
                .map(|output| (output, next_of(transition))),
            StateKind::Wait { wait, transition } => self.input_path(scope, &raw).and_then(|effective| {
                self.wait_duration(scope, wait, &effective)?;
                let assign = scope.state.assign.as_ref();
                self.assign_path(scope, assign, &effective, &self.context_for(scope, 0))?;
                Ok((self.output_path(scope, effective)?, next_of(transition)))
            }),
            StateKind::Succeed if state.jsonata => self
                .conclude_jsonata(scope, &raw, None, &self.context_for(scope, 0))
                .map(|output| (output, None)),
            StateKind::Succeed => self
                .input_path(scope, &raw)
                .and_then(|effective| self.output_path(scope, effective))
                .map(|output| (output, None)),
            StateKind::Fail { error, cause } => Err(self.fail(scope, &raw, error, cause)),
            StateKind::Task(task) => {
                let attempt = match &options.mock {
                    Some(mock) => self.mocked_task(scope, task, &raw, mock, retries_so_far),
                    None => self.real_task(scope, task, &raw, retries_so_far, cancel).await,
                };
                return self.classify(scope, attempt, &raw, &task.recovery, &task.transition, retries_so_far);
            }
            StateKind::Parallel(parallel) => {
                let attempt = self.mocked_parallel(scope, parallel, &raw, options.mock.as_ref(), retries_so_far);
                return self.classify(
                    scope,
                    attempt,
                    &raw,
                    &parallel.recovery,
                    &parallel.transition,
                    retries_so_far,
                );
            }
            StateKind::Map(map) => {
                let attempt = self.mocked_map(scope, map, &raw, options.mock.as_ref(), retries_so_far);
                return self.classify(scope, attempt, &raw, &map.recovery, &map.transition, retries_so_far);
            }
        };
        match outcome {
            Ok((output, next)) => TestStateResult::succeeded(output, next),
            Err(halt) => TestStateResult::failed(halt_error(halt)),
        }
    }

    async fn real_task(
        &self,
        scope: &mut Scope<'_>,
        task: &TaskState,
        raw: &Value,
        retries: u64,
        cancel: &CancellationToken,
    ) -> Result<Value, Halt> {
        let effective = self.input_path(scope, raw)?;
        self.task_attempt(scope, task, raw, &effective, retries, cancel).await
    }

    /// A Task whose invocation is mocked: Parameters (JSONata: Arguments) are still evaluated and
    /// shown, then the mock is the result, as is: a mocked lambda:invoke result is not wrapped in
    /// the Invoke envelope (test_test_state_mock_scenarios.snapshot.json::
    /// test_base_lambda_service_task_mock_success).
    fn mocked_task(
        &self,
        scope: &mut Scope<'_>,
        task: &TaskState,
        raw: &Value,
        mock: &Mock,
        retries: u64,
    ) -> Result<Value, Halt> {
        let effective = self.input_path(scope, raw)?;
        let context = self.context_for(scope, retries);
        let payload = self.fill(scope, task.parameters.as_ref(), effective, &context)?;
        self.note(scope, Stage::AfterParameters, &payload);
        let result = mocked(mock)?;
        self.note(scope, Stage::Result, &result);
        let handling = Handling {
            selector: task.result.selector.as_ref(),
            path: &task.result.path,
            context: &context,
        };
        self.handle_result(scope, &handling, raw, result)
    }

    /// A mocked Parallel: the mock is the branches' results. AWS reports only the input and the
    /// data after ResultSelector and ResultPath
    /// (test_test_state_mock_scenarios.snapshot.json::test_io_parallel_state_mock_success[DEBUG]);
    /// a JSONata Parallel only the input, though its Arguments are evaluated
    /// (::test_io_jsonata_parallel_state_mock_success[DEBUG]).
    fn mocked_parallel(
        &self,
        scope: &mut Scope<'_>,
        parallel: &ParallelState,
        raw: &Value,
        mock: Option<&Mock>,
        retries: u64,
    ) -> Result<Value, Halt> {
        let effective = self.input_path(scope, raw);
        if let Some(inspector) = self.inspector {
            inspector.forget_after_input_path();
        }
        let context = self.context_for(scope, retries);
        self.fill(scope, parallel.parameters.as_ref(), effective?, &context)?;
        let mock = mock.ok_or_else(|| scope.runtime("TestState runs a Parallel state only with a mock"))?;
        let results = mocked(mock)?;
        let handling = Handling {
            selector: parallel.result.selector.as_ref(),
            path: &parallel.result.path,
            context: &context,
        };
        self.handle_result(scope, &handling, raw, results)
    }

    /// A mocked Map: InputPath and ItemsPath (JSONata: Items) run (the items must be an array), no
    /// iteration does; the mock is the iterations' results
    /// (test_state_context_object.snapshot.json::test_state_map_context_object).
    fn mocked_map(
        &self,
        scope: &mut Scope<'_>,
        map: &MapState,
        raw: &Value,
        mock: Option<&Mock>,
        retries: u64,
    ) -> Result<Value, Halt> {
        let effective = self.input_path(scope, raw)?;
        if scope.state.jsonata {
            // Items are checked as a run checks them; AWS reports no afterItemsPath for JSONata
            // (AWS API reference, InspectionData).
            self.map_items(scope, map, &effective)?;
        } else {
            let items = match &map.items_path {
                Some(path) => self.read(scope, path, &effective)?,
                None => effective.clone(),
            };
            // Items that are not an array are not shown (test_state_context_object.snapshot.json::
            // test_state_map_context_object[ALL]).
            if !items.is_array() {
                let path = map.items_path.as_ref().map_or("$", |p| p.as_str());
                return Err(Halt::Failed(StatesError::new(
                    STATES_RUNTIME,
                    format!("Reference path \"{}\" must point to array.", shown_path(path)),
                )));
            }
            self.note(scope, Stage::AfterItemsPath, &items);
        }
        if let Some(inspector) = self.inspector {
            let n = self.test_max_concurrency(scope, map, &effective, raw);
            inspector.set_max_concurrency(n);
        }
        let mock = mock.ok_or_else(|| scope.runtime("TestState runs a Map state only with a mock"))?;
        let results = mocked(mock)?;
        let context = self.context_for(scope, retries);
        let handling = Handling {
            selector: map.result.selector.as_ref(),
            path: &map.result.path,
            context: &context,
        };
        self.handle_result(scope, &handling, raw, results)
    }

    /// MaxConcurrency as AWS reports it: the number given, 0 when there is none or it cannot be read.
    fn test_max_concurrency(&self, scope: &Scope<'_>, map: &MapState, effective: &Value, raw: &Value) -> u64 {
        if let Some(template) = &map.max_concurrency_expr {
            return self
                .jsonata_value(scope, template, raw)
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
        }
        match &map.max_concurrency {
            None => 0,
            Some(Seconds::Fixed(n)) => *n,
            Some(Seconds::Path(path)) => self
                .read(scope, path, effective)
                .ok()
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
        }
    }

    fn set_error_details(&self, details: ErrorDetails) {
        if let Some(inspector) = self.inspector {
            inspector.set_error_details(details);
        }
    }

    /// ResultSelector, ResultPath and OutputPath on a (mocked) result, each step shown, with the
    /// state's Assign (JSONPath: over the raw result); a JSONata state's Assign and Output over
    /// `$states.result` instead ("Transforming data with JSONata in Step Functions").
    fn handle_result(
        &self,
        scope: &mut Scope<'_>,
        handling: &Handling<'_>,
        raw: &Value,
        result: Value,
    ) -> Result<Value, Halt> {
        scope.data_limit("result", &result)?;
        if scope.state.jsonata {
            return self.conclude_jsonata(scope, raw, Some(result), handling.context);
        }
        // JSONPath Assign reads the raw result, before ResultSelector, as in a run (task.rs).
        let assign = scope.state.assign.as_ref();
        self.assign_path(scope, assign, &result, handling.context)?;
        let selected = self.fill(scope, handling.selector, result, handling.context)?;
        self.note(scope, Stage::AfterResultSelector, &selected);
        let combined = self.result_path(scope, handling.path, raw.clone(), selected)?;
        self.note(scope, Stage::AfterResultPath, &combined);
        self.output_path(scope, combined)
    }

    /// Turns one Task attempt into TestState's answer, following the state's Retry and Catch.
    fn classify(
        &self,
        scope: &mut Scope<'_>,
        attempt: Result<Value, Halt>,
        raw: &Value,
        recovery: &Recovery,
        transition: &Transition,
        retries_so_far: u64,
    ) -> TestStateResult {
        let failure = match attempt {
            Ok(output) => return TestStateResult::succeeded(output, next_of(transition)),
            Err(halt) => halt_error(halt),
        };
        // The matching retrier, even one with no attempts left: AWS names it in a FAILED answer too
        // (test_state_configuration.snapshot.json::test_state_configuration_retrier_retry_count[DEBUG],
        // exceeds_tolerated_retry_count: errorDetails {retryIndex: 0} without a backoff).
        let retrier = first_match(
            recovery.retry.iter().map(|r| &r.error_equals),
            failure.name(),
            failure.terminal,
        )
        .and_then(|i| recovery.retry.get(i).map(|r| (i, r)));
        if let Some((i, retrier)) = retrier {
            let left = retries_so_far < retrier.max_attempts;
            self.set_error_details(ErrorDetails {
                retry_index: Some(i),
                retry_backoff_interval_seconds: left.then(|| retrier.delay(retries_so_far).as_secs()),
                catch_index: None,
            });
            if left {
                // No nextState: AWS leaves it out of a RETRIABLE answer
                // (test_state_configuration.snapshot.json::test_map_state_failure_count[INFO-BASE_MAP_STATE_RETRY]).
                let mut result = TestStateResult::failed(failure);
                result.status = TestStatus::Retriable;
                return result;
            }
        }
        let caught = first_match(
            recovery.catch.iter().map(|c| &c.error_equals),
            failure.name(),
            failure.terminal,
        )
        .and_then(|i| recovery.catch.get(i).map(|c| (i, c)));
        let Some((i, catcher)) = caught else {
            return TestStateResult::failed(failure);
        };
        // The catcher's Assign and Output (JSONata) or Assign and ResultPath (JSONPath) make the
        // output, as in a run.
        match self.catch_output(scope, catcher, raw, failure.catch_output(), retries_so_far) {
            Ok(output) => {
                self.set_error_details(ErrorDetails {
                    catch_index: Some(i),
                    ..ErrorDetails::default()
                });
                let mut result = TestStateResult::failed(failure);
                result.status = TestStatus::CaughtError;
                result.output = Some(output);
                result.next_state = Some(catcher.next.clone());
                result
            }
            Err(halt) => TestStateResult::failed(halt_error(halt)),
        }
    }
}

/// How a state turns its result into its output.
struct Handling<'h> {
    selector: Option<&'h Template>,
    path: &'h ResultPath,
    context: &'h Value,
}

fn halt_error(halt: Halt) -> StatesError {
    match halt {
        Halt::Failed(failure) => failure,
        Halt::Aborted => StatesError::new(
            crate::retry::STATES_TIMEOUT,
            "TestState was stopped before the state finished",
        ),
    }
}
