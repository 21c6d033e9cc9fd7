//! TestState: one state run once on a given input, answered in the API's shape (status, output or
//! error/cause, nextState, and inspectionData at DEBUG and TRACE). A Task invokes the real local
//! function unless the request mocks it; Map and Parallel states run only mocked, as on AWS.
//! `stateName` picks a state of a whole machine, `context` gives `$$`, `stateConfiguration` says
//! where a retry or a Map run stands (AWS API reference, TestState). TRACE adds the HTTP request and
//! response of HTTP Tasks on AWS; the local cloud runs no HTTP Tasks, so TRACE reports what DEBUG
//! does. JSONata states run too, and `variables` gives the workflow variables the state sees;
//! inspectionData then shows afterArguments and the variables after the state (AWS API reference,
//! TestState and InspectionData).

use super::{zb_asl_invoker, StepFunctions};
use crate::awsjson::{required, ApiError};
use crate::template::{ACCOUNT, REGION};
use serde_json::Value;
use zb_asl::{
    FieldValidationMode, InspectionLevel, MockError, MockRequest, StateConfiguration, TestRequest, TestStateError,
    TestTarget,
};

impl StepFunctions {
    pub(super) async fn test_state(&self, body: &Value) -> Result<Value, ApiError> {
        let definition = required(body, "definition")?;
        let level = inspection_level(body)?;
        let input = input(body)?;
        let request = test_request(body)?;
        let target = target(definition, body)?;
        let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:TestState");
        let options = request.options_for(&target, &arn).map_err(api_error)?;
        // TestState calls with the request's roleArn (a role template.yaml does not declare is not
        // evaluated, see crate::iam).
        let caller = zb_asl_invoker::TaskCaller {
            role_arn: body
                .get("roleArn")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            session: "TestState".to_owned(),
        };
        let adapter = zb_asl_invoker::Adapter(self.invoker.as_ref(), caller);
        let result = zb_asl::test_state(&target, input, &adapter, &options).await;
        tracing::info!(state = %target.name(), status = result.status.as_str(), mocked = options.mock.is_some(), "TestState");
        Ok(result.to_json(level))
    }
}

fn api_error(e: TestStateError) -> ApiError {
    ApiError::new(e.aws_code(), e.aws_message())
}

/// The API's member constraint message, as AWS's request validation words it.
fn constraint(value: &str, member: &str, rule: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    ))
}

fn inspection_level(body: &Value) -> Result<InspectionLevel, ApiError> {
    match body.get("inspectionLevel").and_then(Value::as_str) {
        None => Ok(InspectionLevel::Info),
        Some(text) => InspectionLevel::parse(text).ok_or_else(|| {
            constraint(
                text,
                "inspectionLevel",
                "Member must satisfy enum value set: [INFO, DEBUG, TRACE]",
            )
        }),
    }
}

fn input(body: &Value) -> Result<Value, ApiError> {
    match body.get("input").and_then(Value::as_str) {
        None => Ok(Value::Object(Default::default())),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        }),
    }
}

/// The state to run: `stateName` in the whole machine, or the definition as one state.
fn target(definition: &str, body: &Value) -> Result<TestTarget, ApiError> {
    match body.get("stateName").and_then(Value::as_str) {
        // stateName has length 1..80 (AWS API reference, TestState).
        Some("") => Err(constraint(
            "",
            "stateName",
            "Member must have length greater than or equal to 1",
        )),
        Some(name) => {
            let machine = zb_asl::StateMachine::parse(definition)
                .map_err(|e| ApiError::new("InvalidDefinition", e.aws_message()))?;
            TestTarget::in_machine(&machine, name).map_err(api_error)
        }
        None => TestTarget::lone_state(definition).map_err(api_error),
    }
}

