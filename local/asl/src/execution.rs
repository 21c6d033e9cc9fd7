//! Running one execution: its options, how it can be stopped, and how it ended.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::context::ExecutionContext;
use crate::definition::StateMachine;
use crate::history::{details, HistorySink, Recorder};
use crate::interpreter::{Halt, Runtime};
use crate::task::TaskInvoker;
use crate::timing::Clock;

/// Stops a running execution (StopExecution). Clones share the same signal.
#[derive(Debug, Clone, Default)]
pub struct StopHandle {
    token: CancellationToken,
    reason: Arc<Mutex<StopReason>>,
}

/// The optional error and cause given to StopExecution; they end up in ExecutionAborted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReason {
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl StopHandle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests the stop; the first request's error and cause are the ones recorded.
    pub fn stop(&self, error: Option<String>, cause: Option<String>) {
        if !self.token.is_cancelled() {
            *self.reason.lock().unwrap_or_else(PoisonError::into_inner) = StopReason { error, cause };
        }
        self.token.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    pub fn reason(&self) -> StopReason {
        self.reason.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The underlying token, for callers that already use tokio-util cancellation.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

/// Everything about an execution that does not come from the definition or the input.
#[derive(Debug, Clone)]
pub struct ExecutionOptions {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    /// Shown as `$$.Execution.RoleArn` and in ExecutionStarted.
    pub role_arn: String,
    pub start_time: DateTime<Utc>,
    /// 1.0 = real time; 0.01 makes Waits and retry delays 100x shorter. TimeoutSeconds (task and
    /// execution) stay real time: they bound real functions, which do not run faster. Non-positive
    /// values mean 1.0.
    pub time_scale: f64,
    /// StopExecution for this execution.
    pub cancel: StopHandle,
}

impl ExecutionOptions {
    /// Options for execution `execution_name` of `state_machine_arn`
    /// (`arn:aws:states:<region>:<account>:stateMachine:<name>`), with the execution ARN and role
    /// derived from it, starting now, in real time.
    pub fn new(state_machine_arn: &str, execution_name: &str) -> Self {
        let parts: Vec<&str> = state_machine_arn.split(':').collect();
        let account = parts.get(4).copied().unwrap_or("123456789012");
        let state_machine_name = parts.get(6).copied().unwrap_or(state_machine_arn).to_owned();
        let execution_arn = match state_machine_arn.split_once(":stateMachine:") {
            Some((prefix, name)) => format!("{prefix}:execution:{name}:{execution_name}"),
            None => format!("{state_machine_arn}:{execution_name}"),
        };
        Self {
            execution_arn,
            execution_name: execution_name.to_owned(),
            state_machine_arn: state_machine_arn.to_owned(),
            role_arn: format!("arn:aws:iam::{account}:role/StepFunctions-{state_machine_name}-role"),
            state_machine_name,
            start_time: Utc::now(),
            time_scale: 1.0,
            cancel: StopHandle::new(),
        }
    }

    fn region(&self) -> String {
        self.state_machine_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .unwrap_or("us-east-1")
            .to_owned()
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded {
        output: Value,
    },
    /// `error`/`cause` are None when the failing state gave none (a Fail state without Error or
    /// Cause): AWS then reports no such field (test_base.py::TestSnfBase::test_state_fail_empty).
    Failed {
        error: Option<String>,
        cause: Option<String>,
    },
    TimedOut,
    Aborted,
}

/// Runs `machine` on `input` to completion, recording history events into `history` as they
/// happen. Tasks run through `invoker`; `options.cancel` stops the execution.
pub async fn execute<I: TaskInvoker>(
    machine: &StateMachine,
    input: Value,
    invoker: &I,
    options: ExecutionOptions,
    history: &mut impl HistorySink,
) -> Outcome {
    let recorder = Recorder::new(history);
    let context = ExecutionContext::new(&options, &input);
    let region = options.region();
    let clock = Clock::new(options.time_scale);
    let runtime = Runtime {
        invoker,
        recorder: &recorder,
        context: &context,
        clock,
        region: &region,
        variable_bytes: Default::default(),
        inspector: None,
    };

    recorder.record_at(
        0,
        "ExecutionStarted",
        Some(details::execution_started(&input, &options.role_arn)),
        options.start_time,
    );
    let root = options.cancel.token().child_token();
    // AWS gives the first state's StateEntered a previousEventId of 0, not ExecutionStarted's id.
    let run = runtime.run_set(&machine.root, input, &root, 0, Default::default());
    let mut timed_out = false;
    let (result, last) = match machine.timeout_seconds {
        None => run.await,
        Some(seconds) => {
            // Timeouts are real time: they bound real functions, which run at real speed.
            let limit = Duration::from_secs(seconds);
            tokio::pin!(run);
            tokio::select! {
                out = &mut run => out,
                () = tokio::time::sleep(limit) => {
                    timed_out = true;
                    root.cancel();
                    // Let the states notice the cancellation and record their Aborted events.
                    run.await
                }
            }
        }
    };

    match result {
        Ok(output) => {
            recorder.record(last, "ExecutionSucceeded", Some(details::execution_succeeded(&output)));
            Outcome::Succeeded { output }
        }
        Err(_) if timed_out => {
            let seconds = machine.timeout_seconds.unwrap_or_default();
            let cause = format!("The execution ran longer than its TimeoutSeconds ({seconds})");
            recorder.record(
                last,
                "ExecutionTimedOut",
                Some(details::error_cause(
                    "executionTimedOutEventDetails",
                    "States.Timeout",
                    &cause,
                )),
            );
            Outcome::TimedOut
        }
        Err(Halt::Failed(failure)) => {
            recorder.record(
                last,
                "ExecutionFailed",
                Some(details::failure(
                    "executionFailedEventDetails",
                    failure.error.as_deref(),
                    failure.cause.as_deref(),
                )),
            );
            Outcome::Failed {
                error: failure.error,
                cause: failure.cause,
            }
        }
        Err(Halt::Aborted) => {
            let reason = options.cancel.reason();
            recorder.record(
                last,
                "ExecutionAborted",
                Some(details::error_cause(
                    "executionAbortedEventDetails",
                    reason.error.as_deref().unwrap_or_default(),
                    reason.cause.as_deref().unwrap_or_default(),
                )),
            );
            Outcome::Aborted
        }
    }
}
