//! Every intrinsic function, with the examples from the AWS developer guide and the ASL spec.

mod common;

use common::{output, run, single, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::Outcome;

async fn evaluate(expression: &str, input: Value) -> Outcome {
    let definition = single(json!({"Type": "Pass", "Parameters": {"out.$": expression}}));
    run(&definition, input, &ScriptedInvoker::new()).await.0
}

async fn value_of(expression: &str, input: Value) -> Value {
    let outcome = evaluate(expression, input).await;
    output(&outcome)["out"].clone()
}

#[tokio::test]
async fn documented_examples() {
    let nine = json!([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let cases: Vec<(&str, Value, Value)> = vec![
        // States.Format (developer guide and spec)
        (
            "States.Format('Hello, my name is {}.', $.name)",
            json!({"name": "Arnav", "template": "Hello, my name is {}."}),
            json!("Hello, my name is Arnav."),
        ),
        (
            "States.Format($.template, $.name)",
            json!({"name": "Arnav", "template": "Hello, my name is {}."}),
            json!("Hello, my name is Arnav."),
        ),
        (
            "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
            json!({"name": "Foo", "zebra": "stripe"}),
            json!("Your name is Foo, we are in the year 2020"),
        ),
        (
            "States.Format('Welcome to {} {}\\'s playlist.', $.firstName, $.lastName)",
            json!({"firstName": "Jane", "lastName": "Doe"}),
            json!("Welcome to Jane Doe's playlist."),
        ),
        ("States.Format('\\{\\} {} {} {}', $.a, true, null)", json!({"a": 1.5}), json!("{} 1.5 true null")),
        // States.StringToJson / States.JsonToString
        ("States.StringToJson($.escapedJsonString)", json!({"escapedJsonString": "{\"foo\": \"bar\"}"}), json!({"foo": "bar"})),
        ("States.StringToJson($.someString)", json!({"someString": "{\"number\": 20}", "zebra": "stripe"}), json!({"number": 20})),
        (
            "States.JsonToString($.someJson)",
            json!({"someJson": {"name": "Foo", "year": 2020}, "zebra": "stripe"}),
            json!("{\"name\":\"Foo\",\"year\":2020}"),
        ),
        // States.Array
        ("States.Array($.Id)", json!({"Id": 123456}), json!([123456])),
        (
            "States.Array('Foo', 2020, $.someJson, null)",
            json!({"someJson": {"random": "abcdefg"}, "zebra": "stripe"}),
            json!(["Foo", 2020, {"random": "abcdefg"}, null]),
        ),
        // Arrays
        ("States.ArrayPartition($.inputArray,4)", json!({"inputArray": nine}), json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
        ("States.ArrayContains($.inputArray, $.lookingFor)", json!({"inputArray": nine, "lookingFor": 5}), json!(true)),
        ("States.ArrayContains($.inputArray, $.lookingFor)", json!({"inputArray": nine, "lookingFor": 10}), json!(false)),
        ("States.ArrayRange(1, 9, 2)", json!({}), json!([1, 3, 5, 7, 9])),
        ("States.ArrayRange(10, 0, -5)", json!({}), json!([10, 5, 0])),
        ("States.ArrayGetItem($.inputArray, $.index)", json!({"inputArray": nine, "index": 5}), json!(6)),
        ("States.ArrayLength($.inputArray)", json!({"inputArray": nine}), json!(9)),
        ("States.ArrayUnique($.inputArray)", json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}), json!([1, 2, 3, 4])),
        // Encoding
        ("States.Base64Encode($.input)", json!({"input": "Data to encode"}), json!("RGF0YSB0byBlbmNvZGU=")),
        ("States.Base64Decode($.base64)", json!({"base64": "RGF0YSB0byBlbmNvZGU="}), json!("Data to encode")),
        // Hashing. The guide prints the SHA-1 digest with a character missing
        // ("aaff4a450a104cd177d28d18d7485e8cae074b7", 39 digits); this is the real digest.
        (
            "States.Hash($.Data, $.Algorithm)",
            json!({"Data": "input data", "Algorithm": "SHA-1"}),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ),
        ("States.Hash($.Data, 'MD5')", json!({"Data": "input data"}), json!("812f45842bc6d66ee14572ce20db8e86")),
        (
            "States.Hash($.Data, 'SHA-256')",
            json!({"Data": "input data"}),
            json!("b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ),
        (
            "States.Hash($.Data, 'SHA-384')",
            json!({"Data": "input data"}),
            json!("d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"),
        ),
        (
            "States.Hash($.Data, 'SHA-512')",
            json!({"Data": "input data"}),
            json!("6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"),
        ),
        // JSON
        (
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ),
        // Math (non-integers are rounded, as the guide says)
        ("States.MathAdd($.value1, $.step)", json!({"value1": 111, "step": -1}), json!(110)),
        ("States.MathAdd(2.4, 1)", json!({}), json!(3)),
        // Strings
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "1,2,3,4,5", "splitter": ","}),
            json!(["1", "2", "3", "4", "5"]),
        ),
        (
            "States.StringSplit($.inputString, $.splitter)",
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
            json!(["This", "is", "a", "test", "string"]),
        ),
        // Nesting (the guide's image recipe ARN example) and context paths as arguments
        (
            "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 2))",
            json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.4.2"}}),
            json!("1.4.2"),
        ),
        ("States.Format('Today is {}', $$.State.Name)", json!({}), json!("Today is S")),
    ];
    for (expression, input, expected) in cases {
        assert_eq!(value_of(expression, input).await, expected, "{expression}");
    }
}

#[tokio::test]
async fn math_random_stays_in_range_and_repeats_with_a_seed() {
    for _ in 0..20 {
        let n = value_of("States.MathRandom($.start, $.end)", json!({"start": 1, "end": 999})).await;
        let n = n.as_i64().unwrap();
        assert!((1..999).contains(&n), "{n}");
    }
    let first = value_of("States.MathRandom(1, 1000000, 42)", json!({})).await;
    let second = value_of("States.MathRandom(1, 1000000, 42)", json!({})).await;
    assert_eq!(first, second);
}

#[tokio::test]
async fn uuid_is_a_version_4_uuid() {
    let value = value_of("States.UUID()", json!({})).await;
    let parsed = uuid::Uuid::parse_str(value.as_str().unwrap()).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
}

// Invalid arguments fail the execution with States.Runtime, naming the function.
#[tokio::test]
async fn evaluation_failures() {
    let cases = [
        ("States.ArrayGetItem($.a, 10)", "States.ArrayGetItem"),
        ("States.StringToJson($.s)", "States.StringToJson"),
        ("States.Format('{} {}', $.s)", "States.Format"),
        ("States.Hash($.s, 'CRC32')", "States.Hash"),
        ("States.JsonMerge($.o, $.o, true)", "States.JsonMerge"),
        ("States.ArrayRange(1, 5000, 1)", "States.ArrayRange"),
        ("States.ArrayPartition($.a, 0)", "States.ArrayPartition"),
        ("States.MathRandom(5, 5)", "States.MathRandom"),
        ("States.Base64Decode('!!!')", "States.Base64Decode"),
        ("States.ArrayLength($.s)", "States.ArrayLength"),
        ("States.Array($.missing)", "$.missing"),
    ];
    for (expression, mentioned) in cases {
        let outcome = evaluate(expression, json!({"a": [1, 2], "s": "not json", "o": {}})).await;
        let Outcome::Failed {
            error: Some(error),
            cause: Some(cause),
        } = outcome
        else {
            panic!("{expression} did not fail")
        };
        assert_eq!(error, "States.Runtime", "{expression}");
        assert!(cause.contains(mentioned), "{expression}: {cause}");
    }
}

// Results AWS recorded, from LocalStack's snapshots of real executions
// (tests/aws/services/stepfunctions/v2/intrinsic_functions/<file>.snapshot.json::<test> exec_hist_resp_<n>).
#[tokio::test]
async fn results_recorded_on_aws() {
    let cases: Vec<(&str, &str, Value, Value)> = vec![
        // test_generic::test_format_2 #7: objects and arrays print in Java's Map/List notation.
        (
            "test_format_2#7",
            "States.Format('fst={} and snd={}.', $.fst, $.snd)",
            json!({"fst": {"Arg1": 1, "Arg2": []}, "snd": {"Arg1": 1, "Arg2": []}}),
            json!("fst={Arg1=1, Arg2=[]} and snd={Arg1=1, Arg2=[]}."),
        ),
        // test_format_2 #6: a string holding JSON is printed as it is.
        (
            "test_format_2#6",
            "States.Format('fst={}.', $.fst)",
            json!({"fst": "{\"Arg1\": 1, \"Arg2\": []}"}),
            json!("fst={\"Arg1\": 1, \"Arg2\": []}."),
        ),
        // test_context_json_path: $$.StateMachine is an object too.
        (
            "test_context_json_path",
            "States.Format('snd={}.', $$.StateMachine)",
            json!({}),
            json!("snd={Id=arn:aws:states:us-east-1:123456789012:stateMachine:Test, Name=Test}."),
        ),
        // test_json_manipulation::test_string_to_json #0, #1, #3.
        (
            "test_string_to_json#0",
            "States.StringToJson($.s)",
            json!({"s": ""}),
            json!(null),
        ),
        (
            "test_string_to_json#1",
            "States.StringToJson($.s)",
            json!({"s": " "}),
            json!(null),
        ),
        (
            "test_string_to_json#3",
            "States.StringToJson($.s)",
            json!({"s": "-0"}),
            json!(0),
        ),
        // test_math_operations::test_math_add: operands are rounded like Java's Math.round.
        (
            "test_math_add#1",
            "States.MathAdd($.a, $.b)",
            json!({"a": 1.49, "b": 1.5}),
            json!(3),
        ),
        (
            "test_math_add#2",
            "States.MathAdd($.a, $.b)",
            json!({"a": 1.5, "b": 1.51}),
            json!(4),
        ),
        (
            "test_math_add#3",
            "States.MathAdd($.a, $.b)",
            json!({"a": -1.49, "b": -1.5}),
            json!(-2),
        ),
        (
            "test_math_add#4",
            "States.MathAdd($.a, $.b)",
            json!({"a": -1.5, "b": -1.51}),
            json!(-3),
        ),
        (
            "test_math_add#11",
            "States.MathAdd($.a, $.b)",
            json!({"a": -1.51, "b": 0}),
            json!(-2),
        ),
        (
            "test_math_add#12",
            "States.MathAdd($.a, $.b)",
            json!({"a": 0.5, "b": 0}),
            json!(1),
        ),
        (
            "test_math_add#14",
            "States.MathAdd($.a, $.b)",
            json!({"a": 2.5, "b": 0}),
            json!(3),
        ),
        (
            "test_math_add#16",
            "States.MathAdd($.a, $.b)",
            json!({"a": -0.5, "b": 0.5}),
            json!(1),
        ),
        (
            "test_math_add#17",
            "States.MathAdd($.a, $.b)",
            json!({"a": -0.5, "b": 0}),
            json!(0),
        ),
        (
            "test_math_add#19",
            "States.MathAdd($.a, $.b)",
            json!({"a": -2.5, "b": 0}),
            json!(-2),
        ),
        (
            "test_math_add#20",
            "States.MathAdd($.a, $.b)",
            json!({"a": -3.5, "b": 0}),
            json!(-3),
        ),
    ];
    for (key, expression, input, expected) in cases {
        assert_eq!(value_of(expression, input).await, expected, "{key}: {expression}");
    }
}

#[tokio::test]
async fn format_renders_nested_values_and_scalars() {
    let input = json!({"v": {"list": ["a", 1.5, null, true, {"k": []}], "empty": {}}});
    assert_eq!(
        value_of("States.Format('{}', $.v)", input).await,
        // Keys in the input's order, as AWS hands JSON on (serde_json's preserve_order).
        json!("{list=[a, 1.5, null, true, {k=[]}], empty={}}")
    );
    assert_eq!(
        value_of("States.Format('{}', $.v)", json!({"v": []})).await,
        json!("[]")
    );
}

#[tokio::test]
async fn string_to_json_keeps_float_negative_zero_and_strings() {
    // Only the integer -0 loses its sign; "-0" inside a string literal is text, and text that is
    // not JSON stays an error.
    for text in ["[-0, -05e1]", "1-0", "[1 -0]", "--0"] {
        let outcome = evaluate("States.StringToJson($.s)", json!({ "s": text })).await;
        assert!(matches!(outcome, Outcome::Failed { .. }), "{text}: {outcome:?}");
    }
    let input = json!({"s": "\n[-0, -0.0, \"-0\\\"-0\", {\"a\": -0}, -0e1] "});
    assert_eq!(
        value_of("States.StringToJson($.s)", input).await,
        json!([0, -0.0, "-0\"-0", {"a": 0}, -0.0])
    );
}
