//! explain(): the first failing field, as a dotted event path, and why.

use serde_json::json;
use zb_event_pattern::{Mismatch, Pattern};

fn explain(pattern: serde_json::Value, event: serde_json::Value) -> Result<(), Mismatch> {
    Pattern::parse(&pattern).unwrap().explain(&event)
}

#[test]
fn names_the_failing_field_and_why() {
    struct Case {
        name: &'static str,
        pattern: serde_json::Value,
        event: serde_json::Value,
        field: &'static str,
        reason: &'static str,
    }
    let cases = vec![
        Case {
            name: "wrong value",
            pattern: json!({"source": ["zerobeta.orders"], "detail-type": ["OrderFeedReceived"]}),
            event: json!({"source": "zerobeta.orders", "detail-type": "OrdersPersisted"}),
            field: "detail-type",
            reason: r#"value "OrdersPersisted" does not match ["OrderFeedReceived"]"#,
        },
        Case {
            name: "absent nested field",
            pattern: json!({"detail": {"state": ["terminated"]}}),
            event: json!({"source": "aws.ec2"}),
            field: "detail.state",
            reason: r#"field is absent; the pattern requires ["terminated"]"#,
        },
        Case {
            name: "operator not satisfied",
            pattern: json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
            event: json!({"detail": {"c-count": 9}}),
            field: "detail.c-count",
            reason: r#"value 9 does not match [{"numeric":[">",0,"<=",5]}]"#,
        },
        Case {
            name: "exists false on a present field",
            pattern: json!({"detail": {"c-count": [{"exists": false}]}}),
            event: json!({"detail": {"c-count": 5}}),
            field: "detail.c-count",
            reason: r#"value 5 does not match [{"exists":false}]"#,
        },
        Case {
            name: "object where a value is required",
            pattern: json!({"detail": ["x"]}),
            event: json!({"detail": {"x": 1}}),
            field: "detail",
            reason: r#"field is an object, not a value; the pattern requires ["x"]"#,
        },
        Case {
            name: "empty array",
            pattern: json!({"resources": [{"exists": true}]}),
            event: json!({"resources": []}),
            field: "resources",
            reason: r#"field is an empty array; the pattern requires [{"exists":true}]"#,
        },
        Case {
            name: "array of objects where values are required",
            pattern: json!({"items": ["x"]}),
            event: json!({"items": [{"sku": "x"}]}),
            field: "items",
            reason: r#"field holds only objects, not values; the pattern requires ["x"]"#,
        },
        Case {
            name: "array of values",
            pattern: json!({"resources": ["arn:a"]}),
            event: json!({"resources": ["arn:b", "arn:c"]}),
            field: "resources",
            reason: r#"none of the values ["arn:b","arn:c"] matches ["arn:a"]"#,
        },
        Case {
            name: "array-consistent objects",
            pattern: json!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}),
            event: json!({"employees": [{"firstName": "Anna", "lastName": "Smith"}]}),
            field: "employees.lastName",
            reason: r#"value "Smith" does not match ["Jones"]"#,
        },
        Case {
            name: "no $or branch",
            pattern: json!({"detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}),
            event: json!({"detail": {"a": "3"}}),
            field: "detail.a",
            reason: r#"no $or branch matched (detail.a: value "3" does not match ["1"]; detail.b: field is absent; the pattern requires ["2"])"#,
        },
    ];
    for c in cases {
        let got = explain(c.pattern, c.event).expect_err(c.name);
        assert_eq!(
            (got.field.as_str(), got.reason.as_str()),
            (c.field, c.reason),
            "{}",
            c.name
        );
    }
}

#[test]
fn a_match_explains_nothing() {
    assert_eq!(
        explain(
            json!({"source": [{"prefix": "zerobeta."}]}),
            json!({"source": "zerobeta.orders"})
        ),
        Ok(())
    );
}

#[test]
fn the_first_failure_in_pattern_order_is_reported() {
    // Both fields fail; the pattern's first field is reported.
    let got = explain(
        json!({"detail-type": ["A"], "source": ["B"]}),
        json!({"detail-type": "x", "source": "y"}),
    )
    .unwrap_err();
    assert_eq!(got.field, "detail-type");
}

#[test]
fn mismatch_displays_field_and_reason() {
    let m = explain(json!({"source": ["a"]}), json!({})).unwrap_err();
    assert_eq!(m.to_string(), r#"source: field is absent; the pattern requires ["a"]"#);
}
