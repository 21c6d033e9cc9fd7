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

/// CreateStateMachine's refusals of JSONata expressions. The page says `$states.result` and
/// `$states.errorOutput` "in fields and states where they are not accessible will be caught at
/// creation"; the messages and locations are those Floci measured with `aws stepfunctions
/// validate-state-machine-definition` (floci-io/floci, StepFunctionsTopLevelReferenceIntegrationTest).
#[test]
fn expressions_are_checked_at_creation_as_aws_does() {
    let pass_output = |output: Value| json!({"E": {"Type": "Pass", "Output": output, "End": true}});
    let task = |extra: Value| {
        let mut state = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                               "Arguments": {"FunctionName": "f"}, "End": true});
        state
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"E": state})
    };
    let catch = |output: Value| {
        let mut states = task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Output": output, "Next": "F"}]}));
        states["F"] = json!({"Type": "Pass", "End": true});
        states
    };
    // (states, start, the refusal or None when accepted)
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (pass_output(json!({"v": "{% phone[0] %}"})), "E",
         Some("UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported. at /States/E/Output/v")),
        (pass_output(json!({"v": "{% phone[1,2) %}"})), "E",
         Some("INVALID_JSONATA_EXPRESSION: Expected \"]\", got \",\" at /States/E/Output/v")),
        (pass_output(json!({"a": {"b": ["{% phone %}"]}})), "E",
         Some("Reference to 'phone' at the top level is not supported. at /States/E/Output/a/b[0]")),
        (pass_output(json!({"v": "{% $.phone %}"})), "E",
         Some("Reference to '$' at the top level is not supported. at /States/E/Output/v")),
        (pass_output(json!("{% $$ %}")), "E", Some("Reference to '$$' is not supported. at /States/E/Output")),
        (pass_output(json!("{% $states.errorOutput %}")), "E",
         Some("Field '$states.errorOutput' does not exist. at /States/E/Output")),
        (pass_output(json!("{% $states.result %}")), "E",
         Some("Field '$states.result' does not exist. at /States/E/Output")),
        (json!({"E": {"Type": "Pass", "Assign": {"v": "{% phone %}"}, "End": true}}), "E",
         Some("Reference to 'phone' at the top level is not supported. at /States/E/Assign/v")),
        (json!({"C": {"Type": "Choice", "Choices": [{"Condition": "{% phone = 1 %}", "Next": "E"}], "Default": "E"},
                "E": {"Type": "Pass", "End": true}}), "C",
         Some("at /States/C/Choices[0]/Condition")),
        (json!({"E": {"Type": "Wait", "Seconds": "{% phone %}", "End": true}}), "E", Some("at /States/E/Seconds")),
        (json!({"E": {"Type": "Fail", "Cause": "{% phone %}"}}), "E", Some("at /States/E/Cause")),
        (json!({"M": {"Type": "Map", "Items": "{% $states.input.a %}", "End": true, "ItemProcessor": {
                "StartAt": "I", "States": {"I": {"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": true}}}}}), "M",
         Some("at /States/M/ItemProcessor/States/I/Output/v")),
        (json!({"P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {
                "B": {"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": true}}}]}}), "P",
         Some("at /States/P/Branches[0]/States/B/Output/v")),
        (catch(json!({"v": "{% phone %}"})), "E", Some("at /States/E/Catch[0]/Output/v")),
        (catch(json!("{% $states.result %}")), "E", Some("Field '$states.result' does not exist. at /States/E/Catch[0]/Output")),
        (task(json!({"Arguments": {"FunctionName": "f", "Payload": "{% $states.result %}"}})), "E",
         Some("Field '$states.result' does not exist. at /States/E/Arguments/Payload")),
        // Accepted: reads through $states and variables, a name in a predicate or in a lambda's
        // own path, the result in a Task's Output, the error output in its Catch, and any
        // `{% %}` text in a JSONPath state.
        (pass_output(json!({"v": "{% $states.input.items[phone > 3] %}", "w": "{% $phone %}",
                            "x": "{% $map($states.input.a, function($x){ $x.phone }) %}"})), "E", None),
        (task(json!({"Output": "{% $states.result.Payload %}", "Assign": {"r": "{% $states.result %}"}})), "E", None),
        (catch(json!("{% $states.errorOutput.Cause %}")), "E", None),
        (json!({"E": {"Type": "Pass", "QueryLanguage": "JSONPath", "Parameters": {"v": "{% phone %}"}, "End": true}}), "E", None),
    ];
    for (states, start, refusal) in cases {
        let top = if states.to_string().contains("JSONPath") {
            "JSONPath"
        } else {
            "JSONata"
        };
        let definition = json!({"QueryLanguage": top, "StartAt": start, "States": states}).to_string();
        match (StateMachine::parse(&definition), refusal) {
            (Ok(_), None) => {}
            (Err(err), Some(expected)) => {
                assert!(!err.is_unsupported(), "{states}: {err}");
                assert!(err.aws_message().contains(expected), "{states}: {}", err.aws_message());
            }
            (Ok(_), Some(expected)) => panic!("{states}: accepted, AWS refuses with {expected}"),
            (Err(err), None) => panic!("{states}: refused ({err}), AWS accepts it"),
        }
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
