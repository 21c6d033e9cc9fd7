//! TestState's 2025 extensions (mock, stateName, context, stateConfiguration, mocked Map and
//! Parallel) against AWS: each case is one recording of LocalStack's AWS-validated snapshots,
//! tests/aws/services/stepfunctions/v2/test_state/<file>.snapshot.json, named by its key. Run-specific
//! values (ARNs, dates) are not compared. JSONata recordings run their own definitions; where a
//! recording's definition uses what the local cloud does not run (Distributed Map, other service
//! integrations), the case says which substitute it runs and why the substitution does not touch
//! what is asserted.

use serde_json::{json, Value};
use zb_asl::{
    test_state, FieldValidationMode, InspectionLevel, MockError, MockRequest, StateConfiguration, StateMachine,
    TestRequest, TestTarget,
};

use crate::common::{ScriptedInvoker, STATE_MACHINE_ARN};

/// What TestState answers: the response body, or (error code, message).
type Answer = Result<Value, (String, String)>;

/// Runs a TestState request the way the local cloud does, answering the wire shape with the JSON
/// strings (output, inspection data) parsed, as the recordings show them.
async fn call(
    definition: &Value,
    state_name: Option<&str>,
    input: Value,
    request: &TestRequest,
    level: &str,
) -> Answer {
    let refuse = |e: zb_asl::TestStateError| (e.aws_code().to_owned(), e.aws_message());
    let target = match state_name {
        Some(name) => {
            let machine = StateMachine::parse(&definition.to_string())
                .map_err(|e| ("InvalidDefinition".to_owned(), e.aws_message()))?;
            TestTarget::in_machine(&machine, name).map_err(refuse)?
        }
        None => TestTarget::lone_state(&definition.to_string()).map_err(refuse)?,
    };
    let options = request.options_for(&target, STATE_MACHINE_ARN).map_err(refuse)?;
    let level = InspectionLevel::parse(level).unwrap_or_default();
    let result = test_state(&target, input, &ScriptedInvoker::new(), &options).await;
    Ok(parsed(result.to_json(level)))
}

fn parsed(mut wire: Value) -> Value {
    fn parse_in_place(v: &mut Value) {
        if let Some(text) = v.as_str() {
            if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                *v = parsed;
            }
        }
    }
    if let Some(output) = wire.get_mut("output") {
        parse_in_place(output);
    }
    if let Some(Value::Object(data)) = wire.get_mut("inspectionData") {
        for (key, value) in data.iter_mut() {
            if key != "errorDetails" && key != "maxConcurrency" {
                parse_in_place(value);
            }
        }
    }
    wire
}

fn result_mock(result: &Value) -> TestRequest {
    TestRequest {
        mock: Some(MockRequest {
            result: Some(result.to_string()),
            ..MockRequest::default()
        }),
        ..TestRequest::default()
    }
}

fn error_mock(error: &str, cause: &str) -> TestRequest {
    TestRequest {
        mock: Some(MockRequest {
            error_output: Some(MockError {
                error: error.to_owned(),
                cause: cause.to_owned(),
            }),
            ..MockRequest::default()
        }),
        ..TestRequest::default()
    }
}

fn with_context(mut request: TestRequest, context: &Value) -> TestRequest {
    request.context = Some(context.to_string());
    request
}

fn refused(code: &str, message: &str) -> Answer {
    Err((code.to_owned(), message.to_owned()))
}

