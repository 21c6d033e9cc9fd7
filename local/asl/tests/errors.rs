//! Retry, Catch, timeouts and failure propagation.

mod common;

use common::{entered, output, run, run_machine, types, Reply, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::{Outcome, StateMachine};

const WORK_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:Work";

/// Task X (then Succeed Y) with the given Retry and Catch; catchers may go to Pass states Z and Z2.
fn task_with(retry: Value, catch: Value) -> String {
    let mut definition = json!({
        "StartAt": "X",
        "States": {
            "X": {"Type": "Task", "Resource": WORK_ARN, "Retry": retry, "Catch": catch, "Next": "Y"},
            "Y": {"Type": "Succeed"}
        }
    });
    // Only add the targets the catchers name: AWS refuses unreachable states.
    for target in ["Z", "Z2"] {
        if catch.as_array().into_iter().flatten().any(|c| c["Next"] == target) {
            definition["States"][target] = json!({"Type": "Pass", "End": true});
        }
    }
    definition.to_string()
}

fn failures(errors: &[&'static str]) -> Vec<Reply> {
    errors.iter().map(|e| Reply::Fail(e, "scripted")).collect()
}

// Spec, "Complex retry scenarios": ErrorA, ErrorB, ErrorC, ErrorB -> the fourth error finds the
// first retrier exhausted (MaxAttempts 2) and goes to Catch, even though retries remain elsewhere.
#[tokio::test]
async fn spec_complex_retry_scenario() {
    let definition = task_with(
        json!([
            {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2},
            {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}
        ]),
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]),
    );
    let invoker = ScriptedInvoker::new().then("Work", failures(&["ErrorA", "ErrorB", "ErrorC", "ErrorB"]));
    let (outcome, history) = run(&definition, json!({}), &invoker).await;
    assert_eq!(invoker.calls_to("Work").len(), 4);
    assert_eq!(entered(&history), ["X", "Z"]);
    assert_eq!(output(&outcome), &json!({"Error": "ErrorB", "Cause": "scripted"}));
    let failed: Vec<&str> = history
        .iter()
        .filter(|e| e.r#type == "LambdaFunctionFailed")
        .filter_map(|e| e.details["error"].as_str())
        .collect();
    assert_eq!(failed, ["ErrorA", "ErrorB", "ErrorC", "ErrorB"]);
}

// Two retriers, errors alternating: each retrier counts only its own retries.
#[tokio::test]
async fn each_retrier_has_its_own_counter() {
    let retry = json!([
        {"ErrorEquals": ["E1"], "MaxAttempts": 2},
        {"ErrorEquals": ["E2"], "MaxAttempts": 2}
    ]);
    // (errors before success, expected calls, expected outcome error)
    let cases: [(&[&'static str], usize, Option<&str>); 3] = [
        (&["E1", "E2", "E1", "E2"], 5, None),
        (&["E1", "E2", "E1", "E2", "E1"], 5, Some("E1")),
        (&["E2", "E2", "E1", "E2"], 4, Some("E2")),
    ];
    for (errors, calls, error) in cases {
        let invoker = ScriptedInvoker::new()
            .then("Work", failures(errors))
            .otherwise("Work", Reply::Return(json!("ok")));
        let (outcome, history) = run(&task_with(retry.clone(), json!([])), json!({}), &invoker).await;
        assert_eq!(invoker.calls_to("Work").len(), calls, "{errors:?}");
        let scheduled = types(&history)
            .iter()
            .filter(|t| **t == "LambdaFunctionScheduled")
            .count();
        assert_eq!(scheduled, calls, "{errors:?}: each attempt is in the history");
        match error {
            None => assert!(matches!(outcome, Outcome::Succeeded { .. }), "{errors:?}: {outcome:?}"),
            Some(expected) => {
                assert!(
                    matches!(&outcome, Outcome::Failed { error: Some(error), .. } if error == expected),
                    "{errors:?}: {outcome:?}"
                )
            }
        }
    }
}

#[tokio::test]
async fn retrier_defaults_and_max_attempts_zero() {
    // Default MaxAttempts is 3: four calls in all.
    let invoker = ScriptedInvoker::new().otherwise("Work", Reply::Fail("Boom", ""));
    let (outcome, _) = run(
        &task_with(json!([{"ErrorEquals": ["Boom"]}]), json!([])),
        json!({}),
        &invoker,
    )
    .await;
    assert_eq!(invoker.calls_to("Work").len(), 4);
    assert!(matches!(outcome, Outcome::Failed { .. }));

    // MaxAttempts 0 on the first retrier shadows the States.ALL retrier for that error.
    let retry = json!([{"ErrorEquals": ["Boom"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]);
    let invoker = ScriptedInvoker::new().otherwise("Work", Reply::Fail("Boom", ""));
    let (_, _) = run(&task_with(retry, json!([])), json!({}), &invoker).await;
    assert_eq!(invoker.calls_to("Work").len(), 1);
}

// Catch matching: catchers in order, first match wins; States.ALL and States.TaskFailed as wildcards.
#[tokio::test]
async fn catch_matching_rules() {
    // (catchers, reply, expected next state; None = the execution fails)
    let cases: Vec<(Value, Reply, Option<&str>)> = vec![
        (
            json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]),
            Reply::Fail("Custom", ""),
            Some("Z"),
        ),
        (
            json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Z"}]),
            Reply::Fail("Custom", ""),
            Some("Z"),
        ),
        (
            json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Z"}]),
            Reply::Fail("Lambda.Unknown", ""),
            Some("Z"),
        ),
        (
            json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Z"}]),
            Reply::Hang,
            None,
        ),
        (
            json!([{"ErrorEquals": ["States.Timeout"], "Next": "Z"}]),
            Reply::Hang,
            Some("Z"),
        ),
        (
            json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]),
            Reply::Hang,
            Some("Z"),
        ),
        (
            json!([{"ErrorEquals": ["Custom"], "Next": "Z"}, {"ErrorEquals": ["States.ALL"], "Next": "Z2"}]),
            Reply::Fail("Custom", ""),
            Some("Z"),
        ),
        (
            json!([{"ErrorEquals": ["Other"], "Next": "Z"}, {"ErrorEquals": ["States.ALL"], "Next": "Z2"}]),
            Reply::Fail("Custom", ""),
            Some("Z2"),
        ),
        (
            json!([{"ErrorEquals": ["Other", "Custom"], "Next": "Z2"}]),
            Reply::Fail("Custom", ""),
            Some("Z2"),
        ),
        (
            json!([{"ErrorEquals": ["Other"], "Next": "Z"}]),
            Reply::Fail("Custom", ""),
            None,
        ),
        (
            json!([{"ErrorEquals": ["custom"], "Next": "Z"}]),
            Reply::Fail("Custom", ""),
            None,
        ),
    ];
    for (catch, reply, expected) in cases {
        let mut definition: Value = serde_json::from_str(&task_with(json!([]), catch.clone())).unwrap();
        definition["States"]["X"]["TimeoutSeconds"] = json!(1);
        let invoker = ScriptedInvoker::new().otherwise("Work", reply);
        let (outcome, history) = run(&definition.to_string(), json!({}), &invoker).await;
        match expected {
            Some(next) => assert_eq!(entered(&history), ["X", next], "{catch}"),
            None => assert!(matches!(outcome, Outcome::Failed { .. }), "{catch}: {outcome:?}"),
        }
    }
}

// The brief's timeout case: an invoker that never answers, TimeoutSeconds 1, time_scale 0.01.
#[tokio::test]
async fn task_timeout_is_caught_as_states_timeout() {
    for resource in [WORK_ARN, "arn:aws:states:::lambda:invoke"] {
        let mut task = json!({
            "Type": "Task",
            "Resource": resource,
            "TimeoutSeconds": 1,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "Recover"}],
            "End": true
        });
        if resource.ends_with("invoke") {
            task["Parameters"] = json!({"FunctionName": "Work", "Payload.$": "$"});
        }
        let definition = json!({"StartAt": "T", "States": {"T": task, "Recover": {"Type": "Pass", "End": true}}});
        let machine = StateMachine::parse(&definition.to_string()).unwrap();
        let invoker = ScriptedInvoker::new().otherwise("Work", Reply::Hang);
        let (outcome, history) = run_machine(&machine, json!({"k": 1}), &invoker, common::options(0.01)).await;
        let out = output(&outcome);
        assert_eq!(out["k"], 1);
        assert_eq!(out["failure"]["Error"], "States.Timeout");
        let timed_out = if resource.ends_with("invoke") {
            "TaskTimedOut"
        } else {
            "LambdaFunctionTimedOut"
        };
        assert!(
            types(&history).contains(&timed_out),
            "{resource}: {:?}",
            types(&history)
        );
    }
}

