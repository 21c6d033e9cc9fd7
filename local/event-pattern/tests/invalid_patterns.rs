//! Patterns EventBridge refuses, each with the path and message we report.
//! Messages are Event Ruler's wording (what `PutRule` answers with).

use serde_json::{json, Value};
use zb_event_pattern::{Pattern, PatternError};

const MIXED: &str = "Inside anything but list, either all values are number or string, mixed type is not supported";
const RANGE: &str = "Value must be between -5.0E9 and 5.0E9, inclusive";

#[test]
fn invalid_patterns_name_path_and_problem() {
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        // Structure
        ("not an object", json!(["aws.ec2"]), "", "Filter is not an object"),
        ("empty pattern", json!({}), "", "Empty objects are not allowed"),
        (
            "empty nested object",
            json!({"detail": {}}),
            "detail",
            "Empty objects are not allowed",
        ),
        (
            "bare value",
            json!({"source": "aws.ec2"}),
            "source",
            "\"source\" must be an object or an array",
        ),
        (
            "empty array",
            json!({"source": []}),
            "source",
            "Empty arrays are not allowed",
        ),
        (
            "nested array value",
            json!({"source": [["aws.ec2"]]}),
            "source[0]",
            "Match value must be String, number, true, false, or null",
        ),
        (
            "empty operator object",
            json!({"a": [{}]}),
            "a[0]",
            "Match expression name not found",
        ),
        (
            "two operators in one object",
            json!({"a": [{"prefix": "x", "suffix": "y"}]}),
            "a[0]",
            "Only one key allowed in match expression",
        ),
        (
            "unknown operator",
            json!({"a": [{"contains": "x"}]}),
            "a[0]",
            "Unrecognized match type contains",
        ),
        (
            "regexp is not EventBridge",
            json!({"a": [{"regexp": "x"}]}),
            "a[0]",
            "Unrecognized match type regexp",
        ),
        // prefix / suffix / equals-ignore-case
        (
            "prefix of a number",
            json!({"a": [{"prefix": 5}]}),
            "a[0]",
            "prefix match pattern must be a string",
        ),
        (
            "suffix of null",
            json!({"a": [{"suffix": null}]}),
            "a[0]",
            "suffix match pattern must be a string",
        ),
        (
            "prefix with another nested operator",
            json!({"a": [{"prefix": {"wildcard": "x*"}}]}),
            "a[0]",
            "Unsupported prefix pattern: wildcard",
        ),
        (
            "prefix with an empty object",
            json!({"a": [{"prefix": {}}]}),
            "a[0]",
            "Prefix expression name not found",
        ),
        (
            "suffix equals-ignore-case of a number",
            json!({"a": [{"suffix": {"equals-ignore-case": 1}}]}),
            "a[0]",
            "equals-ignore-case match pattern must be a string",
        ),
        (
            "equals-ignore-case of a list",
            json!({"a": [{"equals-ignore-case": ["x"]}]}),
            "a[0]",
            "equals-ignore-case match pattern must be a string",
        ),
        // wildcard
        (
            "wildcard with consecutive stars",
            json!({"a": [{"wildcard": "a**b"}]}),
            "a[0]",
            "Consecutive wildcard characters at pos 2",
        ),
        (
            "wildcard with a bad escape",
            json!({"a": [{"wildcard": "a\\b"}]}),
            "a[0]",
            "Invalid escape character at pos 2",
        ),
        (
            "wildcard of a number",
            json!({"a": [{"wildcard": 1}]}),
            "a[0]",
            "wildcard match pattern must be a string",
        ),
        // numeric
        (
            "numeric on a string",
            json!({"a": [{"numeric": [">", "5"]}]}),
            "a[0]",
            "Value of > must be numeric",
        ),
        (
            "numeric '=' on a string",
            json!({"a": [{"numeric": ["=", "5"]}]}),
            "a[0]",
            "Value of equals must be numeric",
        ),
        (
            "numeric not an array",
            json!({"a": [{"numeric": 5}]}),
            "a[0]",
            "Value of numeric must be an array.",
        ),
        (
            "numeric empty",
            json!({"a": [{"numeric": []}]}),
            "a[0]",
            "Invalid member in numeric match: ]",
        ),
        (
            "numeric starts with a number",
            json!({"a": [{"numeric": [5]}]}),
            "a[0]",
            "Invalid member in numeric match: 5",
        ),
        (
            "numeric unknown operator",
            json!({"a": [{"numeric": ["!=", 5]}]}),
            "a[0]",
            "Unrecognized numeric range operator: !=",
        ),
        (
            "numeric missing value",
            json!({"a": [{"numeric": ["<"]}]}),
            "a[0]",
            "Value of < must be numeric",
        ),
        (
            "numeric inverted range",
            json!({"a": [{"numeric": [">", 10, "<", 1]}]}),
            "a[0]",
            "Bottom must be less than top",
        ),
        (
            "numeric empty range",
            json!({"a": [{"numeric": [">=", 1, "<=", 1]}]}),
            "a[0]",
            "Bottom must be less than top",
        ),
        (
            "numeric upper bound first",
            json!({"a": [{"numeric": ["<", 10, ">", 1]}]}),
            "a[0]",
            "Too many elements in numeric expression",
        ),
        (
            "numeric two lower bounds",
            json!({"a": [{"numeric": [">", 1, ">", 5]}]}),
            "a[0]",
            "Bad numeric range operator: >",
        ),
        (
            "numeric bound without operator",
            json!({"a": [{"numeric": [">", 1, 5]}]}),
            "a[0]",
            "Bad value in numeric range: 5",
        ),
        (
            "numeric too many terms",
            json!({"a": [{"numeric": [">", 1, "<", 5, "<", 6]}]}),
            "a[0]",
            "Too many terms in numeric range expression",
        ),
        (
            "numeric beyond 5e9",
            json!({"a": [{"numeric": ["=", 6.0e9]}]}),
            "a[0]",
            RANGE,
        ),
        // exists
        (
            "exists as a string",
            json!({"a": [{"exists": "true"}]}),
            "a[0]",
            "exists match pattern must be either true or false.",
        ),
        // cidr
        (
            "cidr without a mask",
            json!({"ip": [{"cidr": "10.0.0.0"}]}),
            "ip[0]",
            "Malformed CIDR, one '/' required",
        ),
        (
            "cidr with a non-integer mask",
            json!({"ip": [{"cidr": "10.0.0.0/x"}]}),
            "ip[0]",
            "Malformed CIDR, mask bits must be an integer",
        ),
        (
            "cidr with a negative mask",
            json!({"ip": [{"cidr": "10.0.0.0/-1"}]}),
            "ip[0]",
            "Malformed CIDR, mask bits must not be negative",
        ),
        (
            "cidr with a bad address",
            json!({"ip": [{"cidr": "10.0.0.256/24"}]}),
            "ip[0]",
            "Invalid IP address: 10.0.0.256",
        ),
        (
            "cidr /32",
            json!({"ip": [{"cidr": "10.0.0.1/32"}]}),
            "ip[0]",
            "IPv4 mask bits must be < 32",
        ),
        (
            "cidr /128",
            json!({"ip": [{"cidr": "::1/128"}]}),
            "ip[0]",
            "IPv6 mask bits must be < 128",
        ),
        (
            "cidr of a number",
            json!({"ip": [{"cidr": 10}]}),
            "ip[0]",
            "cidr match pattern must be a string",
        ),
        // anything-but
        (
            "anything-but of a mixed list",
            json!({"a": [{"anything-but": ["a", 1]}]}),
            "a[0]",
            MIXED,
        ),
        (
            "anything-but of an empty list",
            json!({"a": [{"anything-but": []}]}),
            "a[0]",
            MIXED,
        ),
        (
            "anything-but list with a boolean",
            json!({"a": [{"anything-but": ["a", true]}]}),
            "a[0]",
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            "anything-but of null",
            json!({"a": [{"anything-but": null}]}),
            "a[0]",
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            "anything-but of a huge number",
            json!({"a": [{"anything-but": 6.0e9}]}),
            "a[0]",
            RANGE,
        ),
        (
            "anything-but of an unsupported operator",
            json!({"a": [{"anything-but": {"numeric": [">", 1]}}]}),
            "a[0]",
            "Unsupported anything-but pattern: numeric",
        ),
        (
            "anything-but of an empty object",
            json!({"a": [{"anything-but": {}}]}),
            "a[0]",
            "Anything-But expression name not found",
        ),
        (
            "anything-but with two nested operators",
            json!({"a": [{"anything-but": {"prefix": "x", "suffix": "y"}}]}),
            "a[0]",
            "Only one key allowed in match expression",
        ),
        (
            "anything-but of an empty prefix",
            json!({"a": [{"anything-but": {"prefix": ""}}]}),
            "a[0]",
            "Null prefix/suffix not allowed",
        ),
        (
            "anything-but suffix of a number",
            json!({"a": [{"anything-but": {"suffix": 5}}]}),
            "a[0]",
            "prefix/suffix match pattern must be a string",
        ),
        (
            "anything-but equals-ignore-case of a number",
            json!({"a": [{"anything-but": {"equals-ignore-case": [1]}}]}),
            "a[0]",
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
        ),
        (
            "anything-but wildcard with consecutive stars",
            json!({"a": [{"anything-but": {"wildcard": ["ok*", "x**"]}}]}),
            "a[0]",
            "Consecutive wildcard characters at pos 2",
        ),
        (
            "anything-but prefix of an empty list",
            json!({"a": [{"anything-but": {"prefix": []}}]}),
            "a[0]",
            "Empty arrays are not allowed",
        ),
        // $or
        (
            "$or with one branch",
            json!({"$or": [{"a": ["x"]}]}),
            "$or",
            "There must have at least 2 Objects in $or relationship.",
        ),
        (
            "$or with a non-object branch",
            json!({"$or": [{"a": ["x"]}, "b"]}),
            "$or[1]",
            "Only JSON object is allowed in array of $or relationship.",
        ),
        (
            "operator name as a field inside $or",
            json!({"$or": [{"a": ["x"]}, {"prefix": ["y"]}]}),
            "$or[1].prefix",
            "prefix is Ruler reserved fieldName which cannot be used inside $or.",
        ),
        (
            "problem inside a nested $or branch",
            json!({"detail": {"$or": [{"a": []}, {"b": ["x"]}]}}),
            "detail.$or[0].a",
            "Empty arrays are not allowed",
        ),
        // Paths name the element.
        (
            "nested field and element index",
            json!({"detail": {"state": ["running", {"prefix": 1}]}}),
            "detail.state[1]",
            "prefix match pattern must be a string",
        ),
    ];
    let mut failures = Vec::new();
    for (name, pattern, path, reason) in &cases {
        match Pattern::parse(pattern) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) if e.path() != *path || e.reason() != *reason => failures.push(format!(
                "{name}: got ({:?}, {:?}), want ({path:?}, {reason:?})",
                e.path(),
                e.reason()
            )),
            Err(e) => assert!(matches!(e, PatternError::Invalid { .. }), "{name}: {e:?}"),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn too_many_or_combinations() {
    let branches = |n: usize, field: &str| -> Value {
        Value::Array((0..n).map(|i| json!({ field: [format!("v{i}")] })).collect())
    };
    // 40 x 30 = 1200 combinations, over AWS's 1000.
    let pattern = json!({"$or": branches(40, "a"), "detail": {"$or": branches(30, "b")}});
    let err = Pattern::parse(&pattern).unwrap_err();
    assert!(matches!(err, PatternError::TooComplex { .. }), "{err:?}");
    assert!(err.reason().contains("1200 rule combinations"), "{err}");
    // 40 x 25 = 1000 is still fine.
    let pattern = json!({"$or": branches(40, "a"), "detail": {"$or": branches(25, "b")}});
    assert!(Pattern::parse(&pattern).is_ok());
}

#[test]
fn error_display_names_the_place() {
    let err = Pattern::parse(&json!({"detail": {"state": [{"prefix": 1}]}})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "event pattern is not valid at `detail.state[0]`: prefix match pattern must be a string"
    );
    let err = Pattern::parse(&json!("aws.ec2")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "event pattern is not valid at the top level: Filter is not an object"
    );
}
