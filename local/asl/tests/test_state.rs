//! TestState: one state, one attempt, the data after each processing step, and Retry/Catch
//! reported as RETRIABLE / CAUGHT_ERROR instead of being acted on.

mod common;
// The recordings-driven cases (tests/aws/services/stepfunctions/v2/test_state/*.snapshot.json).
#[path = "test_state/recordings.rs"]
mod recordings;

use common::{compute, Reply, ScriptedInvoker, STATE_MACHINE_ARN};
use serde_json::{json, Value};
use zb_asl::{
    test_state, ErrorDetails, InspectionLevel, StateMachine, TestOptions, TestRequest, TestStateError, TestStatus,
    TestTarget,
};

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:Price";

fn machine() -> StateMachine {
    let definition = json!({
        "StartAt": "Price",
        "States": {
            "Price": {
                "Type": "Task",
                "Resource": FN,
                "InputPath": "$.order",
                "Parameters": {"sku.$": "$.sku", "qty.$": "$.quantity"},
                "ResultSelector": {"total.$": "$.total"},
                "ResultPath": "$.priced",
                "OutputPath": "$.priced",
                "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 3}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}],
                "Next": "Route"
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Big"}],
                "Default": "Small"
            },
            "Big": {"Type": "Pass", "Result": {"size": "big"}, "ResultPath": "$.class", "End": true},
            "Small": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"}
        }
    });
    StateMachine::parse(&definition.to_string()).expect("valid machine")
}

fn price() -> Reply {
    compute(|input| {
        let qty = input["qty"].as_u64().unwrap_or(0);
        Ok(json!({"total": qty * 50, "currency": "EUR"}))
    })
}

async fn run(state: &str, input: Value, invoker: &ScriptedInvoker, retries: u64) -> zb_asl::TestStateResult {
    let target = TestTarget::in_machine(&machine(), state).expect("state exists");
    let mut options = TestOptions::new(STATE_MACHINE_ARN);
    options.retries_so_far = retries;
    test_state(&target, input, invoker, &options).await
}