#[tokio::test]
async fn timeout_seconds_path_and_retry_after_timeout() {
    let definition = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": WORK_ARN,
                "TimeoutSecondsPath": "$.budget",
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}],
                "End": true
            }
        }
    });
    let invoker = ScriptedInvoker::new()
        .then("Work", [Reply::Hang])
        .otherwise("Work", Reply::Return(json!("done")));
    let (outcome, history) = run(&definition.to_string(), json!({"budget": 2}), &invoker).await;
    assert_eq!(output(&outcome), &json!("done"));
    assert_eq!(invoker.calls_to("Work").len(), 2);
    let scheduled = history.iter().find(|e| e.r#type == "LambdaFunctionScheduled").unwrap();
    assert_eq!(scheduled.details["timeoutInSeconds"], 2);
}

#[tokio::test]
async fn parallel_branch_failure_fails_the_parallel_and_aborts_siblings() {
    let definition = |catch: Value| {
        let mut definition = json!({
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Bad", "End": true}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Slow", "End": true}}}
                    ],
                    "Catch": catch,
                    "Next": "Done"
                },
                "Done": {"Type": "Succeed"}
            }
        });
        if !catch.as_array().is_some_and(Vec::is_empty) {
            definition["States"]["Recover"] = json!({"Type": "Pass", "End": true});
        }
        definition.to_string()
    };
    let invoker = || {
        ScriptedInvoker::new()
            .otherwise("Bad", Reply::Fail("BranchError", "it broke"))
            .otherwise("Slow", Reply::Hang)
    };

    let (outcome, history) = run(&definition(json!([])), json!({}), &invoker()).await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            error: Some("BranchError".to_owned()),
            cause: Some("it broke".to_owned())
        }
    );
    let kinds = types(&history);
    for expected in [
        "ParallelStateStarted",
        "LambdaFunctionFailed",
        "TaskStateAborted",
        "ParallelStateFailed",
    ] {
        assert!(kinds.contains(&expected), "missing {expected}: {kinds:?}");
    }
    assert!(!kinds.contains(&"ParallelStateExited"));
    assert_eq!(*kinds.last().unwrap(), "ExecutionFailed");

    let catch = json!([{"ErrorEquals": ["BranchError"], "ResultPath": "$.err", "Next": "Recover"}]);
    let (outcome, history) = run(&definition(catch), json!({"in": 1}), &invoker()).await;
    assert_eq!(
        output(&outcome),
        &json!({"in": 1, "err": {"Error": "BranchError", "Cause": "it broke"}})
    );
    assert_eq!(entered(&history).last(), Some(&"Recover"));
}