// templates/test_state/statemachines/*.json5, as JSON.
fn base_pass_state() -> Value {
    json!({"Type": "Pass", "End": true})
}
fn base_fail_state() -> Value {
    json!({"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."})
}
fn base_succeed_state() -> Value {
    json!({"Type": "Succeed"})
}
fn base_lambda_service_task_state() -> Value {
    json!({
        "Comment": "BASE_LAMBDA_SERVICE_TASK_STATE",
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
        "End": true
    })
}
fn parallel_state(io: bool) -> Value {
    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Pass", "End": true}}});
    let mut state = json!({"Type": "Parallel", "Branches": [branch("B1"), branch("B2")], "End": true});
    if io {
        state["InputPath"] = json!("$.parallelInput");
        state["ResultPath"] = json!("$.parallelResult");
        state["OutputPath"] = json!("$");
    }
    state
}
/// templates/test_state/statemachines/base_task_state_retry.json5.
fn base_task_state_retry() -> Value {
    json!({
        "Comment": "BASE_TASK_STATE_RETRY",
        "QueryLanguage": "JSONata",
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "bar"},
        "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
        "End": true
    })
}
/// templates/test_state/statemachines/base_task_state_catch.json5.
fn base_task_state_catch() -> Value {
    json!({
        "Comment": "BASE_TASK_STATE_CATCH",
        "QueryLanguage": "JSONata",
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "bar"},
        "Catch": [
            {"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMockError"},
            {"ErrorEquals": ["States.TaskFailed"], "Output": "{% $states %}", "Next": "HandleThreshold"}
        ],
        "End": true
    })
}
/// templates/test_state/statemachines/io_jsonata_parallel_state.json5.
fn io_jsonata_parallel_state() -> Value {
    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Pass", "End": true}}});
    json!({
        "Type": "Parallel",
        "QueryLanguage": "JSONata",
        "Arguments": "{% $states.input.parallelInput %}",
        "Output": {"parallelInput": "{% $states.input.parallelInput %}", "parallelResult": "{% $states.result %}"},
        "Branches": [branch("B1"), branch("B2")],
        "End": true
    })
}
/// templates/test_state/statemachines/base_fail_state_machine.json5.
fn base_fail_state_machine() -> Value {
    json!({
        "Comment": "BASE_FAIL_STATE_MACHINE",
        "QueryLanguage": "JSONata",
        "StartAt": "State0",
        "States": {"State0": {"Type": "Fail", "Error": "SomeFailure",
            "Cause": "This state machines raises a 'SomeFailure' failure."}}
    })
}
/// templates/test_state/statemachines/base_multi_state_machine.json5.
fn base_multi_state_machine() -> Value {
    json!({
        "Comment": "BASE_MULTI_STATE_MACHINE",
        "QueryLanguage": "JSONata",
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Next": "State1"},
            "State1": {"Type": "Fail", "Error": "SomeFailure",
                "Cause": "This state machines raises a 'SomeFailure' failure."}
        }
    })
}
fn base_pass_state_machine() -> Value {
    json!({"Comment": "BASE_PASS_STATE_MACHINE", "StartAt": "State0", "States": {"State0": {"Type": "Pass", "End": true}}})
}
/// templates/context_object/statemachines/context_object_result_selector.json5's TestState with
/// the placeholder filled in.
fn context_result_selector_task(literal: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName.$": "$.FunctionName", "Payload": {"Input.$": "$"}},
        "ResultSelector": {"LambdaOutput.$": "$", "ContextObjectValue.$": literal},
        "End": true
    })
}
/// templates/context_object/statemachines/context_object_items_path.json5's TestState.
fn context_items_path_map(literal: &str) -> Value {
    json!({
        "Type": "Map",
        "ItemsPath": literal,
        "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}},
        "End": true
    })
}
/// The JSONPath Map the recordings' JSONata and Distributed Maps stand for where the assertion
/// does not depend on the query language or the processor mode.
fn jsonpath_map() -> Value {
    json!({
        "Type": "Map",
        "ItemsPath": "$.Values",
        "ItemProcessor": {"StartAt": "TestState", "States": {"TestState": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "foo", "Payload": "bar"}, "End": true}}},
        "End": true
    })
}

/// test_state_context_object.py's CONTEXT_OBJECT_FULL.
fn full_context() -> Value {
    json!({
        "Execution": {
            "Id": "arn:aws:states:::execution:MyStateMachine:execution-name-12345",
            "Input": {"input-value": 0, "message": "test data", "values": ["charizard", "pikachu", "bulbasaur"]},
            "Name": "execution-name-12345",
            "RoleArn": "arn:aws:iam:::role/StepFunctionsRole",
            "StartTime": "2025-01-15T10:30:00.000Z"
        },
        "State": {"EnteredTime": "2025-01-15T10:30:01.500Z", "Name": "MyTaskState", "RetryCount": 0},
        "StateMachine": {"Id": "arn:aws:states:::stateMachine:MyStateMachine", "Name": "MyStateMachine"}
    })
}

struct Case {
    key: &'static str,
    definition: Value,
    state_name: Option<&'static str>,
    input: Value,
    request: TestRequest,
    level: &'static str,
    expected: Answer,
}

async fn check(cases: Vec<Case>) {
    for case in cases {
        let got = call(&case.definition, case.state_name, case.input, &case.request, case.level).await;
        assert_eq!(got, case.expected, "{}", case.key);
    }
}