#[tokio::test]
async fn a_task_reports_every_processing_step_and_its_next_state() {
    let invoker = ScriptedInvoker::new().otherwise("Price", price());
    let input = json!({"order": {"sku": "S1", "quantity": 3}, "other": true});
    let result = run("Price", input.clone(), &invoker, 0).await;

    assert_eq!(result.status, TestStatus::Succeeded);
    assert_eq!(result.next_state.as_deref(), Some("Route"));
    assert_eq!(result.output, Some(json!({"total": 150})));
    let data = &result.inspection;
    assert_eq!(data.input, Some(input));
    assert_eq!(data.after_input_path, Some(json!({"sku": "S1", "quantity": 3})));
    assert_eq!(data.after_parameters, Some(json!({"sku": "S1", "qty": 3})));
    assert_eq!(data.result, Some(json!({"total": 150, "currency": "EUR"})));
    assert_eq!(data.after_result_selector, Some(json!({"total": 150})));
    assert_eq!(
        data.after_result_path,
        Some(json!({"order": {"sku": "S1", "quantity": 3}, "other": true, "priced": {"total": 150}}))
    );
    // The real function ran once, with the data after Parameters.
    assert_eq!(invoker.calls_to("Price"), vec![json!({"sku": "S1", "qty": 3})]);

    let wire = result.to_json(InspectionLevel::Debug);
    assert_eq!(wire["status"], "SUCCEEDED");
    assert_eq!(wire["output"], json!(r#"{"total":150}"#));
    // Compared as JSON: key order follows the JSON map the crate is built with.
    let after_parameters = wire["inspectionData"]["afterParameters"]
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    assert_eq!(after_parameters, Some(json!({"qty": 3, "sku": "S1"})));
    assert!(result.to_json(InspectionLevel::Info).get("inspectionData").is_none());
}

#[tokio::test]
async fn the_failing_step_is_the_last_one_reported() {
    let invoker = ScriptedInvoker::new().otherwise("Price", price());
    // No "quantity": Parameters cannot be filled, so the function is never called.
    let result = run("Price", json!({"order": {"sku": "S1"}}), &invoker, 0).await;
    assert_eq!(result.status, TestStatus::Failed, "{result:?}");
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    let cause = result.cause.unwrap_or_default();
    assert!(cause.contains("'$.quantity'") && cause.contains("qty.$"), "{cause}");
    assert_eq!(result.inspection.after_input_path, Some(json!({"sku": "S1"})));
    assert_eq!(result.inspection.after_parameters, None);
    assert!(invoker.calls().is_empty());
}

#[tokio::test]
async fn a_matching_retrier_with_attempts_left_is_retriable() {
    let invoker = ScriptedInvoker::new().otherwise("Price", Reply::Fail("Busy", "try later"));
    let input = json!({"order": {"sku": "S1", "quantity": 1}});
    let result = run("Price", input.clone(), &invoker, 1).await;
    assert_eq!(result.status, TestStatus::Retriable);
    // AWS gives a RETRIABLE answer no nextState
    // (test_state_configuration.snapshot.json::test_map_state_failure_count[INFO-BASE_MAP_STATE_RETRY]).
    assert_eq!(result.next_state, None);
    assert_eq!(result.error.as_deref(), Some("Busy"));
    assert_eq!(
        result.inspection.error_details,
        Some(ErrorDetails {
            retry_index: Some(0),
            // IntervalSeconds 2 x BackoffRate 3 for the second retry.
            retry_backoff_interval_seconds: Some(6),
            catch_index: None,
        })
    );

    // With the retrier's attempts used up, the catcher takes the error.
    let caught = run("Price", input, &invoker, 2).await;
    assert_eq!(caught.status, TestStatus::CaughtError);
    assert_eq!(caught.next_state.as_deref(), Some("Failed"));
    assert_eq!(caught.error.as_deref(), Some("Busy"));
    assert_eq!(
        caught.output,
        Some(json!({"order": {"sku": "S1", "quantity": 1}, "failure": {"Error": "Busy", "Cause": "try later"}}))
    );
    assert_eq!(
        caught.inspection.error_details.as_ref().and_then(|d| d.catch_index),
        Some(0)
    );
    let wire = caught.to_json(InspectionLevel::Trace);
    assert_eq!(wire["status"], "CAUGHT_ERROR");
    assert_eq!(wire["inspectionData"]["errorDetails"]["catchIndex"], 0);
}

#[tokio::test]
async fn choice_pass_and_fail_states_answer_without_functions() {
    let invoker = ScriptedInvoker::new();
    let big = run("Route", json!({"total": 150}), &invoker, 0).await;
    assert_eq!(
        (big.status, big.next_state.as_deref()),
        (TestStatus::Succeeded, Some("Big"))
    );
    let small = run("Route", json!({"total": 5}), &invoker, 0).await;
    assert_eq!(small.next_state.as_deref(), Some("Small"));

    let pass = run("Big", json!({"total": 150}), &invoker, 0).await;
    assert_eq!(pass.output, Some(json!({"total": 150, "class": {"size": "big"}})));
    assert_eq!(pass.inspection.result, Some(json!({"size": "big"})));
    assert_eq!(pass.next_state, None);

    let fail = run(
        "Failed",
        json!({"failure": {"Error": "E", "Cause": "because"}}),
        &invoker,
        0,
    )
    .await;
    assert_eq!(fail.status, TestStatus::Failed);
    assert_eq!(
        (fail.error.as_deref(), fail.cause.as_deref()),
        (Some("E"), Some("because"))
    );
    assert!(invoker.calls().is_empty());
}

#[tokio::test]
async fn a_lone_state_definition_runs_without_a_machine() {
    let target = TestTarget::lone_state(
        &json!({"Type": "Pass", "Parameters": {"id.$": "States.Format('F-{}', $.n)"}, "Next": "Elsewhere"}).to_string(),
    )
    .expect("a valid state");
    let result = test_state(
        &target,
        json!({"n": 7}),
        &ScriptedInvoker::new(),
        &TestOptions::new(STATE_MACHINE_ARN),
    )
    .await;
    assert_eq!(result.output, Some(json!({"id": "F-7"})));
    assert_eq!(result.next_state.as_deref(), Some("Elsewhere"));
}

#[test]
fn unknown_states_are_refused_and_fan_outs_need_a_mock() {
    let err = TestTarget::in_machine(&machine(), "Nope").unwrap_err();
    assert!(
        matches!(&err, TestStateError::NoSuchState { available, .. } if available.contains(&"Price".to_owned())),
        "{err}"
    );
    let map =
        json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true});
    let target = TestTarget::lone_state(&map.to_string()).expect("a Map parses");
    let err = TestRequest::default()
        .options_for(&target, STATE_MACHINE_ARN)
        .unwrap_err();
    assert!(matches!(err, TestStateError::NotTestable { kind: "Map", .. }), "{err}");
    let bad = TestTarget::lone_state(
        &json!({"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": true}).to_string(),
    )
    .unwrap_err();
    assert!(
        bad.to_string().contains("unknown intrinsic function States.Nope"),
        "{bad}"
    );
}

