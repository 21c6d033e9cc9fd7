//! Our own state machines rewritten in JSONata (tests/fixtures/*.jsonata.asl.json, written from
//! the AWS docs page "Transforming data with JSONata in Step Functions",
//! https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html) run every scenario
//! to the same outcome as the JSONPath originals in statemachines/: the same status, output,
//! error and cause, the same states entered and history event types, and the same payload handed
//! to each function. The functions are the same binaries whichever language the machine is
//! written in, so a payload that differs in one field would be a different program.
//!
//! The order-pipeline scenarios are the demo feeds (local/seed/feeds, in `make demo`'s order),
//! read here and answered by doubles that return what the real functions return for them, plus
//! the failure paths a feed can take (transient errors retried, permanent ones caught and
//! recorded, recording itself failing, a batch too large to travel inline).

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::{compute, entered, run_machine, substitute, types, Reply, ScriptedInvoker};
use serde_json::{json, Value};
use zb_asl::{Outcome, StateMachine};

const ORDER_PIPELINE: &str = include_str!("../../../statemachines/order-pipeline.asl.json");
const ORDER_PIPELINE_JSONATA: &str = include_str!("fixtures/order-pipeline.jsonata.asl.json");
const WEBHOOK_DELIVERY: &str = include_str!("../../../statemachines/webhook-delivery.asl.json");
const WEBHOOK_DELIVERY_JSONATA: &str = include_str!("fixtures/webhook-delivery.jsonata.asl.json");

const PARTNERS: &str = include_str!("../../seed/partners.json");
/// The demo feeds, in the order `make demo` posts them (a replay and a conflict only mean
/// something after the feed they repeat).
const FEEDS: [(&str, &str); 5] = [
    (
        "01-partner-a-good",
        include_str!("../../seed/feeds/01-partner-a-good.json"),
    ),
    (
        "02-partner-a-mixed",
        include_str!("../../seed/feeds/02-partner-a-mixed.json"),
    ),
    (
        "03-partner-a-replay",
        include_str!("../../seed/feeds/03-partner-a-replay.json"),
    ),
    (
        "04-partner-b-good",
        include_str!("../../seed/feeds/04-partner-b-good.json"),
    ),
    (
        "05-partner-b-conflict",
        include_str!("../../seed/feeds/05-partner-b-conflict.json"),
    ),
];

/// shared::claim::INLINE_MAX_BYTES: a larger batch is staged and travels as a reference.
const INLINE_MAX_BYTES: usize = 32 * 1024;
/// shared::claim::PART_MAX_BYTES.
const PART_MAX_BYTES: usize = 300 * 1024;

// ------------------------------------------------------------------------------------ running

/// Everything one execution did that the two languages must agree on.
#[derive(Debug)]
struct Run {
    outcome: Outcome,
    entered: Vec<String>,
    events: Vec<String>,
    /// (function ARN, payload) of every invocation, retries included, in order.
    calls: Vec<(String, Value)>,
}

fn parse(definition: &str, what: &str) -> StateMachine {
    let definition = substitute(definition);
    assert!(!definition.contains("${"), "{what}: a placeholder was left");
    StateMachine::parse(&definition).unwrap_or_else(|e| panic!("{what} was refused: {e}"))
}

async fn run(definition: &str, what: &str, input: &Value, invoker: ScriptedInvoker) -> Run {
    let machine = parse(definition, what);
    // 1 s of machine time = 1 ms: the retries' backoff and the webhook's Wait stay real waits.
    let (outcome, history) = run_machine(&machine, input.clone(), &invoker, common::options(0.001)).await;
    Run {
        outcome,
        entered: entered(&history).into_iter().map(str::to_owned).collect(),
        events: types(&history).into_iter().map(str::to_owned).collect(),
        calls: invoker.calls(),
    }
}

