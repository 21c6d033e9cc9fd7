//! One case per documented example: the AWS pages "Amazon EventBridge event
//! patterns", "Comparison operators for use in event patterns", "Content
//! filtering", "Matching null values and empty strings", "Arrays in event
//! patterns", the TestEventPattern API reference, and Event Ruler's README
//! (the engine's own worked `$or` and array examples).

use serde_json::{json, Value};
use zb_event_pattern::Pattern;

struct Case {
    name: &'static str,
    pattern: Value,
    event: Value,
    matches: bool,
}

fn case(name: &'static str, pattern: Value, event: Value, matches: bool) -> Case {
    Case {
        name,
        pattern,
        event,
        matches,
    }
}

fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        let pattern = match Pattern::parse(&c.pattern) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: pattern refused: {e}", c.name));
                continue;
            }
        };
        let got = pattern.matches(&c.event);
        if got != c.matches {
            failures.push(format!("{}: expected matches={}, got {got}", c.name, c.matches));
        }
        // explain() must agree with matches() on every case.
        if pattern.explain(&c.event).is_ok() != got {
            failures.push(format!("{}: explain() disagrees with matches()", c.name));
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

fn ec2_state_change(state: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": { "instance-id": "i-1234567890abcdef0", "state": state }
    })
}

fn autoscaling_launch() -> Value {
    json!({
        "version": "0",
        "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
        "detail-type": "EC2 Instance Launch Successful",
        "source": "aws.autoscaling",
        "account": "123456789012",
        "time": "2015-11-11T21:31:47Z",
        "region": "us-east-1",
        "resources": [],
        "detail": { "eventVersion": "", "responseElements": null }
    })
}

fn macie_alert(risk: i64) -> Value {
    json!({
        "version": "0",
        "id": "3e355723-fca9-4de3-9fd7-154c289d6b59",
        "detail-type": "Macie Alert",
        "source": "aws.macie",
        "account": "123456789012",
        "time": "2017-04-24T22:28:49Z",
        "region": "us-east-1",
        "resources": [
            "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
            "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id"
        ],
        "detail": {
            "notification-type": "ALERT_CREATED",
            "name": "Scanning bucket policies",
            "tags": ["Custom_Alert", "Insider"],
            "risk-score": 80,
            "trigger": { "alert-type": "basic", "risk": risk }
        }
    })
}

/// The sample event of Event Ruler's README, used by its content-filtering examples.
fn ruler_sample() -> Value {
    json!({
        "version": "0",
        "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "012345679012",
        "time": "2017-10-02T16:24:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000",
            "state": "running"
        }
    })
}

#[test]
fn event_patterns_page() {
    let terminated = json!({
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": { "state": ["terminated"] }
    });
    run(vec![
        case(
            "EC2 termination pattern / terminated instance",
            terminated.clone(),
            ec2_state_change("terminated"),
            true,
        ),
        case(
            "EC2 termination pattern / running instance",
            terminated,
            ec2_state_change("running"),
            false,
        ),
        case(
            "match values: ec2 or fargate / ec2",
            json!({"source": ["aws.ec2", "aws.fargate"]}),
            ec2_state_change("running"),
            true,
        ),
        case(
            "match values: ec2 or fargate / fargate",
            json!({"source": ["aws.ec2", "aws.fargate"]}),
            json!({"source": "aws.fargate"}),
            true,
        ),
        case(
            "match values: ec2 or fargate / s3",
            json!({"source": ["aws.ec2", "aws.fargate"]}),
            json!({"source": "aws.s3"}),
            false,
        ),
        case(
            "field matching: responseElements null",
            json!({
                "source": ["aws.autoscaling"],
                "detail-type": ["EC2 Instance Launch Successful"],
                "detail": { "responseElements": [null] }
            }),
            autoscaling_launch(),
            true,
        ),
        case(
            "value matching: Macie risk-score 80 and trigger risk 8",
            json!({
                "source": ["aws.macie"],
                "detail-type": ["Macie Alert"],
                "detail": { "risk-score": [80], "trigger": { "risk": [8] } }
            }),
            macie_alert(8),
            true,
        ),
        case(
            "value matching: Macie trigger risk 9",
            json!({
                "source": ["aws.macie"],
                "detail-type": ["Macie Alert"],
                "detail": { "risk-score": [80], "trigger": { "risk": [8] } }
            }),
            macie_alert(9),
            false,
        ),
        case(
            "the event must contain every field the pattern names",
            json!({"source": ["aws.ec2"], "detail": {"reason": ["user"]}}),
            ec2_state_change("terminated"),
            false,
        ),
        case(
            "field names must have the same nesting",
            json!({"state": ["terminated"]}),
            ec2_state_change("terminated"),
            false,
        ),
        case(
            "fields not in the pattern are ignored",
            json!({"region": ["us-west-1"]}),
            ec2_state_change("terminated"),
            true,
        ),
    ]);
}

