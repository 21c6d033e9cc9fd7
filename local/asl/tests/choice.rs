//! Choice states: every comparison operator, boolean combinators, and the spec's example.

mod common;

use common::{entered, run, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::Outcome;

/// Runs a Choice with one rule: "Yes" when it matches, "No" (Default) otherwise.
async fn matches(rule: Value, input: Value) -> Result<bool, (String, String)> {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let definition = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Succeed"}
        }
    });
    let (outcome, history) = run(&definition.to_string(), input, &ScriptedInvoker::new()).await;
    match outcome {
        Outcome::Succeeded { .. } => Ok(entered(&history).contains(&"Yes")),
        Outcome::Failed { error, cause } => Err((error.unwrap_or_default(), cause.unwrap_or_default())),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn comparison_operators() {
    let input = json!({
        "s": "banana", "n": 10, "f": 2.5, "b": true, "t": "2016-03-14T01:59:00Z", "nul": null,
        "other_s": "apple", "other_n": 10, "other_b": false, "later": "2016-03-14T02:00:00Z",
        "log": "foo23.log", "star": "a*b"
    });
    let cases: Vec<(Value, bool)> = vec![
        (json!({"Variable": "$.s", "StringEquals": "banana"}), true),
        (json!({"Variable": "$.s", "StringEquals": "Banana"}), false),
        (json!({"Variable": "$.s", "StringLessThan": "cherry"}), true),
        (json!({"Variable": "$.s", "StringGreaterThan": "apple"}), true),
        (json!({"Variable": "$.s", "StringLessThanEquals": "banana"}), true),
        (json!({"Variable": "$.s", "StringGreaterThanEquals": "bananas"}), false),
        (json!({"Variable": "$.s", "StringEqualsPath": "$.other_s"}), false),
        (json!({"Variable": "$.s", "StringGreaterThanPath": "$.other_s"}), true),
        (json!({"Variable": "$.n", "StringEquals": "10"}), false), // wrong type: false, not an error
        (json!({"Variable": "$.n", "NumericEquals": 10}), true),
        (json!({"Variable": "$.n", "NumericEquals": 10.0}), true),
        (json!({"Variable": "$.f", "NumericLessThan": 3}), true),
        (json!({"Variable": "$.f", "NumericGreaterThan": 2.5}), false),
        (json!({"Variable": "$.f", "NumericGreaterThanEquals": 2.5}), true),
        (json!({"Variable": "$.n", "NumericLessThanEquals": 9}), false),
        (json!({"Variable": "$.n", "NumericEqualsPath": "$.other_n"}), true),
        (json!({"Variable": "$.f", "NumericLessThanPath": "$.n"}), true),
        (json!({"Variable": "$.s", "NumericEquals": 10}), false),
        (json!({"Variable": "$.b", "BooleanEquals": true}), true),
        (json!({"Variable": "$.b", "BooleanEqualsPath": "$.other_b"}), false),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2016-03-14T01:59:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2016-03-14T02:59:00+01:00"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThan": "2016-03-14T02:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThan": "2016-03-14T02:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2016-03-14T01:59:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2016-03-14T01:59:01Z"}),
            false,
        ),
        (json!({"Variable": "$.t", "TimestampLessThanPath": "$.later"}), true),
        (
            json!({"Variable": "$.s", "TimestampEquals": "2016-03-14T01:59:00Z"}),
            false,
        ),
        (json!({"Variable": "$.log", "StringMatches": "foo*.log"}), true),
        (json!({"Variable": "$.log", "StringMatches": "*.txt"}), false),
        (json!({"Variable": "$.star", "StringMatches": "a\\*b"}), true),
        (json!({"Variable": "$.log", "StringMatches": "foo\\*.log"}), false),
        (json!({"Variable": "$.nul", "IsNull": true}), true),
        (json!({"Variable": "$.s", "IsNull": true}), false),
        (json!({"Variable": "$.s", "IsPresent": true}), true),
        (json!({"Variable": "$.missing", "IsPresent": true}), false),
        (json!({"Variable": "$.missing", "IsPresent": false}), true),
        (json!({"Variable": "$.n", "IsNumeric": true}), true),
        (json!({"Variable": "$.s", "IsNumeric": true}), false),
        (json!({"Variable": "$.s", "IsString": true}), true),
        (json!({"Variable": "$.b", "IsBoolean": true}), true),
        (json!({"Variable": "$.t", "IsTimestamp": true}), true),
        (json!({"Variable": "$.s", "IsTimestamp": false}), true),
        (
            json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 5}, {"Variable": "$.b", "BooleanEquals": true}]}),
            true,
        ),
        (
            json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 5}, {"Variable": "$.b", "BooleanEquals": false}]}),
            false,
        ),
        (
            json!({"Or": [{"Variable": "$.n", "NumericGreaterThan": 50}, {"Variable": "$.b", "BooleanEquals": true}]}),
            true,
        ),
        (
            json!({"Or": [{"Variable": "$.n", "NumericGreaterThan": 50}, {"Variable": "$.b", "BooleanEquals": false}]}),
            false,
        ),
        (json!({"Not": {"Variable": "$.s", "StringEquals": "apple"}}), true),
        (
            json!({"Not": {"Or": [{"Variable": "$.s", "StringEquals": "apple"}, {"And": [{"Variable": "$.n", "IsNumeric": true}, {"Not": {"Variable": "$.b", "BooleanEquals": false}}]}]}}),
            false,
        ),
        // Short-circuit: the second rule would fail on the missing path.
        (
            json!({"And": [{"Variable": "$.missing", "IsPresent": true}, {"Variable": "$.missing", "NumericEquals": 1}]}),
            false,
        ),
        (json!({"Variable": "$$.State.Name", "StringEquals": "C"}), true),
    ];
    for (rule, expected) in cases {
        assert_eq!(matches(rule.clone(), input.clone()).await, Ok(expected), "{rule}");
    }
}