#[tokio::test]
async fn mocks_are_refused_where_aws_refuses_them() {
    let mut cases = Vec::new();
    // test_state_mock_validation.snapshot.json::test_state_type_does_not_accept_mock[<mock>-<state>].
    for (mock, request) in [
        ("mock_result", result_mock(&json!({"mock": "the unmockable"}))),
        ("mock_error_output", error_mock("Error", "Cause")),
    ] {
        for (state, kind, definition) in [
            ("PassState", "Pass", base_pass_state()),
            ("FailState", "Fail", base_fail_state()),
            ("SucceedState", "Succeed", base_succeed_state()),
        ] {
            let message = format!("State type '{kind}' is not supported when a mock is specified");
            let key = format!("test_state_type_does_not_accept_mock[{mock}-{state}]");
            cases.push(Case {
                key: Box::leak(key.into_boxed_str()),
                definition,
                state_name: None,
                input: json!({}),
                request: request.clone(),
                level: "TRACE",
                expected: refused("ValidationException", &message),
            });
        }
    }
    let lambda = base_lambda_service_task_state();
    let both = TestRequest {
        mock: Some(MockRequest {
            result: Some(json!({"mock": "response"}).to_string()),
            error_output: Some(MockError {
                error: "Error".into(),
                cause: "Cause".into(),
            }),
            field_validation_mode: FieldValidationMode::Strict,
        }),
        ..TestRequest::default()
    };
    let mut secrets = result_mock(&json!({"mock": "response"}));
    secrets.reveal_secrets = true;
    let mut not_json = result_mock(&json!(null));
    if let Some(mock) = not_json.mock.as_mut() {
        mock.result = Some("not JSON string".into());
        mock.field_validation_mode = FieldValidationMode::None;
    }
    let failure_count = |count: u64, request: TestRequest| TestRequest {
        configuration: StateConfiguration {
            map_iteration_failure_count: Some(count),
            ..StateConfiguration::default()
        },
        ..request
    };
    cases.extend([
        Case {
            key: "test_state_mock_validation.snapshot.json::test_state_type_requires_mock[ParallelState]",
            definition: parallel_state(false),
            state_name: None,
            input: json!({}),
            request: TestRequest::default(),
            level: "TRACE",
            expected: refused(
                "InvalidDefinition",
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
            ),
        },
        Case {
            key: "test_state_mock_validation.snapshot.json::test_both_mock_result_and_mock_error_output_are_set",
            definition: lambda.clone(),
            state_name: None,
            input: json!({}),
            request: both,
            level: "TRACE",
            expected: refused(
                "ValidationException",
                "A test mock should have only one of the following fields: [result, errorOutput].",
            ),
        },
        Case {
            key: "test_state_mock_validation.snapshot.json::test_reveal_secrets_is_true_and_mock_result_is_set",
            definition: lambda.clone(),
            state_name: None,
            input: json!({}),
            request: secrets,
            level: "TRACE",
            expected: refused(
                "ValidationException",
                "TestState does not support RevealSecrets when a mock is specified.",
            ),
        },
        Case {
            key: "test_state_mock_validation.snapshot.json::test_mock_result_is_not_array_on_parallel_state",
            definition: parallel_state(false),
            state_name: None,
            input: json!({}),
            request: result_mock(&json!({"mock": "array is expected but object is provided instead"})),
            level: "TRACE",
            expected: refused("ValidationException", "Mocked result must be an array."),
        },
        Case {
            key: "test_state_mock_validation.snapshot.json::test_mock_result_array_size_mismatch_on_parallel_state",
            definition: parallel_state(false),
            state_name: None,
            input: json!({}),
            request: result_mock(&json!([{"branch1": "result"}])),
            level: "TRACE",
            expected: refused(
                "ValidationException",
                "Mocked result must contain the same number of items as number of Parallel branches.",
            ),
        },
        // The recording's Map is JSONata (BASE_MAP_STATE); the check reads only the request.
        Case {
            key: "test_state_mock_validation.snapshot.json::test_map_iteration_failure_count_without_mock",
            definition: jsonpath_map(),
            state_name: None,
            input: json!({}),
            request: failure_count(0, TestRequest::default()),
            level: "INFO",
            expected: refused(
                "ValidationException",
                "TestState does not support MapIterationFailureCount when a mock is not specified.",
            ),
        },
        Case {
            key: "test_state_mock_validation.snapshot.json::test_map_iteration_failure_count_exceeds_mock_result_items",
            definition: jsonpath_map(),
            state_name: None,
            input: json!({"Values": [1, 1, 1]}),
            request: failure_count(4, result_mock(&json!([1, 1, 1]))),
            level: "INFO",
            expected: refused(
                "ValidationException",
                "Map iteration failure count must be less than or equal to the number of Map iterations",
            ),
        },
        Case {
            key: "test_test_state_mock_scenarios.snapshot.json::test_base_lambda_service_task_mock_is_not_json_string",
            definition: lambda.clone(),
            state_name: None,
            input: json!({"FunctionName": "f", "Payload": null}),
            request: not_json,
            level: "INFO",
            expected: refused("ValidationException", "Mocked result must be valid JSON"),
        },
    ]);
    check(cases).await;
}