/// Runs the JSONPath original and the JSONata rewrite on `input`, each with fresh doubles from
/// `doubles` (the same script), asserts that they did the same, and returns the original's run.
async fn same_in_both(
    (original, rewrite): (&str, &str),
    scenario: &str,
    input: &Value,
    doubles: impl Fn() -> ScriptedInvoker,
) -> Run {
    let jsonpath = run(original, "the JSONPath original", input, doubles()).await;
    let jsonata = run(rewrite, "the JSONata rewrite", input, doubles()).await;
    // The path first: a wrong turn explains every later difference.
    assert_eq!(jsonata.entered, jsonpath.entered, "{scenario}: states entered");
    assert_eq!(
        jsonata.calls.len(),
        jsonpath.calls.len(),
        "{scenario}: number of invocations"
    );
    for (i, (a, b)) in jsonata.calls.iter().zip(&jsonpath.calls).enumerate() {
        assert_eq!(a, b, "{scenario}: invocation #{i} (function, payload)");
    }
    assert_eq!(jsonata.outcome, jsonpath.outcome, "{scenario}: outcome");
    assert_eq!(jsonata.events, jsonpath.events, "{scenario}: history event types");
    jsonpath
}

const ORDER: (&str, &str) = (ORDER_PIPELINE, ORDER_PIPELINE_JSONATA);
const WEBHOOK: (&str, &str) = (WEBHOOK_DELIVERY, WEBHOOK_DELIVERY_JSONATA);

fn status(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded { .. } => "SUCCEEDED",
        Outcome::Failed { .. } => "FAILED",
        Outcome::TimedOut => "TIMED_OUT",
        Outcome::Aborted => "ABORTED",
    }
}

fn function_names(run: &Run) -> Vec<String> {
    run.calls.iter().map(|(f, _)| common::short_name(f)).collect()
}

// ------------------------------------------------------------------------- the demo feeds

/// A partner format's field names, as the demo feeds spell them, for the doubles to find what
/// validate and transform read. The canonical orders the transform double builds from them are
/// close to, not byte-for-byte, the real mapping's: the machines never read inside an order, and
/// both machines get the same doubles.
struct Format {
    orders: &'static str,
    sequence: &'static str,
    id: &'static str,
    created: &'static str,
    currency: &'static str,
    total: &'static str,
    customer: &'static str,
    lines: &'static str,
    sku: &'static str,
    quantity: &'static str,
    price: &'static str,
}

const PARTNER_A: Format = Format {
    orders: "/orders",
    sequence: "/sequenceNumber",
    id: "/orderId",
    created: "/createdAt",
    currency: "/currency",
    total: "/totalCents",
    customer: "/customer/id",
    lines: "/items",
    sku: "/sku",
    quantity: "/quantity",
    price: "/unitPriceCents",
};

const PARTNER_B: Format = Format {
    orders: "/data/orders",
    sequence: "/seq_no",
    id: "/order_ref",
    created: "/created_at",
    currency: "/currency_code",
    total: "/order_total",
    customer: "/buyer/email",
    lines: "/line_items",
    sku: "/product_code",
    quantity: "/qty",
    price: "/unit_price",
};

/// The instant the tests post the feeds at ("NOW" in a feed), fixed so runs compare.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("the test clock: {e}"))
}

/// "NOW" and "NOW-<ms>" replaced as the demo replaces them before posting.
fn resolve_now(value: &mut Value) {
    match value {
        Value::String(text) if text.starts_with("NOW") => {
            let ms: i64 = text
                .strip_prefix("NOW-")
                .map_or(0, |ms| ms.parse().unwrap_or_else(|e| panic!("{text}: {e}")));
            *text = (now() - Duration::milliseconds(ms)).to_rfc3339_opts(SecondsFormat::Millis, true);
        }
        Value::Array(items) => items.iter_mut().for_each(resolve_now),
        Value::Object(map) => map.values_mut().for_each(resolve_now),
        _ => {}
    }
}

/// A demo feed as posted: the partner's orders and what `make demo` expects of it.
struct Feed {
    name: String,
    partner: String,
    format_name: String,
    format: &'static Format,
    orders: Vec<Value>,
    expect: Value,
}

