//! InputPath and InputTransformer, from "Amazon EventBridge input
//! transformation" and the InputTransformer / PutTargets API reference.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use zb_event_pattern::{input_path, InputTransformer, TransformContext, TransformError};

/// The example EC2 event of the input transformation page.
fn ec2_event() -> Value {
    json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": { "instance-id": "i-0123456789", "state": "RUNNING" }
    })
}

/// The page's Input Path: four variables.
fn doc_paths() -> BTreeMap<String, String> {
    [
        ("timestamp", "$.time"),
        ("instance", "$.detail.instance-id"),
        ("state", "$.detail.state"),
        ("resource", "$.resources[0]"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn transformer(paths: BTreeMap<String, String>, template: &str) -> InputTransformer {
    InputTransformer {
        input_paths_map: paths,
        input_template: template.to_string(),
    }
}

fn doc_context() -> TransformContext {
    TransformContext {
        rule_name: Some("example".into()),
        rule_arn: Some("arn:aws:events:us-east-2:123456789012:rule/example".into()),
        ingestion_time: None,
    }
}

enum Expect {
    /// The exact text delivered.
    Text(&'static str),
    /// The delivered text parses to this JSON (the docs reformat their outputs).
    Json(Value),
}

#[test]
fn input_template_examples() {
    let event = ec2_event();
    let without_detail = {
        let mut e = event.clone();
        e.as_object_mut().unwrap().remove("detail");
        e
    };
    let cases: Vec<(&str, &str, Expect)> = vec![
        (
            "simple string",
            r#""instance <instance> is in <state>""#,
            Expect::Text(r#""instance i-0123456789 is in RUNNING""#),
        ),
        (
            "string with escaped quotes",
            r#""instance \"<instance>\" is in <state>""#,
            Expect::Text(r#""instance \"i-0123456789\" is in RUNNING""#),
        ),
        (
            "simple JSON: unquoted string variables are quoted for us",
            r#"{"instance" : <instance>, "state": <state>}"#,
            Expect::Text(r#"{"instance" : "i-0123456789", "state": "RUNNING"}"#),
        ),
        (
            "JSON with strings and variables",
            r#"{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}"#,
            Expect::Json(json!({
                "instance": "i-0123456789",
                "state": "RUNNING",
                "instanceStatus": "instance \"i-0123456789\" is in RUNNING"
            })),
        ),
        (
            "JSON with a mix of variables and static information",
            r#"{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}"#,
            Expect::Json(json!({"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"})),
        ),
        (
            "including reserved variables in JSON",
            r#"{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event.json>}"#,
            Expect::Json(json!({
                "instance": "i-0123456789",
                "state": "RUNNING",
                "ruleArn": "arn:aws:events:us-east-2:123456789012:rule/example",
                "ruleName": "example",
                "originalEvent": event.clone()
            })),
        ),
        (
            "aws.events.event is the event without detail",
            r#"{"originalEvent" : <aws.events.event>}"#,
            Expect::Json(json!({ "originalEvent": without_detail })),
        ),
        (
            "including reserved variables in a string",
            r#""<aws.events.rule-name> triggered""#,
            Expect::Text(r#""example triggered""#),
        ),
        (
            "array element through a bracketed index",
            r#"{"resource": <resource>}"#,
            Expect::Json(json!({"resource": "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"})),
        ),
        (
            "ingestion time defaults to the event time",
            r#"{"at": <aws.events.event.ingestion-time>, "ts": "<timestamp>"}"#,
            Expect::Json(json!({"at": "2015-11-11T21:29:54Z", "ts": "2015-11-11T21:29:54Z"})),
        ),
    ];
    for (name, template, expected) in cases {
        let out = transformer(doc_paths(), template)
            .apply_with(&event, &doc_context())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match expected {
            Expect::Text(text) => assert_eq!(out, text, "{name}"),
            Expect::Json(value) => {
                let parsed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
                assert_eq!(parsed, value, "{name}");
            }
        }
    }
}

#[test]
fn api_reference_examples() {
    let event = ec2_event();
    let paths: BTreeMap<String, String> = [("instance", "$.detail.instance-id"), ("status", "$.detail.state")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let plain = transformer(paths.clone(), "<instance> is in state <status>")
        .apply(&event)
        .unwrap();
    assert_eq!(plain, "i-0123456789 is in state RUNNING");
    let quoted = transformer(paths.clone(), r#"<instance> is in state "<status>""#)
        .apply(&event)
        .unwrap();
    assert_eq!(quoted, r#"i-0123456789 is in state "RUNNING""#);
    let json = transformer(
        paths,
        r#"{"myInstance": <instance>,"myStatus": "<instance> is in state \"<status>\""}"#,
    )
    .apply(&event)
    .unwrap();
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json,
        json!({"myInstance": "i-0123456789", "myStatus": "i-0123456789 is in state \"RUNNING\""})
    );
}

#[test]
fn objects_go_in_raw_as_values_and_lose_their_quotes_in_strings() {
    let event = ec2_event();
    let paths: BTreeMap<String, String> = [("detail".to_string(), "$.detail".to_string())].into();
    let raw = transformer(paths.clone(), r#"{"detail": <detail>}"#)
        .apply(&event)
        .unwrap();
    assert_eq!(raw, r#"{"detail": {"instance-id":"i-0123456789","state":"RUNNING"}}"#);
    let in_string = transformer(paths, r#""Detail <detail>""#).apply(&event).unwrap();
    assert_eq!(in_string, r#""Detail {instance-id:i-0123456789,state:RUNNING}""#);
}

#[test]
fn scalars_strings_and_missing_paths() {
    let event = json!({"detail": {"n": 5, "ok": true, "note": "say \"hi\""}});
    let paths: BTreeMap<String, String> = [
        ("n", "$.detail.n"),
        ("ok", "$.detail.ok"),
        ("note", "$.detail.note"),
        ("gone", "$.detail.gone"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let out = transformer(
        paths.clone(),
        r#"{"n": <n>, "ok": <ok>, "s": "n=<n> ok=<ok>", "gone": <gone>, "g": "[<gone>]"}"#,
    )
    .apply(&event)
    .unwrap();
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        out,
        json!({"n": 5, "ok": true, "s": "n=5 ok=true", "gone": "", "g": "[]"})
    );
    // A quoted value is JSON-escaped where the template expects a value...
    let out = transformer(paths.clone(), r#"{"note": <note>}"#).apply(&event).unwrap();
    assert_eq!(out, r#"{"note": "say \"hi\""}"#);
    // ...but "EventBridge doesn't escape values extracted by Input Path" inside a string.
    let out = transformer(paths, r#"{"note": "<note>"}"#).apply(&event).unwrap();
    assert_eq!(out, r#"{"note": "say "hi""}"#);
}

#[test]
fn ingestion_time_from_the_context() {
    let t = transformer(BTreeMap::new(), r#""<aws.events.event.ingestion-time>""#);
    let ctx = TransformContext {
        ingestion_time: Some("2026-01-01T00:00:00Z".into()),
        ..Default::default()
    };
    assert_eq!(t.apply_with(&ec2_event(), &ctx).unwrap(), r#""2026-01-01T00:00:00Z""#);
}

#[test]
fn transformer_errors() {
    let event = ec2_event();
    let one = |k: &str, v: &str| -> BTreeMap<String, String> { [(k.to_string(), v.to_string())].into() };
    let cases: Vec<(&str, InputTransformer, TransformError)> = vec![
        (
            "placeholder with no variable",
            transformer(
                one("instance", "$.detail.instance-id"),
                r#"{"i": <instance>, "s": <state>}"#,
            ),
            TransformError::UnknownPlaceholder { name: "state".into() },
        ),
        (
            "predefined name as a key",
            transformer(one("aws.events.rule-name", "$.source"), "<aws.events.rule-name>"),
            TransformError::InvalidVariableName {
                key: "aws.events.rule-name".into(),
                reason: "it is a predefined variable".into(),
            },
        ),
        (
            "AWS. prefix",
            transformer(one("AWS.mine", "$.source"), "<AWS.mine>"),
            TransformError::InvalidVariableName {
                key: "AWS.mine".into(),
                reason: "keys cannot start with \"AWS.\"".into(),
            },
        ),
        (
            "placeholder as an object key",
            transformer(one("k", "$.source"), r#"{<k>: 1}"#),
            TransformError::PlaceholderAsKey { name: "k".into() },
        ),
        (
            "placeholder inside a quoted object key",
            transformer(one("k", "$.source"), r#"{"<k>": 1}"#),
            TransformError::PlaceholderAsKey { name: "k".into() },
        ),
        (
            "rule name without a context",
            transformer(BTreeMap::new(), r#""<aws.events.rule-name>""#),
            TransformError::MissingContext {
                name: "aws.events.rule-name".into(),
                what: "rule name".into(),
            },
        ),
        (
            "empty template",
            transformer(BTreeMap::new(), ""),
            TransformError::TemplateLength { len: 0 },
        ),
        (
            "not a JSONPath",
            transformer(one("s", "detail.state"), "<s>"),
            TransformError::InvalidPath {
                path: "detail.state".into(),
                reason: String::new(),
            },
        ),
        (
            "too many variables",
            transformer(
                (0..101).map(|i| (format!("v{i}"), "$.source".to_string())).collect(),
                "x",
            ),
            TransformError::TooManyVariables { count: 101 },
        ),
    ];
    for (name, t, want) in cases {
        let got = t.apply_with(&event, &TransformContext::default()).expect_err(name);
        match (&got, &want) {
            // The parser's wording is serde_json_path's; only the kind and path matter.
            (TransformError::InvalidPath { path: a, .. }, TransformError::InvalidPath { path: b, .. }) => {
                assert_eq!(a, b, "{name}")
            }
            _ => assert_eq!(got, want, "{name}"),
        }
    }
}

#[test]
fn less_than_signs_are_text_unless_they_form_a_placeholder() {
    let t = transformer(BTreeMap::new(), "a < b and c > d");
    assert_eq!(t.apply(&ec2_event()).unwrap(), "a < b and c > d");
}

#[test]
fn deserialises_from_the_api_shape() {
    let t: InputTransformer = serde_json::from_value(json!({
        "InputPathsMap": {"instance": "$.detail.instance-id"},
        "InputTemplate": "\"<instance>\""
    }))
    .unwrap();
    assert_eq!(t.apply(&ec2_event()).unwrap(), "\"i-0123456789\"");
    let constant: InputTransformer = serde_json::from_value(json!({"InputTemplate": "{\"a\": 1}"})).unwrap();
    assert_eq!(constant.apply(&ec2_event()).unwrap(), "{\"a\": 1}");
}

#[test]
fn input_path_examples() {
    let event = ec2_event();
    let cases: Vec<(&str, Value)> = vec![
        ("$.detail", json!({"instance-id": "i-0123456789", "state": "RUNNING"})),
        ("$.detail.state", json!("RUNNING")),
        ("$.detail-type", json!("EC2 Instance State-change Notification")),
        (
            "$.resources[0]",
            json!("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"),
        ),
        ("$['detail']['instance-id']", json!("i-0123456789")),
        (
            "$.resources[*]",
            json!(["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]),
        ),
        ("$.detail.*", json!(["i-0123456789", "RUNNING"])),
        ("$", event.clone()),
    ];
    for (path, want) in cases {
        assert_eq!(
            input_path(&event, path).unwrap_or_else(|e| panic!("{path}: {e}")),
            want,
            "{path}"
        );
    }
}

#[test]
fn input_path_filters_and_errors() {
    let event = json!({"detail": {"orders": [{"id": "a", "total": 5}, {"id": "b", "total": 50}]}});
    assert_eq!(
        input_path(&event, "$.detail.orders[?@.total > 10].id").unwrap(),
        json!(["b"])
    );
    assert_eq!(
        input_path(&event, "$.detail.missing"),
        Err(TransformError::PathNotFound {
            path: "$.detail.missing".into()
        })
    );
    assert!(matches!(
        input_path(&event, "detail"),
        Err(TransformError::InvalidPath { .. })
    ));
    let long = format!("$.{}", "a".repeat(300));
    assert!(matches!(
        input_path(&event, &long),
        Err(TransformError::PathTooLong { len: 302, .. })
    ));
}
