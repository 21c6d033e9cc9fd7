//! Workflow variables in JSONPath states, from the AWS docs page "Passing data between states with
//! variables" (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html):
//! Assign, `$name` references in paths and intrinsics, evaluation against the values at state
//! entry, scoping in Map iterations, and `assignedVariables` in StateExited.

mod common;

use common::{output, run, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::{Outcome, StateMachine};

fn machine(states: Value, start: &str) -> String {
    json!({"StartAt": start, "States": states}).to_string()
}

#[tokio::test]
async fn assigned_variables_are_read_by_later_states() {
    // (states, input, expected output)
    let cases = [
        // The docs' example: assign literals, read them later with $name.
        (
            json!({
                "A": {"Type": "Pass", "Assign": {"productName": "product1", "count": 42, "available": true}, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"name.$": "$productName", "n.$": "$count", "ok.$": "$available"}, "End": true}
            }),
            json!({}),
            json!({"name": "product1", "n": 42, "ok": true}),
        ),
        // `.$` values read the state's result; `$name.field` reads into a variable.
        (
            json!({
                "A": {"Type": "Pass", "Result": {"x": {"y": 7}}, "Assign": {"v.$": "$.x"}, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"y.$": "$v.y", "f.$": "States.Format('y={}', $v.y)"}, "End": true}
            }),
            json!({}),
            json!({"y": 7, "f": "y=7"}),
        ),
        // All Assign values see the variables from state entry, not each other's new values.
        (
            json!({
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Next": "C"},
                "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old"}, "End": true}
            }),
            json!({}),
            json!({"x": 2, "old": 1}),
        ),
        // A Choice Variable may be a variable.
        (
            json!({
                "A": {"Type": "Pass", "Assign": {"go": true}, "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$go", "BooleanEquals": true, "Next": "Yes"}], "Default": "No"},
                "Yes": {"Type": "Pass", "Result": "yes", "End": true},
                "No": {"Type": "Pass", "Result": "no", "End": true}
            }),
            json!({}),
            json!("yes"),
        ),
    ];
    for (states, input, expected) in cases {
        let (outcome, _) = run(&machine(states.clone(), "A"), input, &ScriptedInvoker::new()).await;
        assert_eq!(output(&outcome), &expected, "{states}");
    }
}

#[tokio::test]
async fn state_exited_carries_assigned_variables_as_json_text() {
    let states = json!({"A": {"Type": "Pass", "Assign": {"s": "text", "n": 4.3}, "End": true}});
    let (_, history) = run(&machine(states, "A"), json!({}), &ScriptedInvoker::new()).await;
    let exited = history.iter().find(|e| e.r#type == "PassStateExited").expect("exited");
    assert_eq!(
        exited.details["assignedVariables"],
        json!({"s": "\"text\"", "n": "4.3"})
    );
    assert_eq!(exited.details["assignedVariablesDetails"], json!({"truncated": false}));
}

#[tokio::test]
async fn map_iterations_see_outer_variables_but_cannot_assign_them() {
    let processor = |inner: Value| {
        json!({
            "A": {"Type": "Pass", "Assign": {"outer": 1}, "Next": "M"},
            "M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
                  "ItemProcessor": {"StartAt": "I", "States": {"I": inner}}}
        })
    };
    let reads = processor(json!({"Type": "Pass", "Parameters": {"o.$": "$outer"}, "End": true}));
    let (outcome, _) = run(&machine(reads, "A"), json!({"items": [1, 2]}), &ScriptedInvoker::new()).await;
    assert_eq!(output(&outcome), &json!([{"o": 1}, {"o": 1}]));

    let writes = processor(json!({"Type": "Pass", "Assign": {"outer": 2}, "End": true}));
    let (outcome, _) = run(&machine(writes, "A"), json!({"items": [1]}), &ScriptedInvoker::new()).await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
}

#[test]
fn invalid_variable_names_are_refused() {
    for name in ["1x", "states", "a-b"] {
        let states = json!({"A": {"Type": "Pass", "Assign": {name: 1}, "End": true}});
        assert!(StateMachine::parse(&machine(states, "A")).is_err(), "{name}");
    }
}
