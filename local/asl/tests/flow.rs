//! Map, Parallel, Wait, execution timeouts and stopping, with their history events.

mod common;

use common::{compute, entered, options, output, run, run_machine, single, types, Reply, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::{execute, Outcome, StateMachine};

fn map_over(items_path: &str, extra: Value) -> String {
    let mut state = json!({
        "Type": "Map",
        "ItemsPath": items_path,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Work", "End": true}}
        }
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        state[k] = v.clone();
    }
    single(state)
}

#[tokio::test]
async fn map_max_concurrency_limits_parallel_iterations() {
    let items = json!({"items": [1, 2, 3, 4, 5, 6]});
    // (MaxConcurrency, expected largest number of invocations in flight)
    for (max, expected) in [(1, 1), (2, 2), (0, 6)] {
        let invoker = ScriptedInvoker::new();
        let (outcome, _) = run(
            &map_over("$.items", json!({"MaxConcurrency": max})),
            items.clone(),
            &invoker,
        )
        .await;
        assert_eq!(output(&outcome), &json!([1, 2, 3, 4, 5, 6]), "MaxConcurrency {max}");
        assert_eq!(invoker.max_in_flight(), expected, "MaxConcurrency {max}");
        if max == 1 {
            let order: Vec<Value> = invoker.calls().into_iter().map(|(_, payload)| payload).collect();
            assert_eq!(order, [json!(1), json!(2), json!(3), json!(4), json!(5), json!(6)]);
        }
    }
}

#[tokio::test]
async fn map_item_context_in_item_selector() {
    let definition = single(json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrencyPath": "$.limit",
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "shared.$": "$.shared"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
    }));
    let input = json!({"items": ["a", "b", "c"], "shared": 7, "limit": 2});
    let (outcome, history) = run(&definition, input, &ScriptedInvoker::new()).await;
    assert_eq!(
        output(&outcome),
        &json!([
            {"index": 0, "value": "a", "shared": 7},
            {"index": 1, "value": "b", "shared": 7},
            {"index": 2, "value": "c", "shared": 7}
        ])
    );
    let started = history.iter().find(|e| e.r#type == "MapStateStarted").unwrap();
    assert_eq!(started.details, json!({"length": 3}));
    let iterations: Vec<&Value> = history
        .iter()
        .filter(|e| e.r#type == "MapIterationSucceeded")
        .map(|e| &e.details["index"])
        .collect();
    assert_eq!(iterations.len(), 3);
    let first = history.iter().find(|e| e.r#type == "MapIterationStarted").unwrap();
    assert_eq!(first.details_key, "mapIterationStartedEventDetails");
    assert_eq!(first.details["name"], "S");
    let kinds = types(&history);
    assert_eq!(&kinds[..3], ["ExecutionStarted", "MapStateEntered", "MapStateStarted"]);
    assert_eq!(
        &kinds[kinds.len() - 3..],
        ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    );
}

// Spec, Map State "Validate-All" example with ItemSelector (and the legacy Iterator/Parameters names).
#[tokio::test]
async fn spec_map_validate_all_example() {
    let input = json!({
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": "R31", "dest-code": 9511, "quantity": 1344},
                {"prod": "S39", "dest-code": 9511, "quantity": 40}
            ]
        }
    });
    for (processor_field, selector_field) in [("ItemProcessor", "ItemSelector"), ("Iterator", "Parameters")] {
        let definition = json!({
            "StartAt": "Validate-All",
            "States": {
                "Validate-All": {
                    "Type": "Map",
                    "InputPath": "$.detail",
                    "ItemsPath": "$.shipped",
                    "MaxConcurrency": 0,
                    selector_field: {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner"},
                    processor_field: {
                        "StartAt": "Validate",
                        "States": {
                            "Validate": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ship-val", "End": true}
                        }
                    },
                    "ResultPath": "$.detail.shipped",
                    "End": true
                }
            }
        });
        let invoker = ScriptedInvoker::new().otherwise(
            "ship-val",
            compute(|v| Ok(json!({"prod": v["parcel"]["prod"], "courier": v["courier"], "valid": true}))),
        );
        let (outcome, _) = run(&definition.to_string(), input.clone(), &invoker).await;
        assert_eq!(
            invoker.calls_to("ship-val")[0],
            json!({"parcel": {"prod": "R31", "dest-code": 9511, "quantity": 1344}, "courier": "UQS"})
        );
        let mut expected = input.clone();
        expected["detail"]["shipped"] = json!([
            {"prod": "R31", "courier": "UQS", "valid": true},
            {"prod": "S39", "courier": "UQS", "valid": true}
        ]);
        assert_eq!(output(&outcome), &expected, "{processor_field}");
    }
}

#[tokio::test]
async fn map_iteration_failure_fails_the_map() {
    let invoker = ScriptedInvoker::new().otherwise(
        "Work",
        compute(|v| {
            if v == &json!(3) {
                Err(zb_asl::TaskFailure::new("BadItem", "item 3"))
            } else {
                Ok(v.clone())
            }
        }),
    );
    let catch = json!({"MaxConcurrency": 1, "Catch": [{"ErrorEquals": ["BadItem"], "Next": "Handled"}]});
    let mut definition: Value = serde_json::from_str(&map_over("$.items", catch)).unwrap();
    definition["States"]["S"].as_object_mut().unwrap().remove("End");
    definition["States"]["S"]["Next"] = json!("Done");
    definition["States"]["Done"] = json!({"Type": "Succeed"});
    definition["States"]["Handled"] = json!({"Type": "Pass", "End": true});
    let (outcome, history) = run(&definition.to_string(), json!({"items": [1, 2, 3, 4, 5]}), &invoker).await;
    assert_eq!(output(&outcome), &json!({"Error": "BadItem", "Cause": "item 3"}));
    // MaxConcurrency 1: items after the failure are never started.
    assert_eq!(invoker.calls().len(), 3);
    let kinds = types(&history);
    assert_eq!(kinds.iter().filter(|k| **k == "MapIterationSucceeded").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "MapIterationFailed").count(), 1);
    assert!(kinds.contains(&"MapStateFailed"));
    assert_eq!(entered(&history).last(), Some(&"Handled"));
}

