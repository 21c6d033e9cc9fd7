//! Definition validation: every refusal says where (state and field) and why.

use serde_json::{json, Value};
use zb_asl::{DefinitionError, StateMachine};

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:F";

fn machine(states: Value) -> String {
    json!({"StartAt": "A", "States": states}).to_string()
}

fn task(extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": FN, "End": true});
    for (k, v) in extra.as_object().into_iter().flatten() {
        state[k] = v.clone();
    }
    state
}

fn refused(definition: &str) -> DefinitionError {
    match StateMachine::parse(definition) {
        Ok(_) => panic!("accepted: {definition}"),
        Err(e) => e,
    }
}

#[test]
fn invalid_definitions_name_the_place() {
    // (definition, state the error is about (None = top level), text the message contains)
    let cases: Vec<(String, Option<&str>, &str)> = vec![
        ("{".to_owned(), None, "not valid JSON"),
        (
            json!({"States": {"A": {"Type": "Succeed"}}}).to_string(),
            None,
            "field \"StartAt\" is required",
        ),
        (
            json!({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}).to_string(),
            None,
            "\"Nope\" does not name a state",
        ),
        (
            json!({"StartAt": "A", "States": {}}).to_string(),
            None,
            "at least one state",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Next": "Nope"}})),
            Some("A"),
            "field \"Next\": \"Nope\" does not name a state",
        ),
        (
            machine(json!({"A": task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]}))})),
            Some("A"),
            "field \"Catch[0].Next\": \"Gone\" does not name a state",
        ),
        (
            machine(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "B"}], "Default": "Gone"}, "B": {"Type": "Succeed"}}),
            ),
            Some("A"),
            "field \"Default\": \"Gone\" does not name a state",
        ),
        (
            machine(json!({"A": task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}))})),
            Some("A"),
            "Retry[0]: States.ALL must appear in the last entry",
        ),
        (
            machine(json!({"A": task(json!({"Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "A"}]}))})),
            Some("A"),
            "Catch[0]: States.ALL must appear alone",
        ),
        (
            machine(json!({"A": task(json!({"Retry": [{"ErrorEquals": []}]}))})),
            Some("A"),
            "Retry[0]: \"ErrorEquals\" must be a non-empty array",
        ),
        (
            machine(json!({"A": task(json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}))})),
            Some("A"),
            "\"BackoffRate\" must be a number greater than or equal to 1.0",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope($.a)"}, "End": true}})),
            Some("A"),
            "field \"Parameters\": field \"x.$\": unknown intrinsic function States.Nope",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": "States.ArrayLength($.a, $.b)"}, "End": true}})),
            Some("A"),
            "States.ArrayLength takes exactly 1 argument(s) but was given 2",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": "$.a["}, "End": true}})),
            Some("A"),
            "field \"x.$\": invalid path '$.a['",
        ),
        (
            machine(json!({"A": {"Type": "Succeed", "Next": "A"}})),
            Some("A"),
            "a Succeed state cannot have \"Next\" or \"End\"",
        ),
        (
            machine(json!({"A": {"Type": "Pass"}})),
            Some("A"),
            "must have \"Next\" or \"End\": true",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}})),
            Some("A"),
            "cannot have both \"Next\" and \"End\": true",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true}]}})),
            Some("A"),
            "Choices[0]: a top-level choice rule must have \"Next\"",
        ),
        (
            machine(
                json!({"A": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.x", "IsNull": true, "Next": "B"}, "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            Some("A"),
            "Choices[0].Not: a nested choice rule must not have \"Next\"",
        ),
        (
            machine(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringSort": "a", "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            Some("A"),
            "\"StringSort\" is not a comparison operator",
        ),
        (
            machine(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringMatches": "bad\\escape", "Next": "B"}]}, "B": {"Type": "Succeed"}}),
            ),
            Some("A"),
            "open escape",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": []}})),
            Some("A"),
            "field \"Choices\" must be a non-empty array",
        ),
        (
            machine(json!({"A": {"Type": "Wait", "Seconds": 1, "Timestamp": "2016-03-14T01:59:00Z", "End": true}})),
            Some("A"),
            "exactly one of \"Seconds\"",
        ),
        (
            machine(json!({"A": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}})),
            Some("A"),
            "fields \"Error\" and \"ErrorPath\" cannot both be set",
        ),
        (
            machine(json!({"A": {"Type": "Sleep", "End": true}})),
            Some("A"),
            "\"Sleep\" is not a state type",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Foo": 1, "End": true}})),
            Some("A"),
            "field \"Foo\" is not valid in a Pass state",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "End": true}, "Orphan": {"Type": "Succeed"}})),
            Some("Orphan"),
            "not reachable from StartAt",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}})),
            Some("A"),
            "no terminal state",
        ),
        (
            machine(
                json!({"A": {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}], "End": true}}),
            ),
            Some("A"),
            "state names must be unique",
        ),
        (
            machine(
                json!({"A": {"Type": "Parallel", "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "Next": "A"}}}], "End": true}}),
            ),
            Some("In"),
            "does not name a state in the same branch or item processor",
        ),
        (
            machine(
                json!({"A": {"Type": "Parallel", "Branches": [{"StartAt": "Nope", "States": {"In": {"Type": "Succeed"}}}], "End": true}}),
            ),
            Some("A"),
            "field \"Branches[0].StartAt\": \"Nope\" does not name a state",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "ResultPath": "$$.x", "End": true}})),
            Some("A"),
            "ResultPath cannot write to the context object",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}})),
            Some("A"),
            "must be a reference path",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "InputPath": "nope", "End": true}})),
            Some("A"),
            "field \"InputPath\": invalid path 'nope'",
        ),
        (
            machine(
                json!({"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload.$": "$"}, "End": true}}),
            ),
            Some("A"),
            "field \"Parameters.FunctionName\" is required",
        ),
        (
            machine(
                json!({"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Bogus": 1}, "End": true}}),
            ),
            Some("A"),
            "field \"Parameters.Bogus\"",
        ),
        (
            machine(json!({"A": task(json!({"TimeoutSeconds": 5, "HeartbeatSeconds": 5}))})),
            Some("A"),
            "\"HeartbeatSeconds\" must be smaller than \"TimeoutSeconds\"",
        ),
        (
            machine(json!({"A": task(json!({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}))})),
            Some("A"),
            "fields \"TimeoutSeconds\" and \"TimeoutSecondsPath\" cannot both be set",
        ),
        (
            machine(json!({"A": task(json!({"TimeoutSeconds": 0}))})),
            Some("A"),
            "field \"TimeoutSeconds\" must be a positive integer",
        ),
        (
            machine(
                json!({"A": {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "Iterator": {"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}}, "End": true}}),
            ),
            Some("A"),
            "fields \"ItemProcessor\" and \"Iterator\" cannot both be set",
        ),
        (
            json!({"StartAt": "A", "Version": "2.0", "States": {"A": {"Type": "Succeed"}}}).to_string(),
            None,
            "\"Version\" must be \"1.0\"",
        ),
    ];
    for (definition, state, text) in cases {
        let err = refused(&definition);
        assert!(!err.is_unsupported(), "{definition}: {err}");
        assert_eq!(err.state(), state, "{definition}: {err}");
        assert!(
            err.to_string().contains(text),
            "{definition}:\n  got: {err}\n want: {text}"
        );
        if let Some(state) = state {
            assert!(err.to_string().starts_with(&format!("state \"{state}\": ")), "{err}");
        }
    }
}

#[test]
fn unsupported_features_are_refused_naming_state_and_feature() {
    let cases: Vec<(Value, &str)> = vec![
        (
            task(json!({"Resource": "arn:aws:states:::sqs:sendMessage"})),
            "state \"A\": Resource arn:aws:states:::sqs:sendMessage is not supported by the local cloud",
        ),
        (
            task(
                json!({"Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "f"}}),
            ),
            "(callback tasks (.waitForTaskToken)",
        ),
        (
            task(json!({"Resource": "arn:aws:states:::states:startExecution.sync:2"})),
            ".sync integrations",
        ),
        (
            task(json!({"Resource": "arn:aws:states:us-east-1:123456789012:activity:Review"})),
            "activities",
        ),
        (
            task(json!({"Resource": "arn:aws:states:::aws-sdk:s3:getObject"})),
            "Resource arn:aws:states:::aws-sdk:s3:getObject is not supported",
        ),
        (
            task(json!({"Credentials": {"RoleArn": "arn:aws:iam::1:role/x"}})),
            "state \"A\": field \"Credentials\" is not supported",
        ),
        (
            task(
                json!({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "InvocationType": "Event"}}),
            ),
            "field \"Parameters.InvocationType\" is not supported",
        ),
        (
            json!({"Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true}),
            "state \"A\": field \"ItemReader\" is not supported",
        ),
        (
            json!({"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true}),
            "state \"A\": field \"ItemProcessor.ProcessorConfig.Mode\" is not supported with value \"DISTRIBUTED\"",
        ),
        (
            json!({"Type": "Map", "ToleratedFailurePercentage": 5, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true}),
            "state \"A\": field \"ToleratedFailurePercentage\" is not supported",
        ),
    ];
    for (state, text) in cases {
        let definition = machine(json!({"A": state}));
        let err = refused(&definition);
        assert!(err.is_unsupported(), "{definition}: {err}");
        assert_eq!(err.state(), Some("A"));
        assert!(
            err.to_string().contains(text),
            "{definition}:\n  got: {err}\n want: {text}"
        );
    }
    // JSONata and variables are supported now (tests/jsonata.rs, tests/variables.rs).
}

#[test]
fn accepted_definitions() {
    let definition = json!({
        "Comment": "everything supported",
        "Version": "1.0",
        "QueryLanguage": "JSONPath",
        "TimeoutSeconds": 60,
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$", "Qualifier": "live", "LogType": "Tail"},
                "HeartbeatSeconds": 5,
                "TimeoutSeconds": 10,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxDelaySeconds": 5, "JitterStrategy": "FULL", "Comment": "c"}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "Fail"}],
                "Next": "Each"
            },
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true}}},
                "Next": "Fail"
            },
            "Fail": {"Type": "Fail", "ErrorPath": "States.Format('E{}', $.x)"}
        }
    });
    let machine = StateMachine::parse(&definition.to_string()).unwrap();
    let mut names: Vec<&str> = machine.states().collect();
    names.sort_unstable();
    assert_eq!(names, ["Each", "Fail", "Fetch"]);
    assert_eq!(machine.timeout_seconds(), Some(60));
}

#[test]
fn refusals_read_like_create_state_machine() {
    // (definition, CreateStateMachine's InvalidDefinition message)
    let cases: Vec<(String, &str)> = vec![
        (
            json!({"States": {"A": {"Type": "Succeed"}}}).to_string(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt] at /'",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Next": "Nope"}})),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at /States/A/Next'",
        ),
        (
            json!({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}).to_string(),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at /StartAt'",
        ),
        (
            machine(
                json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "Gone"}], "Default": "B"}, "B": {"Type": "Succeed"}}),
            ),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Gone at /States/A/Choices/0/Next'",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "End": true}, "Orphan": {"Type": "Succeed"}})),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: State \"Orphan\" is not reachable. at /States/Orphan'",
        ),
        (
            machine(json!({"A": task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["X"], "Next": "A"}]}))})),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Catch[0]: States.ALL must appear in the last entry at /States/A/Catch/0'",
        ),
        (
            machine(json!({"A": task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}))})),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Retry[0]: States.ALL must appear in the last entry at /States/A/Retry/0'",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope($.a)"}, "End": true}})),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/Parameters'",
        ),
        (
            machine(
                json!({"A": {"Type": "Parallel", "Branches": [{"StartAt": "In", "States": {"In": {"Type": "Pass", "Next": "Out"}}}], "End": true}}),
            ),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Out at /States/A/Branches/0/States/In/Next'",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}})),
            "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state at /States'",
        ),
        (
            "{".to_owned(),
            "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: The definition is not valid JSON: EOF while parsing an object at line 1 column 1 at /'",
        ),
        // test_base_scenarios.py::TestBaseScenarios::test_wait_timestamp_invalid[NO_T] (and NO_Z,
        // INVALID_DATE, INVALID_TIME, INVALID_ISO).
        (
            json!({"StartAt": "WaitUntil", "States": {"WaitUntil": {"Type": "Wait", "Timestamp": "2016-12-05 21:29:29Z", "End": true}}}).to_string(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/WaitUntil/Timestamp'",
        ),
        // test_base_scenarios.py::TestBaseScenarios::test_illegal_escapes[ESCAPE_SEQUENCES_ILLEGAL_INTRINSIC_FUNCTION].
        (
            json!({"StartAt": "IntrinsicEscape", "States": {"IntrinsicEscape": {"Type": "Pass", "Parameters": {"parsed.$": "States.StringToJson('{\"text\":\"An \\\"escaped double quote\\\" here\"}')"}, "End": true}}}).to_string(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'parsed.$' must be a valid JSONPath or a valid intrinsic function call at /States/IntrinsicEscape/Parameters'",
        ),
        // test_test_state_machine_scenarios.py::TestStateMachineScenarios::test_state_name_invalid_state_definition.
        (
            json!({"StartAt": "ExistingButInvalidState", "States": {"ExistingButInvalidState": {"Type": "TypeThatDoesNotExist", "End": true}}}).to_string(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/ExistingButInvalidState/Type'",
        ),
        // test_state_mock_validation.py::TestStateMockValidation::test_parallel_state_empty_branches.
        (
            json!({"StartAt": "StateName", "States": {"StateName": {"Type": "Parallel", "Branches": [], "End": true}}}).to_string(),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches'",
        ),
    ];
    for (definition, expected) in cases {
        assert_eq!(refused(&definition).aws_message(), expected, "{definition}");
    }
    let unsupported = refused(&machine(
        json!({"A": task(json!({"Resource": "arn:aws:states:::sqs:sendMessage"}))}),
    ));
    let d = unsupported.diagnostic();
    assert_eq!(
        (d.code, d.location.as_str()),
        ("UNSUPPORTED_BY_LOCAL_CLOUD", "/States/A")
    );
    assert!(d.message.contains("not supported by the local cloud"), "{}", d.message);
}

// The pre-2022 Map spelling AWS still runs: `Iterator` (with or without ProcessorConfig) and
// `Parameters` in place of ItemProcessor and ItemSelector (test_base_scenarios.py::
// TestBaseScenarios::test_map_state_legacy, ::test_map_state_legacy_config_inline,
// ::test_map_state_legacy_config_inline_parameters, ::test_map_state_legacy_config_inline_item_selector).
#[test]
fn legacy_map_spellings_are_accepted() {
    let iterator = json!({"StartAt": "IteratorInner", "States": {"IteratorInner": {"Type": "Pass", "End": true}}});
    let mut with_config = iterator.clone();
    with_config["ProcessorConfig"] = json!({"Mode": "INLINE"});
    let selector = json!({"constantValue": "constant", "mapValue.$": "$$.Map.Item.Value", "fromInput.$": "$"});
    for extra in [
        json!({"Iterator": iterator}),
        json!({"Iterator": with_config}),
        json!({"Iterator": with_config, "Parameters": selector}),
        json!({"Iterator": with_config, "ItemSelector": selector}),
        json!({"Iterator": iterator, "MaxConcurrency": 0}),
    ] {
        let mut state = json!({"Type": "Map", "MaxConcurrency": 1, "Next": "Finish"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            state[k] = v.clone();
        }
        let definition = json!({"StartAt": "MapState", "States": {"MapState": state, "Finish": {"Type": "Succeed"}}});
        let parsed = StateMachine::parse(&definition.to_string());
        assert!(parsed.is_ok(), "{definition}: {parsed:?}");
    }
}

// A distributed legacy Map is refused as unsupported, naming the Iterator field.
#[test]
fn legacy_distributed_map_is_unsupported() {
    let iterator = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}, "ProcessorConfig": {"Mode": "DISTRIBUTED"}});
    let err = refused(&machine(
        json!({"A": {"Type": "Map", "Iterator": iterator, "End": true}}),
    ));
    assert!(err.is_unsupported(), "{err}");
    assert!(
        err.to_string()
            .contains("field \"Iterator.ProcessorConfig.Mode\" is not supported with value \"DISTRIBUTED\""),
        "{err}"
    );
}