#[tokio::test]
async fn missing_variable_is_a_runtime_error() {
    let err = matches(json!({"Variable": "$.missing", "NumericEquals": 1}), json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.0, "States.Runtime");
    assert!(err.1.contains("Invalid path '$.missing'"), "{}", err.1);
    let err = matches(
        json!({"Variable": "$.n", "NumericEqualsPath": "$.missing"}),
        json!({"n": 1}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.0, "States.Runtime");
}

#[tokio::test]
async fn no_match_without_default_is_no_choice_matched() {
    let definition = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Y"}]},
            "Y": {"Type": "Succeed"}
        }
    });
    let (outcome, _) = run(&definition.to_string(), json!({}), &ScriptedInvoker::new()).await;
    assert!(matches!(outcome, Outcome::Failed { error: Some(error), .. } if error == "States.NoChoiceMatched"));
}

// Spec, Choice State example: {"type": "Private", "value": 22} goes to ValueInTwenties.
#[tokio::test]
async fn spec_dispatch_event_example() {
    let definition = json!({
        "StartAt": "DispatchEvent",
        "States": {
            "DispatchEvent": {
                "Type": "Choice",
                "Choices": [
                    {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                    {
                        "And": [
                            {"Variable": "$.value", "IsPresent": true},
                            {"Variable": "$.value", "IsNumeric": true},
                            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                            {"Variable": "$.value", "NumericLessThan": 30}
                        ],
                        "Next": "ValueInTwenties"
                    },
                    {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "StartAudit"}
                ],
                "Default": "RecordEvent"
            },
            "Public": {"Type": "Succeed"},
            "ValueInTwenties": {"Type": "Succeed"},
            "StartAudit": {"Type": "Succeed"},
            "RecordEvent": {"Type": "Succeed"}
        }
    });
    let cases = [
        (json!({"type": "Private", "value": 22}), "ValueInTwenties"),
        (json!({"type": "Public", "value": 22}), "Public"),
        (
            json!({"type": "Private", "value": 35, "rating": 9, "auditThreshold": 5}),
            "StartAudit",
        ),
        (
            json!({"type": "Private", "rating": 1, "auditThreshold": 5}),
            "RecordEvent",
        ),
    ];
    for (input, expected) in cases {
        let (outcome, history) = run(&definition.to_string(), input.clone(), &ScriptedInvoker::new()).await;
        assert!(matches!(outcome, Outcome::Succeeded { .. }), "{input}: {outcome:?}");
        assert_eq!(entered(&history), ["DispatchEvent", expected], "{input}");
    }
}

#[tokio::test]
async fn choice_applies_input_and_output_paths() {
    let definition = json!({
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "InputPath": "$.inner",
                "OutputPath": "$.keep",
                "Choices": [{"Variable": "$.flag", "BooleanEquals": true, "Next": "Done"}]
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let (outcome, _) = run(
        &definition.to_string(),
        json!({"inner": {"flag": true, "keep": {"k": 1}}}),
        &ScriptedInvoker::new(),
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Succeeded {
            output: json!({"k": 1})
        }
    );
}
