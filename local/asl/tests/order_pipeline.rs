//! The repository's real state machine (statemachines/order-pipeline.asl.json), with its
//! ${...FunctionArn} placeholders replaced by fake Lambda ARNs, run against scripted functions.

mod common;

use common::{compute, entered, output, run_machine, substitute, types, Reply, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::{HistoryEvent, Outcome, StateMachine, TaskFailure};

const DEFINITION: &str = include_str!("../../../statemachines/order-pipeline.asl.json");

fn machine() -> StateMachine {
    let definition = substitute(DEFINITION);
    assert!(!definition.contains("${"), "a placeholder was left");
    StateMachine::parse(&definition).unwrap_or_else(|e| panic!("the order pipeline was refused: {e}"))
}

fn feed() -> Value {
    json!({
        "feedId": "feed-123",
        "partnerId": "acme",
        "format": "acme-csv-v1",
        "receivedAt": "2026-05-01T10:00:00Z",
        "requestId": "req-1",
        "correlationId": "corr-1"
    })
}

/// Scripted pipeline functions: each adds its mark to the payload it receives.
fn pipeline(rejected: u64) -> ScriptedInvoker {
    let mark = |key: &'static str, value: Value| {
        compute(move |input| {
            let mut output = input.clone();
            output[key] = value.clone();
            Ok(output)
        })
    };
    ScriptedInvoker::new()
        .otherwise("zb-validate", mark("validRecords", json!(5)))
        .otherwise("zb-transform", mark("orders", json!([{"orderId": "o-1"}])))
        .otherwise("zb-persist", mark("rejectedCount", json!(rejected)))
        .otherwise("zb-recorderror", mark("recorded", json!(true)))
}

async fn execute(invoker: &ScriptedInvoker) -> (Outcome, Vec<HistoryEvent>) {
    run_machine(&machine(), feed(), invoker, common::options(0.001)).await
}

#[tokio::test]
async fn all_steps_succeed_without_rejections() {
    let invoker = pipeline(0);
    let (outcome, history) = execute(&invoker).await;
    assert_eq!(
        entered(&history),
        ["Validate", "Transform", "Persist", "HasRejections", "Done"]
    );
    let out = output(&outcome);
    assert_eq!(out["feedId"], "feed-123");
    assert_eq!(out["rejectedCount"], 0);
    assert_eq!(out["orders"], json!([{"orderId": "o-1"}]));
    // Payload.$: "$" hands each function the previous function's output (OutputPath $.Payload).
    assert_eq!(invoker.calls_to("zb-validate"), vec![feed()]);
    assert_eq!(invoker.calls_to("zb-transform")[0]["validRecords"], 5);
    assert!(invoker.calls_to("zb-recorderror").is_empty());
    let scheduled = history.iter().find(|e| e.r#type == "TaskScheduled").unwrap();
    // 16 s: 5 tasks on the longest path x 3 tries stay inside the 290 s execution timeout.
    assert_eq!(scheduled.details["timeoutInSeconds"], 16);
    assert_eq!(*types(&history).last().unwrap(), "ExecutionSucceeded");
}

#[tokio::test]
async fn rejections_are_recorded() {
    let invoker = pipeline(2);
    let (outcome, history) = execute(&invoker).await;
    assert_eq!(
        entered(&history),
        [
            "Validate",
            "Transform",
            "Persist",
            "HasRejections",
            "RecordErrors",
            "AfterRecordErrors",
            "Done"
        ]
    );
    let recorded = invoker.calls_to("zb-recorderror");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["rejectedCount"], 2);
    assert!(recorded[0].get("failure").is_none());
    assert_eq!(output(&outcome)["recorded"], true);
}

