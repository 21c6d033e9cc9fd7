//! One attempt of a Task state: Parameters, the Lambda invocation with its timeout and history
//! events, then ResultSelector, ResultPath and OutputPath.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{Halt, Runtime, Scope, Stage, StatesError};
use crate::definition::{Seconds, TaskState};
use crate::history::details;
use crate::retry::{STATES_DATA_LIMIT, STATES_TIMEOUT};
use crate::task::{invoke_envelope, Resource, TaskFailure, TaskInvoker};
use crate::template::Template;

/// How an invocation ended.
enum Invoked {
    Returned(Value),
    Failed(TaskFailure),
    /// AWS gives a task timeout no cause: LambdaFunctionTimedOut, TaskTimedOut and ExecutionFailed
    /// carry only `"error": "States.Timeout"`, and a catcher sees `"Cause": ""`
    /// (test_timeouts.py::TestTimeouts::test_fixed_timeout_lambda,
    /// test_task_service_lambda.py::TestTaskServiceLambda::test_invoke_timeout).
    TimedOut,
    Aborted,
}

impl<I: TaskInvoker> Runtime<'_, I> {
    pub(super) async fn task_attempt(
        &self,
        scope: &mut Scope<'_>,
        task: &TaskState,
        raw: &Value,
        effective: &Value,
        retries: u64,
        cancel: &CancellationToken,
    ) -> Result<Value, Halt> {
        let context = self.context_for(scope, retries);
        let payload = self.fill(scope, task.parameters.as_ref(), effective.clone(), &context)?;
        self.note(scope, Stage::AfterParameters, &payload);
        scope.data_limit("input", &payload)?;
        let timeout = match &task.timeout_expr {
            Some(template) => Some(self.positive_seconds(scope, template, raw, "TimeoutSeconds")?),
            None => self.seconds(scope, task.timeout.as_ref(), effective, "TimeoutSecondsPath")?,
        };
        let heartbeat = match &task.heartbeat_expr {
            Some(template) => Some(self.positive_seconds(scope, template, raw, "HeartbeatSeconds")?),
            None => self.seconds(scope, task.heartbeat.as_ref(), effective, "HeartbeatSecondsPath")?,
        };

        let result = match &task.resource {
            Resource::LambdaArn(arn) => {
                let scheduled = details::lambda_scheduled(arn, &payload, timeout);
                scope.prev = self
                    .recorder
                    .record(scope.prev, "LambdaFunctionScheduled", Some(scheduled));
                scope.prev = self.recorder.record(scope.prev, "LambdaFunctionStarted", None);
                match self.invoke(arn, arn, payload, timeout, cancel).await {
                    Invoked::Returned(output) => {
                        let event = details::lambda_succeeded(&output);
                        scope.prev = self.recorder.record(scope.prev, "LambdaFunctionSucceeded", Some(event));
                        output
                    }
                    Invoked::Failed(failure) => {
                        let event =
                            details::error_cause("lambdaFunctionFailedEventDetails", &failure.error, &failure.cause);
                        scope.prev = self.recorder.record(scope.prev, "LambdaFunctionFailed", Some(event));
                        return Err(Halt::Failed(StatesError::new(failure.error, failure.cause)));
                    }
                    Invoked::TimedOut => {
                        let event = details::error_cause("lambdaFunctionTimedOutEventDetails", STATES_TIMEOUT, "");
                        scope.prev = self.recorder.record(scope.prev, "LambdaFunctionTimedOut", Some(event));
                        return Err(Halt::Failed(StatesError::new(STATES_TIMEOUT, "")));
                    }
                    Invoked::Aborted => return Err(Halt::Aborted),
                }
            }
            Resource::LambdaInvoke => {
                let function = invoke_target(&payload).map_err(|message| scope.runtime(message))?;
                let function_payload = payload.get("Payload").cloned().unwrap_or_else(|| json!({}));
                let scheduled = details::task_scheduled("invoke", self.region, &payload, timeout, heartbeat);
                scope.prev = self.recorder.record(scope.prev, "TaskScheduled", Some(scheduled));
                scope.prev = self
                    .recorder
                    .record(scope.prev, "TaskStarted", Some(details::task_started("invoke")));
                match self
                    .invoke("lambda", &function, function_payload, timeout, cancel)
                    .await
                {
                    Invoked::Returned(output) => {
                        let envelope = invoke_envelope(output);
                        let event = details::task_succeeded("invoke", &envelope);
                        scope.prev = self.recorder.record(scope.prev, "TaskSucceeded", Some(event));
                        envelope
                    }
                    Invoked::Failed(failure) => {
                        let event =
                            details::task_error("taskFailedEventDetails", "invoke", &failure.error, &failure.cause);
                        scope.prev = self.recorder.record(scope.prev, "TaskFailed", Some(event));
                        return Err(Halt::Failed(StatesError::new(failure.error, failure.cause)));
                    }
                    Invoked::TimedOut => {
                        let event = details::task_error("taskTimedOutEventDetails", "invoke", STATES_TIMEOUT, "");
                        scope.prev = self.recorder.record(scope.prev, "TaskTimedOut", Some(event));
                        return Err(Halt::Failed(StatesError::new(STATES_TIMEOUT, "")));
                    }
                    Invoked::Aborted => return Err(Halt::Aborted),
                }
            }
        };

        self.note(scope, Stage::Result, &result);
        scope.data_limit("result", &result)?;
        if scope.state.jsonata {
            return self.conclude_jsonata(scope, raw, Some(result), &context);
        }
        // JSONPath Assign reads the raw result, before ResultSelector (LocalStack's
        // execute_state.py, AWS-validated by assign/test_assign_base).
        let assign = scope.state.assign.as_ref();
        self.assign_path(scope, assign, &result, &context)?;
        let selected = self.fill(scope, task.result.selector.as_ref(), result, &context)?;
        self.note(scope, Stage::AfterResultSelector, &selected);
        let combined = self.result_path(scope, &task.result.path, raw.clone(), selected)?;
        self.note(scope, Stage::AfterResultPath, &combined);
        self.output_path(scope, combined)
    }

    /// A JSONata TimeoutSeconds/HeartbeatSeconds: the expression must give a positive integer.
    fn positive_seconds(&self, scope: &Scope<'_>, template: &Template, raw: &Value, field: &str) -> Result<u64, Halt> {
        let value = self.jsonata_value(scope, template, raw)?;
        value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            scope.query_failure(
                format!(
                    "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected 'integer', but was '{}' for value: {value}",
                    template.jsonata_source().unwrap_or_default(),
                    crate::path::type_name(&value)
                ),
                field,
            )
        })
    }

    /// TimeoutSeconds/HeartbeatSeconds, reading the `...Path` form from the effective input.
    fn seconds(
        &self,
        scope: &Scope<'_>,
        seconds: Option<&Seconds>,
        input: &Value,
        field: &str,
    ) -> Result<Option<u64>, Halt> {
        match seconds {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Path(path)) => {
                let value = self.read(scope, path, input)?;
                match value.as_u64().filter(|n| *n > 0) {
                    Some(n) => Ok(Some(n)),
                    None => Err(scope.runtime(format!(
                        "The {field} '{path}' must select a positive integer, got {value}"
                    ))),
                }
            }
        }
    }

    /// Calls the function. A result over the payload quota fails the task the way AWS reports it,
    /// as the task's own failure (so `States.ALL` catches it) naming `resource` (the function ARN,
    /// or "lambda" for the lambda:invoke integration); AWS recordings:
    /// error_handling/test_states_errors.snapshot.json::test_task_lambda_data_limit_exceeded_on_large_utf8_response
    /// and ::test_service_task_lambada_data_limit_exceeded_on_large_utf8_response.
    async fn invoke(
        &self,
        resource: &str,
        function: &str,
        payload: Value,
        timeout: Option<u64>,
        cancel: &CancellationToken,
    ) -> Invoked {
        let call = self.invoker.invoke_lambda(function, payload);
        // Real time, not scaled: the function runs at real speed.
        let limit = timeout.map(Duration::from_secs);
        tokio::select! {
            biased;
            () = cancel.cancelled() => Invoked::Aborted,
            outcome = within(limit, call) => match outcome {
                Some(Ok(output)) if output.to_string().len() > super::MAX_PAYLOAD_BYTES => Invoked::Failed(TaskFailure::new(
                    STATES_DATA_LIMIT,
                    format!("The state/task '{resource}' returned a result with a size exceeding the maximum number of bytes service limit."),
                )),
                Some(Ok(output)) => Invoked::Returned(output),
                Some(Err(failure)) => Invoked::Failed(failure),
                None => Invoked::TimedOut,
            },
        }
    }
}

async fn within<F: Future>(limit: Option<Duration>, future: F) -> Option<F::Output> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok(),
        None => Some(future.await),
    }
}

/// The function to call for `lambda:invoke`: FunctionName, with Qualifier appended when given.
fn invoke_target(parameters: &Value) -> Result<String, String> {
    let name = parameters
        .get("FunctionName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or("The lambda:invoke parameter 'FunctionName' must be a non-empty string")?;
    if let Some(value) = parameters.get("InvocationType") {
        if value.as_str() != Some("RequestResponse") {
            return Err(format!(
                "The lambda:invoke InvocationType {value} is not supported by the local cloud"
            ));
        }
    }
    match parameters.get("Qualifier") {
        None => Ok(name.to_owned()),
        Some(Value::String(qualifier)) => Ok(format!("{name}:{qualifier}")),
        Some(other) => Err(format!(
            "The lambda:invoke parameter 'Qualifier' must be a string, got {other}"
        )),
    }
}
