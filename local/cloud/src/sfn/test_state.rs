//! TestState: one state run once on a given input, a Task invoking the real
//! local function, answered in the API's shape (status, output or
//! error/cause, nextState, and inspectionData at DEBUG and TRACE). TRACE
//! adds the HTTP request and response of HTTP Tasks on AWS; the local cloud
//! runs no HTTP Tasks, so TRACE reports what DEBUG does. Mocks and
//! variables are refused: the point of the local bench is the real function.

use super::{zb_asl_invoker, StepFunctions};
use crate::awsjson::{required, ApiError};
use crate::template::{ACCOUNT, REGION};
use serde_json::Value;
use zb_asl::{InspectionLevel, TestOptions, TestStateError, TestTarget};

impl StepFunctions {
    pub(super) async fn test_state(&self, body: &Value) -> Result<Value, ApiError> {
        let definition = required(body, "definition")?;
        for refused in ["mock", "context"] {
            if body.get(refused).is_some() {
                return Err(ApiError::validation(format!(
                    "TestState '{refused}' is not supported by the local cloud: it runs the real local function"
                )));
            }
        }
        if body
            .get("variables")
            .and_then(Value::as_str)
            .is_some_and(|v| v.trim() != "{}")
        {
            return Err(ApiError::validation(
                "TestState 'variables' is not supported by the local cloud (workflow variables are not)",
            ));
        }
        let level = match body.get("inspectionLevel").and_then(Value::as_str) {
            None => InspectionLevel::Info,
            Some(text) => InspectionLevel::parse(text).ok_or_else(|| {
                ApiError::validation(format!(
                    "1 validation error detected: Value '{text}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
                ))
            })?,
        };
        let input: Value = match body.get("input").and_then(Value::as_str) {
            None => Value::Object(Default::default()),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                ApiError::new(
                    "InvalidExecutionInput",
                    format!("Invalid State Machine Execution Input: '{e}'"),
                )
            })?,
        };
        let target = match body.get("stateName").and_then(Value::as_str) {
            Some(name) => {
                let machine = zb_asl::StateMachine::parse(definition)
                    .map_err(|e| ApiError::new("InvalidDefinition", e.aws_message()))?;
                TestTarget::in_machine(&machine, name)
            }
            None => TestTarget::lone_state(definition),
        }
        .map_err(|e| match e {
            TestStateError::Definition(d) => ApiError::new("InvalidDefinition", d.aws_message()),
            other => ApiError::validation(other.to_string()),
        })?;
        let mut options = TestOptions::new(&format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:TestState"));
        options.retries_so_far = body
            .pointer("/stateConfiguration/retrierRetryCount")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let adapter = zb_asl_invoker::Adapter(self.invoker.as_ref());
        let result = zb_asl::test_state(&target, input, &adapter, &options).await;
        tracing::info!(state = %target.name(), status = result.status.as_str(), "TestState");
        Ok(result.to_json(level))
    }
}