#[tokio::test]
async fn transient_validation_errors_are_retried() {
    let invoker = pipeline(0).then(
        "zb-validate",
        [
            Reply::Fail(
                "TransientDependencyError",
                "{\"errorMessage\":\"feed bucket unavailable\"}",
            ),
            Reply::Fail(
                "TransientDependencyError",
                "{\"errorMessage\":\"feed bucket unavailable\"}",
            ),
        ],
    );
    let (outcome, history) = execute(&invoker).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    assert_eq!(invoker.calls_to("zb-validate").len(), 3);
    assert_eq!(
        entered(&history),
        ["Validate", "Transform", "Persist", "HasRejections", "Done"]
    );

    // The retries are in the history: within the one Validate state, three scheduled attempts,
    // two failures with the function's error type, then success.
    let validate_events: Vec<&HistoryEvent> = history
        .iter()
        .skip_while(|e| e.r#type != "TaskStateEntered")
        .take_while(|e| e.r#type != "TaskStateExited")
        .collect();
    let kinds: Vec<&str> = validate_events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded"
        ]
    );
    for failed in validate_events.iter().filter(|e| e.r#type == "TaskFailed") {
        assert_eq!(failed.details["error"], "TransientDependencyError");
        assert_eq!(failed.details["resourceType"], "lambda");
        assert_eq!(failed.details["resource"], "invoke");
    }
}

#[tokio::test]
async fn non_transient_transform_failure_is_caught_recorded_and_fails_the_feed() {
    let invoker = pipeline(0).otherwise(
        "zb-transform",
        compute(|_| {
            Err(TaskFailure::new(
                "MappingError",
                "{\"errorMessage\":\"unknown currency XXX\",\"errorType\":\"MappingError\"}",
            ))
        }),
    );
    let (outcome, history) = execute(&invoker).await;

    // Not transient: no retry.
    assert_eq!(invoker.calls_to("zb-transform").len(), 1);
    assert_eq!(
        entered(&history),
        [
            "Validate",
            "Transform",
            "RecordErrors",
            "AfterRecordErrors",
            "FeedFailed"
        ]
    );

    let recorded = invoker.calls_to("zb-recorderror");
    assert_eq!(recorded.len(), 1);
    // RecordErrors gets Transform's input with the error output at $.failure.
    assert_eq!(recorded[0]["feedId"], "feed-123");
    assert_eq!(recorded[0]["validRecords"], 5);
    assert_eq!(
        recorded[0]["failure"],
        json!({"Error": "MappingError", "Cause": "{\"errorMessage\":\"unknown currency XXX\",\"errorType\":\"MappingError\"}"})
    );

    let Outcome::Failed {
        error: Some(error),
        cause: Some(cause),
    } = outcome
    else {
        panic!("expected a failed execution")
    };
    assert_eq!(error, "FeedFailed");
    assert!(cause.starts_with("The order pipeline failed for this feed"), "{cause}");
    let last = history.last().unwrap();
    assert_eq!(last.r#type, "ExecutionFailed");
    assert_eq!(last.details["error"], "FeedFailed");
}

#[tokio::test]
async fn a_failing_record_errors_is_caught_and_the_feed_is_marked_failed() {
    // RecordErrors fails with an error no Retry matches: its Catch hands
    // the input plus $.recordFailure to MarkFeedFailed (the same function),
    // and the execution ends in FeedFailed rather than failing uncaught.
    let invoker = pipeline(2).then(
        "zb-recorderror",
        [Reply::Fail(
            "StoreError",
            "{\"errorMessage\":\"Item size has exceeded the maximum allowed size\",\"errorType\":\"StoreError\"}",
        )],
    );
    let (outcome, history) = execute(&invoker).await;
    assert_eq!(
        entered(&history),
        [
            "Validate",
            "Transform",
            "Persist",
            "HasRejections",
            "RecordErrors",
            "MarkFeedFailed",
            "FeedFailed"
        ]
    );
    let calls = invoker.calls_to("zb-recorderror");
    assert_eq!(calls.len(), 2, "RecordErrors once, then MarkFeedFailed");
    assert_eq!(calls[1]["recordFailure"]["Error"], "StoreError");
    assert_eq!(calls[1]["rejectedCount"], 2, "MarkFeedFailed gets RecordErrors' input");
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
}