/// Runs a lone JSONata state with the given variables (TestState `variables`) and mock.
async fn jsonata(state: Value, input: Value, variables: Value, mock: Option<Value>) -> zb_asl::TestStateResult {
    let mut state = state;
    state["QueryLanguage"] = json!("JSONata");
    let target = TestTarget::lone_state(&state.to_string()).expect("a JSONata state parses");
    let request = TestRequest {
        variables: Some(variables.to_string()),
        mock: mock.map(|m| zb_asl::MockRequest {
            result: Some(m.to_string()),
            ..zb_asl::MockRequest::default()
        }),
        ..TestRequest::default()
    };
    let options = request.options_for(&target, STATE_MACHINE_ARN).expect("request fits");
    test_state(&target, input, &ScriptedInvoker::new(), &options).await
}

// JSONata states ("Transforming data with JSONata in Step Functions"): Output and Assign over
// $states.input / $states.result, the request's variables visible as $name, and the variables
// after the state reported (AWS API reference, TestState `variables`, InspectionData.variables).
// A Wait reports its output without waiting; a mocked Map checks its Items but reports no
// afterItemsPath (InspectionData: "Not populated when the QueryLanguage is JSONata").
#[tokio::test]
async fn jsonata_states_run_with_variables_assign_and_output() {
    let pass = jsonata(
        json!({"Type": "Pass", "Assign": {"seen": "{% $states.input.n %}"},
               "Output": {"n": "{% $states.input.n + $step %}"}, "Next": "After"}),
        json!({"n": 1}),
        json!({"step": 10}),
        None,
    )
    .await;
    assert_eq!(pass.status, TestStatus::Succeeded);
    assert_eq!(pass.output, Some(json!({"n": 11})));
    assert_eq!(pass.next_state.as_deref(), Some("After"));
    assert_eq!(pass.inspection.variables, Some(json!({"step": 10, "seen": 1})));
    assert_eq!(pass.inspection.after_input_path, None);

    let choice = jsonata(
        json!({"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n > $limit %}", "Next": "Big",
               "Assign": {"size": "big"}}], "Default": "Small"}),
        json!({"n": 5}),
        json!({"limit": 3}),
        None,
    )
    .await;
    assert_eq!(choice.next_state.as_deref(), Some("Big"));
    assert_eq!(choice.inspection.variables, Some(json!({"limit": 3, "size": "big"})));

    let wait = jsonata(
        json!({"Type": "Wait", "Seconds": "{% $states.input.s %}", "Output": "{% $states.input.s %}", "End": true}),
        json!({"s": 3600}),
        json!({}),
        None,
    )
    .await;
    assert_eq!((wait.status, wait.output), (TestStatus::Succeeded, Some(json!(3600))));
    assert_eq!(wait.inspection.variables, None);

    let succeed = jsonata(
        json!({"Type": "Succeed", "Output": "{% $x %}"}),
        json!({}),
        json!({"x": [1]}),
        None,
    )
    .await;
    assert_eq!(succeed.output, Some(json!([1])));

    let fail = jsonata(
        json!({"Type": "Fail", "Error": "{% $code %}", "Cause": "{% $states.input.why %}"}),
        json!({"why": "because"}),
        json!({"code": "E1"}),
        None,
    )
    .await;
    assert_eq!(
        (fail.status, fail.error.as_deref(), fail.cause.as_deref()),
        (TestStatus::Failed, Some("E1"), Some("because"))
    );

    let processor = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let map = jsonata(
        json!({"Type": "Map", "Items": "{% $states.input.items %}", "ItemProcessor": processor,
               "Assign": {"count": "{% $count($states.result) %}"}, "Output": "{% $states.result %}", "End": true}),
        json!({"items": [1, 2]}),
        json!({}),
        Some(json!([10, 20])),
    )
    .await;
    assert_eq!(map.output, Some(json!([10, 20])));
    assert_eq!(map.inspection.after_items_path, None);
    assert_eq!(map.inspection.max_concurrency, Some(0));
    assert_eq!(map.inspection.variables, Some(json!({"count": 2})));

    // A failed state assigns nothing: the variables are the given ones.
    let task = jsonata(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Price",
               "Arguments": {"sku": "{% $states.input.sku %}"}, "Assign": {"x": "{% $states.result.nope.deeper %}"},
               "End": true}),
        json!({"sku": "S1"}),
        json!({"given": true}),
        Some(json!({"total": 1})),
    )
    .await;
    assert_eq!(task.inspection.after_arguments, Some(json!({"sku": "S1"})));
    assert_eq!(task.inspection.result, Some(json!({"total": 1})));
    assert_eq!(task.status, TestStatus::Failed, "{:?}", task.error);
    assert_eq!(task.inspection.variables, Some(json!({"given": true})));
}
