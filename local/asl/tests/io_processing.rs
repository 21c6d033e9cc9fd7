//! Input and output processing, with the examples from the AWS developer guide and the ASL spec.

mod common;

use common::{compute, output, run, single, types, Reply, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::{render_event, Outcome};

const HELLO_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction";

fn hello() -> Reply {
    compute(|input| Ok(json!(format!("Hello, {}!", input["who"].as_str().unwrap_or("world")))))
}

// Developer guide, "InputPath, ResultPath and OutputPath Example".
#[tokio::test]
async fn docs_input_result_output_path_example() {
    let definition = json!({
        "Comment": "A Hello World example of the Amazon States Language using an AWS Lambda function",
        "StartAt": "HelloWorld",
        "States": {
            "HelloWorld": {
                "Type": "Task",
                "Resource": HELLO_ARN,
                "InputPath": "$.lambda",
                "ResultPath": "$.data.lambdaresult",
                "OutputPath": "$.data",
                "End": true
            }
        }
    });
    let input = json!({
        "comment": "An input comment.",
        "data": {"val1": 23, "val2": 17},
        "extra": "foo",
        "lambda": {"who": "AWS Step Functions"}
    });
    let invoker = ScriptedInvoker::new().otherwise("HelloFunction", hello());
    let (outcome, _) = run(&definition.to_string(), input, &invoker).await;
    assert_eq!(
        invoker.calls_to("HelloFunction"),
        vec![json!({"who": "AWS Step Functions"})]
    );
    assert_eq!(
        output(&outcome),
        &json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"})
    );
}

// InputPath -> Parameters -> task -> ResultSelector -> ResultPath -> OutputPath, using the developer
// guide's Parameters example (input and payload) and ResultSelector example (task result).
#[tokio::test]
async fn processing_order_input_parameters_selector_result_output() {
    let definition = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:CreateCluster",
        "InputPath": "$.product",
        "Parameters": {
            "comment": "Selecting what I care about.",
            "MyDetails": {"size.$": "$.details.size", "exists.$": "$.availability", "StaticValue": "foo"}
        },
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.product.cluster",
        "OutputPath": "$.product"
    }));
    let input = json!({
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23"
        }
    });
    let task_result = json!({
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {
            "SdkHttpMetadata": {
                "HttpHeaders": {
                    "Content-Length": "1112",
                    "Content-Type": "application/x-amz-JSON-1.1",
                    "Date": "Mon, 25 Nov 2019 19:41:29 GMT",
                    "x-amzn-RequestId": "1234-5678-9012"
                },
                "HttpStatusCode": 200
            },
            "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
            "ClusterId": "AKIAIOSFODNN7EXAMPLE"
        }
    });
    let invoker = ScriptedInvoker::new().otherwise("CreateCluster", Reply::Return(task_result));
    let (outcome, history) = run(&definition, input, &invoker).await;

    assert_eq!(
        invoker.calls_to("CreateCluster"),
        vec![json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
        })]
    );
    assert_eq!(
        output(&outcome),
        &json!({
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
            "cluster": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}
        })
    );
    // The scheduled event carries the effective input (after Parameters) as JSON text.
    let scheduled = history.iter().find(|e| e.r#type == "LambdaFunctionScheduled").unwrap();
    let sent: Value = serde_json::from_str(scheduled.details["input"].as_str().unwrap()).unwrap();
    assert_eq!(sent["MyDetails"]["exists"], "in stock");
}

