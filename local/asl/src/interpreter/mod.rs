//! Runs states: the transition loop, input/output processing, and error handling shared by all
//! state types. Branches and Map iterations run concurrently inside one task (no spawning), so
//! the invoker and history sink can be borrowed.

mod basic;
mod fan_out;
mod inspect;
mod io;
mod task;
mod variables;

pub(crate) use inspect::{Inspector, Stage};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::context::ExecutionContext;
use crate::definition::{MapState, ParallelState, Recovery, State, StateKind, StateSet, TaskState, Transition};
use crate::history::{details, Recorder};
use crate::retry::{first_match, Catcher, STATES_DATA_LIMIT, STATES_QUERY_EVALUATION, STATES_RUNTIME};
use crate::task::TaskInvoker;
use crate::template::TemplateError;
use crate::timing::Clock;

// AWS's payload quota (256 KiB) for state inputs, outputs and task results.
const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// An error as Step Functions names it. Either part may be absent: a Fail state without Error
/// (or Cause) fails with no error name at all, and AWS then leaves the field out of ExecutionFailed
/// and DescribeExecution (test_base.py::TestSnfBase::test_state_fail_empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatesError {
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// A States.DataLimitExceeded on the state's own data, which only a catcher naming it handles
    /// (see [`crate::retry::error_matches`]).
    pub(crate) terminal: bool,
    /// A JSONata failure not yet reported: AWS records an `EvaluationFailed` event (with this
    /// field as its `location`) before the state fails or is caught
    /// (assign/test_assign_reference_variables.snapshot.json::test_undefined_reference).
    pub(crate) evaluation_location: Option<String>,
}

impl StatesError {
    /// An error raised by the interpreter or a task; an empty part counts as not given, as AWS
    /// leaves out what it was not given.
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        let given = |text: String| (!text.is_empty()).then_some(text);
        Self {
            error: given(error.into()),
            cause: given(cause.into()),
            terminal: false,
            evaluation_location: None,
        }
    }

    /// The name Retry and Catch match against; a nameless error matches only the wildcards.
    pub(crate) fn name(&self) -> &str {
        self.error.as_deref().unwrap_or_default()
    }

    /// The error output a Catch hands to its ResultPath: `{"Error", "Cause"}`, both always present;
    /// a failure without a cause gives `"Cause": ""` (a caught task timeout in
    /// error_handling/test_task_service_lambda.py::TestTaskServiceLambda::test_invoke_timeout).
    pub(crate) fn catch_output(&self) -> Value {
        json!({"Error": self.name(), "Cause": self.cause.as_deref().unwrap_or_default()})
    }
}

/// Why a state (or a whole branch) stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Halt {
    Failed(StatesError),
    /// Cancelled: the execution was stopped or timed out, or a sibling branch/iteration failed.
    Aborted,
}

/// What a state produced: its output and the state to run next (None = the end of this set).
pub(crate) struct Step {
    output: Value,
    next: Option<String>,
}

/// Shared, read-only environment of one execution.
pub(crate) struct Runtime<'a, I> {
    pub(crate) invoker: &'a I,
    pub(crate) recorder: &'a Recorder<'a>,
    pub(crate) context: &'a ExecutionContext,
    pub(crate) clock: Clock,
    pub(crate) region: &'a str,
    /// TestState: records the tested state's data after each processing step.
    pub(crate) inspector: Option<&'a Inspector>,
    /// The bytes of every variable the execution holds now, across concurrent scopes (AWS's
    /// 10 MiB quota; see [`variables::MAX_EXECUTION_VARIABLE_BYTES`]).
    pub(crate) variable_bytes: std::sync::atomic::AtomicUsize,
}

