//! Golden test: a small synthetic run (two feeds, some unattributed
//! traffic), priced with the repository's price list, against figures
//! worked out by hand below. Log sizes are the only figures computed from
//! the data, because they are the byte lengths of the lines written here.

use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use zb_cost::history::events_from_api_json;
use zb_cost::price::{ApiKind, Arch, Choices, Service, Workflow};
use zb_cost::report::CostReport;
use zb_cost::whatif::{default_scenarios, what_if};
use zb_cost::{collect, LogEvent, PriceBook, Topology};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn book() -> PriceBook {
    PriceBook::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pricing/us-east-1.json"
    )))
    .expect("the repository's price list")
}

/// Whose line it is, as worked out by hand (for the log-size figures).
#[derive(Clone, Copy, PartialEq)]
enum Owner {
    Feed1,
    Feed2,
    Nobody,
}

struct Run {
    events: Vec<LogEvent>,
    owners: Vec<Owner>,
    ts: i64,
}

impl Run {
    fn line(&mut self, owner: Owner, function: &str, stream: &str, message: impl Into<String>) {
        self.ts += 1;
        self.events.push(LogEvent {
            log_group_name: format!("/aws/lambda/{function}"),
            log_stream_name: stream.to_string(),
            timestamp: self.ts,
            message: message.into(),
            ingestion_time: None,
        });
        self.owners.push(owner);
    }

    /// One invocation in Lambda's JSON log format: platform.start, the cost
    /// record, platform.report.
    fn invocation(&mut self, owner: Owner, function: &str, stream: &str, id: &str, billed_ms: u64, record: Value) {
        let mut record = record;
        record["record"] = json!("cost");
        record["FunctionName"] = json!(function);
        record["RequestId"] = json!(id);
        self.line(
            owner,
            function,
            stream,
            json!({"time": "2026-11-25T00:00:00.000Z", "type": "platform.start", "record": {"requestId": id, "version": "$LATEST"}}).to_string(),
        );
        self.line(owner, function, stream, record.to_string());
        self.line(
            owner,
            function,
            stream,
            json!({"time": "2026-11-25T00:00:00.000Z", "type": "platform.report", "record": {"requestId": id,
                "metrics": {"durationMs": billed_ms as f64 - 0.5, "billedDurationMs": billed_ms, "memorySizeMB": 128, "maxMemoryUsedMB": 20},
                "status": "success"}})
            .to_string(),
        );
    }

    /// (message bytes + 26 per event) x $0.50 / 2^30, the owner's lines only.
    fn log_usd(&self, owner: Owner) -> Decimal {
        let (n, bytes) = self
            .events
            .iter()
            .zip(&self.owners)
            .filter(|(_, o)| **o == owner)
            .fold((0u64, 0u64), |(n, b), (e, _)| (n + 1, b + e.message.len() as u64));
        Decimal::from(bytes + 26 * n) * d("0.50") / Decimal::from(1u64 << 30)
    }
}

fn history_event(seconds: f64, kind: &str, details: Option<(&str, Value)>) -> Value {
    let mut v = json!({"id": 1, "previousEventId": 0, "timestamp": seconds, "type": kind});
    if let Some((k, x)) = details {
        v[k] = x;
    }
    v
}

/// An execution of the pipeline: Validate (with `retries` extra attempts),
/// Transform, Persist, HasRejections, Done, ending at `end` seconds.
fn execution(feed: &str, partner: &str, retries: usize, end: f64) -> Vec<Value> {
    let input = json!({"feedId": feed, "partnerId": partner}).to_string();
    let mut h = vec![history_event(
        100.0,
        "ExecutionStarted",
        Some(("executionStartedEventDetails", json!({"input": input}))),
    )];
    for (i, _state) in ["Validate", "Transform", "Persist"].iter().enumerate() {
        let t = 100.0 + 0.01 * (i as f64 + 1.0);
        h.push(history_event(t, "TaskStateEntered", None));
        h.push(history_event(t, "TaskScheduled", None));
        if i == 0 {
            for _ in 0..retries {
                h.push(history_event(t, "TaskFailed", None));
                h.push(history_event(t, "TaskScheduled", None));
            }
        }
        h.push(history_event(t, "TaskSucceeded", None));
        h.push(history_event(t, "TaskStateExited", None));
    }
    h.push(history_event(100.05, "ChoiceStateEntered", None));
    h.push(history_event(100.05, "ChoiceStateExited", None));
    h.push(history_event(100.05, "SucceedStateEntered", None));
    h.push(history_event(100.05, "SucceedStateExited", None));
    h.push(history_event(end, "ExecutionSucceeded", None));
    h
}