// Developer guide, "Specifying state output using ResultPath": replace, discard, append, amend.
#[tokio::test]
async fn docs_result_path_examples() {
    let base = json!({
        "comment": "This is a test of the input and output of a Task state.",
        "details": "Default example",
        "who": "AWS Step Functions"
    });
    let with = |key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v
    };
    let strings_input = json!({
        "comment": "An input comment.",
        "strings": {"string1": "foo", "string2": "bar", "string3": "baz"},
        "who": "AWS Step Functions"
    });
    let mut strings_output = strings_input.clone();
    strings_output["strings"]["lambdaresult"] = json!("Hello, AWS Step Functions!");

    // (ResultPath field: None = absent, input, expected output)
    let cases: Vec<(Option<Value>, Value, Value)> = vec![
        (None, base.clone(), json!("Hello, AWS Step Functions!")),
        (Some(json!("$")), base.clone(), json!("Hello, AWS Step Functions!")),
        (Some(Value::Null), base.clone(), base.clone()),
        (
            Some(json!("$.taskresult")),
            base.clone(),
            with("taskresult", json!("Hello, AWS Step Functions!")),
        ),
        (Some(json!("$.strings.lambdaresult")), strings_input, strings_output),
        (
            Some(json!("$.comment")),
            base.clone(),
            with("comment", json!("Hello, AWS Step Functions!")),
        ),
    ];
    for (result_path, input, expected) in cases {
        let mut state = json!({"Type": "Task", "Resource": HELLO_ARN});
        if let Some(rp) = &result_path {
            state["ResultPath"] = rp.clone();
        }
        let invoker = ScriptedInvoker::new().otherwise("HelloFunction", hello());
        let (outcome, _) = run(&single(state), input, &invoker).await;
        assert_eq!(output(&outcome), &expected, "ResultPath {result_path:?}");
    }
}

// Developer guide: "Use ResultPath to include both error and input in a Catch".
#[tokio::test]
async fn docs_catch_result_path_keeps_the_input() {
    let definition = json!({
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": HELLO_ARN,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NextTask", "ResultPath": "$.error"}],
                "End": true
            },
            "NextTask": {"Type": "Pass", "End": true}
        }
    });
    let invoker = ScriptedInvoker::new().otherwise("HelloFunction", Reply::Fail("Error here", "because"));
    let (outcome, _) = run(&definition.to_string(), json!({"foo": "bar"}), &invoker).await;
    assert_eq!(
        output(&outcome),
        &json!({"foo": "bar", "error": {"Error": "Error here", "Cause": "because"}})
    );
}

// Spec, Input and Output Processing: ResultPath examples (overwrite vs. build intermediate fields).
#[tokio::test]
async fn spec_result_path_examples() {
    let cases = [
        (
            json!({"master": {"detail": [1, 2, 3]}}),
            "$.master.detail",
            json!({"master": {"detail": 6}}),
        ),
        (
            json!({"master": {"detail": [1, 2, 3]}}),
            "$.master.result.sum",
            json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}),
        ),
        (json!({"a": 1}), "$.b.greeting", json!({"a": 1, "b": {"greeting": 6}})),
    ];
    for (input, result_path, expected) in cases {
        let definition = single(json!({"Type": "Pass", "Result": 6, "ResultPath": result_path}));
        let (outcome, _) = run(&definition, input, &ScriptedInvoker::new()).await;
        assert_eq!(output(&outcome), &expected, "{result_path}");
    }
}

// Spec, Pass State example.
#[tokio::test]
async fn spec_pass_state_example() {
    let definition = single(json!({
        "Type": "Pass",
        "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
        "ResultPath": "$.coords"
    }));
    let (outcome, _) = run(&definition, json!({"georefOf": "Home"}), &ScriptedInvoker::new()).await;
    assert_eq!(
        output(&outcome),
        &json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
    );
}

#[tokio::test]
async fn null_input_and_output_paths_mean_empty_objects() {
    let definition = single(json!({"Type": "Task", "Resource": HELLO_ARN, "InputPath": null, "ResultPath": "$.r"}));
    let invoker = ScriptedInvoker::new();
    let (outcome, _) = run(&definition, json!({"a": 1}), &invoker).await;
    assert_eq!(invoker.calls_to("HelloFunction"), vec![json!({})]);
    assert_eq!(output(&outcome), &json!({"a": 1, "r": {}}));

    let definition = single(json!({"Type": "Pass", "OutputPath": null}));
    let (outcome, _) = run(&definition, json!({"a": 1}), &invoker).await;
    assert_eq!(output(&outcome), &json!({}));
}