/// The state being run: for error causes, the context object and event chaining.
pub(crate) struct Scope<'s> {
    state: &'s State,
    entered_id: u64,
    entered_at: DateTime<Utc>,
    /// The id of the last event this thread of execution recorded (its next previousEventId).
    prev: u64,
    /// A Parallel or Map attempt's failed event (`MapStateFailed`), recorded only once Retry has
    /// declined the failure: AWS records none for an attempt that is retried
    /// (test_base_scenarios.py::TestBaseScenarios::test_map_state_retry, ::test_parallel_state_retry).
    pending_failed: Option<&'static str>,
    /// The variables visible when the state was entered; every expression of the state reads
    /// these, so its Assign values never see each other ("Passing data between states with
    /// variables", evaluation order).
    pub(crate) vars: Arc<Map<String, Value>>,
    /// What the state's (or its catcher's) Assign evaluated to, applied when the state exits.
    pub(crate) assigned: Option<Map<String, Value>>,
}

impl<'s> Scope<'s> {
    /// A scope for a state run outside the transition loop (TestState).
    pub(crate) fn new(state: &'s State) -> Self {
        Self {
            state,
            entered_id: 0,
            entered_at: Utc::now(),
            prev: 0,
            pending_failed: None,
            vars: Arc::default(),
            assigned: None,
        }
    }

    /// A template failure: JSONata ones are States.QueryEvaluationError, the rest States.Runtime.
    pub(crate) fn template_halt(&self, error: TemplateError) -> Halt {
        match error.location() {
            Some(location) if error.is_query_evaluation() => {
                let location = location.to_owned();
                self.query_failure(error, &location)
            }
            _ => self.runtime(error),
        }
    }

    /// A States.QueryEvaluationError worded like AWS's, at field `location`.
    pub(crate) fn query_failure(&self, message: impl std::fmt::Display, location: &str) -> Halt {
        let mut error = StatesError::new(
            STATES_QUERY_EVALUATION,
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
                self.state.name, self.entered_id
            ),
        );
        error.evaluation_location = Some(location.to_owned());
        Halt::Failed(error)
    }

    /// A States.Runtime failure worded like AWS's.
    fn runtime(&self, message: impl std::fmt::Display) -> Halt {
        Halt::Failed(StatesError::new(
            STATES_RUNTIME,
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
                self.state.name, self.entered_id
            ),
        ))
    }

    fn data_limit(&self, what: &str, value: &Value) -> Result<(), Halt> {
        if value.to_string().len() <= MAX_PAYLOAD_BYTES {
            return Ok(());
        }
        let mut error = StatesError::new(
            STATES_DATA_LIMIT,
            format!(
                "The state/task '{}' {what} has a size exceeding the maximum number of bytes service limit.",
                self.state.name
            ),
        );
        error.terminal = true;
        Err(Halt::Failed(error))
    }
}

fn next_of(transition: &Transition) -> Option<String> {
    match transition {
        Transition::Next(next) => Some(next.clone()),
        Transition::End => None,
    }
}

/// The states that produce a result through attempts that Retry and Catch apply to.
enum Work<'w> {
    Task(&'w TaskState),
    Parallel(&'w ParallelState),
    Map(&'w MapState),
}

/// What to do with a failure, following Retry then Catch.
enum Recourse<'r> {
    Retry(std::time::Duration),
    Catch(&'r Catcher),
    Fail,
}

/// Picks the first retrier whose ErrorEquals matches; each retrier counts its own attempts
/// (`counts`), and an exhausted retrier does not hand over to later ones but falls through to Catch.
fn recourse<'r>(recovery: &'r Recovery, counts: &mut [u64], failure: &StatesError) -> Recourse<'r> {
    let (error, terminal) = (failure.name(), failure.terminal);
    if let Some(i) = first_match(recovery.retry.iter().map(|r| &r.error_equals), error, terminal) {
        if let (Some(retrier), Some(count)) = (recovery.retry.get(i), counts.get_mut(i)) {
            if *count < retrier.max_attempts {
                let delay = retrier.delay(*count);
                *count += 1;
                return Recourse::Retry(delay);
            }
        }
    }
    match first_match(recovery.catch.iter().map(|c| &c.error_equals), error, terminal)
        .and_then(|i| recovery.catch.get(i))
    {
        Some(catcher) => Recourse::Catch(catcher),
        None => Recourse::Fail,
    }
}

