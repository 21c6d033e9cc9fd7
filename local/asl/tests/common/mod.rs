//! Test doubles and helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Notify;
use zb_asl::{execute, ExecutionOptions, HistoryEvent, Outcome, StateMachine, TaskFailure, TaskInvoker};

pub const STATE_MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Test";

/// Computes a function's result from its input.
pub type ComputeFn = dyn Fn(&Value) -> Result<Value, TaskFailure> + Send + Sync;

/// What a scripted function does when called.
#[derive(Clone)]
pub enum Reply {
    Return(Value),
    Fail(&'static str, &'static str),
    /// Returns its input unchanged.
    Echo,
    /// Never answers (for timeouts and stops).
    Hang,
    /// Computes the output from the input.
    Compute(Arc<ComputeFn>),
}

pub fn compute(f: impl Fn(&Value) -> Result<Value, TaskFailure> + Send + Sync + 'static) -> Reply {
    Reply::Compute(Arc::new(f))
}

/// A TaskInvoker double: per function, a queue of replies followed by a fallback reply. Functions
/// are keyed by short name (`function:<name>` in an ARN, or the name itself).
#[derive(Default)]
pub struct ScriptedInvoker {
    queued: Mutex<HashMap<String, VecDeque<Reply>>>,
    fallback: Mutex<HashMap<String, Reply>>,
    calls: Mutex<Vec<(String, Value)>>,
    in_flight: Mutex<(usize, usize)>,
    /// Notified (one permit) on every call.
    pub called: Notify,
}

pub fn short_name(function: &str) -> String {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_owned(),
        None => function.to_owned(),
    }
}

impl ScriptedInvoker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replies used in order on the first calls to `function`.
    pub fn then(self, function: &str, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.queued
            .lock()
            .unwrap()
            .entry(function.to_owned())
            .or_default()
            .extend(replies);
        self
    }

    /// The reply once the queue for `function` is empty (default: echo the input).
    pub fn otherwise(self, function: &str, reply: Reply) -> Self {
        self.fallback.lock().unwrap().insert(function.to_owned(), reply);
        self
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    pub fn calls_to(&self, function: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(f, _)| short_name(f) == function)
            .map(|(_, v)| v)
            .collect()
    }

    /// The largest number of invocations that were running at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    fn next_reply(&self, name: &str) -> Reply {
        if let Some(reply) = self.queued.lock().unwrap().get_mut(name).and_then(VecDeque::pop_front) {
            return reply;
        }
        self.fallback.lock().unwrap().get(name).cloned().unwrap_or(Reply::Echo)
    }
}

impl TaskInvoker for ScriptedInvoker {
    fn invoke_lambda(&self, function: &str, payload: Value) -> impl Future<Output = Result<Value, TaskFailure>> + Send {
        let name = short_name(function);
        self.calls.lock().unwrap().push((function.to_owned(), payload.clone()));
        let reply = self.next_reply(&name);
        self.called.notify_one();
        async move {
            {
                let mut in_flight = self.in_flight.lock().unwrap();
                in_flight.0 += 1;
                in_flight.1 = in_flight.1.max(in_flight.0);
            }
            // Yield a few times so concurrent invocations really overlap.
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            let result = match reply {
                Reply::Return(value) => Ok(value),
                Reply::Fail(error, cause) => Err(TaskFailure::new(error, cause)),
                Reply::Echo => Ok(payload),
                Reply::Hang => std::future::pending().await,
                Reply::Compute(f) => f(&payload),
            };
            self.in_flight.lock().unwrap().0 -= 1;
            result
        }
    }
}

/// Replaces every `${SomethingFunctionArn}` with `arn:aws:lambda:...:function:zb-something`, as the
/// template's DefinitionSubstitutions give the deployed machines their function ARNs.
pub fn substitute(definition: &str) -> String {
    let mut out = String::new();
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map(|i| start + i)
            .expect("unterminated placeholder");
        let name = &rest[start + 2..end];
        let function = name.trim_end_matches("FunctionArn").to_lowercase();
        out.push_str(&format!("arn:aws:lambda:us-east-1:123456789012:function:zb-{function}"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

pub fn options(time_scale: f64) -> ExecutionOptions {
    let mut options = ExecutionOptions::new(STATE_MACHINE_ARN, "test-execution");
    options.time_scale = time_scale;
    options
}

/// Parses and runs a definition with a fast clock (1 s of machine time = 1 ms).
pub async fn run(definition: &str, input: Value, invoker: &ScriptedInvoker) -> (Outcome, Vec<HistoryEvent>) {
    let machine = StateMachine::parse(definition).unwrap_or_else(|e| panic!("definition refused: {e}"));
    run_machine(&machine, input, invoker, options(0.001)).await
}

pub async fn run_machine(
    machine: &StateMachine,
    input: Value,
    invoker: &ScriptedInvoker,
    options: ExecutionOptions,
) -> (Outcome, Vec<HistoryEvent>) {
    let mut history = Vec::new();
    let outcome = execute(machine, input, invoker, options, &mut history).await;
    (outcome, history)
}

pub fn output(outcome: &Outcome) -> &Value {
    match outcome {
        Outcome::Succeeded { output } => output,
        other => panic!("expected success, got {other:?}"),
    }
}

pub fn types(history: &[HistoryEvent]) -> Vec<&str> {
    history.iter().map(|e| e.r#type.as_str()).collect()
}

/// Names of the states entered, in order.
pub fn entered(history: &[HistoryEvent]) -> Vec<&str> {
    history
        .iter()
        .filter(|e| e.r#type.ends_with("StateEntered"))
        .filter_map(|e| e.details["name"].as_str())
        .collect()
}

/// A one-state machine around `state` (named "S", End: true).
pub fn single(state: Value) -> String {
    let mut state = state;
    state["End"] = Value::Bool(true);
    serde_json::json!({"StartAt": "S", "States": {"S": state}}).to_string()
}