/// `mock`, `revealSecrets`, `context`, `stateConfiguration` and `variables`, as the request carries
/// them.
fn test_request(body: &Value) -> Result<TestRequest, ApiError> {
    Ok(TestRequest {
        mock: body.get("mock").map(mock_request).transpose()?,
        reveal_secrets: body.get("revealSecrets").and_then(Value::as_bool).unwrap_or(false),
        context: body.get("context").and_then(Value::as_str).map(str::to_owned),
        configuration: state_configuration(body.get("stateConfiguration"))?,
        variables: body.get("variables").and_then(Value::as_str).map(str::to_owned),
    })
}

fn mock_request(mock: &Value) -> Result<MockRequest, ApiError> {
    let field_validation_mode = match mock.get("fieldValidationMode").and_then(Value::as_str) {
        None => FieldValidationMode::default(),
        Some(text) => FieldValidationMode::parse(text).ok_or_else(|| {
            constraint(
                text,
                "mock.fieldValidationMode",
                "Member must satisfy enum value set: [STRICT, PRESENT, NONE]",
            )
        })?,
    };
    let error_output = mock.get("errorOutput").map(|e| {
        let text = |key: &str| e.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        MockError {
            error: text("error"),
            cause: text("cause"),
        }
    });
    Ok(MockRequest {
        result: mock.get("result").and_then(Value::as_str).map(str::to_owned),
        error_output,
        field_validation_mode,
    })
}

fn state_configuration(config: Option<&Value>) -> Result<StateConfiguration, ApiError> {
    let Some(config) = config else {
        return Ok(StateConfiguration::default());
    };
    let text = |key: &str| config.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(StateConfiguration {
        retrier_retry_count: count(config, "retrierRetryCount")?.unwrap_or(0),
        error_caused_by_state: text("errorCausedByState"),
        map_iteration_failure_count: count(config, "mapIterationFailureCount")?,
        map_item_reader_data: text("mapItemReaderData"),
    })
}