#[test]
fn matching_is_exact() {
    run(vec![
        case(
            "strings are case-sensitive",
            json!({"source": ["AWS.EC2"]}),
            ec2_state_change("running"),
            false,
        ),
        case(
            "no string normalisation (precomposed vs combining accent)",
            json!({"name": ["caf\u{e9}"]}),
            json!({"name": "cafe\u{301}"}),
            false,
        ),
        case(
            "300 and 300.0 are not equal",
            json!({"n": [300]}),
            json!({"n": 300.0}),
            false,
        ),
        case("300 equals 300", json!({"n": [300]}), json!({"n": 300}), true),
        case(
            "a string is not a number",
            json!({"n": ["300"]}),
            json!({"n": 300}),
            false,
        ),
        case(
            "true is not the string \"true\"",
            json!({"b": [true]}),
            json!({"b": "true"}),
            false,
        ),
        case("true is true", json!({"b": [true]}), json!({"b": true}), true),
        case(
            "TestEventPattern: ARNs match exactly, ':' is not '/'",
            json!({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance:i-1234567890abcdef0"]}),
            ec2_state_change("running"),
            false,
        ),
        case(
            "numeric '=' compares values, not representations",
            json!({"n": [{"numeric": ["=", 300]}]}),
            json!({"n": 300.0}),
            true,
        ),
    ]);
}

#[test]
fn null_values_and_empty_strings_page() {
    run(vec![
        case(
            "empty string matches \"\"",
            json!({"detail": {"eventVersion": [""]}}),
            autoscaling_launch(),
            true,
        ),
        case(
            "null matches null",
            json!({"detail": {"responseElements": [null]}}),
            autoscaling_launch(),
            true,
        ),
        case(
            "null does not match \"\"",
            json!({"detail": {"eventVersion": [null]}}),
            autoscaling_launch(),
            false,
        ),
        case(
            "\"\" does not match null",
            json!({"detail": {"responseElements": [""]}}),
            autoscaling_launch(),
            false,
        ),
        case(
            "null does not match an absent field",
            json!({"detail": {"other": [null]}}),
            autoscaling_launch(),
            false,
        ),
    ]);
}

#[test]
fn arrays_page() {
    let pattern = json!({"resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"
    ]});
    run(vec![
        case(
            "non-empty intersection of pattern and event arrays",
            pattern.clone(),
            json!({"resources": [
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
            ]}),
            true,
        ),
        case(
            "empty intersection",
            pattern,
            json!({"resources": ["arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f"]}),
            false,
        ),
        case(
            "any element can satisfy an operator",
            json!({"detail": {"tags": [{"prefix": "Ins"}]}}),
            macie_alert(8),
            true,
        ),
        case(
            "anything-but over an array: some element is not excluded",
            json!({"price": [{"anything-but": [100, 500]}]}),
            json!({"price": [100, 50]}),
            true,
        ),
        case(
            "anything-but over an array: every element excluded",
            json!({"price": [{"anything-but": [100, 500]}]}),
            json!({"price": [100, 500]}),
            false,
        ),
    ]);
}

#[test]
fn comparison_operators_page() {
    run(vec![
        // And
        case(
            "and: Location New York and Day Monday",
            json!({"Location": ["New York"], "Day": ["Monday"]}),
            json!({"Location": "New York", "Day": "Monday"}),
            true,
        ),
        case(
            "and: Monday is required too",
            json!({"Location": ["New York"], "Day": ["Monday"]}),
            json!({"Location": "New York", "Day": "Tuesday"}),
            false,
        ),
        // Anything-but
        case(
            "anything-but: state not initializing / running",
            json!({"state": [{"anything-but": "initializing"}]}),
            json!({"state": "running"}),
            true,
        ),
        case(
            "anything-but: state not initializing / initializing",
            json!({"state": [{"anything-but": "initializing"}]}),
            json!({"state": "initializing"}),
            false,
        ),
        case(
            "anything-but: does not match an absent field",
            json!({"state": [{"anything-but": "initializing"}]}),
            json!({"other": "x"}),
            false,
        ),
        case(
            "anything-but (begins with): Region not in the US / eu-west-1",
            json!({"Region": [{"anything-but": {"prefix": "us-"}}]}),
            json!({"Region": "eu-west-1"}),
            true,
        ),
        case(
            "anything-but (begins with): Region not in the US / us-east-1",
            json!({"Region": [{"anything-but": {"prefix": "us-"}}]}),
            json!({"Region": "us-east-1"}),
            false,
        ),
        case(
            "anything-but (ends with): FileName not .png / a.jpg",
            json!({"FileName": [{"anything-but": {"suffix": ".png"}}]}),
            json!({"FileName": "photo.jpg"}),
            true,
        ),
        case(
            "anything-but (ends with): FileName not .png / a.png",
            json!({"FileName": [{"anything-but": {"suffix": ".png"}}]}),
            json!({"FileName": "photo.png"}),
            false,
        ),
        case(
            "anything-but (ignore case): INITIALIZING is excluded",
            json!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}),
            json!({"state": "INITIALIZING"}),
            false,
        ),
        case(
            "anything-but (ignore case): running is not",
            json!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}),
            json!({"state": "running"}),
            true,
        ),
        case(
            "anything-but (ignore case) list",
            json!({"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}),
            json!({"state": "Stopped"}),
            false,
        ),
        case(
            "anything-but wildcard: not a path with /lib/ / /usr/bin/ls",
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"FilePath": "/usr/bin/ls"}),
            true,
        ),
        case(
            "anything-but wildcard: not a path with /lib/ / /usr/lib/libc.so",
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            json!({"FilePath": "/usr/lib/libc.so"}),
            false,
        ),
        // Begins with
        case(
            "begins with: Region in the US",
            json!({"Region": [{"prefix": "us-"}]}),
            json!({"Region": "us-east-1"}),
            true,
        ),
        case(
            "begins with: Region not in the US",
            json!({"Region": [{"prefix": "us-"}]}),
            json!({"Region": "eu-west-1"}),
            false,
        ),
        case(
            "begins with (ignore case): service starts with eventb",
            json!({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}),
            json!({"service": "EventBridge"}),
            true,
        ),
        case(
            "begins with (ignore case): lambda does not",
            json!({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}),
            json!({"service": "Lambda"}),
            false,
        ),
        // Empty
        case(
            "empty: LastName is empty",
            json!({"LastName": [""]}),
            json!({"LastName": ""}),
            true,
        ),
        case(
            "empty: LastName is not empty",
            json!({"LastName": [""]}),
            json!({"LastName": "Smith"}),
            false,
        ),
        // Equals
        case(
            "equals: Name is Alice",
            json!({"Name": ["Alice"]}),
            json!({"Name": "Alice"}),
            true,
        ),
        case(
            "equals: alice is not Alice",
            json!({"Name": ["Alice"]}),
            json!({"Name": "alice"}),
            false,
        ),
        case(
            "equals (ignore case): ALICE",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "ALICE"}),
            true,
        ),
        case(
            "equals (ignore case): Alicia",
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            json!({"Name": "Alicia"}),
            false,
        ),
        // Ends with
        case(
            "ends with: FileName ends with .png",
            json!({"FileName": [{"suffix": ".png"}]}),
            json!({"FileName": "image.png"}),
            true,
        ),
        case(
            "ends with: case-sensitive",
            json!({"FileName": [{"suffix": ".png"}]}),
            json!({"FileName": "image.PNG"}),
            false,
        ),
        case(
            "ends with (ignore case): service ends with tbridge / TBRIDGE",
            json!({"service": [{"suffix": {"equals-ignore-case": "tbridge"}}]}),
            json!({"service": "EVENTBRIDGE"}),
            true,
        ),
        case(
            "ends with (ignore case): Lambda",
            json!({"service": [{"suffix": {"equals-ignore-case": "tbridge"}}]}),
            json!({"service": "Lambda"}),
            false,
        ),
        // Exists
        case(
            "exists: ProductName exists",
            json!({"ProductName": [{"exists": true}]}),
            json!({"ProductName": "Widget"}),
            true,
        ),
        case(
            "exists: ProductName absent",
            json!({"ProductName": [{"exists": true}]}),
            json!({"Other": "Widget"}),
            false,
        ),
        case(
            "does not exist: ProductName absent",
            json!({"ProductName": [{"exists": false}]}),
            json!({"Other": "Widget"}),
            true,
        ),
        case(
            "does not exist: ProductName present",
            json!({"ProductName": [{"exists": false}]}),
            json!({"ProductName": "Widget"}),
            false,
        ),
        // Not
        case(
            "not: Weather is anything but Raining",
            json!({"Weather": [{"anything-but": ["Raining"]}]}),
            json!({"Weather": "Sunny"}),
            true,
        ),
        case(
            "not: Raining",
            json!({"Weather": [{"anything-but": ["Raining"]}]}),
            json!({"Weather": "Raining"}),
            false,
        ),
        // Null
        case(
            "null: UserID is null",
            json!({"UserID": [null]}),
            json!({"UserID": null}),
            true,
        ),
        case(
            "null: UserID is a string",
            json!({"UserID": [null]}),
            json!({"UserID": "u-1"}),
            false,
        ),
        // Numeric (equals)
        case(
            "numeric equals: Price is 100",
            json!({"Price": [{"numeric": ["=", 100]}]}),
            json!({"Price": 100}),
            true,
        ),
        case(
            "numeric equals: Price is 101",
            json!({"Price": [{"numeric": ["=", 100]}]}),
            json!({"Price": 101}),
            false,
        ),
        // Numeric (range)
        case(
            "numeric range: 10 < Price <= 20 / 20",
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            json!({"Price": 20}),
            true,
        ),
        case(
            "numeric range: 10 < Price <= 20 / 15.5",
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            json!({"Price": 15.5}),
            true,
        ),
        case(
            "numeric range: 10 < Price <= 20 / 10",
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            json!({"Price": 10}),
            false,
        ),
        case(
            "numeric range: 10 < Price <= 20 / 21",
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            json!({"Price": 21}),
            false,
        ),
        case(
            "numeric range: only JSON numbers",
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            json!({"Price": "15"}),
            false,
        ),
        case(
            "numeric: >= includes the bound",
            json!({"n": [{"numeric": [">=", 5]}]}),
            json!({"n": 5}),
            true,
        ),
        case(
            "numeric: < excludes the bound",
            json!({"n": [{"numeric": ["<", 5]}]}),
            json!({"n": 5}),
            false,
        ),
        case(
            "numeric: <= includes the bound",
            json!({"n": [{"numeric": ["<=", 5]}]}),
            json!({"n": 5}),
            true,
        ),
        case(
            "numeric: >= and < range",
            json!({"n": [{"numeric": [">=", 0, "<", 1]}]}),
            json!({"n": 0.999}),
            true,
        ),
        // Or
        case(
            "or: PaymentType Credit or Debit / Debit",
            json!({"PaymentType": ["Credit", "Debit"]}),
            json!({"PaymentType": "Debit"}),
            true,
        ),
        case(
            "or: PaymentType Credit or Debit / Cash",
            json!({"PaymentType": ["Credit", "Debit"]}),
            json!({"PaymentType": "Cash"}),
            false,
        ),
        case(
            "$or: Location is New York, or Day is Monday / Boston on Monday",
            json!({"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}),
            json!({"Location": "Boston", "Day": "Monday"}),
            true,
        ),
        case(
            "$or: Location is New York, or Day is Monday / Boston on Tuesday",
            json!({"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}),
            json!({"Location": "Boston", "Day": "Tuesday"}),
            false,
        ),
        // Wildcard
        case(
            "wildcard: a .png within dir / dir/abc.png",
            json!({"FileName": [{"wildcard": "dir/*.png"}]}),
            json!({"FileName": "dir/abc.png"}),
            true,
        ),
        case(
            "wildcard: a .png within dir / dir/sub/abc.png",
            json!({"FileName": [{"wildcard": "dir/*.png"}]}),
            json!({"FileName": "dir/sub/abc.png"}),
            true,
        ),
        case(
            "wildcard: a .png within dir / other/abc.png",
            json!({"FileName": [{"wildcard": "dir/*.png"}]}),
            json!({"FileName": "other/abc.png"}),
            false,
        ),
        case(
            "wildcard: event bus ARN in us-east-1",
            json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}),
            json!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders"}),
            true,
        ),
        case(
            "wildcard: event bus ARN in eu-west-1",
            json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}),
            json!({"EventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/orders"}),
            false,
        ),
        case(
            "wildcard: escaped star is literal",
            json!({"file": [{"wildcard": "report\\*final"}]}),
            json!({"file": "report*final"}),
            true,
        ),
    ]);
}

