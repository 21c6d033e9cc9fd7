//! TestState: one state, one attempt, the data after each processing step, and Retry/Catch
//! reported as RETRIABLE / CAUGHT_ERROR instead of being acted on.

mod common;

use common::{compute, Reply, ScriptedInvoker, STATE_MACHINE_ARN};
use serde_json::{json, Value};
use zb_asl::{
    test_state, ErrorDetails, InspectionLevel, StateMachine, TestOptions, TestStateError, TestStatus, TestTarget,
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
    assert_eq!(
        wire["inspectionData"]["afterParameters"],
        json!(r#"{"qty":3,"sku":"S1"}"#)
    );
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
    assert_eq!(result.next_state.as_deref(), Some("Price"));
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
fn unknown_states_and_fan_outs_are_refused_with_a_reason() {
    let err = TestTarget::in_machine(&machine(), "Nope").unwrap_err();
    assert!(
        err.to_string().contains("no state named 'Nope'") && err.to_string().contains("Price"),
        "{err}"
    );
    let map =
        json!({"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true});
    let err = TestTarget::lone_state(&map.to_string()).unwrap_err();
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