#[tokio::test]
async fn map_items_must_be_an_array() {
    let (outcome, _) = run(
        &map_over("$.items", json!({})),
        json!({"items": "nope"}),
        &ScriptedInvoker::new(),
    )
    .await;
    assert!(matches!(outcome, Outcome::Failed { error: Some(error), .. } if error == "States.Runtime"));
}

#[tokio::test]
async fn wait_forms_are_scaled_and_keep_their_input() {
    let future = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cases = [
        json!({"Type": "Wait", "Seconds": 10}),
        json!({"Type": "Wait", "SecondsPath": "$.delay"}),
        json!({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z"}),
        json!({"Type": "Wait", "TimestampPath": "$.until"}),
    ];
    for wait in cases {
        let input = json!({"delay": 30, "until": future});
        let (outcome, history) = run(&single(wait.clone()), input.clone(), &ScriptedInvoker::new()).await;
        assert_eq!(output(&outcome), &input, "{wait}");
        assert_eq!(
            types(&history),
            [
                "ExecutionStarted",
                "WaitStateEntered",
                "WaitStateExited",
                "ExecutionSucceeded"
            ],
            "{wait}"
        );
    }
    let (outcome, _) = run(
        &single(json!({"Type": "Wait", "SecondsPath": "$.delay"})),
        json!({"delay": -1}),
        &ScriptedInvoker::new(),
    )
    .await;
    assert!(matches!(outcome, Outcome::Failed { error: Some(error), .. } if error == "States.Runtime"));
}

#[tokio::test]
async fn execution_timeout_aborts_the_running_state() {
    let definition = json!({
        "StartAt": "Long",
        "TimeoutSeconds": 1,
        // Timeouts are real time and Waits are scaled (0.001): 100000 s of
        // Wait is 100 s of real time, far past the 1 s timeout.
        "States": {"Long": {"Type": "Wait", "Seconds": 100000, "End": true}}
    });
    let (outcome, history) = run(&definition.to_string(), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(outcome, Outcome::TimedOut);
    assert_eq!(
        types(&history),
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateAborted",
            "ExecutionTimedOut"
        ]
    );
    assert_eq!(history[3].details["error"], "States.Timeout");
}

#[tokio::test]
async fn stop_execution_aborts_with_the_given_error_and_cause() {
    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:Slow", "End": true}}}
                ],
                "End": true
            }
        }
    });
    let machine = StateMachine::parse(&definition.to_string()).unwrap();
    let invoker = ScriptedInvoker::new().otherwise("Slow", Reply::Hang);
    let options = options(1.0);
    let stop = options.cancel.clone();
    let mut history = Vec::new();
    let (outcome, ()) = tokio::join!(execute(&machine, json!({}), &invoker, options, &mut history), async {
        invoker.called.notified().await;
        stop.stop(Some("Operator".to_owned()), Some("stopped by the test".to_owned()));
    });
    assert_eq!(outcome, Outcome::Aborted);
    let kinds = types(&history);
    assert_eq!(
        &kinds[kinds.len() - 4..],
        [
            "LambdaFunctionStarted",
            "TaskStateAborted",
            "ParallelStateAborted",
            "ExecutionAborted"
        ]
    );
    let aborted = history.last().unwrap();
    assert_eq!(aborted.details_key, "executionAbortedEventDetails");
    assert_eq!(
        aborted.details,
        json!({"error": "Operator", "cause": "stopped by the test"})
    );
}