#[test]
fn content_filtering_page() {
    run(vec![
        case(
            "prefix: time starts with 2017-10-02",
            json!({"time": [{"prefix": "2017-10-02"}]}),
            json!({"time": "2017-10-02T18:43:48Z"}),
            true,
        ),
        case(
            "prefix: 2017-10-03 does not",
            json!({"time": [{"prefix": "2017-10-02"}]}),
            json!({"time": "2017-10-03T18:43:48Z"}),
            false,
        ),
        case(
            "prefix ignoring case: EVENTB",
            json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}),
            json!({"detail": {"service": "EVENTBRIDGE"}}),
            true,
        ),
        case(
            "suffix ignoring case: .PNG",
            json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}),
            json!({"detail": {"FileName": "IMAGE.PNG"}}),
            true,
        ),
        case(
            "anything-but string",
            json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
            ruler_sample(),
            true,
        ),
        case(
            "anything-but number / 301.8",
            json!({"detail": {"x-limit": [{"anything-but": 123}]}}),
            ruler_sample(),
            true,
        ),
        case(
            "anything-but number / 123",
            json!({"detail": {"x-limit": [{"anything-but": 123}]}}),
            json!({"detail": {"x-limit": 123}}),
            false,
        ),
        case(
            "anything-but list of strings / running",
            json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
            ruler_sample(),
            true,
        ),
        case(
            "anything-but list of strings / stopped",
            json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
            json!({"detail": {"state": "stopped"}}),
            false,
        ),
        case(
            "anything-but list of numbers / 150",
            json!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}),
            json!({"detail": {"x-limit": 150}}),
            true,
        ),
        case(
            "anything-but list of numbers / 200",
            json!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}),
            json!({"detail": {"x-limit": 200}}),
            false,
        ),
        case(
            "anything-but prefix / running",
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            ruler_sample(),
            true,
        ),
        case(
            "anything-but prefix / initializing",
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            json!({"detail": {"state": "initializing"}}),
            false,
        ),
        case(
            "numeric: all conditions true",
            json!({"detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}]
            }}),
            ruler_sample(),
            true,
        ),
        case(
            "numeric: one condition false",
            json!({"detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}]
            }}),
            json!({"detail": {"c-count": 6, "d-count": 3, "x-limit": 301.8}}),
            false,
        ),
        case(
            "IP address: 10.0.0.0/24 / 10.0.0.33",
            json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
            ruler_sample(),
            true,
        ),
        case(
            "IP address: 10.0.0.0/24 / 10.0.1.33",
            json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}),
            json!({"detail": {"sourceIPAddress": "10.0.1.33"}}),
            false,
        ),
        case(
            "IP address: IPv6",
            json!({"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}}),
            json!({"detail": {"sourceIPAddress": "2001:db8:1234::7"}}),
            true,
        ),
        case(
            "exists false: no detail.c-count",
            json!({"detail": {"c-count": [{"exists": false}]}}),
            json!({
                "detail-type": ["EC2 Instance State-change Notification"],
                "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
                "detail": {"state": ["initializing", "running"]}
            }),
            true,
        ),
        case(
            "exists false: c-count is not a leaf node",
            json!({"detail": {"c-count": [{"exists": false}]}}),
            json!({
                "detail-type": ["EC2 Instance State-change Notification"],
                "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
                "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}
            }),
            true,
        ),
        case(
            "exists false: c-count present",
            json!({"detail": {"c-count": [{"exists": false}]}}),
            ruler_sample(),
            false,
        ),
        case(
            "exists true: c-count present",
            json!({"detail": {"c-count": [{"exists": true}]}}),
            ruler_sample(),
            true,
        ),
        case(
            "complex example with multiple matching",
            json!({
                "time": [{"prefix": "2017-10-02"}],
                "detail": {
                    "state": [{"anything-but": "initializing"}],
                    "c-count": [{"numeric": [">", 0, "<=", 5]}],
                    "d-count": [{"numeric": ["<", 10]}],
                    "x-limit": [{"anything-but": [100, 200, 300]}],
                    "source-ip": [{"cidr": "10.0.0.0/8"}]
                }
            }),
            ruler_sample(),
            true,
        ),
        case(
            "$or inside detail: d-count satisfies",
            json!({"detail": {"$or": [
                {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                {"d-count": [{"numeric": ["<", 10]}]},
                {"x-limit": [{"numeric": ["=", 3.018e2]}]}
            ]}}),
            json!({"detail": {"c-count": 9, "d-count": 3}}),
            true,
        ),
        case(
            "$or inside detail: no branch satisfies",
            json!({"detail": {"$or": [
                {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                {"d-count": [{"numeric": ["<", 10]}]},
                {"x-limit": [{"numeric": ["=", 3.018e2]}]}
            ]}}),
            json!({"detail": {"c-count": 9, "d-count": 30, "x-limit": 1}}),
            false,
        ),
    ]);
}

#[test]
fn event_ruler_or_and_array_examples() {
    let normal_or = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ]
    });
    let parallel_or = json!({
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ],
        "detail": {
            "$or": [
                {"source": ["aws.cloudwatch"]},
                {"detail-type": ["CloudWatch Alarm State Change"]}
            ]
        }
    });
    let or_with_and = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
            {"scope": ["Service"]}
        ]
    });
    let nested_or = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {
                "metricType": ["MetricType"],
                "namespace": ["AWS/EC2", "AWS/ES"],
                "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]
            },
            {"scope": ["Service"]}
        ]
    });
    let employees = json!({"employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"}
    ]});
    let employees_nested = json!({"employees": [
        [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}],
        [{"firstName": "Peter", "lastName": "Jones"}]
    ]});
    run(vec![
        case(
            "normal $or: namespace branch",
            normal_or.clone(),
            json!({"source": "aws.cloudwatch", "namespace": "AWS/EC2"}),
            true,
        ),
        case(
            "normal $or: source still required",
            normal_or.clone(),
            json!({"source": "aws.s3", "namespace": "AWS/EC2"}),
            false,
        ),
        case(
            "normal $or: neither branch",
            normal_or,
            json!({"source": "aws.cloudwatch", "namespace": "AWS/S3"}),
            false,
        ),
        case(
            "parallel $or: both groups satisfied",
            parallel_or.clone(),
            json!({"metricName": "ReadLatency", "detail": {"detail-type": "CloudWatch Alarm State Change"}}),
            true,
        ),
        case(
            "parallel $or: second group unsatisfied",
            parallel_or,
            json!({"metricName": "ReadLatency", "detail": {"source": "aws.ec2"}}),
            false,
        ),
        case(
            "$or with an and inside: both halves",
            or_with_and.clone(),
            json!({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/ES"}),
            true,
        ),
        case(
            "$or with an and inside: half of the and",
            or_with_and,
            json!({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/S3"}),
            false,
        ),
        case(
            "nested $or and and: inner spaceId branch",
            nested_or.clone(),
            json!({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000}),
            true,
        ),
        case(
            "nested $or and and: inner $or unsatisfied",
            nested_or,
            json!({"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1}),
            false,
        ),
        case(
            "$or holding an object is an ordinary field",
            json!({"source": ["aws.cloudwatch"], "$or": {"metricType": ["MetricType"]}}),
            json!({"source": "aws.cloudwatch", "$or": {"metricType": "MetricType"}}),
            true,
        ),
        case(
            "array of objects: Anna",
            json!({"employees": {"firstName": ["Anna"]}}),
            employees.clone(),
            true,
        ),
        case(
            "array-consistent: Anna Smith is one element",
            json!({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}),
            employees.clone(),
            true,
        ),
        case(
            "array-consistent: Anna and Jones are different elements",
            json!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}),
            employees,
            false,
        ),
        case(
            "multi-level arrays are crushed too",
            json!({"employees": {"firstName": ["Peter"], "lastName": ["Jones"]}}),
            employees_nested.clone(),
            true,
        ),
        case(
            "multi-level arrays stay consistent",
            json!({"employees": {"firstName": ["John"], "lastName": ["Jones"]}}),
            employees_nested,
            false,
        ),
        case(
            "simple matching: resources, detail-type and a state list",
            json!({
                "detail-type": ["EC2 Instance State-change Notification"],
                "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
                "detail": {"state": ["initializing", "running"]}
            }),
            ruler_sample(),
            true,
        ),
        case(
            "suffix: source ends with ec2",
            json!({"source": [{"suffix": "ec2"}]}),
            ruler_sample(),
            true,
        ),
        case(
            "equals-ignore-case: EC2 is not aws.ec2",
            json!({"source": [{"equals-ignore-case": "EC2"}]}),
            ruler_sample(),
            false,
        ),
        case(
            "equals-ignore-case: AWS.EC2",
            json!({"source": [{"equals-ignore-case": "AWS.EC2"}]}),
            ruler_sample(),
            true,
        ),
        case(
            "wildcard: Simple*Service",
            json!({"source": [{"wildcard": "Simple*Service"}]}),
            json!({"source": "Simple Notification Service"}),
            true,
        ),
    ]);
}

#[test]
fn operators_only_apply_to_their_types() {
    run(vec![
        case(
            "prefix does not match numbers",
            json!({"n": [{"prefix": "1"}]}),
            json!({"n": 12}),
            false,
        ),
        case(
            "empty prefix matches any string",
            json!({"s": [{"prefix": ""}]}),
            json!({"s": "x"}),
            true,
        ),
        case(
            "wildcard does not match numbers",
            json!({"n": [{"wildcard": "*"}]}),
            json!({"n": 1}),
            false,
        ),
        case(
            "cidr does not match other strings",
            json!({"ip": [{"cidr": "10.0.0.0/8"}]}),
            json!({"ip": "ten"}),
            false,
        ),
        case(
            "numeric beyond the comparable range never matches",
            json!({"n": [{"numeric": [">", 0]}]}),
            json!({"n": 6.0e9}),
            false,
        ),
        case(
            "numeric precision is six decimals",
            json!({"n": [{"numeric": ["=", 1]}]}),
            json!({"n": 1.000_000_01}),
            true,
        ),
        case(
            "anything-but strings lets a number through",
            json!({"s": [{"anything-but": ["1"]}]}),
            json!({"s": 1}),
            true,
        ),
        case(
            "anything-but numbers compare values",
            json!({"n": [{"anything-but": [100]}]}),
            json!({"n": 100.0}),
            false,
        ),
        case(
            "exists true holds for null (a value)",
            json!({"a": [{"exists": true}]}),
            json!({"a": null}),
            true,
        ),
        case(
            "exists true fails for an empty array",
            json!({"a": [{"exists": true}]}),
            json!({"a": []}),
            false,
        ),
        case(
            "exists false holds for an empty array",
            json!({"a": [{"exists": false}]}),
            json!({"a": []}),
            true,
        ),
        case(
            "exists false holds when the parent is missing",
            json!({"detail": {"a": [{"exists": false}]}}),
            json!({"source": "x"}),
            true,
        ),
        case(
            "a value pattern does not match an object",
            json!({"detail": ["x"]}),
            json!({"detail": {"x": 1}}),
            false,
        ),
        case(
            "mixed alternatives: one of them suffices",
            json!({"state": ["stopped", {"prefix": "run"}, {"numeric": [">", 3]}]}),
            json!({"state": "running"}),
            true,
        ),
        case("an event that is not an object", json!({"a": ["x"]}), json!("x"), false),
    ]);
}