fn feed_file(name: &str) -> Value {
    let (_, text) = FEEDS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no demo feed {name}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load_feed(name: &str) -> Feed {
    let file = feed_file(name);
    // A replay posts exactly the body of the feed it repeats.
    let mut body = match file["replayOf"].as_str() {
        Some(original) => feed_file(original)["body"].clone(),
        None => file["body"].clone(),
    };
    resolve_now(&mut body);
    let partner = file["partner"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no partner"))
        .to_owned();
    let partners: Value = serde_json::from_str(PARTNERS).unwrap_or_else(|e| panic!("partners.json: {e}"));
    let format_name = partners
        .as_array()
        .and_then(|all| all.iter().find(|p| p["partnerId"] == partner.as_str()))
        .and_then(|p| p["format"].as_str())
        .unwrap_or_else(|| panic!("{name}: partner {partner} is not seeded"))
        .to_owned();
    let format = if partner == "partner-a" { &PARTNER_A } else { &PARTNER_B };
    let orders = body
        .pointer(format.orders)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{name}: no orders at {}", format.orders))
        .clone();
    Feed {
        name: name.to_owned(),
        partner,
        format_name,
        format,
        orders,
        expect: file["expect"].clone(),
    }
}

/// The state machine's input: the OrderFeedReceived detail (shared::pipeline::FeedRef).
fn feed_ref(feed: &Feed) -> Value {
    json!({
        "feedId": format!("feed-{}", feed.name),
        "partnerId": feed.partner,
        "format": feed.format_name,
        "receivedAt": now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "requestId": format!("req-{}", feed.name),
        "correlationId": format!("corr-{}", feed.name)
    })
}

/// `message` with the feed reference flattened in, as every pipeline message carries it.
fn with_feed(feed_ref: &Value, message: Value) -> Value {
    let mut out = feed_ref.clone();
    if let (Some(out), Value::Object(fields)) = (out.as_object_mut(), message) {
        out.extend(fields);
    }
    out
}

/// shared::pipeline::carry: inline while small, else a reference to the staged parts.
fn carry(step: &str, batch: Value) -> Value {
    let bytes = batch.to_string().len();
    if bytes <= INLINE_MAX_BYTES {
        json!({"inline": batch})
    } else {
        json!({"staged": {"step": step, "parts": bytes.div_ceil(PART_MAX_BYTES), "bytes": bytes}})
    }
}

fn minor_units(value: &Value) -> i64 {
    match value {
        // partner-b sends decimal strings ("25.50").
        Value::String(text) => {
            let amount: f64 = text.parse().unwrap_or_else(|e| panic!("amount {text}: {e}"));
            (amount * 100.0).round() as i64
        }
        other => other.as_i64().unwrap_or_else(|| panic!("amount {other}")),
    }
}

/// What Validate, Transform and Persist return for a feed, given the orders already stored by the
/// feeds posted before it ((partner, sequence number) -> canonical order). Only the two validation
/// rules the demo feeds break are modelled (a missing order id, a currency that is not ISO 4217);
/// Persist compares with the stored order as the real one compares content hashes.
struct Pipeline {
    input: Value,
    validated: Value,
    transformed: Value,
    persisted: Value,
    order_count: usize,
}

fn pipeline(feed: &Feed, stored: &mut HashMap<(String, u64), Value>) -> Pipeline {
    let f = feed.format;
    let input = feed_ref(feed);
    let mut valid = Vec::new();
    let mut rejections = Vec::new();
    for (index, order) in feed.orders.iter().enumerate() {
        let sequence = order.pointer(f.sequence).and_then(Value::as_u64);
        let currency = order.pointer(f.currency).and_then(Value::as_str).unwrap_or_default();
        let rejection = |field: &str, code: &str, message: String| {
            json!({"index": index, "sequenceNumber": sequence, "field": format!("{}/{index}{field}", f.orders),
                   "code": code, "message": message, "stage": "validate"})
        };
        if order.pointer(f.id).is_none() {
            rejections.push(rejection(f.id, "MISSING_FIELD", format!("{} is required", &f.id[1..])));
        } else if !["EUR", "USD"].contains(&currency.to_uppercase().as_str()) {
            rejections.push(rejection(
                f.currency,
                "UNKNOWN_CURRENCY",
                format!("{currency} is not an ISO 4217 currency"),
            ));
        } else {
            valid.push(json!({"index": index, "order": order}));
        }
    }
    let order_count = feed.orders.len();
    let counts = json!({"orderCount": order_count, "validCount": valid.len(), "rejectedCount": rejections.len()});
    let validated = with_feed(
        &input,
        json!({"batch": carry("validate", json!({"valid": valid, "rejections": rejections}))}),
    );
    let validated = with_feed(&validated, counts.clone());

    let canonical: Vec<Value> = valid
        .iter()
        .map(|raw| {
            let o = &raw["order"];
            let lines: Vec<Value> = o
                .pointer(f.lines)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|l| {
                    json!({"sku": l.pointer(f.sku), "quantity": l.pointer(f.quantity),
                           "unitPriceMinor": l.pointer(f.price).map(minor_units)})
                })
                .collect();
            json!({"index": raw["index"], "order": {
                "sequenceNumber": o.pointer(f.sequence), "externalId": o.pointer(f.id),
                "eventTime": o.pointer(f.created),
                "currency": o.pointer(f.currency).and_then(Value::as_str).map(str::to_uppercase),
                "totalMinor": o.pointer(f.total).map(minor_units), "lines": lines,
                "customerRef": o.pointer(f.customer)}})
        })
        .collect();
    let transformed = with_feed(
        &input,
        json!({"batch": carry("transform", json!({"orders": canonical, "rejections": rejections}))}),
    );
    let transformed = with_feed(&transformed, counts);

    let (mut persisted_count, mut duplicate) = (0, 0);
    for indexed in &canonical {
        let order = &indexed["order"];
        let key = (
            feed.partner.clone(),
            order["sequenceNumber"].as_u64().unwrap_or_default(),
        );
        match stored.get(&key) {
            None => {
                stored.insert(key, order.clone());
                persisted_count += 1;
            }
            Some(earlier) if earlier == order => duplicate += 1,
            Some(_) => rejections.push(json!({
                "index": indexed["index"], "sequenceNumber": key.1,
                "field": format!("{}/{}{}", f.orders, indexed["index"], f.sequence),
                "code": "SEQUENCE_CONFLICT",
                "message": format!("sequence number {} already holds a different order", key.1),
                "stage": "persist"})),
        }
    }
    rejections.sort_by_key(|r| r["index"].as_u64());
    let rejected = rejections.len();
    let persisted = with_feed(
        &input,
        json!({
            "orderCount": order_count,
            "status": if rejected > 0 { "COMPLETED_WITH_REJECTIONS" } else { "COMPLETED" },
            "counts": {"received": order_count, "persisted": persisted_count, "duplicate": duplicate, "rejected": rejected},
            "rejectedCount": rejected,
            "batch": carry("persist", json!({"rejections": rejections}))
        }),
    );
    Pipeline {
        input,
        validated,
        transformed,
        persisted,
        order_count,
    }
}

/// The record-error function (shared::pipeline::ErrorsToRecord -> ErrorsRecorded): its own caught
/// failure marks the feed FAILED; a pipeline failure records every order; otherwise the
/// rejections in Persist's batch (`rejectedCount` of them, staged or not) are recorded.
fn record_error(order_count: usize) -> Reply {
    compute(move |input| {
        let feed: serde_json::Map<String, Value> = input
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| {
                [
                    "feedId",
                    "partnerId",
                    "format",
                    "receivedAt",
                    "requestId",
                    "correlationId",
                ]
                .contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let feed = Value::Object(feed);
        Ok(if let Some(failure) = input.get("recordFailure") {
            with_feed(&feed, json!({"recorded": 0, "status": "FAILED", "failure": failure}))
        } else if let Some(failure) = input.get("failure") {
            with_feed(
                &feed,
                json!({"recorded": order_count, "status": "FAILED", "failure": failure}),
            )
        } else {
            with_feed(
                &feed,
                json!({"recorded": input["rejectedCount"], "status": "COMPLETED_WITH_REJECTIONS"}),
            )
        })
    })
}

fn doubles(p: &Pipeline) -> ScriptedInvoker {
    ScriptedInvoker::new()
        .otherwise("zb-validate", Reply::Return(p.validated.clone()))
        .otherwise("zb-transform", Reply::Return(p.transformed.clone()))
        .otherwise("zb-persist", Reply::Return(p.persisted.clone()))
        .otherwise("zb-recorderror", record_error(p.order_count))
}

/// Every demo feed, posted in order: the outcome `make demo` expects, in both languages.
#[tokio::test]
async fn the_demo_feeds_end_the_same_in_both_languages() {
    let mut stored = HashMap::new();
    for (name, _) in FEEDS {
        let feed = load_feed(name);
        let p = pipeline(&feed, &mut stored);
        let run = same_in_both(ORDER, name, &p.input, || doubles(&p)).await;

        assert_eq!(status(&run.outcome), feed.expect["status"], "{name}: execution status");
        // The doubles' counts are the demo's expectation of the feed: the scripts stand for it.
        let counts = &p.persisted["counts"];
        assert_eq!(counts["persisted"], feed.expect["accepted"], "{name}: accepted");
        assert_eq!(counts["duplicate"], feed.expect["duplicate"], "{name}: duplicate");
        assert_eq!(counts["rejected"], feed.expect["rejected"], "{name}: rejected");

        let rejected = feed.expect["rejected"].as_u64().unwrap_or_default() > 0;
        // 01 and 04: all valid; 03: all duplicates (a replay changes nothing) -> Done.
        // 02: rejected by Validate; 05: a sequence conflict found by Persist -> RecordErrors.
        let path: &[&str] = if rejected {
            &[
                "Validate",
                "Transform",
                "Persist",
                "HasRejections",
                "RecordErrors",
                "AfterRecordErrors",
                "Done",
            ]
        } else {
            &["Validate", "Transform", "Persist", "HasRejections", "Done"]
        };
        assert_eq!(run.entered, path, "{name}");
        let Outcome::Succeeded { output } = &run.outcome else {
            panic!("{name}: {:?}", run.outcome)
        };
        let expected = if rejected {
            json!({"recorded": feed.expect["rejected"], "status": "COMPLETED_WITH_REJECTIONS"})
        } else {
            p.persisted.clone()
        };
        assert_eq!(output, &with_feed(&p.input, expected), "{name}: output");
    }
}

/// Feed 01 while the feed bucket/table is briefly unavailable: Validate fails twice with the
/// retried TransientDependencyError and succeeds on its third (last) attempt.
#[tokio::test]
async fn a_transient_failure_is_retried_the_same_way() {
    let feed = load_feed("01-partner-a-good");
    let p = pipeline(&feed, &mut HashMap::new());
    let transient = Reply::Fail(
        "TransientDependencyError",
        r#"{"errorType":"TransientDependencyError","errorMessage":"DynamoDB throttled the request"}"#,
    );
    let run = same_in_both(ORDER, "transient", &p.input, || {
        doubles(&p).then("zb-validate", [transient.clone(), transient.clone()])
    })
    .await;
    assert_eq!(
        function_names(&run),
        [
            "zb-validate",
            "zb-validate",
            "zb-validate",
            "zb-transform",
            "zb-persist"
        ]
    );
    assert_eq!(
        run.entered,
        ["Validate", "Transform", "Persist", "HasRejections", "Done"]
    );
    assert_eq!(status(&run.outcome), "SUCCEEDED");
}

/// Feed 04 when a step fails for good (not retried): Validate finds no stored body
/// (FeedNotFound), Transform no longer knows the format (UnknownFormat), Persist's write is refused
/// (StoreError). Each step's Catch puts the error output at `failure` of the step's input,
/// RecordErrors records it and the feed ends in FeedFailed.
#[tokio::test]
async fn a_permanent_failure_is_caught_recorded_and_fails_the_feed() {
    let feed = load_feed("04-partner-b-good");
    let p = pipeline(&feed, &mut HashMap::new());
    // (failing step, its function, error, cause, the step's input)
    let cases = [
        (
            "Validate",
            "zb-validate",
            "FeedNotFound",
            r#"{"errorType":"FeedNotFound","errorMessage":"feed feed-04-partner-b-good has no stored body"}"#,
            &p.input,
        ),
        (
            "Transform",
            "zb-transform",
            "UnknownFormat",
            r#"{"errorType":"UnknownFormat","errorMessage":"unknown format partner-b@1"}"#,
            &p.validated,
        ),
        (
            "Persist",
            "zb-persist",
            "StoreError",
            r#"{"errorType":"StoreError","errorMessage":"ValidationException"}"#,
            &p.transformed,
        ),
    ];
    for (step, function, error, cause, step_input) in cases {
        let run = same_in_both(ORDER, step, &p.input, || {
            doubles(&p).otherwise(function, Reply::Fail(error, cause))
        })
        .await;
        let until = ["Validate", "Transform", "Persist"]
            .iter()
            .position(|s| *s == step)
            .map_or(0, |i| i + 1);
        let mut path = ["Validate", "Transform", "Persist"][..until].to_vec();
        path.extend(["RecordErrors", "AfterRecordErrors", "FeedFailed"]);
        assert_eq!(run.entered, path, "{step}");
        let recorded = run.calls.last().map(|(_, payload)| payload);
        assert_eq!(
            recorded,
            Some(&with_feed(
                step_input,
                json!({"failure": {"Error": error, "Cause": cause}})
            )),
            "{step}: RecordErrors gets the step's input with the error output at failure"
        );
        assert_feed_failed(&run);
    }
}

/// A Persist answer whose rejectedCount is not a number (never sent by today's persist): the
/// original's And stops at IsNumeric, and so must the rewrite's `and`, rather than fail comparing
/// a string with 0. The feed then counts as having no rejections.
#[tokio::test]
async fn a_non_numeric_rejected_count_is_not_a_rejection_in_either() {
    let feed = load_feed("02-partner-a-mixed");
    let p = pipeline(&feed, &mut HashMap::new());
    let mut persisted = p.persisted.clone();
    persisted["rejectedCount"] = json!("2");
    let run = same_in_both(ORDER, "string rejectedCount", &p.input, || {
        doubles(&p).otherwise("zb-persist", Reply::Return(persisted.clone()))
    })
    .await;
    assert_eq!(
        run.entered,
        ["Validate", "Transform", "Persist", "HasRejections", "Done"]
    );
}

/// Feed 02 when Persist's table stays unavailable: three TransientDependencyErrors exhaust the
/// retrier, the Catch takes over and the feed fails as in the permanent case.
#[tokio::test]
async fn exhausted_retries_are_caught_the_same_way() {
    let feed = load_feed("02-partner-a-mixed");
    let p = pipeline(&feed, &mut HashMap::new());
    let run = same_in_both(ORDER, "exhausted", &p.input, || {
        doubles(&p).otherwise(
            "zb-persist",
            Reply::Fail(
                "TransientDependencyError",
                r#"{"errorType":"TransientDependencyError","errorMessage":"ProvisionedThroughputExceeded"}"#,
            ),
        )
    })
    .await;
    assert_eq!(function_names(&run).iter().filter(|f| *f == "zb-persist").count(), 3);
    assert_eq!(
        run.entered,
        [
            "Validate",
            "Transform",
            "Persist",
            "RecordErrors",
            "AfterRecordErrors",
            "FeedFailed"
        ]
    );
    assert_feed_failed(&run);
}

/// Feed 02's rejections cannot be recorded (StoreError): RecordErrors' Catch hands its input plus
/// `recordFailure` to MarkFeedFailed; and when that fails too, its Catch still ends in FeedFailed.
#[tokio::test]
async fn a_failing_record_errors_marks_the_feed_failed_the_same_way() {
    let feed = load_feed("02-partner-a-mixed");
    let p = pipeline(&feed, &mut HashMap::new());
    let cause = r#"{"errorType":"StoreError","errorMessage":"Item size has exceeded the maximum allowed size"}"#;
    for (scenario, failures) in [("record errors fails", 1), ("mark feed failed fails too", 2)] {
        let run = same_in_both(ORDER, scenario, &p.input, || {
            doubles(&p).then("zb-recorderror", vec![Reply::Fail("StoreError", cause); failures])
        })
        .await;
        assert_eq!(
            run.entered,
            [
                "Validate",
                "Transform",
                "Persist",
                "HasRejections",
                "RecordErrors",
                "MarkFeedFailed",
                "FeedFailed"
            ],
            "{scenario}"
        );
        let (_, marked) = &run.calls[4];
        assert_eq!(
            marked,
            &with_feed(
                &p.persisted,
                json!({"recordFailure": {"Error": "StoreError", "Cause": cause}})
            ),
            "{scenario}"
        );
        assert_feed_failed(&run);
    }
}

/// A feed too large for its batches to travel inline (feed 02's orders repeated to 300, new
/// sequence numbers, some invalid): every step passes a staged reference (the claim check), which
/// the machines carry untouched.
#[tokio::test]
async fn staged_batches_travel_the_same_way() {
    let mut feed = load_feed("02-partner-a-mixed");
    let template = feed.orders.clone();
    feed.name = "large".to_owned();
    feed.orders = (0..300)
        .map(|i| {
            let mut order = template[i % template.len()].clone();
            order["sequenceNumber"] = json!(5000 + i);
            if order.get("orderId").is_some() {
                order["orderId"] = json!(format!("A-{}", 5000 + i));
            }
            order
        })
        .collect();
    let p = pipeline(&feed, &mut HashMap::new());
    for message in [&p.validated, &p.transformed] {
        assert!(
            message["batch"].get("staged").is_some(),
            "the batch is large enough to be staged"
        );
    }
    let run = same_in_both(ORDER, "staged", &p.input, || doubles(&p)).await;
    assert_eq!(run.entered.last().map(String::as_str), Some("Done"));
    let (_, transform_input) = &run.calls[1];
    assert_eq!(transform_input, &p.validated);
}

fn assert_feed_failed(run: &Run) {
    let Outcome::Failed {
        error: Some(error),
        cause: Some(cause),
    } = &run.outcome
    else {
        panic!("expected a failed execution, got {:?}", run.outcome)
    };
    assert_eq!(error, "FeedFailed");
    assert!(cause.starts_with("The order pipeline failed for this feed"), "{cause}");
}

// ---------------------------------------------------------------------- webhook delivery

// The demo partners have no webhook (notify appends to their outbox), so the demo feeds never
// start this machine; its scenarios are the deliver function's answers (shared::delivery::
// DeliveryStep: outcome delivered, retry after waitSeconds, or dead).

fn delivery_input() -> Value {
    json!({"partnerId": "partner-a", "deliveryId": "dlv-01", "attempt": 0})
}

/// One attempt's answer: the step with `attempt` counted, its outcome and the wait before the next.
fn attempt(outcome: &'static str, wait_seconds: Option<u64>) -> Reply {
    compute(move |input| {
        let mut next = input.clone();
        next["attempt"] = json!(input["attempt"].as_u64().unwrap_or_default() + 1);
        next["outcome"] = json!(outcome);
        match (next.as_object_mut(), wait_seconds) {
            (Some(map), None) => {
                map.remove("waitSeconds");
            }
            (Some(map), Some(seconds)) => {
                map.insert("waitSeconds".to_owned(), json!(seconds));
            }
            (None, _) => {}
        }
        Ok(next)
    })
}

#[tokio::test]
async fn webhook_deliveries_end_the_same_in_both_languages() {
    let throttled = Reply::Fail(
        "Lambda.TooManyRequestsException",
        "Rate Exceeded. (Service: Lambda, Status Code: 429)",
    );
    // (what it stands for, the deliver function's answers in order, states entered, status)
    let cases: Vec<(&str, Vec<Reply>, Vec<&str>, &str)> = vec![
        (
            "the partner answers 2xx at once",
            vec![attempt("delivered", None)],
            vec!["Attempt", "WhatNext", "Delivered"],
            "SUCCEEDED",
        ),
        (
            "a 503 with Retry-After 7, then 2xx",
            vec![attempt("retry", Some(7)), attempt("delivered", None)],
            vec!["Attempt", "WhatNext", "Backoff", "Attempt", "WhatNext", "Delivered"],
            "SUCCEEDED",
        ),
        (
            "a 410: the endpoint is disabled, a dead letter",
            vec![attempt("retry", Some(5)), attempt("dead", None)],
            vec!["Attempt", "WhatNext", "Backoff", "Attempt", "WhatNext", "DeadLetter"],
            "SUCCEEDED",
        ),
        (
            "Lambda throttles the invocation twice (retried in the Task), then 2xx",
            vec![throttled.clone(), throttled, attempt("delivered", None)],
            vec!["Attempt", "WhatNext", "Delivered"],
            "SUCCEEDED",
        ),
        (
            "the delivery record is gone: DeliveryNotFound fails the run (no Catch)",
            vec![Reply::Fail(
                "DeliveryNotFound",
                r#"{"errorType":"DeliveryNotFound","errorMessage":"delivery dlv-01 does not exist"}"#,
            )],
            vec!["Attempt"],
            "FAILED",
        ),
    ];
    for (scenario, answers, path, expected_status) in cases {
        let run = same_in_both(WEBHOOK, scenario, &delivery_input(), || {
            ScriptedInvoker::new().then("zb-deliver", answers.clone())
        })
        .await;
        assert_eq!(run.entered, path, "{scenario}");
        assert_eq!(status(&run.outcome), expected_status, "{scenario}");
        assert_eq!(run.calls.len(), answers.len(), "{scenario}: one invocation per answer");
        if let Outcome::Failed { error, .. } = &run.outcome {
            assert_eq!(error.as_deref(), Some("DeliveryNotFound"), "{scenario}");
        }
    }
}