#[tokio::test]
async fn succeed_inside_a_branch_only_ends_that_branch() {
    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Done", "States": {"Done": {"Type": "Succeed", "OutputPath": "$.a"}}},
                    {"StartAt": "Other", "States": {"Other": {"Type": "Pass", "Result": "b", "End": true}}}
                ],
                "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                "Next": "After"
            },
            "After": {"Type": "Pass", "End": true}
        }
    });
    let (outcome, history) = run(&definition.to_string(), json!({"a": 1}), &ScriptedInvoker::new()).await;
    assert_eq!(output(&outcome), &json!({"first": 1, "second": "b"}));
    assert_eq!(entered(&history).last(), Some(&"After"));
}

#[tokio::test]
async fn history_starts_and_ends_with_execution_events() {
    let machine = StateMachine::parse(&single(json!({"Type": "Pass"}))).unwrap();
    let opts = options(1.0);
    let start = opts.start_time;
    let (_, history) = run_machine(&machine, json!({"x": 1}), &ScriptedInvoker::new(), opts).await;
    let started = &history[0];
    assert_eq!(started.r#type, "ExecutionStarted");
    assert_eq!(started.timestamp, start);
    assert_eq!(started.details["input"], "{\"x\":1}");
    assert_eq!(started.details["inputDetails"], json!({"truncated": false}));
    assert!(started.details["roleArn"].is_string());
    let succeeded = history.last().unwrap();
    assert_eq!(
        succeeded.details,
        json!({"output": "{\"x\":1}", "outputDetails": {"truncated": false}})
    );
}

// The local cloud runs executions on spawned tasks, so the future must be Send.
#[test]
fn execute_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let machine = StateMachine::parse(&single(json!({"Type": "Pass"}))).unwrap();
    let invoker = ScriptedInvoker::new();
    let mut history = Vec::new();
    let future = execute(&machine, json!({}), &invoker, options(1.0), &mut history);
    assert_send(&future);
}