// Path errors are States.Runtime, which no Retry or Catch handles (not even States.ALL).
#[tokio::test]
async fn path_errors_are_uncatchable_runtime_errors() {
    let cases = [
        json!({"InputPath": "$.missing"}),
        json!({"OutputPath": "$.missing"}),
        json!({"Parameters": {"x.$": "$.missing"}}),
        json!({"ResultSelector": {"x.$": "$.missing"}}),
        json!({"ResultPath": "$.a.b"}),
    ];
    for extra in cases {
        let mut state = json!({
            "Type": "Task",
            "Resource": HELLO_ARN,
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "Next": "Done"
        });
        for (k, v) in extra.as_object().unwrap() {
            state[k] = v.clone();
        }
        let definition = json!({
            "StartAt": "S",
            "States": {"S": state, "Caught": {"Type": "Pass", "End": true}, "Done": {"Type": "Succeed"}}
        });
        let invoker = ScriptedInvoker::new().otherwise("HelloFunction", Reply::Return(json!({"r": 1})));
        let (outcome, history) = run(&definition.to_string(), json!({"a": 1}), &invoker).await;
        let Outcome::Failed {
            error: Some(error),
            cause: Some(cause),
        } = &outcome
        else {
            panic!("{extra}: expected failure, got {outcome:?}")
        };
        assert_eq!(error, "States.Runtime", "{extra}");
        assert!(
            cause.starts_with("An error occurred while executing the state 'S' (entered at the event id #2)."),
            "{cause}"
        );
        assert!(invoker.calls().len() <= 1, "{extra}: retried a runtime error");
        assert_eq!(*types(&history).last().unwrap(), "ExecutionFailed");
    }
}

#[tokio::test]
async fn parameter_path_error_cause_matches_aws() {
    let definition = single(json!({"Type": "Pass", "Parameters": {"JobName.$": "$.JobName"}}));
    let (outcome, _) = run(&definition, json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            error: Some("States.Runtime".to_owned()),
            cause: Some(
                "An error occurred while executing the state 'S' (entered at the event id #2). The JSONPath '$.JobName' \
                 specified for the field 'JobName.$' could not be found in the input '{}'"
                    .to_owned()
            ),
        }
    );
}

