//! The cost-rollup job in a local cloud: the demo's feeds run through the
//! real function binaries, then the job's own binary is invoked through the
//! local cloud's Lambda Invoke endpoint (template environment, IAM enforced)
//! with a Scheduled Event whose `time` closes the run's hours, and reads
//! the logs through the local cloud's FilterLogEvents. What it stored per
//! partner and day and per feed must equal what `zb cost report` (the
//! zb-cost library, on the same logs) attributes to each.
//!
//! Run with `scripts/with-dynamodb cargo test -p cost-rollup` after
//! `cargo build --workspace --bins`.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;
use zb_cost::{Choices, Decimal, LogEvent, Topology};
use zb_shared::cost::CostMeter;
use zb_shared::store::CostStore;
use zb_tests::cloud::{published_cost_events, repo, run_demo, Demo};

const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// What `zb cost report` takes from template.yaml (cli/src/cost.rs `deployment`).
fn topology(model: &zb_local::template::Model) -> Topology {
    Topology {
        api_functions: model
            .http_apis
            .iter()
            .flat_map(|a| a.routes.iter().map(|r| r.function.clone()))
            .collect(),
        definition_bytes: model
            .state_machines
            .iter()
            .map(|m| m.definition.len() as u64)
            .max()
            .unwrap_or(0),
    }
}

fn local_events(state: &std::path::Path) -> Vec<LogEvent> {
    zb_local::logs::read(state, None)
        .expect("log files")
        .into_iter()
        .map(LogEvent::from)
        .collect()
}