/// (type, id, previousEventId) of each event, to compare with an AWS recording.
fn chain(history: &[zb_asl::HistoryEvent]) -> Vec<(&str, u64, u64)> {
    history
        .iter()
        .map(|e| (e.r#type.as_str(), e.id, e.previous_event_id))
        .collect()
}

/// LocalStack's MAP_STATE_LEGACY template: the pre-2022 `Iterator` spelling.
fn legacy_map() -> Value {
    json!({
        "StartAt": "StartState",
        "States": {
            "StartState": {"Type": "Pass", "Result": [1, "Hello", {}, null, 3.3, 3, 4, 5], "ResultPath": "$.arr", "Next": "MapState"},
            "MapState": {
                "Type": "Map",
                "ResultPath": null,
                "InputPath": "$.arr",
                "MaxConcurrency": 1,
                "Iterator": {"StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}},
                "Next": "Final"
            },
            "Final": {"Type": "Pass", "End": true}
        }
    })
}

// A legacy Map runs like an ItemProcessor one, with AWS's event chain: each MapIterationStarted
// points to the previous iteration's last state event, and MapStateSucceeded and MapStateExited
// both point to the last MapIterationSucceeded
// (test_base_scenarios.py::TestBaseScenarios::test_map_state_legacy).
#[tokio::test]
async fn legacy_iterator_map_runs_with_aws_event_chain() {
    let (outcome, history) = run(&legacy_map().to_string(), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(output(&outcome), &json!({"arr": [1, "Hello", {}, null, 3.3, 3, 4, 5]}));
    let events = chain(&history);
    assert_eq!(events.len(), 42);
    assert_eq!(
        &events[3..14],
        [
            ("MapStateEntered", 4, 3),
            ("MapStateStarted", 5, 4),
            ("MapIterationStarted", 6, 5),
            ("PassStateEntered", 7, 6),
            ("PassStateExited", 8, 7),
            ("MapIterationSucceeded", 9, 8),
            ("MapIterationStarted", 10, 8),
            ("PassStateEntered", 11, 10),
            ("PassStateExited", 12, 11),
            ("MapIterationSucceeded", 13, 12),
            ("MapIterationStarted", 14, 12),
        ]
    );
    assert_eq!(
        &events[36..],
        [
            ("MapIterationSucceeded", 37, 36),
            ("MapStateSucceeded", 38, 37),
            ("MapStateExited", 39, 37),
            ("PassStateEntered", 40, 39),
            ("PassStateExited", 41, 40),
            ("ExecutionSucceeded", 42, 41),
        ]
    );
}

// `Iterator` accepts ProcessorConfig as ItemProcessor does, and a legacy `Parameters` reads
// `$$.Map.Item` (test_base_scenarios.py::TestBaseScenarios::test_map_state_legacy_config_inline,
// ::test_map_state_legacy_config_inline_parameters, ::test_map_state_parameters_singleton_legacy).
#[tokio::test]
async fn legacy_iterator_with_processor_config_and_parameters() {
    let mut definition = json!({
        "StartAt": "MapState",
        "States": {
            "MapState": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "Iterator": {
                    "StartAt": "IteratorInner",
                    "States": {"IteratorInner": {"Type": "Pass", "End": true}},
                    "ProcessorConfig": {"Mode": "INLINE"}
                },
                "Next": "Finish"
            },
            "Finish": {"Type": "Succeed"}
        }
    });
    let input = json!(["Hello", "World"]);
    let (outcome, _) = run(&definition.to_string(), input.clone(), &ScriptedInvoker::new()).await;
    assert_eq!(output(&outcome), &input);

    definition["States"]["MapState"]["Parameters"] = json!({"constantValue": "constant", "mapValue.$": "$$.Map.Item.Value", "fromInput.$": "$", "index.$": "$$.Map.Item.Index"});
    let (outcome, _) = run(&definition.to_string(), input.clone(), &ScriptedInvoker::new()).await;
    assert_eq!(
        output(&outcome),
        &json!([
            {"constantValue": "constant", "mapValue": "Hello", "fromInput": ["Hello", "World"], "index": 0},
            {"constantValue": "constant", "mapValue": "World", "fromInput": ["Hello", "World"], "index": 1}
        ])
    );
}

// Nested legacy Maps chain the same way at each level
// (test_base_scenarios.py::TestBaseScenarios::test_map_state_nested, events 19-22).
#[tokio::test]
async fn nested_map_event_chain_matches_aws() {
    let inner = json!({
        "Type": "Map",
        "MaxConcurrency": 1,
        "Iterator": {"StartAt": "MapL2Pass", "States": {"MapL2Pass": {"Type": "Pass", "End": true}}},
        "End": true
    });
    let definition = json!({
        "StartAt": "MapL1",
        "States": {
            "MapL1": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "Iterator": {"StartAt": "MapL2", "States": {"MapL2": inner}},
                "End": true
            }
        }
    });
    let (outcome, history) = run(
        &definition.to_string(),
        json!([[1, 2, 3], [4, 5, 6]]),
        &ScriptedInvoker::new(),
    )
    .await;
    assert_eq!(output(&outcome), &json!([[1, 2, 3], [4, 5, 6]]));
    assert_eq!(
        &chain(&history)[17..22],
        [
            ("MapIterationSucceeded", 18, 17),
            ("MapStateSucceeded", 19, 18),
            ("MapStateExited", 20, 18),
            ("MapIterationSucceeded", 21, 20),
            ("MapIterationStarted", 22, 20),
        ]
    );
}

// ParallelStateSucceeded, like MapStateSucceeded, is not the previous event of ParallelStateExited
// (test_base_scenarios.py::TestBaseScenarios::test_parallel_state_order: ParallelStateExited 13
// points to 11).
#[tokio::test]
async fn parallel_exited_points_past_parallel_succeeded() {
    let branch = |i: u64| json!({"StartAt": format!("Branch{i}"), "States": {format!("Branch{i}"): {"Type": "Pass", "Result": {"branch": i}, "End": true}}});
    let definition = json!({
        "StartAt": "StartState",
        "States": {"StartState": {"Type": "Parallel", "Branches": [branch(0), branch(1), branch(2), branch(3)], "End": true}}
    });
    let (outcome, history) = run(&definition.to_string(), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(
        output(&outcome),
        &json!([{"branch": 0}, {"branch": 1}, {"branch": 2}, {"branch": 3}])
    );
    assert_eq!(
        &chain(&history)[11..],
        [
            ("ParallelStateSucceeded", 12, 11),
            ("ParallelStateExited", 13, 11),
            ("ExecutionSucceeded", 14, 13)
        ]
    );
}

fn runtime_cause(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed {
            error: Some(error),
            cause: Some(cause),
        } if error == "States.Runtime" => cause,
        other => panic!("expected States.Runtime, got {other:?}"),
    }
}

// test_base_scenarios.py::TestBaseScenarios::test_max_concurrency_path[NoNumber] and
// [max_concurrency_value0]; [0] and [1] run.
#[tokio::test]
async fn max_concurrency_path_values_like_aws() {
    let definition = single(json!({
        "Type": "Map",
        "ItemsPath": "$.Values",
        "MaxConcurrencyPath": "$.MaxConcurrencyValue",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}}
    }));
    for (value, shown) in [(json!("NoNumber"), "NoNumber"), (json!({}), "{}")] {
        let input = json!({"MaxConcurrencyValue": value, "Values": ["HelloWorld"]});
        let (outcome, _) = run(&definition, input, &ScriptedInvoker::new()).await;
        assert_eq!(
            runtime_cause(&outcome),
            format!(
                "An error occurred while executing the state 'S' (entered at the event id #2). The MaxConcurrencyPath \
                 field refers to value \"{shown}\" which is not a valid integer: $.MaxConcurrencyValue"
            )
        );
    }
    for value in [0, 1] {
        let input = json!({"MaxConcurrencyValue": value, "Values": ["HelloWorld"]});
        let (outcome, _) = run(&definition, input, &ScriptedInvoker::new()).await;
        assert_eq!(output(&outcome), &json!(["HelloWorld"]));
    }
}

// test_base_scenarios.py::TestBaseScenarios::test_wait_timestamp_path[NO_T] (and NO_Z,
// INVALID_DATE, INVALID_TIME, INVALID_ISO); [NANOSECONDS] waits and succeeds.
#[tokio::test]
async fn wait_timestamp_path_errors_like_aws() {
    let definition = single(json!({"Type": "Wait", "TimestampPath": "$.TimestampValue"}));
    for bad in [
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "05-12-2016T21:29:29Z",
    ] {
        let (outcome, _) = run(&definition, json!({"TimestampValue": bad}), &ScriptedInvoker::new()).await;
        assert_eq!(
            runtime_cause(&outcome),
            format!(
                "An error occurred while executing the state 'S' (entered at the event id #2). The TimestampPath \
                 parameter does not reference a valid ISO-8601 extended offset date-time format string: \
                 $.TimestampValue == {bad}"
            )
        );
    }
    let input = json!({"TimestampValue": "2016-03-05T21:29:29.243167252Z"});
    let (outcome, _) = run(&definition, input.clone(), &ScriptedInvoker::new()).await;
    assert_eq!(output(&outcome), &input);
}
