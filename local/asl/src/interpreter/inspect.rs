//! TestState's view of one state: the data after each processing step, and one attempt whose
//! failure is classified the way Retry and Catch would treat it, instead of being retried.

use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{next_of, Halt, Runtime, Scope, StatesError};
use crate::definition::{Recovery, StateKind, Transition};
use crate::retry::first_match;
use crate::task::TaskInvoker;
use crate::test_state::{ErrorDetails, InspectionData, TestStateResult, TestStatus};

/// A processing step whose result TestState reports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    AfterInputPath,
    AfterParameters,
    Result,
    AfterResultSelector,
    AfterResultPath,
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
        let mut data = inspector.data.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = match stage {
            Stage::AfterInputPath => &mut data.after_input_path,
            Stage::AfterParameters => &mut data.after_parameters,
            Stage::Result => &mut data.result,
            Stage::AfterResultSelector => &mut data.after_result_selector,
            Stage::AfterResultPath => &mut data.after_result_path,
        };
        *slot = Some(value.clone());
    }

    /// Runs the scope's state once on `raw`. Waits report their output without waiting; a failed
    /// Task attempt is RETRIABLE when a retrier with attempts left (`retries_so_far` used) matches,
    /// CAUGHT_ERROR when a catcher does, FAILED otherwise. The inspection data is left in the
    /// runtime's inspector.
    pub(crate) async fn test_run(
        &self,
        scope: &mut Scope<'_>,
        raw: Value,
        retries_so_far: u64,
        cancel: &CancellationToken,
    ) -> TestStateResult {
        let state = scope.state;
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
            StateKind::Wait { wait, transition } => self.input_path(scope, &raw).and_then(|effective| {
                self.wait_duration(scope, wait, &effective)?;
                Ok((self.output_path(scope, effective)?, next_of(transition)))
            }),
            StateKind::Succeed => self
                .input_path(scope, &raw)
                .and_then(|effective| self.output_path(scope, effective))
                .map(|output| (output, None)),
            StateKind::Fail { error, cause } => Err(self.fail(scope, &raw, error, cause)),
            StateKind::Task(task) => {
                let attempt = match self.input_path(scope, &raw) {
                    Ok(effective) => {
                        self.task_attempt(scope, task, &raw, &effective, retries_so_far, cancel)
                            .await
                    }
                    Err(halt) => Err(halt),
                };
                return self.classify(scope, attempt, &raw, &task.recovery, &task.transition, retries_so_far);
            }
            // Refused before the runtime is built (see test_state::TestTarget); kept total here.
            StateKind::Parallel(_) | StateKind::Map(_) => {
                Err(scope.runtime("TestState does not run Map or Parallel states"))
            }
        };
        match outcome {
            Ok((output, next)) => TestStateResult::succeeded(output, next),
            Err(halt) => TestStateResult::failed(halt_error(halt)),
        }
    }

    /// Turns one Task attempt into TestState's answer, following the state's Retry and Catch.
    fn classify(
        &self,
        scope: &Scope<'_>,
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
        if let Some(i) = first_match(
            recovery.retry.iter().map(|r| &r.error_equals),
            failure.name(),
            failure.terminal,
        ) {
            if let Some(retrier) = recovery.retry.get(i).filter(|r| retries_so_far < r.max_attempts) {
                if let Some(inspector) = self.inspector {
                    inspector.set_error_details(ErrorDetails {
                        retry_index: Some(i),
                        retry_backoff_interval_seconds: Some(retrier.delay(retries_so_far).as_secs()),
                        catch_index: None,
                    });
                }
                let mut result = TestStateResult::failed(failure);
                result.status = TestStatus::Retriable;
                result.next_state = Some(scope.state.name.clone());
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
        match self.result_path(scope, &catcher.result_path, raw.clone(), failure.catch_output()) {
            Ok(output) => {
                if let Some(inspector) = self.inspector {
                    inspector.set_error_details(ErrorDetails {
                        catch_index: Some(i),
                        ..ErrorDetails::default()
                    });
                }
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

fn halt_error(halt: Halt) -> StatesError {
    match halt {
        Halt::Failed(failure) => failure,
        Halt::Aborted => StatesError::new(
            crate::retry::STATES_TIMEOUT,
            "TestState was stopped before the state finished",
        ),
    }
}