#[tokio::test]
async fn context_object_fields() {
    let definition = single(json!({
        "Type": "Pass",
        "Parameters": {
            "id.$": "$$.Execution.Id",
            "input.$": "$$.Execution.Input",
            "name.$": "$$.Execution.Name",
            "role.$": "$$.Execution.RoleArn",
            "start.$": "$$.Execution.StartTime",
            "entered.$": "$$.State.EnteredTime",
            "state.$": "$$.State.Name",
            "stateFields.$": "$$.State",
            "machine.$": "$$.StateMachine.Id",
            "machineName.$": "$$.StateMachine.Name"
        }
    }));
    let (outcome, _) = run(&definition, json!({"k": "v"}), &ScriptedInvoker::new()).await;
    let out = output(&outcome);
    assert_eq!(
        out["id"],
        "arn:aws:states:us-east-1:123456789012:execution:Test:test-execution"
    );
    assert_eq!(out["input"], json!({"k": "v"}));
    assert_eq!(out["name"], "test-execution");
    assert!(out["role"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iam::123456789012:role/"));
    assert!(chrono::DateTime::parse_from_rfc3339(out["start"].as_str().unwrap()).is_ok());
    assert!(out["entered"].as_str().unwrap().ends_with('Z'));
    assert_eq!(out["state"], "S");
    // A Pass state's $$.State has no RetryCount (only states that can retry do): AWS recording
    // base/test_base.snapshot.json::test_query_context_object_values.
    assert!(out["stateFields"].get("RetryCount").is_none(), "{}", out["stateFields"]);
    assert_eq!(out["machine"], common::STATE_MACHINE_ARN);
    assert_eq!(out["machineName"], "Test");
}

#[tokio::test]
async fn retry_count_is_visible_to_parameters() {
    let definition = single(json!({
        "Type": "Task",
        "Resource": HELLO_ARN,
        "Parameters": {"attempt.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 5}]
    }));
    let invoker = ScriptedInvoker::new().then("HelloFunction", [Reply::Fail("Flaky", ""), Reply::Fail("Flaky", "")]);
    let (outcome, _) = run(&definition, json!({}), &invoker).await;
    assert_eq!(output(&outcome), &json!({"attempt": 2}));
    assert_eq!(
        invoker.calls_to("HelloFunction"),
        vec![json!({"attempt": 0}), json!({"attempt": 1}), json!({"attempt": 2})]
    );
}

#[tokio::test]
async fn lambda_invoke_returns_the_invoke_envelope_and_records_task_events() {
    let definition = single(json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Echo", "Payload.$": "$"},
        "TimeoutSeconds": 20
    }));
    let invoker = ScriptedInvoker::new();
    let (outcome, history) = run(&definition, json!({"n": 1}), &invoker).await;
    let out = output(&outcome);
    assert_eq!(out["Payload"], json!({"n": 1}));
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert!(out["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"].is_string());
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());
    assert_eq!(
        invoker.calls(),
        vec![(
            "arn:aws:lambda:us-east-1:123456789012:function:Echo".to_owned(),
            json!({"n": 1})
        )]
    );

    assert_eq!(
        types(&history),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let scheduled = &history[2];
    assert_eq!(scheduled.details_key, "taskScheduledEventDetails");
    assert_eq!(scheduled.details["resourceType"], "lambda");
    assert_eq!(scheduled.details["resource"], "invoke");
    assert_eq!(scheduled.details["region"], "us-east-1");
    assert_eq!(scheduled.details["timeoutInSeconds"], 20);
    let parameters: Value = serde_json::from_str(scheduled.details["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        parameters,
        json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Echo", "Payload": {"n": 1}})
    );

    // Ids count up from 1; the first state's previousEventId is 0 as in AWS; the rest chain.
    let ids: Vec<(u64, u64)> = history.iter().map(|e| (e.id, e.previous_event_id)).collect();
    assert_eq!(ids, [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6)]);

    let rendered = render_event(&history[1]);
    assert_eq!(rendered["type"], "TaskStateEntered");
    assert_eq!(rendered["id"], 2);
    assert_eq!(rendered["previousEventId"], 0);
    assert!(rendered["timestamp"].is_f64());
    assert_eq!(
        rendered["stateEnteredEventDetails"],
        json!({"name": "S", "input": "{\"n\":1}", "inputDetails": {"truncated": false}})
    );
}

// Bracketed member names: a backslash escapes the closing quote or a backslash, and is kept before
// anything else. AWS reads $['Test\""Name"'] as the key Test\""Name"
// (test_base_scenarios.snapshot.json::test_escape_sequence_parsing[ESCAPE_SEQUENCES_JSONPATH]).
#[tokio::test]
async fn bracket_names_with_escaped_quotes_and_backslashes() {
    let input = json!({
        "Test\\\"\"Name\"": "Value\"\\",
        "a'b": 1,
        "x\"y": 2,
        "back\\slash": 3,
        "it's": {"q\"": 4}
    });
    let cases = [
        (r#"$['Test\""Name"']"#, json!("Value\"\\")),
        (r"$['a\'b']", json!(1)),
        (r#"$["x\"y"]"#, json!(2)),
        (r"$['back\\slash']", json!(3)),
        (r#"$["it's"]['q"']"#, json!(4)),
        (r"$['back\slash']", json!(3)),
    ];
    for (path, expected) in cases {
        let definition = single(json!({"Type": "Pass", "Parameters": {"value.$": path}}));
        let (outcome, _) = run(&definition, input.clone(), &ScriptedInvoker::new()).await;
        assert_eq!(output(&outcome)["value"], expected, "{path}");
    }
}