fn services(by: &BTreeMap<zb_cost::Service, Decimal>) -> BTreeMap<String, Decimal> {
    by.iter()
        .map(|(s, v)| {
            let name = serde_json::to_value(s).unwrap();
            (name.as_str().unwrap().to_string(), v.normalize())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_hours_equal_zb_costs_attribution_per_partner_day_and_per_feed() {
    let Demo {
        cloud,
        state,
        stack,
        rows,
    } = run_demo("zb-cost-rollup", "rollup", WAIT).await;
    assert!(rows.iter().all(|r| r.ok), "{}", zb_local::demo::render(&rows));

    // Notify runs after each execution, asynchronously: wait until every
    // event persist and record-error published has been delivered to it
    // and every invocation has its REPORT line.
    let read = |f: &str| zb_local::logs::read(&state, Some(&format!("{stack}-{f}"))).expect("log file");
    let published = published_cost_events(&state, &stack);
    let started = Instant::now();
    loop {
        let notify = read("notify");
        let count = |kind: &str| {
            notify
                .iter()
                .filter(|e| e.message.contains(&format!("\"type\":\"{kind}\"")))
                .count() as u64
        };
        if count("platform.report") >= published && count("platform.start") == count("platform.report") {
            break;
        }
        assert!(started.elapsed() < WAIT, "notify has not handled every event");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The run's hours; the job is told the time at which the last one is closed.
    let events = local_events(&state);
    let last_ms = events.iter().map(|e| e.timestamp).max().expect("some log events");
    let last = DateTime::<Utc>::from_timestamp_millis(last_ms).expect("a time");
    let closed_at = last.duration_trunc(Duration::hours(1)).expect("an hour") + Duration::minutes(77);
    let first_ms = events.iter().map(|e| e.timestamp).min().expect("some log events");
    let first = DateTime::<Utc>::from_timestamp_millis(first_ms).expect("a time");

    let config = zb_tests::cloud::sdk(&cloud.aws_url).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let scheduled = json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": closed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "us-east-1",
        "resources": [],
        "detail": {}
    });
    let out = lambda
        .invoke()
        .function_name(format!("{stack}-cost-rollup"))
        .payload(aws_sdk_lambda::primitives::Blob::new(scheduled.to_string()))
        .send()
        .await
        .expect("Invoke");
    let payload: Value =
        serde_json::from_slice(out.payload().map(|b| b.as_ref()).unwrap_or_default()).unwrap_or(Value::Null);
    assert!(out.function_error().is_none(), "{payload:#}");
    let last_hour = last.format("%Y-%m-%dT%H").to_string();
    assert_eq!(payload["watermark"], last_hour.as_str(), "{payload:#}");
    let hours: Vec<&str> = payload["hours"]
        .as_array()
        .expect("hours")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        hours.contains(&first.format("%Y-%m-%dT%H").to_string().as_str()),
        "{payload:#}"
    );
    assert!(payload["eventsRead"].as_u64().unwrap_or(0) > 0, "{payload:#}");
    // The job's own log line names what it attributed.
    assert!(
        read("cost-rollup")
            .iter()
            .any(|e| e.message.contains("cost attributed")),
        "the job logs its run"
    );

    // What zb cost report attributes from the same logs.
    let usage = zb_cost::collect(&events, Vec::new(), &topology(&cloud.model));
    let choices = Choices {
        arch: cost_rollup::deployed_arch(),
        ..Choices::default()
    };
    let book = cost_rollup::App::price_list().expect("price list");
    let report = zb_cost::report::build(&usage, &book, &choices, topology(&cloud.model).definition_bytes);
    assert_eq!(report.feeds.len(), rows.len(), "one row per demo feed");

    let table = cloud
        .model
        .tables
        .iter()
        .find(|t| t.logical_id == "MetricsTable")
        .expect("the metrics table")
        .name
        .clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(
        &zb_tests::cloud::sdk(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("DynamoDB Local")).await,
    );
    let store = CostStore::new(dynamodb, table);
    let meter = CostMeter::default();

    // Per feed: the stored figure is the report's row, to the last digit.
    for row in &report.feeds {
        let feed_id = row.feed_id.as_deref().expect("a feed id");
        let stored = store
            .feed(feed_id, &meter)
            .await
            .expect("read")
            .expect("the feed's cost is stored");
        assert_eq!(stored.partner_id, row.partner_id, "{feed_id}");
        assert_eq!(stored.total_usd, row.usd.normalize(), "{feed_id}");
        assert_eq!(stored.by_service, services(&row.by_service), "{feed_id}");
    }
    assert!(store.feed("no-such-feed", &meter).await.expect("read").is_none());

    // Per partner and day: the days of the run add up to the report's partner row.
    let (from_day, to_day) = (
        first.format("%Y-%m-%d").to_string(),
        last.format("%Y-%m-%d").to_string(),
    );
    let partners: BTreeSet<&str> = report.partners.iter().filter_map(|p| p.partner_id.as_deref()).collect();
    assert_eq!(
        partners,
        ["partner-a", "partner-b"].into_iter().collect(),
        "{:?}",
        report.partners
    );
    for p in &report.partners {
        let partner = p.partner_id.as_deref().expect("a partner");
        let days = store.by_day(partner, &from_day, &to_day, &meter).await.expect("read");
        assert!(!days.is_empty(), "{partner}");
        let total: Decimal = days.iter().map(|d| d.total_usd).sum();
        assert_eq!(total, p.usd, "{partner}: {days:?}");
        let mut by: BTreeMap<String, Decimal> = BTreeMap::new();
        for d in &days {
            assert_eq!(d.partner_id, partner);
            for (s, v) in &d.by_service {
                *by.entry(s.clone()).or_insert(Decimal::ZERO) += *v;
            }
        }
        let by: BTreeMap<String, Decimal> = by.into_iter().map(|(k, v)| (k, v.normalize())).collect();
        assert_eq!(by, services(&p.by_service), "{partner}");
        let feeds: u64 = days.iter().map(|d| d.feeds).sum();
        let expected = rows.iter().filter(|r| r.partner == partner).count() as u64;
        assert_eq!(feeds, expected, "{partner}: each feed counted once");
        // The API shape finance reads.
        let json = serde_json::to_value(&days[0]).expect("JSON");
        assert!(
            json["totalUsd"].is_string() && json["byService"]["lambda"].is_string(),
            "{json}"
        );
    }
    assert!(store
        .by_day("partner-a", "1999-01-01", "1999-01-02", &meter)
        .await
        .expect("read")
        .is_empty());

    // The next run has nothing left to do in those hours: the watermark holds.
    let again = lambda
        .invoke()
        .function_name(format!("{stack}-cost-rollup"))
        .payload(aws_sdk_lambda::primitives::Blob::new(scheduled.to_string()))
        .send()
        .await
        .expect("Invoke");
    let payload: Value =
        serde_json::from_slice(again.payload().map(|b| b.as_ref()).unwrap_or_default()).unwrap_or(Value::Null);
    assert!(again.function_error().is_none(), "{payload:#}");
    assert_eq!(payload["hours"], json!([]), "{payload:#}");
    assert_eq!(payload["watermark"], last_hour.as_str());

    cloud.shutdown().await;
    let _ = std::fs::remove_dir_all(&state);
}

/// The job's lists of functions (FUNCTIONS, API_FUNCTIONS) are the
/// template's: what `zb cost report` reads from it.
#[test]
fn the_jobs_function_lists_are_the_templates() {
    let model = zb_local::template::load(&repo().join("template.yaml"), "zb", &BTreeMap::new()).expect("template");
    let job = model.function("zb-cost-rollup").expect("the cost-rollup function");
    let list = |name: &str| -> BTreeSet<String> {
        job.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not set"))
            .split(',')
            .map(|f| format!("zb-{}", f.trim()))
            .collect()
    };
    let functions: BTreeSet<String> = model.functions.iter().map(|f| f.name.clone()).collect();
    assert_eq!(list("FUNCTIONS"), functions);
    assert_eq!(list("API_FUNCTIONS"), topology(&model).api_functions);
    assert_eq!(
        job.env.get("LOG_GROUP_PREFIX").map(String::as_str),
        Some("/aws/lambda/zb-")
    );
}