/// A count with AWS's "Minimum value of 0" (AWS API reference, TestStateConfiguration).
fn count(config: &Value, key: &str) -> Result<Option<u64>, ApiError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            constraint(
                &value.to_string(),
                &format!("stateConfiguration.{key}"),
                "Member must have value greater than or equal to 0",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::zb_asl_invoker::{DynInvoker, TaskCaller};
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    struct NoLambda;

    impl DynInvoker for NoLambda {
        fn invoke(
            &self,
            _: &TaskCaller,
            _: &str,
            _: Value,
        ) -> futures::future::BoxFuture<'_, Result<Value, (String, String)>> {
            Box::pin(async { Err(("NoLambda".to_owned(), "no functions here".to_owned())) })
        }
    }

    async fn test_state(body: Value) -> Result<Value, (&'static str, String)> {
        let dir = std::env::temp_dir().join(format!("zb-sfn-test-state-{}", uuid::Uuid::new_v4()));
        let sfn =
            StepFunctions::new(&[], Arc::new(NoLambda), dir.clone(), 0.001).map_err(|e| ("setup", e.to_string()))?;
        let answer = sfn.call("TestState", &body).await.map_err(|e| (e.kind, e.message));
        let _ = std::fs::remove_dir_all(dir);
        answer
    }

    fn lambda_task() -> String {
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
               "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"}, "End": true})
        .to_string()
    }

    // The request's JSON members reach the checks: test_test_state_mock_scenarios.snapshot.json::
    // test_base_lambda_service_task_mock_success (the real function is not called) and
    // test_state_mock_validation.snapshot.json::test_both_mock_result_and_mock_error_output_are_set.
    #[tokio::test]
    async fn mock_members_are_read_from_the_request() {
        let result = json!({"Payload": "function output", "SdkHttpMetadata": {"HttpStatusCode": 200}});
        let ok = test_state(json!({
            "definition": lambda_task(),
            "input": json!({"FunctionName": "f", "Payload": null}).to_string(),
            "mock": {"result": result.to_string()}
        }))
        .await;
        let output = ok
            .as_ref()
            .ok()
            .and_then(|v| v["output"].as_str())
            .map(serde_json::from_str::<Value>);
        assert!(matches!(output, Some(Ok(ref v)) if *v == result), "{ok:?}");

        let both = test_state(json!({
            "definition": lambda_task(),
            "mock": {"result": "{}", "errorOutput": {"error": "E", "cause": "C"}}
        }))
        .await;
        assert_eq!(
            both,
            Err((
                "ValidationException",
                "A test mock should have only one of the following fields: [result, errorOutput].".to_owned()
            ))
        );
    }

    // test_state_mock_validation.snapshot.json::test_state_type_requires_mock[ParallelState] and
    // test_state_configuration.snapshot.json::test_state_configuration_retrier_retry_count (the
    // stateConfiguration member), and errorOutput read as {error, cause}.
    #[tokio::test]
    async fn codes_and_state_configuration_follow_aws() {
        let branch = json!({"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}});
        let parallel = json!({"Type": "Parallel", "Branches": [branch], "End": true}).to_string();
        let refused = test_state(json!({"definition": parallel})).await;
        assert!(matches!(refused, Err(("InvalidDefinition", _))), "{refused:?}");

        let retry = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "foo", "Payload": "bar"},
            "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
            "End": true});
        let answer = test_state(json!({
            "definition": retry.to_string(),
            "inspectionLevel": "DEBUG",
            "stateConfiguration": {"retrierRetryCount": 4},
            "mock": {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
        }))
        .await
        .unwrap_or_default();
        assert_eq!(answer["status"], "RETRIABLE");
        assert_eq!(answer["error"], "MockException");
        assert_eq!(
            answer["inspectionData"]["errorDetails"],
            json!({"retryBackoffIntervalSeconds": 16, "retryIndex": 0})
        );

        let empty_name = test_state(json!({"definition": parallel, "stateName": ""})).await;
        assert!(
            matches!(empty_name, Err(("ValidationException", ref m)) if m.contains("'stateName'")),
            "{empty_name:?}"
        );
    }

    // A JSONata Task with a mock: Arguments are evaluated (afterArguments, AWS API reference,
    // InspectionData), the mock is $states.result, Assign and Output apply, and the request's
    // `variables` are visible and reported with the assigned ones (InspectionData.variables).
    #[tokio::test]
    async fn a_jsonata_task_runs_with_a_mock_and_variables() {
        let task = json!({
            "QueryLanguage": "JSONata",
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Price",
            "Arguments": {"sku": "{% $states.input.sku %}", "currency": "{% $currency %}"},
            "Assign": {"total": "{% $states.result.total %}"},
            "Output": {"total": "{% $states.result.total %}", "currency": "{% $currency %}"},
            "End": true
        });
        let answer = test_state(json!({
            "definition": task.to_string(),
            "input": json!({"sku": "S1"}).to_string(),
            "variables": json!({"currency": "EUR"}).to_string(),
            "inspectionLevel": "DEBUG",
            "mock": {"result": json!({"total": 150}).to_string()}
        }))
        .await
        .unwrap_or_default();
        let parsed = |v: &Value| v.as_str().and_then(|t| serde_json::from_str::<Value>(t).ok());
        assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
        assert_eq!(
            parsed(&answer["output"]),
            Some(json!({"total": 150, "currency": "EUR"}))
        );
        let data = &answer["inspectionData"];
        assert_eq!(
            parsed(&data["afterArguments"]),
            Some(json!({"sku": "S1", "currency": "EUR"}))
        );
        assert_eq!(
            parsed(&data["variables"]),
            Some(json!({"currency": "EUR", "total": 150}))
        );
        assert!(
            data.get("afterParameters").is_none() && data.get("afterInputPath").is_none(),
            "{data}"
        );

        let not_an_object = test_state(json!({"definition": task.to_string(), "variables": "[1]"})).await;
        assert!(
            matches!(not_an_object, Err(("ValidationException", _))),
            "{not_an_object:?}"
        );
    }
}