// Spec, Parallel "FunWithMath": [3, 2] -> [5, 1].
#[tokio::test]
async fn spec_parallel_fun_with_math() {
    let definition = json!({
        "StartAt": "FunWithMath",
        "States": {
            "FunWithMath": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Add", "States": {"Add": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Add", "End": true}}},
                    {"StartAt": "Subtract", "States": {"Subtract": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Subtract", "End": true}}}
                ],
                "End": true
            }
        }
    });
    let pair = |v: &Value| (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
    let invoker = ScriptedInvoker::new()
        .otherwise("Add", common::compute(move |v| Ok(json!(pair(v).0 + pair(v).1))))
        .otherwise("Subtract", common::compute(move |v| Ok(json!(pair(v).0 - pair(v).1))));
    let (outcome, history) = run(&definition.to_string(), json!([3, 2]), &invoker).await;
    assert_eq!(output(&outcome), &json!([5, 1]));
    let kinds = types(&history);
    let position = |t: &str| kinds.iter().position(|k| *k == t).unwrap();
    assert!(position("ParallelStateStarted") < position("ParallelStateSucceeded"));
    assert!(position("ParallelStateSucceeded") < position("ParallelStateExited"));
}

#[tokio::test]
async fn retry_reruns_a_whole_parallel_state() {
    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:A", "End": true}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": true}}}
                ],
                "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1}],
                "End": true
            }
        }
    });
    let invoker = ScriptedInvoker::new()
        .then("A", [Reply::Fail("Flaky", "")])
        .otherwise("A", Reply::Return(json!("a")));
    let (outcome, history) = run(&definition.to_string(), json!({}), &invoker).await;
    assert_eq!(output(&outcome), &json!(["a", "b"]));
    assert_eq!(
        types(&history).iter().filter(|t| **t == "ParallelStateStarted").count(),
        2
    );
}

