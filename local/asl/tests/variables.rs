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

/// A JSONata Pass state assigning `assign` and passing its input on.
fn assigning(assign: Value, next: Option<&str>) -> Value {
    let mut state = json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": assign});
    match next {
        Some(next) => state["Next"] = json!(next),
        None => state["End"] = json!(true),
    }
    state
}

/// A JSONata expression for a string whose JSON text is `bytes` long (its two quotes included).
fn text_of(bytes: usize) -> String {
    format!("{{% $pad('', {}, 'x') %}}", bytes - 2)
}

fn failed_with(outcome: &Outcome) -> (&str, &str) {
    match outcome {
        Outcome::Failed { error, cause } => (
            error.as_deref().unwrap_or_default(),
            cause.as_deref().unwrap_or_default(),
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}

// "Passing data between states with variables", Limits
// (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html#limits): a single
// variable and one Assign's variables together are at most 256 KiB.
#[tokio::test]
async fn a_variable_and_an_assign_are_limited_to_256_kib() {
    const KIB_256: usize = 256 * 1024;
    // (Assign, accepted)
    let cases = [
        (json!({"x": text_of(KIB_256)}), true),
        (json!({"x": text_of(KIB_256 + 1)}), false),
        (json!({"x": text_of(KIB_256 / 2), "y": text_of(KIB_256 / 2)}), true),
        (json!({"x": text_of(KIB_256 / 2), "y": text_of(KIB_256 / 2 + 1)}), false),
    ];
    for (assign, accepted) in cases {
        let states = json!({"A": assigning(assign.clone(), None)});
        let (outcome, history) = run(&machine(states, "A"), json!({}), &ScriptedInvoker::new()).await;
        if accepted {
            assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");
            assert_eq!(common::entered(&history), ["A"]);
        } else {
            let (error, cause) = failed_with(&outcome);
            assert_eq!(error, "States.DataLimitExceeded", "{cause}");
            assert!(cause.contains("'A'"), "{cause}");
        }
    }
}

// The same page: "The total size of all stored variables cannot exceed 10MiB per execution."
// Forty distinct variables of 255 KiB fit (10,200 KiB); the forty-first does not. Reassigning one
// variable replaces its bytes, and a Map iteration's variables leave with it ("Variable scope").
#[tokio::test]
async fn an_execution_holds_at_most_10_mib_of_variables() {
    let chain = |count: usize, distinct: bool| {
        let mut states = serde_json::Map::new();
        for i in 0..count {
            let name = if distinct { format!("v{i}") } else { "v".to_owned() };
            let next = format!("S{}", i + 1);
            let next = (i + 1 < count).then_some(next.as_str());
            states.insert(format!("S{i}"), assigning(json!({name: text_of(255 * 1024)}), next));
        }
        machine(Value::Object(states), "S0")
    };
    let (outcome, _) = run(&chain(40, true), json!({}), &ScriptedInvoker::new()).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");

    let (outcome, history) = run(&chain(41, true), json!({}), &ScriptedInvoker::new()).await;
    let (error, cause) = failed_with(&outcome);
    assert_eq!(error, "States.DataLimitExceeded", "{cause}");
    assert!(cause.contains("'S40'"), "{cause}");
    assert_eq!(common::entered(&history).len(), 41);

    let (outcome, _) = run(&chain(41, false), json!({}), &ScriptedInvoker::new()).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{outcome:?}");

    let map = json!({
        "M": {"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% [1..60] %}", "MaxConcurrency": 1,
              "Output": "{% $count($states.result) %}", "End": true,
              "ItemProcessor": {"StartAt": "I", "States": {"I": assigning(json!({"v": text_of(200 * 1024)}), None)}}}
    });
    let (outcome, _) = run(&machine(map, "M"), json!({}), &ScriptedInvoker::new()).await;
    assert_eq!(output(&outcome), &json!(60));
}