#[tokio::test]
async fn a_mocked_lambda_invoke_result_is_checked_against_the_invoke_response() {
    let lambda = base_lambda_service_task_state();
    let input = json!({"FunctionName": "function_name", "Payload": null});
    let mode = |mode: FieldValidationMode, result: Value| {
        let mut request = result_mock(&result);
        if let Some(mock) = request.mock.as_mut() {
            mock.field_validation_mode = mode;
        }
        request
    };
    let status_code_error = refused(
        "ValidationException",
        "Mock result schema validation error: Field 'StatusCode' must be a number",
    );
    let case = |key: &'static str, request: TestRequest, expected: Answer| Case {
        key,
        definition: lambda.clone(),
        state_name: None,
        input: input.clone(),
        request,
        level: "INFO",
        expected,
    };
    check(vec![
        case(
            "test_field_validation_mode.snapshot.json::test_strict_mode_lambda_task[wrong_integer_type_string]",
            mode(FieldValidationMode::Strict, json!({"StatusCode": "200"})),
            status_code_error.clone(),
        ),
        case(
            "test_field_validation_mode_present.snapshot.json::test_present_mode_lambda_task[wrong_integer_type_string]",
            mode(FieldValidationMode::Present, json!({"StatusCode": "200"})),
            status_code_error,
        ),
        // Fields outside the API model pass, and a mock is the result as is, not wrapped in the
        // Invoke envelope.
        case(
            "test_test_state_mock_scenarios.snapshot.json::test_base_lambda_service_task_mock_success",
            result_mock(&json!({"Payload": "function output", "SdkHttpMetadata": {"HttpStatusCode": 200}})),
            Ok(json!({"output": {"Payload": "function output", "SdkHttpMetadata": {"HttpStatusCode": 200}}, "status": "SUCCEEDED"})),
        ),
    ])
    .await;
}

#[tokio::test]
async fn a_mocked_parallel_reports_what_aws_reports() {
    let mock = json!([{"branch1": "result"}, {"branch2": "result"}]);
    let io_output = json!({"parallelInput": {"data": "input_value"}, "parallelResult": mock});
    let mut cases = vec![
        Case {
            key: "test_test_state_mock_scenarios.snapshot.json::test_base_parallel_state_mock_success[INFO]",
            definition: parallel_state(false),
            state_name: None,
            input: json!({"key": "value"}),
            request: result_mock(&mock),
            level: "INFO",
            expected: Ok(json!({"output": mock, "status": "SUCCEEDED"})),
        },
        Case {
            key: "test_test_state_mock_scenarios.snapshot.json::test_io_parallel_state_mock_success[INFO]",
            definition: parallel_state(true),
            state_name: None,
            input: json!({"parallelInput": {"data": "input_value"}}),
            request: result_mock(&mock),
            level: "INFO",
            expected: Ok(json!({"output": io_output, "status": "SUCCEEDED"})),
        },
    ];
    for level in ["DEBUG", "TRACE"] {
        cases.push(Case {
            key: "test_test_state_mock_scenarios.snapshot.json::test_base_parallel_state_mock_success[DEBUG|TRACE]",
            definition: parallel_state(false),
            state_name: None,
            input: json!({"key": "value"}),
            request: result_mock(&mock),
            level,
            expected: Ok(json!({
                "inspectionData": {"afterResultPath": mock, "afterResultSelector": mock, "input": {"key": "value"}},
                "output": mock,
                "status": "SUCCEEDED"
            })),
        });
        cases.push(Case {
            key: "test_test_state_mock_scenarios.snapshot.json::test_io_parallel_state_mock_success[DEBUG|TRACE]",
            definition: parallel_state(true),
            state_name: None,
            input: json!({"parallelInput": {"data": "input_value"}}),
            request: result_mock(&mock),
            level,
            expected: Ok(json!({
                "inspectionData": {
                    "afterResultPath": io_output,
                    "afterResultSelector": mock,
                    "input": {"parallelInput": {"data": "input_value"}}
                },
                "output": io_output,
                "status": "SUCCEEDED"
            })),
        });
    }
    check(cases).await;
}