impl<'a, I: TaskInvoker> Runtime<'a, I> {
    /// Runs a set of states from StartAt to a terminal state. `prev` is the previousEventId for the
    /// first StateEntered. Returns the result and the id of the last event this run recorded.
    /// `outer` holds the variables of enclosing scopes (a Parallel branch or Map iteration sees
    /// them but cannot assign them); the set's own assignments live and die with this run.
    pub(crate) fn run_set<'r>(
        &'r self,
        set: &'r StateSet,
        input: Value,
        cancel: &'r CancellationToken,
        prev: u64,
        outer: Arc<Map<String, Value>>,
    ) -> BoxFuture<'r, (Result<Value, Halt>, u64)> {
        Box::pin(async move {
            let mut inner = Map::new();
            let ended = self.run_states(set, input, cancel, prev, &outer, &mut inner).await;
            // The set's variables go out of scope with it ("Variable scope").
            let held = variables::stored_bytes(&inner);
            self.variable_bytes.fetch_sub(held, std::sync::atomic::Ordering::SeqCst);
            ended
        })
    }

    async fn run_states(
        &self,
        set: &StateSet,
        input: Value,
        cancel: &CancellationToken,
        prev: u64,
        outer: &Map<String, Value>,
        inner: &mut Map<String, Value>,
    ) -> (Result<Value, Halt>, u64) {
        {
            let mut prev = prev;
            let mut name = set.start_at.clone();
            let mut input = input;
            loop {
                if cancel.is_cancelled() {
                    return (Err(Halt::Aborted), prev);
                }
                let Some(state) = set.get(&name) else {
                    // Unreachable after validation, but an execution must end rather than panic.
                    let failure = StatesError::new(STATES_RUNTIME, format!("no state named '{name}'"));
                    return (Err(Halt::Failed(failure)), prev);
                };
                let kind = state.type_name();
                let entered_id = self.recorder.record(
                    prev,
                    &format!("{kind}StateEntered"),
                    Some(details::state_entered(&state.name, &input)),
                );
                let mut scope = Scope {
                    state,
                    entered_id,
                    entered_at: Utc::now(),
                    prev: entered_id,
                    pending_failed: None,
                    vars: variables::visible(outer, inner),
                    assigned: None,
                };
                let result = self.run_state(&mut scope, input, cancel).await;
                let result = result.and_then(|step| self.apply_assigned(&mut scope, outer, inner).map(|()| step));
                prev = scope.prev;
                let step = match result.and_then(|step| scope.data_limit("output", &step.output).map(|()| step)) {
                    Ok(step) => step,
                    Err(Halt::Aborted) => {
                        if matches!(kind, "Task" | "Wait" | "Parallel" | "Map") {
                            prev = self.recorder.record(prev, &format!("{kind}StateAborted"), None);
                        }
                        return (Err(Halt::Aborted), prev);
                    }
                    Err(Halt::Failed(mut failure)) => {
                        prev = self.record_evaluation_failed(state, prev, &mut failure);
                        return (Err(Halt::Failed(failure)), prev);
                    }
                };
                prev = self.recorder.record(
                    prev,
                    &format!("{kind}StateExited"),
                    Some(details::state_exited_with(
                        &state.name,
                        &step.output,
                        scope.assigned.as_ref(),
                    )),
                );
                match step.next {
                    Some(next) => {
                        name = next;
                        input = step.output;
                    }
                    None => return (Ok(step.output), prev),
                }
            }
        }
    }

    async fn run_state(&self, scope: &mut Scope<'_>, raw: Value, cancel: &CancellationToken) -> Result<Step, Halt> {
        let state = scope.state;
        match &state.kind {
            StateKind::Pass {
                parameters,
                result,
                result_path,
                transition,
            } => self.pass(
                scope,
                raw,
                parameters.as_ref(),
                result.as_ref(),
                result_path,
                transition,
            ),
            StateKind::Choice { rules, default } => self.choice(scope, raw, rules, default.as_deref()),
            StateKind::Wait { wait, transition } => self.wait(scope, raw, wait, transition, cancel).await,
            StateKind::Succeed if state.jsonata => {
                let context = self.context_for(scope, 0);
                let bindings = self.bindings(scope, &raw, &context, None, None);
                let output = self.assign_and_output(scope, None, state.output.as_ref(), &bindings, raw)?;
                Ok(Step { output, next: None })
            }
            StateKind::Succeed => {
                let effective = self.input_path(scope, &raw)?;
                Ok(Step {
                    output: self.output_path(scope, effective)?,
                    next: None,
                })
            }
            StateKind::Fail { error, cause } => Err(self.fail(scope, &raw, error, cause)),
            StateKind::Task(task) => {
                let work = Work::Task(task);
                self.with_recovery(scope, &raw, &work, &task.recovery, &task.transition, cancel)
                    .await
            }
            StateKind::Parallel(parallel) => {
                let work = Work::Parallel(parallel);
                self.with_recovery(scope, &raw, &work, &parallel.recovery, &parallel.transition, cancel)
                    .await
            }
            StateKind::Map(map) => {
                let work = Work::Map(map);
                self.with_recovery(scope, &raw, &work, &map.recovery, &map.transition, cancel)
                    .await
            }
        }
    }

    /// Runs attempts until one succeeds, retrying and catching as the state's Retry/Catch say.
    async fn with_recovery(
        &self,
        scope: &mut Scope<'_>,
        raw: &Value,
        work: &Work<'_>,
        recovery: &Recovery,
        transition: &Transition,
        cancel: &CancellationToken,
    ) -> Result<Step, Halt> {
        let effective = self.input_path(scope, raw)?;
        let mut counts = vec![0u64; recovery.retry.len()];
        let mut retries = 0u64;
        loop {
            let outcome = match work {
                Work::Task(task) => self.task_attempt(scope, task, raw, &effective, retries, cancel).await,
                Work::Parallel(parallel) => {
                    self.parallel_attempt(scope, parallel, raw, &effective, retries, cancel)
                        .await
                }
                Work::Map(map) => self.map_attempt(scope, map, raw, &effective, retries, cancel).await,
            };
            let failure = match outcome {
                Ok(output) => {
                    return Ok(Step {
                        output,
                        next: next_of(transition),
                    })
                }
                Err(Halt::Aborted) => return Err(Halt::Aborted),
                Err(Halt::Failed(mut failure)) => {
                    scope.prev = self.record_evaluation_failed(scope.state, scope.prev, &mut failure);
                    failure
                }
            };
            let recourse = recourse(recovery, &mut counts, &failure);
            self.settle_failed_event(scope, matches!(recourse, Recourse::Retry(_)));
            match recourse {
                Recourse::Retry(delay) => {
                    retries += 1;
                    self.clock.sleep(delay, cancel).await.map_err(|_| Halt::Aborted)?;
                }
                Recourse::Catch(catcher) => {
                    let output = self.catch_output(scope, catcher, raw, failure.catch_output(), retries)?;
                    return Ok(Step {
                        output,
                        next: Some(catcher.next.clone()),
                    });
                }
                Recourse::Fail => return Err(Halt::Failed(failure)),
            }
        }
    }

    /// Records the failed attempt's pending `ParallelStateFailed`/`MapStateFailed` unless the
    /// attempt is retried; it then becomes the previous event of what follows (the catcher's
    /// StateExited or ExecutionFailed), as in test_base_scenarios.py::TestBaseScenarios::test_map_state_catch.
    fn settle_failed_event(&self, scope: &mut Scope<'_>, retried: bool) {
        if let Some(event) = scope.pending_failed.take() {
            if !retried {
                scope.prev = self.recorder.record(scope.prev, event, None);
            }
        }
    }
}
