//! ZeroBeta's own rules (template.yaml) against the events our functions publish.

use serde_json::{json, Value};
use zb_event_pattern::{input_path, Pattern};

fn feed_received_rule() -> Pattern {
    Pattern::parse(&json!({"source": ["zerobeta.orders"], "detail-type": ["OrderFeedReceived"]})).unwrap()
}

fn outcome_rule() -> Pattern {
    Pattern::parse(&json!({"source": ["zerobeta.orders"], "detail-type": ["OrdersPersisted", "OrdersRejected"]}))
        .unwrap()
}

/// An event as the bus delivers it: the envelope around a function's detail.
fn envelope(source: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "0d8e3a5c-3b0f-4b55-9c5e-1f2a3b4c5d6e",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-03-02T10:15:30Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail
    })
}

/// Ingest's detail: the FeedRef.
fn feed_ref() -> Value {
    json!({
        "feedId": "feed_01HZX3K9Q8W7E6R5T4Y3U2I1O0",
        "partnerId": "acme-retail",
        "format": "acme-csv@2",
        "receivedAt": "2026-03-02T10:15:29.812Z",
        "requestId": "c1a6d2f4-7a8e-4f0b-9b1e-2d3c4b5a6f70",
        "correlationId": "corr-7f3e2a"
    })
}

fn received() -> Value {
    envelope("zerobeta.orders", "OrderFeedReceived", feed_ref())
}

fn persisted() -> Value {
    envelope(
        "zerobeta.orders",
        "OrdersPersisted",
        json!({
            "feedId": "feed_01HZX3K9Q8W7E6R5T4Y3U2I1O0",
            "partnerId": "acme-retail",
            "correlationId": "corr-7f3e2a",
            "status": "COMPLETED",
            "counts": {"received": 120, "persisted": 118, "rejected": 2}
        }),
    )
}

fn rejected() -> Value {
    envelope(
        "zerobeta.orders",
        "OrdersRejected",
        json!({
            "feedId": "feed_01HZX3K9Q8W7E6R5T4Y3U2I1O0",
            "partnerId": "acme-retail",
            "correlationId": "corr-7f3e2a",
            "status": "FAILED",
            "rejected": 2,
            "rejections": [
                {"index": 3, "sequenceNumber": 4, "code": "INVALID_CURRENCY", "field": "currency"},
                {"index": 9, "sequenceNumber": 10, "code": "MISSING_FIELD", "field": "sku"}
            ]
        }),
    )
}

#[test]
fn each_rule_takes_exactly_its_events() {
    let cases: Vec<(&str, Value, bool, bool)> = vec![
        // (name, event, feed-received rule matches, outcome rule matches)
        ("OrderFeedReceived", received(), true, false),
        ("OrdersPersisted", persisted(), false, true),
        ("OrdersRejected", rejected(), false, true),
        (
            "another source",
            envelope("partner.orders", "OrderFeedReceived", feed_ref()),
            false,
            false,
        ),
        (
            "detail-type case differs",
            envelope("zerobeta.orders", "orderfeedreceived", feed_ref()),
            false,
            false,
        ),
        (
            "unrelated detail-type",
            envelope("zerobeta.orders", "OrderFeedValidated", feed_ref()),
            false,
            false,
        ),
    ];
    let (feed, outcome) = (feed_received_rule(), outcome_rule());
    for (name, event, want_feed, want_outcome) in cases {
        assert_eq!(feed.matches(&event), want_feed, "{name}: OrderFeedReceived rule");
        assert_eq!(outcome.matches(&event), want_outcome, "{name}: outcome rule");
    }
}

#[test]
fn explain_says_why_a_rule_passed_an_event_by() {
    let why = feed_received_rule().explain(&persisted()).unwrap_err();
    assert_eq!(why.field, "detail-type");
    assert_eq!(
        why.reason,
        r#"value "OrdersPersisted" does not match ["OrderFeedReceived"]"#
    );
    let why = outcome_rule()
        .explain(&envelope("partner.orders", "OrdersPersisted", json!({})))
        .unwrap_err();
    assert_eq!(why.field, "source");
}

#[test]
fn the_state_machine_gets_the_feed_ref() {
    // The OrderFeedReceived target has `InputPath: $.detail`.
    assert_eq!(input_path(&received(), "$.detail").unwrap(), feed_ref());
}