#[tokio::test]
async fn state_name_picks_a_state_of_the_whole_machine() {
    let cases = vec![
        Case {
            key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name[INFO-BASE_PASS_STATE_MACHINE]",
            definition: base_pass_state_machine(),
            state_name: Some("State0"),
            input: json!({"Value": "HelloWorld"}),
            request: TestRequest::default(),
            level: "INFO",
            expected: Ok(json!({"output": {"Value": "HelloWorld"}, "status": "SUCCEEDED"})),
        },
        // A state inside a Map's processor. The recording's Map is Distributed, which the local
        // cloud refuses to parse; the tested Pass state does not depend on the processor mode.
        Case {
            key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name[INFO-BASE_MAP_STATE_MACHINE]",
            definition: json!({"StartAt": "State0", "States": {"State0": {
                "Type": "Map", "ItemsPath": "$.Values",
                "ItemProcessor": {"StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}},
                "End": true}}}),
            state_name: Some("HandleItem"),
            input: json!({"Value": "HelloWorld"}),
            request: TestRequest::default(),
            level: "INFO",
            expected: Ok(json!({"output": {"Value": "HelloWorld"}, "status": "SUCCEEDED"})),
        },
        Case {
            key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name_validation_failures[dne]",
            definition: base_pass_state_machine(),
            state_name: Some("dne"),
            input: json!({"Value": "HelloWorld"}),
            request: TestRequest::default(),
            level: "INFO",
            expected: refused("ValidationException", "State not found in definition"),
        },
        Case {
            key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name_validation_failures[invalid]",
            definition: base_pass_state_machine(),
            state_name: Some("\"invalid\""),
            input: json!({"Value": "HelloWorld"}),
            request: TestRequest::default(),
            level: "INFO",
            expected: refused("ValidationException", "State not found in definition"),
        },
        Case {
            key: "test_test_state_machine_scenarios.snapshot.json::test_state_name_invalid_state_definition",
            definition: json!({"StartAt": "ExistingButInvalidState", "States": {
                "ExistingButInvalidState": {"Type": "TypeThatDoesNotExist", "End": true}}}),
            state_name: Some("ExistingButInvalidState"),
            input: json!({"Value": "HelloWorld"}),
            request: TestRequest::default(),
            level: "INFO",
            expected: refused(
                "InvalidDefinition",
                "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/ExistingButInvalidState/Type'",
            ),
        },
    ];
    check(cases).await;
}

#[tokio::test]
async fn the_given_context_object_is_dollar_dollar() {
    let input = json!({"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}});
    let mocked = json!({"pokemon": ["charizard", "pikachu", "bulbasaur"]});
    let context = full_context();
    let task_answer = |value: Value, result: &Value| {
        let selected = json!({"ContextObjectValue": value, "LambdaOutput": result});
        json!({
            "inspectionData": {
                "afterInputPath": input,
                "afterParameters": {"Payload": {"Input": input}, "FunctionName": "lambda_function_name"},
                "afterResultPath": selected,
                "afterResultSelector": selected,
                "input": input,
                "result": result
            },
            "output": selected,
            "status": "SUCCEEDED"
        })
    };
    let mut cases = Vec::new();
    for (id, literal, value) in [
        ("ALL", "$$", context.clone()),
        (
            "EXECUTION_INPUT",
            "$$.Execution.Input",
            context["Execution"]["Input"].clone(),
        ),
        (
            "EXECUTION_INPUT_VALUES",
            "$$.Execution.Input.values",
            context["Execution"]["Input"]["values"].clone(),
        ),
    ] {
        cases.push(Case {
            key: Box::leak(
                format!("test_state_context_object.snapshot.json::test_state_task_context_object[{id}]")
                    .into_boxed_str(),
            ),
            definition: context_result_selector_task(literal),
            state_name: None,
            input: input.clone(),
            request: with_context(result_mock(&mocked), &context),
            level: "TRACE",
            expected: Ok(task_answer(value, &mocked)),
        });
    }
    for (id, given) in [
        (
            "EMPTY_OBJECTS",
            json!({"Execution": {}, "State": {}, "StateMachine": {}}),
        ),
        ("EMPTY", json!({})),
    ] {
        let pikachu = json!({"pokemon": "pikachu"});
        cases.push(Case {
            key: Box::leak(
                format!("test_state_context_object.snapshot.json::test_state_context_object_edge_cases[{id}]")
                    .into_boxed_str(),
            ),
            definition: context_result_selector_task("$$"),
            state_name: None,
            input: input.clone(),
            request: with_context(result_mock(&pikachu), &given),
            level: "TRACE",
            expected: Ok(task_answer(given.clone(), &pikachu)),
        });
    }
    check(cases).await;
}

#[tokio::test]
async fn a_mocked_map_reads_its_items_from_the_context_object() {
    let input = json!(["fire", "electricity", "grass"]);
    let mocked = json!(["CHARIZARD", "PIKACHU", "BULBASAUR"]);
    let request = with_context(result_mock(&mocked), &full_context());
    let not_array = |path: &str| {
        Ok(json!({
            "cause": format!("Reference path \"{path}\" must point to array."),
            "error": "States.Runtime",
            "inspectionData": {"afterInputPath": input, "input": input},
            "status": "FAILED"
        }))
    };
    let case = |key: &'static str, literal: &str, expected: Answer| Case {
        key,
        definition: context_items_path_map(literal),
        state_name: None,
        input: input.clone(),
        request: request.clone(),
        level: "TRACE",
        expected,
    };
    let cases = vec![
        case(
            "test_state_context_object.snapshot.json::test_state_map_context_object[ALL]",
            "$$",
            not_array("$"),
        ),
        case(
            "test_state_context_object.snapshot.json::test_state_map_context_object[EXECUTION_INPUT]",
            "$$.Execution.Input",
            not_array("$.Execution.Input"),
        ),
        case(
            "test_state_context_object.snapshot.json::test_state_map_context_object[EXECUTION_INPUT_VALUES]",
            "$$.Execution.Input.values",
            Ok(json!({
                "inspectionData": {
                    "afterInputPath": input,
                    "afterItemsPath": ["charizard", "pikachu", "bulbasaur"],
                    "afterResultPath": mocked,
                    "afterResultSelector": mocked,
                    "input": input,
                    "maxConcurrency": 1
                },
                "output": mocked,
                "status": "SUCCEEDED"
            })),
        ),
    ];
    // A failed ItemsPath is reported without afterItemsPath, as recorded.
    check(cases).await;
}

#[tokio::test]
async fn context_objects_are_checked_like_aws_checks_them() {
    // The recordings test a StartExecution Task, which the local cloud does not parse; the context
    // check does not depend on the Task's resource, so the Lambda Task stands in.
    let input = json!({"FunctionName": "f", "Payload": null});
    let mocked = json!({"ExecutionArn": "exec_arn", "StartDate": "2025-01-01T00:00:00"});
    let invalid = |detail: &str| {
        refused(
            "ValidationException",
            &format!("Invalid Context object provided: {detail}"),
        )
    };
    let mut cases = Vec::new();
    for (id, context, expected) in [
        (
            "INVALID_EXECUTION_ID_TYPE",
            json!({"Execution": {"Id": 1}}),
            invalid("Execution.Id must be a string"),
        ),
        (
            "INVALID_MAP",
            json!({"Map": {}}),
            invalid("'Map' field is not supported when mocking a Context object"),
        ),
        (
            "INVALID_EXECUTION_FIELD",
            json!({"Execution": {"pokemon": "squirtle"}}),
            invalid("Field 'pokemon' is not allowed"),
        ),
        (
            "INVALID_FIELD",
            json!({"Pokedex": {}}),
            invalid("Field 'Pokedex' is not allowed"),
        ),
    ] {
        cases.push(Case {
            key: Box::leak(
                format!("test_state_context_object.snapshot.json::test_state_context_object_validation_failures[{id}]")
                    .into_boxed_str(),
            ),
            definition: base_lambda_service_task_state(),
            state_name: None,
            input: input.clone(),
            request: with_context(result_mock(&mocked), &context),
            level: "TRACE",
            expected,
        });
    }
    let mut with_task = full_context();
    with_task["Task"] = json!({"Token": "abcd123"});
    let pokemon = json!({"pokemon": ["CHARIZARD", "PIKACHU", "BULBASAUR"]});
    cases.extend([
        Case {
            key: "test_state_context_object.snapshot.json::test_state_context_object_invalid_states[TOKEN_TASK_NOT_SYNC]",
            definition: context_result_selector_task("$$"),
            state_name: None,
            input: json!(["fire", "electricity", "grass"]),
            request: with_context(result_mock(&pokemon), &with_task),
            level: "TRACE",
            expected: invalid(
                "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern",
            ),
        },
        Case {
            key: "test_state_context_object.snapshot.json::test_state_context_object_invalid_states[INVALID_STATE_PASS]",
            definition: json!({"Type": "Pass", "InputPath": "$$", "End": true}),
            state_name: None,
            input: json!(["fire", "electricity", "grass"]),
            request: with_context(result_mock(&pokemon), &full_context()),
            level: "TRACE",
            expected: refused(
                "ValidationException",
                "State type 'Pass' is not supported when a mock is specified",
            ),
        },
    ]);
    check(cases).await;
}

/// The retry recordings run their own JSONata Task (templates/test_state/statemachines/
/// base_task_state_retry.json5). The Map recording's Map is a Distributed Map over JSONata, which
/// the local cloud does not run; its JSONPath twin stands in, as what is asserted (status, error)
/// does not depend on the query language or the processor mode.
#[tokio::test]
async fn mocked_errors_go_through_retry_as_aws_reports_them() {
    let retry_task = base_task_state_retry();
    let input = json!({"Values": ["first", "second", "third"]});
    let retried = |count: u64| TestRequest {
        configuration: StateConfiguration {
            retrier_retry_count: count,
            ..StateConfiguration::default()
        },
        ..error_mock("MockException", "Mock the cause of the error.")
    };
    // A JSONata Task reports afterArguments, not afterInputPath/afterParameters.
    let inspection = |details: Value| {
        json!({
            "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
            "errorDetails": details,
            "input": input
        })
    };
    let mut caused_by = error_mock("MockException", "Mock the cause of the error.");
    caused_by.configuration.error_caused_by_state = Some("TestState".into());
    let mut cases = Vec::new();
    for level in ["DEBUG", "TRACE"] {
        cases.extend([
        Case {
            key: "test_state_configuration.snapshot.json::test_state_configuration_retrier_retry_count[DEBUG|TRACE] below_tolerated_retry_count_with_backoff",
            definition: retry_task.clone(),
            state_name: None,
            input: input.clone(),
            request: retried(4),
            level,
            expected: Ok(json!({
                "cause": "Mock the cause of the error.",
                "error": "MockException",
                "inspectionData": inspection(json!({"retryBackoffIntervalSeconds": 16, "retryIndex": 0})),
                "status": "RETRIABLE"
            })),
        },
        Case {
            key: "test_state_configuration.snapshot.json::test_state_configuration_retrier_retry_count[DEBUG|TRACE] exceeds_tolerated_retry_count",
            definition: retry_task.clone(),
            state_name: None,
            input: input.clone(),
            request: retried(5),
            level,
            expected: Ok(json!({
                "cause": "Mock the cause of the error.",
                "error": "MockException",
                "inspectionData": inspection(json!({"retryIndex": 0})),
                "status": "FAILED"
            })),
        },
        ]);
    }
    cases.push(Case {
        key: "test_state_configuration.snapshot.json::test_map_state_error_caused_by_state[INFO]",
        definition: jsonpath_map(),
        state_name: None,
        input: json!({"Values": [1, 1, 1]}),
        request: caused_by,
        level: "INFO",
        expected: Ok(json!({"cause": "Mock the cause of the error.", "error": "MockException", "status": "FAILED"})),
    });
    check(cases).await;
}

/// JSONata states, with the recordings' own definitions: a mocked JSONata Parallel shows only its
/// input (its Arguments are evaluated but not reported), a JSONata Pass or Fail picked by
/// `stateName` only its input.
#[tokio::test]
async fn jsonata_states_report_what_aws_reports() {
    let parallel_input = json!({"parallelInput": {"data": "input_value"}});
    let branch_results = json!([{"branch1": "result"}, {"branch2": "result"}]);
    let parallel_output = json!({"parallelInput": {"data": "input_value"}, "parallelResult": branch_results});
    let hello = json!({"Value": "HelloWorld"});
    let some_failure = |level: &str| {
        let mut answer = json!({
            "cause": "This state machines raises a 'SomeFailure' failure.",
            "error": "SomeFailure",
            "status": "FAILED"
        });
        if level != "INFO" {
            answer["inspectionData"] = json!({"input": {"Value": "HelloWorld"}});
        }
        Ok(answer)
    };
    let mut cases = Vec::new();
    for level in ["INFO", "DEBUG", "TRACE"] {
        let with_input = |mut answer: Value, input: &Value| {
            if level != "INFO" {
                answer["inspectionData"] = json!({"input": input});
            }
            Ok(answer)
        };
        cases.extend([
            Case {
                key: "test_test_state_mock_scenarios.snapshot.json::test_io_jsonata_parallel_state_mock_success[INFO|DEBUG|TRACE]",
                definition: io_jsonata_parallel_state(),
                state_name: None,
                input: parallel_input.clone(),
                request: result_mock(&branch_results),
                level,
                expected: with_input(json!({"output": parallel_output, "status": "SUCCEEDED"}), &parallel_input),
            },
            Case {
                key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name[INFO|DEBUG|TRACE-BASE_FAIL_STATE_MACHINE]",
                definition: base_fail_state_machine(),
                state_name: Some("State0"),
                input: hello.clone(),
                request: TestRequest::default(),
                level,
                expected: some_failure(level),
            },
            Case {
                key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name_multi_state[INFO|DEBUG|TRACE-State0]",
                definition: base_multi_state_machine(),
                state_name: Some("State0"),
                input: hello.clone(),
                request: TestRequest::default(),
                level,
                expected: with_input(json!({"nextState": "State1", "output": hello, "status": "SUCCEEDED"}), &hello),
            },
            Case {
                key: "test_test_state_machine_scenarios.snapshot.json::test_base_state_name_multi_state[INFO|DEBUG|TRACE-State1]",
                definition: base_multi_state_machine(),
                state_name: Some("State1"),
                input: hello.clone(),
                request: TestRequest::default(),
                level,
                expected: some_failure(level),
            },
        ]);
    }
    check(cases).await;
}

/// test_test_state_scenarios.snapshot.json::test_state_task_catch_error[INFO|DEBUG|TRACE]: a JSONata
/// catcher's `Output: {% $states %}` is the state's input, its context object and the error
/// output; the context's run-specific values (ARNs, dates) are not compared, its shape and the
/// state's name and retry count are.
#[tokio::test]
async fn a_jsonata_catcher_outputs_states_as_aws_does() {
    let hello = json!({"Value": "HelloWorld"});
    for level in ["INFO", "DEBUG", "TRACE"] {
        for (error, cause, next, index, subcase) in [
            (
                "MockException",
                "Mock the cause of the error.",
                "HandleMockError",
                0,
                "test_catch_mock_exception_response",
            ),
            (
                "States.TaskFailed",
                "The task failed.",
                "HandleThreshold",
                1,
                "catch_task_failed_response",
            ),
        ] {
            let key =
                format!("test_test_state_scenarios.snapshot.json::test_state_task_catch_error[{level}] {subcase}");
            let got = call(
                &base_task_state_catch(),
                None,
                hello.clone(),
                &error_mock(error, cause),
                level,
            )
            .await;
            let Ok(mut got) = got else {
                panic!("{key}: {got:?}");
            };
            let context = got["output"]
                .as_object_mut()
                .and_then(|o| o.remove("context"))
                .unwrap_or_default();
            let keys = |section: &str| {
                let mut names: Vec<&str> = context[section]
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                names.sort_unstable();
                names
            };
            assert_eq!(
                keys("Execution"),
                ["Id", "Input", "Name", "RoleArn", "StartTime"],
                "{key}: {context}"
            );
            assert_eq!(keys("StateMachine"), ["Id", "Name"], "{key}: {context}");
            assert_eq!(keys("State"), ["EnteredTime", "Name", "RetryCount"], "{key}: {context}");
            assert_eq!(context["State"]["Name"], "StateName", "{key}");
            assert_eq!(context["State"]["RetryCount"], 0, "{key}");
            assert_eq!(context["Execution"]["Input"], hello, "{key}");
            let mut expected = json!({
                "cause": cause,
                "error": error,
                "nextState": next,
                "output": {"input": hello, "errorOutput": {"Error": error, "Cause": cause}},
                "status": "CAUGHT_ERROR"
            });
            if level != "INFO" {
                expected["inspectionData"] = json!({
                    "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                    "errorDetails": {"catchIndex": index},
                    "input": hello
                });
            }
            assert_eq!(got, expected, "{key}");
        }
    }
}

#[tokio::test]
async fn a_pass_state_at_debug_reports_what_aws_reports() {
    let snapshot = "test_test_state_scenarios.snapshot.json::test_base_inspection_level_debug";
    let base_input = json!({"Value": "HelloWorld"});
    let io_input = json!({"initialData": {"fieldFromInput": "value from input", "otherField": "other"},
                          "unrelatedData": {"someOtherField": 1234}});
    let io_parameters = json!({"staticValue": "some value", "inputValue.$": "$.fieldFromInput"});
    let io_state = |result: Option<Value>| {
        let mut state = json!({"Type": "Pass", "InputPath": "$.initialData", "Parameters": io_parameters,
                               "ResultPath": "$.modifiedData", "End": true});
        if let Some(result) = result {
            state["Result"] = result;
        }
        state
    };
    let result = json!({"resultKey": "result value"});
    let parameters = json!({"staticValue": "some value", "inputValue": "value from input"});
    let with = |input: &Value, key: &str, value: &Value| {
        let mut out = input.clone();
        out[key] = value.clone();
        out
    };
    // (template, definition, input, inspection data; output = afterResultPath)
    let cases = [
        (
            "BASE_PASS_STATE",
            base_pass_state(),
            base_input.clone(),
            json!({
            "input": base_input, "afterInputPath": base_input, "afterParameters": base_input,
            "afterResultSelector": base_input, "afterResultPath": base_input}),
        ),
        (
            "BASE_RESULT_PASS_STATE",
            json!({"Type": "Pass", "Result": result, "End": true}),
            base_input.clone(),
            json!({
            "input": base_input, "result": result, "afterResultSelector": result, "afterResultPath": result}),
        ),
        (
            "IO_PASS_STATE",
            io_state(None),
            io_input.clone(),
            json!({
            "input": io_input, "afterInputPath": io_input["initialData"], "afterParameters": parameters,
            "afterResultSelector": parameters, "afterResultPath": with(&io_input, "modifiedData", &parameters)}),
        ),
        (
            "IO_RESULT_PASS_STATE",
            io_state(Some(result.clone())),
            io_input.clone(),
            json!({
            "input": io_input, "result": result, "afterResultSelector": result,
            "afterResultPath": with(&io_input, "modifiedData", &result)}),
        ),
    ];
    let cases = cases
        .into_iter()
        .map(|(template, definition, input, inspection)| Case {
            key: Box::leak(format!("{snapshot}[{template}]").into_boxed_str()),
            definition,
            state_name: None,
            input,
            request: TestRequest::default(),
            level: "DEBUG",
            expected: Ok(json!({"output": inspection["afterResultPath"], "status": "SUCCEEDED",
                                "inspectionData": inspection})),
        })
        .collect();
    check(cases).await;
}