#[tokio::test]
async fn fail_state_error_and_cause() {
    let some = |text: &str| Some(text.to_owned());
    let cases = [
        (
            json!({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}),
            json!({}),
            some("ErrorA"),
            some("Kaiju attack"),
        ),
        (
            json!({"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}),
            json!({"Error": "E", "Cause": "C"}),
            some("E"),
            some("C"),
        ),
        (
            json!({"Type": "Fail", "Error": "Formatted", "CausePath": "States.Format('cause: {}', $.why)"}),
            json!({"why": "bad input"}),
            some("Formatted"),
            some("cause: bad input"),
        ),
        // No Cause: none reported (test_base_scenarios.py::TestBaseScenarios::test_parallel_state_fail).
        (
            json!({"Type": "Fail", "Error": "FailureType"}),
            json!({}),
            some("FailureType"),
            None,
        ),
        (json!({"Type": "Fail"}), json!({}), None, None),
    ];
    for (state, input, error, cause) in cases {
        let definition = json!({"StartAt": "F", "States": {"F": state}}).to_string();
        let (outcome, history) = run(&definition, input, &ScriptedInvoker::new()).await;
        assert_eq!(outcome, Outcome::Failed { error, cause });
        assert_eq!(
            types(&history),
            ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
        );
    }
}

// A Fail state without Error or Cause: the execution fails with neither, and ExecutionFailed's
// details are empty (test_base.py::TestSnfBase::test_state_fail_empty).
#[tokio::test]
async fn empty_fail_state_reports_no_error_and_no_cause() {
    let definition =
        json!({"Comment": "RAISE_EMPTY_FAILURE", "StartAt": "FailState", "States": {"FailState": {"Type": "Fail"}}});
    let (outcome, history) = run(&definition.to_string(), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            error: None,
            cause: None
        }
    );
    let failed = history.last().unwrap().to_json();
    assert_eq!(
        failed,
        json!({"id": 3, "previousEventId": 2, "timestamp": failed["timestamp"], "type": "ExecutionFailed", "executionFailedEventDetails": {}})
    );
}

// ErrorPath/CausePath selecting nothing: States.Runtime in AWS's words
// (test_base_scenarios.py::TestBaseScenarios::test_invalid_jsonpath[INVALID_JSONPATH_IN_ERRORPATH]
// and [ST.INVALID_JSONPATH_IN_CAUSEPATH]).
#[tokio::test]
async fn fail_path_not_found_is_worded_like_aws() {
    for (field, path) in [("ErrorPath", "$.ErrorX"), ("CausePath", "$.NoSuchCausePath")] {
        let definition = json!({
            "StartAt": "pass",
            "States": {
                "pass": {"Type": "Pass", "Next": "fail", "Parameters": {"Error": "error-value"}},
                "fail": {"Type": "Fail", field: path}
            }
        });
        let (outcome, _) = run(
            &definition.to_string(),
            json!({"int-literal": 0}),
            &ScriptedInvoker::new(),
        )
        .await;
        let cause = format!(
            "An error occurred while executing the state 'fail' (entered at the event id #4). The JSONPath '{path}' \
             specified for the field '{field}' could not be found in the input '{{\"Error\":\"error-value\"}}'"
        );
        assert_eq!(
            outcome,
            Outcome::Failed {
                error: Some("States.Runtime".to_owned()),
                cause: Some(cause)
            },
            "{field}"
        );
    }
}

/// (type, id, previousEventId) of each event, to compare with an AWS recording.
fn chain(history: &[zb_asl::HistoryEvent]) -> Vec<(&str, u64, u64)> {
    history
        .iter()
        .map(|e| (e.r#type.as_str(), e.id, e.previous_event_id))
        .collect()
}

fn failing_map(extra: Value) -> String {
    let mut map = json!({
        "Type": "Map",
        "ResultPath": null,
        "InputPath": "$.arr",
        "MaxConcurrency": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "HandleItemFail",
            "States": {"HandleItemFail": {"Type": "Fail", "Error": "HandleItemFailError", "Cause": "HandleItemFailCause"}}
        },
        "Next": "Final"
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        map[k] = v.clone();
    }
    let mut definition = json!({
        "StartAt": "StartState",
        "States": {
            "StartState": {"Type": "Pass", "Result": [1], "ResultPath": "$.arr", "Next": "MapState"},
            "MapState": map,
            "Final": {"Type": "Pass", "End": true}
        }
    });
    if extra.get("Catch").is_some() {
        definition["States"]["FinalCaught"] = json!({"Type": "Pass", "End": true});
    }
    definition.to_string()
}

// A retried Map attempt records no MapStateFailed; the next MapStateStarted and the final
// MapStateFailed point to the failing iteration's last state event, not to MapIterationFailed
// (test_base_scenarios.py::TestBaseScenarios::test_map_state_retry).
#[tokio::test]
async fn map_retry_history_matches_aws() {
    let retry = json!({"Retry": [{"ErrorEquals": ["HandleItemFailError"], "MaxAttempts": 2}]});
    let (outcome, history) = run(&failing_map(retry), json!({}), &ScriptedInvoker::new()).await;
    assert!(matches!(outcome, Outcome::Failed { .. }));
    assert_eq!(
        chain(&history),
        [
            ("ExecutionStarted", 1, 0),
            ("PassStateEntered", 2, 0),
            ("PassStateExited", 3, 2),
            ("MapStateEntered", 4, 3),
            ("MapStateStarted", 5, 4),
            ("MapIterationStarted", 6, 5),
            ("FailStateEntered", 7, 6),
            ("MapIterationFailed", 8, 7),
            ("MapStateStarted", 9, 7),
            ("MapIterationStarted", 10, 9),
            ("FailStateEntered", 11, 10),
            ("MapIterationFailed", 12, 11),
            ("MapStateStarted", 13, 11),
            ("MapIterationStarted", 14, 13),
            ("FailStateEntered", 15, 14),
            ("MapIterationFailed", 16, 15),
            ("MapStateFailed", 17, 15),
            ("ExecutionFailed", 18, 17),
        ]
    );
}

// A caught Map failure: MapStateFailed, then MapStateExited pointing to it
// (test_base_scenarios.py::TestBaseScenarios::test_map_state_catch).
#[tokio::test]
async fn map_catch_history_matches_aws() {
    let catch = json!({"Catch": [{"ErrorEquals": ["HandleItemFailError"], "Next": "FinalCaught"}]});
    let (outcome, history) = run(&failing_map(catch), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(
        output(&outcome),
        &json!({"Error": "HandleItemFailError", "Cause": "HandleItemFailCause"})
    );
    assert_eq!(
        &chain(&history)[7..],
        [
            ("MapIterationFailed", 8, 7),
            ("MapStateFailed", 9, 7),
            ("MapStateExited", 10, 9),
            ("PassStateEntered", 11, 10),
            ("PassStateExited", 12, 11),
            ("ExecutionSucceeded", 13, 12),
        ]
    );
}

// Same for Parallel: no ParallelStateFailed between retried attempts
// (test_base_scenarios.py::TestBaseScenarios::test_parallel_state_retry).
#[tokio::test]
async fn parallel_retry_history_matches_aws() {
    let definition = json!({
        "Comment": "PARALLEL_STATE_RETRY",
        "StartAt": "ParallelState",
        "States": {
            "ParallelState": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Branch1", "States": {"Branch1": {"Type": "Fail", "Error": "FailureType", "Cause": "Cause description"}}}],
                "Retry": [{"ErrorEquals": ["FailureType"], "MaxAttempts": 2}],
                "Next": "Final"
            },
            "Final": {"Type": "Pass", "End": true}
        }
    });
    let (_, history) = run(&definition.to_string(), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(
        chain(&history),
        [
            ("ExecutionStarted", 1, 0),
            ("ParallelStateEntered", 2, 0),
            ("ParallelStateStarted", 3, 2),
            ("FailStateEntered", 4, 3),
            ("ParallelStateStarted", 5, 4),
            ("FailStateEntered", 6, 5),
            ("ParallelStateStarted", 7, 6),
            ("FailStateEntered", 8, 7),
            ("ParallelStateFailed", 9, 8),
            ("ExecutionFailed", 10, 9),
        ]
    );
}

// A task result over 256 KiB fails the task (LambdaFunctionFailed) with States.DataLimitExceeded,
// which States.ALL catches, unlike what the documentation says: AWS recording
// error_handling/test_states_errors.snapshot.json::test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response.
// A state's own output over the quota stays terminal: only a catcher naming it handles it.
#[tokio::test]
async fn data_limit_exceeded_by_a_task_result_is_a_task_failure() {
    let big = Reply::Return(json!("x".repeat(300 * 1024)));
    let all = json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]);
    let (outcome, history) = run(
        &task_with(json!([]), all),
        json!({}),
        &ScriptedInvoker::new().otherwise("Work", big.clone()),
    )
    .await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
    let failed = history
        .iter()
        .find(|e| e.r#type == "LambdaFunctionFailed")
        .expect("LambdaFunctionFailed");
    assert_eq!(failed.details["error"], "States.DataLimitExceeded");
    assert!(failed.details["cause"]
        .as_str()
        .unwrap_or_default()
        .ends_with("returned a result with a size exceeding the maximum number of bytes service limit."));

    // Parameters building a state input over the quota: terminal, States.ALL does not catch it.
    let huge_input = json!({"blob": "x".repeat(300 * 1024)});
    let all = json!([{"ErrorEquals": ["States.ALL"], "Next": "Z"}]);
    let (outcome, _) = run(&task_with(json!([]), all), huge_input, &ScriptedInvoker::new()).await;
    assert!(matches!(outcome, Outcome::Failed { error: Some(error), .. } if error == "States.DataLimitExceeded"));

    let named = json!([{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Z"}]);
    let (_, history) = run(
        &task_with(json!([]), named),
        json!({}),
        &ScriptedInvoker::new().otherwise("Work", big),
    )
    .await;
    assert_eq!(entered(&history), ["X", "Z"]);
}
