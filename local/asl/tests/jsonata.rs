//! JSONata states, from the AWS docs page "Transforming data with JSONata in Step Functions"
//! (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html): QueryLanguage,
//! Arguments and Output, `$states`, and the JSONPath fields a JSONata state may not have.
//!
//! The execution cases need the JSONata engine behind `crate::jsonata::compile`; they run
//! whenever it compiles expressions (the definition tests run regardless).

mod common;

use common::{output, run, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::StateMachine;

fn jsonata_machine(states: Value) -> String {
    json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": states}).to_string()
}

#[test]
fn jsonpath_fields_are_refused_in_jsonata_states() {
    for field in ["InputPath", "Parameters", "ResultPath", "OutputPath", "ResultSelector"] {
        let mut state = json!({"Type": "Pass", "End": true});
        state[field] = json!("$");
        let err = StateMachine::parse(&jsonata_machine(json!({"A": state}))).unwrap_err();
        assert!(!err.is_unsupported(), "{field}: {err}");
        assert!(
            err.aws_message().contains(&format!(
                "The field '{field}' is not supported for the JSONata QueryLanguage"
            )),
            "{field}: {}",
            err.aws_message()
        );
    }
}

#[test]
fn a_jsonata_machine_cannot_have_jsonpath_states() {
    let states = json!({"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}});
    assert!(StateMachine::parse(&jsonata_machine(states)).is_err());
}

#[test]
fn literal_jsonata_values_need_no_engine() {
    // A JSONata state without any {% %} expression: the literals are the output.
    let states = json!({"A": {"Type": "Pass", "Output": {"k.$": "kept as a literal key"}, "End": true}});
    assert!(StateMachine::parse(&jsonata_machine(states)).is_ok());
}

#[tokio::test]
async fn output_and_assign_follow_the_docs() {
    // (states, input, expected output)
    let cases = [
        // Output replaces the state output; $states.input is the raw input.
        (
            json!({"A": {"Type": "Pass", "Output": {"total": "{% $states.input.a + $states.input.b %}"}, "End": true}}),
            json!({"a": 1, "b": 2}),
            json!({"total": 3}),
        ),
        // Assign and Output are evaluated against the same variables: Output sees the old value.
        (
            json!({
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {"Type": "Pass", "Assign": {"x": 2}, "Output": "{% $x %}", "Next": "C"},
                "C": {"Type": "Pass", "Output": "{% $x %}", "End": true}
            }),
            json!({}),
            json!(2),
        ),
        // Choice Condition picks the rule.
        (
            json!({
                "A": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Big"}], "Default": "Small"},
                "Big": {"Type": "Pass", "Output": "big", "End": true},
                "Small": {"Type": "Pass", "Output": "small", "End": true}
            }),
            json!({"n": 5}),
            json!("big"),
        ),
        // Map Items and ItemSelector with $states.context.Map.Item.
        (
            json!({"A": {"Type": "Map", "Items": "{% $states.input.xs %}",
                "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}", "v": "{% $states.context.Map.Item.Value %}"},
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}),
            json!({"xs": ["a", "b"]}),
            json!([{"i": 0, "v": "a"}, {"i": 1, "v": "b"}]),
        ),
    ];
    for (states, input, expected) in cases {
        let (outcome, _) = run(&jsonata_machine(states.clone()), input, &ScriptedInvoker::new()).await;
        assert_eq!(output(&outcome), &expected, "{states}");
    }
}