/// (JSON bytes + 26 per event) x $0.50 / 2^30.
fn history_log_usd(h: &[Value]) -> Decimal {
    let bytes: u64 = h.iter().map(|e| e.to_string().len() as u64 + 26).sum();
    Decimal::from(bytes) * d("0.50") / Decimal::from(1u64 << 30)
}

struct Fixture {
    run: Run,
    express: Vec<Value>,
    standard: Vec<Value>,
    topology: Topology,
}

fn fixture() -> Fixture {
    use Owner::*;
    let mut run = Run {
        events: Vec::new(),
        owners: Vec::new(),
        ts: 1_000,
    };
    // Feed 1, partner-a, 3 orders. The authorizer runs cold, logging as text.
    let a = "zb-authorizer";
    run.line(Feed1, a, "auth", "INIT_START Runtime Version: provided:al2023.v1");
    run.line(Feed1, a, "auth", "START RequestId: a1 Version: $LATEST");
    run.line(
        Feed1,
        a,
        "auth",
        r#"{"record":"cost","FunctionName":"zb-authorizer","RequestId":"a1","ApiRequestId":"api-1","PartnerId":"partner-a","DynamoDbReadUnits":1.0}"#,
    );
    run.line(Feed1, a, "auth", "END RequestId: a1");
    run.line(
        Feed1,
        a,
        "auth",
        "REPORT RequestId: a1\tDuration: 10.50 ms\tBilled Duration: 36 ms\tMemory Size: 128 MB\tMax Memory Used: 26 MB\tInit Duration: 25.06 ms\t",
    );
    run.invocation(
        Feed1,
        "zb-ingest",
        "ing",
        "i1",
        12,
        json!({"FeedId": "feed-1", "PartnerId": "partner-a", "ApiRequestId": "api-1", "ApiRequestBytes": 900,
               "OrdersHandled": 3, "OrdersReceived": 3.0, "DynamoDbWriteUnits": 2.0, "EventBridgeEntries": 1, "EventBridgeBytes": 274}),
    );
    let feed1 = json!({"FeedId": "feed-1", "PartnerId": "partner-a"});
    let with = |mut base: Value, extra: Value| {
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    run.invocation(
        Feed1,
        "zb-validate",
        "val",
        "v1",
        3,
        with(feed1.clone(), json!({"DynamoDbReadUnits": 1.0})),
    );
    run.invocation(Feed1, "zb-transform", "tra", "t1", 1, feed1.clone());
    run.invocation(
        Feed1,
        "zb-persist",
        "per",
        "p1",
        20,
        with(
            feed1.clone(),
            json!({"DynamoDbWriteUnits": 7.0, "EventBridgeEntries": 1, "EventBridgeBytes": 244, "OrdersPersisted": 3.0}),
        ),
    );
    run.invocation(
        Feed1,
        "zb-notify",
        "not",
        "n1",
        5,
        with(feed1, json!({"DynamoDbReadUnits": 0.5})),
    );

    // Feed 2, partner-b, 1 order of a 600,000-byte body; the authorizer's
    // answer is cached; validate is retried once.
    let feed2 = json!({"FeedId": "feed-2", "PartnerId": "partner-b"});
    run.invocation(
        Feed2,
        "zb-ingest",
        "ing",
        "i2",
        10,
        json!({"FeedId": "feed-2", "PartnerId": "partner-b", "ApiRequestId": "api-2", "ApiRequestBytes": 600000,
               "OrdersReceived": 1.0, "DynamoDbWriteUnits": 2.0, "EventBridgeEntries": 1, "EventBridgeBytes": 274}),
    );
    run.invocation(
        Feed2,
        "zb-validate",
        "val",
        "v2",
        2,
        with(feed2.clone(), json!({"DynamoDbReadUnits": 1.0})),
    );
    run.invocation(
        Feed2,
        "zb-validate",
        "val",
        "v3",
        2,
        with(feed2.clone(), json!({"DynamoDbReadUnits": 1.0})),
    );
    run.invocation(Feed2, "zb-transform", "tra", "t2", 1, feed2.clone());
    run.invocation(
        Feed2,
        "zb-persist",
        "per",
        "p2",
        8,
        with(
            feed2.clone(),
            json!({"DynamoDbWriteUnits": 3.0, "EventBridgeEntries": 1, "EventBridgeBytes": 244, "OrdersPersisted": 1.0}),
        ),
    );
    run.invocation(
        Feed2,
        "zb-notify",
        "not",
        "n2",
        4,
        with(feed2, json!({"DynamoDbReadUnits": 0.5})),
    );

    // Nobody's: a status poll (query) and a refused key (authorizer only).
    run.invocation(
        Nobody,
        "zb-query",
        "qry",
        "q1",
        4,
        json!({"PartnerId": "partner-a", "DynamoDbReadUnits": 1.0}),
    );
    run.invocation(
        Nobody,
        "zb-authorizer",
        "auth",
        "a2",
        2,
        json!({"ApiRequestId": "api-9", "DynamoDbReadUnits": 0.5}),
    );

    Fixture {
        run,
        // 100.000 -> 100.236 s: billed 300 ms.
        express: execution("feed-1", "partner-a", 0, 100.236),
        // 100.000 -> 100.512 s: 600 ms if it were Express.
        standard: execution("feed-2", "partner-b", 1, 100.512),
        topology: Topology {
            api_functions: ["zb-ingest".to_string(), "zb-query".to_string()].into(),
            definition_bytes: 6_283,
        },
    }
}

fn report(f: &Fixture, choices: &Choices) -> CostReport {
    let histories = vec![
        (
            "arn:aws:states:us-east-1:000000000000:express:zb-order-pipeline:e1:x".to_string(),
            events_from_api_json(&f.express).unwrap(),
        ),
        (
            "arn:aws:states:us-east-1:000000000000:execution:zb-order-pipeline:e2".to_string(),
            events_from_api_json(&f.standard).unwrap(),
        ),
    ];
    let usage = collect(&f.run.events, histories, &f.topology);
    zb_cost::report::build(&usage, &book(), choices, f.topology.definition_bytes)
}

fn service(r: &zb_cost::report::Row, s: Service) -> Decimal {
    r.by_service.get(&s).copied().unwrap_or_default()
}

#[test]
fn feeds_partners_services_and_the_unattributed_rest_match_the_hand_figures() {
    let f = fixture();
    let r = report(&f, &Choices::default());
    assert_eq!(r.feeds.len(), 2);
    let (f1, f2) = (&r.feeds[0], &r.feeds[1]);
    assert_eq!(f1.feed_id.as_deref(), Some("feed-1"));
    assert_eq!(f1.partner_id.as_deref(), Some("partner-a"));
    assert_eq!((f1.orders, f1.orders_persisted), (3, 3));

    // Feed 1.
    // API Gateway: one 900-byte request = 1 unit x $1.00/1M.
    assert_eq!(service(f1, Service::ApiGateway), d("0.000001"));
    // Lambda: 6 requests x $0.20/1M = 0.0000012, plus
    // (36 + 12 + 3 + 1 + 20 + 5) = 77 ms x 128 MB = 77 x 0.125 / 1000 = 0.009625 GB-s
    // x $0.0000166667 = 0.0000001604169875.
    assert_eq!(service(f1, Service::Lambda), d("0.0000012") + d("0.0000001604169875"));
    // Step Functions Express: 1 request x $1.00/1M = 0.000001, plus 236 ms -> 300 ms
    // at 64 MB (50 MB + 6,283 B definition + tiny state) = 0.3 x 0.0625 = 0.01875 GB-s
    // x $0.06/3600 per GB-s = 0.0000003125.
    assert_eq!(service(f1, Service::StepFunctions), d("0.000001") + d("0.0000003125"));
    // DynamoDB: (2 + 7) WRU x $0.625/1M = 0.000005625; (1 authorizer + 1 + 0.5) RRU
    // x $0.125/1M = 0.0000003125.
    assert_eq!(service(f1, Service::DynamoDb), d("0.000005625") + d("0.0000003125"));
    // EventBridge: 2 entries of ~250 bytes = 2 events x $1.00/1M.
    assert_eq!(service(f1, Service::EventBridge), d("0.000002"));
    // CloudWatch Logs: this feed's lines, and the estimated execution log.
    assert_eq!(
        service(f1, Service::CloudWatchLogs),
        f.run.log_usd(Owner::Feed1) + history_log_usd(&f.express)
    );
    let f1_total = d("0.000001")
        + d("0.0000012")
        + d("0.0000001604169875")
        + d("0.000001")
        + d("0.0000003125")
        + d("0.000005625")
        + d("0.0000003125")
        + d("0.000002")
        + f.run.log_usd(Owner::Feed1)
        + history_log_usd(&f.express);
    assert_eq!(f1.usd, f1_total);
    assert_eq!(f1.usd_per_order, Some((f1_total / d("3")).round_dp(12)));

    // Feed 2.
    // API Gateway: 600,000 bytes = ceil(600000 / 524288) = 2 units.
    assert_eq!(service(f2, Service::ApiGateway), d("0.000002"));
    // Lambda: 6 requests (validate twice) = 0.0000012, plus (10 + 2 + 2 + 1 + 8 + 4) = 27 ms
    // x 0.125 / 1000 = 0.003375 GB-s x $0.0000166667 = 0.0000000562501125.
    assert_eq!(service(f2, Service::Lambda), d("0.0000012") + d("0.0000000562501125"));
    // Standard: 5 states entered + 1 retry = 6 transitions x $0.025/1000 = 0.00015.
    assert_eq!(service(f2, Service::StepFunctions), d("0.00015"));
    // DynamoDB: (2 + 3) WRU = 0.000003125; (1 + 1 + 0.5) RRU = 0.0000003125.
    assert_eq!(service(f2, Service::DynamoDb), d("0.000003125") + d("0.0000003125"));
    assert_eq!(service(f2, Service::EventBridge), d("0.000002"));
    assert_eq!(
        service(f2, Service::CloudWatchLogs),
        f.run.log_usd(Owner::Feed2) + history_log_usd(&f.standard)
    );

    // Unattributed: the query's API request (1 unit), 2 Lambda requests,
    // (4 + 2) ms x 0.125 / 1000 = 0.00075 GB-s x $0.0000166667 = 0.000000012500025,
    // (1 + 0.5) RRU = 0.0000001875, and their log lines.
    let u = &r.unattributed;
    assert_eq!(u.feed_id, None);
    assert_eq!(service(u, Service::ApiGateway), d("0.000001"));
    assert_eq!(service(u, Service::Lambda), d("0.0000004") + d("0.000000012500025"));
    assert_eq!(service(u, Service::DynamoDb), d("0.0000001875"));
    assert_eq!(service(u, Service::CloudWatchLogs), f.run.log_usd(Owner::Nobody));
    assert!(!u.by_service.contains_key(&Service::StepFunctions));

    // Totals, partners, services and shares hold together exactly.
    assert_eq!(r.total.usd, f1.usd + f2.usd + u.usd);
    assert_eq!(r.total.orders, 4);
    for row in r.feeds.iter().chain([u, &r.total]) {
        assert_eq!(row.usd, row.charges.iter().map(|c| c.usd).sum::<Decimal>());
        assert_eq!(row.usd, row.by_service.values().copied().sum::<Decimal>());
    }
    let partners: Vec<_> = r.partners.iter().map(|p| (p.partner_id.as_deref(), p.usd)).collect();
    assert_eq!(partners, vec![(Some("partner-a"), f1.usd), (Some("partner-b"), f2.usd)]);
    assert_eq!(f1.share, (f1.usd / r.total.usd).round_dp(12));
    let services: Decimal = r.services.iter().map(|s| s.usd).sum();
    assert_eq!(services, r.total.usd);
    assert_eq!(r.services.len(), 6);
}

#[test]
fn what_if_reprices_the_same_usage_per_million_orders() {
    let f = fixture();
    let histories = vec![
        (
            "arn:aws:states:us-east-1:000000000000:express:zb-order-pipeline:e1:x".to_string(),
            events_from_api_json(&f.express).unwrap(),
        ),
        (
            "arn:aws:states:us-east-1:000000000000:execution:zb-order-pipeline:e2".to_string(),
            events_from_api_json(&f.standard).unwrap(),
        ),
    ];
    let usage = collect(&f.run.events, histories, &f.topology);
    let w = what_if(
        &usage,
        &book(),
        &default_scenarios(Arch::X86_64, &[256]),
        f.topology.definition_bytes,
    );
    assert_eq!(w.orders, 4);
    let row = |name: &str| w.rows.iter().find(|r| r.scenario == name).expect(name);
    let per_million = |usd: &str| d(usd) * d("1000000") / d("4");

    // Step Functions, all Express: feed 1 as measured (0.000001 + 0.0000003125) and
    // feed 2 repriced: 1 request + 512 ms -> 600 ms x 0.0625 GB = 0.0375 GB-s x $0.06/3600
    // = 0.000000625; 0.0000029375 for 4 orders = $0.734375 per million orders.
    let express = row("EXPRESS x86_64");
    assert_eq!(express.choices.workflow, Some(Workflow::Express));
    assert_eq!(express.by_service[&Service::StepFunctions], per_million("0.0000029375"));
    // All Standard: feed 1's 5 transitions + feed 2's 6 = 11 x $0.025/1000 = 0.000275.
    let standard = row("STANDARD x86_64");
    assert_eq!(standard.by_service[&Service::StepFunctions], per_million("0.000275"));
    assert_eq!(per_million("0.000275"), d("68.75"));

    // Lambda: 12 requests = 0.0000024, and (77 + 27) ms x 0.125 / 1000 = 0.013 GB-s:
    // x86_64 0.013 x 0.0000166667 = 0.0000002166671; arm64 x 0.0000133334 = 0.0000001733342;
    // at 256 MB (same durations) 0.026 GB-s x 0.0000166667 = 0.0000004333342.
    assert_eq!(express.by_service[&Service::Lambda], per_million("0.0000026166671"));
    assert_eq!(
        row("EXPRESS arm64").by_service[&Service::Lambda],
        per_million("0.0000025733342")
    );
    let mb256 = row("256 MB x86_64");
    assert_eq!(mb256.choices.memory_mb, Some(256));
    assert_eq!(mb256.by_service[&Service::Lambda], per_million("0.0000028333342"));

    // API Gateway: HTTP 1 + 2 units = 0.000003; REST 2 requests x $3.50/1M = 0.000007.
    assert_eq!(express.by_service[&Service::ApiGateway], per_million("0.000003"));
    let rest = row("REST API x86_64");
    assert_eq!(rest.choices.api, ApiKind::Rest);
    assert_eq!(rest.by_service[&Service::ApiGateway], per_million("0.000007"));

    // Floor: per feed 1 HTTP request + 1 Lambda request, and 1 WRU per order:
    // 2 x (0.000001 + 0.0000002) + 4 x 0.000000625 = 0.0000049 -> $1.225 per million.
    assert_eq!(w.floor.usd_per_million_orders, d("1.225"));
    assert_eq!(
        express.times_floor,
        Some((express.usd_per_million_orders / d("1.225")).round_dp(2))
    );
    // The rows hold feeds only; the unattributed usage is reported apart.
    assert!(w.unattributed_usd_per_million_orders.unwrap() > Decimal::ZERO);
}

#[test]
fn the_three_formats_carry_the_same_figures() {
    let f = fixture();
    let r = report(&f, &Choices::default());
    use zb_cost::render::{report as render, Format};
    let json: Value = serde_json::from_str(&render(&r, Format::Json).unwrap()).unwrap();
    assert_eq!(json["feeds"][0]["feedId"], "feed-1");
    assert_eq!(json["feeds"][0]["usd"], r.feeds[0].usd.to_string());
    assert_eq!(json["total"]["orders"], 4);
    assert_eq!(json["feeds"][1]["byService"]["stepFunctions"], "0.00015");

    let csv = render(&r, Format::Csv).unwrap();
    let feed2 = csv.lines().find(|l| l.starts_with("feed,feed-2,")).expect("feed-2 row");
    assert!(feed2.contains(",partner-b,1,1,0,"), "{feed2}");
    assert!(csv.lines().any(|l| l.starts_with("service,Step Functions,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("unattributed,")), "{csv}");

    let table = render(&r, Format::Table).unwrap();
    assert!(table.contains("feed-1") && table.contains("(unattributed)") && table.contains("partner-b"));
    assert!(table.contains("Step Functions"), "{table}");
}
