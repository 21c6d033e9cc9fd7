//! Retention is enforced, not promised (issue 16): every item written by the
//! real stores carries an `expiresAt` from the template's retention
//! parameters; once it has passed, the read paths stop returning the item
//! (DynamoDB Local, like DynamoDB, still holds it), and the local cloud's TTL
//! sweeper deletes it. The clock moves instead of the data: items are
//! written at the tests' fixed "now" and read with a clock days later.

use chrono::Duration;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use zb_local::dynamodb_ttl::{ttl_tables, TtlSweeper};
use zb_shared::clock::{Clock, FixedClock};
use zb_shared::config::Retention;
use zb_shared::cost::CostMeter;
use zb_shared::delivery::{Delivery, DeliveryStatus};
use zb_shared::store::OutboxEntry;
use zb_tests::api::{seen, Request, Seen};
use zb_tests::fixtures::{a_feed, a_order, now};
use zb_tests::template::repo_root;
use zb_tests::wiring::Env;

const A: &str = "partner-a";

fn at(days_later: i64) -> Arc<dyn Clock> {
    Arc::new(FixedClock(now() + Duration::days(days_later)))
}

/// The query function as its `from_env` builds it, every store and the
/// function itself reading `clock`.
fn query_at(env: &Env, clock: Arc<dyn Clock>) -> query::App {
    let mut app = env.query();
    app.feeds = app.feeds.with_clock(clock.clone());
    app.orders = app.orders.with_clock(clock.clone());
    app.errors = app.errors.with_clock(clock.clone());
    app.deliveries = app.deliveries.with_clock(clock.clone());
    app.outbox = app.outbox.with_clock(clock.clone());
    app.clock = clock;
    app
}

async fn get(app: &query::App, req: Request) -> Seen {
    seen(query::handler(app, req.event()).await.unwrap_or_else(|e| match e {}))
}

fn items(page: &Seen) -> Vec<Value> {
    page.body["items"].as_array().cloned().unwrap_or_default()
}

/// A sweeper over this test's tables, with "now" at `days_later`: the
/// template's tables with TTL enabled, under the names this test created.
fn sweeper(env: &Env, days_later: i64) -> TtlSweeper {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let mut model =
        zb_local::template::parse(&text, &repo_root(), "test", &BTreeMap::new()).expect("the template parses");
    let names = BTreeMap::from([
        ("FeedsTable", env.tables.feeds.clone()),
        ("OrdersTable", env.tables.orders.clone()),
        ("ErrorsTable", env.tables.errors.clone()),
        ("DeliveriesTable", env.tables.deliveries.clone()),
        ("OutboxTable", env.tables.outbox.clone()),
    ]);
    model.tables.retain_mut(|t| match names.get(t.logical_id.as_str()) {
        Some(name) => {
            t.name = name.clone();
            true
        }
        None => false,
    });
    let tables = ttl_tables(&model.tables);
    assert_eq!(
        tables.len(),
        names.len(),
        "TTL is enabled on every one of {names:?}: {tables:?}"
    );
    assert!(tables.iter().all(|t| t.attribute == "expiresAt"), "{tables:?}");
    let now_secs = (now() + Duration::days(days_later)).timestamp();
    TtlSweeper::new(env.ddb.clone(), tables, Arc::new(move || now_secs))
}

/// Partner A with two persisted orders and one rejected, a delivery and an
/// outbox entry, all written at the fixed now; returns the feed id.
async fn seeded(env: &Env) -> String {
    let mut bad = a_order(100);
    bad["currency"] = json!("XYZ");
    let (resp, feed) = env
        .ingest_feed(&Request::post_feed(
            A,
            "partner-a@1",
            &a_feed(vec![a_order(1), a_order(2), bad]),
        ))
        .await;
    assert_eq!(resp.status, 202);
    let feed = feed.expect("announced");
    env.run_pipeline(&feed).await;
    let meter = CostMeter::default();
    let deliveries = env.deliveries();
    let delivery = Delivery {
        partner_id: A.into(),
        delivery_id: Delivery::id_for(now(), "evt-1"),
        webhook_id: "msg_evt-1".into(),
        event_type: "orders.persisted".into(),
        body: json!({"type": "orders.persisted"}).to_string(),
        status: DeliveryStatus::Dead,
        attempts: Vec::new(),
        replays: 0,
        created_at: zb_shared::time::format_utc(now()),
        updated_at: zb_shared::time::format_utc(now()),
        last_error: None,
        expires_at: deliveries.expires_at(now()),
    };
    assert!(deliveries.create(&delivery, &meter).await.expect("create a delivery"));
    let outbox = env.outbox();
    let entry = OutboxEntry {
        partner_id: String::new(),
        seq: 0,
        webhook_id: "msg_evt-2".into(),
        event_type: "orders.persisted".into(),
        body: json!({"type": "orders.persisted"}).to_string(),
        created_at: zb_shared::time::format_utc(now()),
        expires_at: outbox.expires_at(now()),
    };
    assert_eq!(outbox.append(A, "evt-2", entry, &meter).await.expect("append"), Some(1));
    feed.feed_id
}

#[tokio::test]
async fn expired_items_are_not_read_and_the_sweeper_deletes_them() {
    let env = Env::new().await;
    let feed_id = seeded(&env).await;
    let defaults = Retention::default();
    assert_eq!((defaults.error_days, defaults.order_days), (30, 2555));

    // Today everything is there.
    let today = query_at(&env, at(0));
    assert_eq!(
        items(&get(&today, Request::get(A, "/v1/orders", "/v1/orders")).await).len(),
        2
    );
    assert_eq!(
        items(&get(&today, Request::get(A, "/v1/errors", "/v1/errors")).await).len(),
        1
    );
    assert_eq!(
        items(&get(&today, Request::get(A, "/v1/deliveries", "/v1/deliveries")).await).len(),
        1
    );
    let outbox = get(&today, Request::get(A, "/v1/outbox", "/v1/outbox")).await;
    assert_eq!(items(&outbox).len(), 1, "{}", outbox.body);

    // 31 days on: errors, deliveries, outbox entries and the raw body have
    // expired; orders and the feed record (7 years) have not.
    let later = query_at(&env, at(31));
    assert_eq!(
        items(&get(&later, Request::get(A, "/v1/errors", "/v1/errors")).await),
        Vec::<Value>::new()
    );
    assert_eq!(
        items(&get(&later, Request::get(A, "/v1/deliveries", "/v1/deliveries")).await),
        Vec::<Value>::new()
    );
    let outbox = get(&later, Request::get(A, "/v1/outbox", "/v1/outbox")).await;
    assert_eq!(outbox.status, 200);
    assert_eq!(outbox.body["items"], json!([]), "{}", outbox.body);
    assert_eq!(
        items(&get(&later, Request::get(A, "/v1/orders", "/v1/orders")).await).len(),
        2
    );
    let feed = Request::get(A, "/v1/feeds/{feedId}", &format!("/v1/feeds/{feed_id}")).path_param("feedId", &feed_id);
    assert_eq!(get(&later, feed.clone()).await.status, 200);
    // A delivery past its retention is not attempted again.
    let expired = env
        .deliveries()
        .with_clock(at(31))
        .get(A, &Delivery::id_for(now(), "evt-1"), &CostMeter::default())
        .await
        .expect("get");
    assert!(expired.is_none(), "an expired delivery is read as missing");
    // The body is gone for the pipeline: a named error, not a retry.
    let body = env
        .feeds()
        .with_clock(at(31))
        .get_body(A, &feed_id, &CostMeter::default())
        .await
        .expect_err("an expired body");
    assert!(matches!(body, zb_shared::store::StoreError::Expired(_)), "{body:?}");
    assert_eq!(zb_shared::pipeline::StepError::from(body).error_type(), "FeedExpired");

    // Past the order retention, orders and the feed record go too.
    let much_later = query_at(&env, at(2556));
    assert_eq!(
        items(&get(&much_later, Request::get(A, "/v1/orders", "/v1/orders")).await),
        Vec::<Value>::new()
    );
    let order = Request::get(A, "/v1/orders/{sequenceNumber}", "/v1/orders/1").path_param("sequenceNumber", "1");
    get(&much_later, order.clone()).await.assert_problem(404);
    get(&much_later, feed.clone()).await.assert_problem(404);

    // DynamoDB Local did not delete anything itself.
    let before = (
        env.count(&env.tables.errors).await,
        env.count(&env.tables.deliveries).await,
        env.count(&env.tables.outbox).await,
        env.count(&env.tables.orders).await,
    );
    assert_eq!((before.0, before.1, before.3), (1, 1, 2));
    // The outbox: its meta item (no TTL), the entry and its event marker.
    assert_eq!(before.2, 3);

    // A non-number TTL attribute is ignored, as AWS ignores it.
    env.ddb
        .put_item()
        .table_name(&env.tables.errors)
        .item("partnerId", zb_str("partner-x"))
        .item("sk", zb_str("not-a-number"))
        .item("expiresAt", zb_str("0"))
        .send()
        .await
        .expect("put");

    // The sweep 31 days on deletes what has expired, and only that.
    let report = sweeper(&env, 31).sweep().await.expect("sweep");
    assert_eq!(report.deleted.get(&env.tables.errors), Some(&1), "{report:?}");
    assert_eq!(report.deleted.get(&env.tables.deliveries), Some(&1), "{report:?}");
    assert_eq!(report.deleted.get(&env.tables.outbox), Some(&2), "{report:?}");
    assert!(
        report.deleted.get(&env.tables.feeds).is_some_and(|n| *n >= 1),
        "the body: {report:?}"
    );
    assert_eq!(report.deleted.get(&env.tables.orders), None, "{report:?}");
    assert_eq!(env.count(&env.tables.errors).await, 1, "the non-number TTL item stays");
    assert_eq!(env.count(&env.tables.deliveries).await, 0);
    assert_eq!(env.count(&env.tables.outbox).await, 1, "the meta item stays");
    assert_eq!(env.count(&env.tables.orders).await, 2);
    assert_eq!(
        get(&later, feed.clone()).await.status,
        200,
        "the record outlives its body"
    );
    // Today's reads agree: what was swept is gone for good.
    assert_eq!(
        items(&get(&today, Request::get(A, "/v1/errors", "/v1/errors")).await),
        Vec::<Value>::new()
    );

    // Seven years on, the orders and the feed record go too.
    let report = sweeper(&env, 2556).sweep().await.expect("sweep");
    assert_eq!(report.deleted.get(&env.tables.orders), Some(&2), "{report:?}");
    assert_eq!(env.count(&env.tables.orders).await, 0);
    assert_eq!(env.count(&env.tables.errors).await, 1, "still ignored");
}

fn zb_str(v: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(v.into())
}

/// Each retention parameter reaches every function as its environment
/// variable, an override included, with the default `shared` assumes; every
/// table's backups keep BackupRecoveryPeriodDays.
#[test]
fn each_retention_parameter_reaches_every_function() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let params = [
        ("RawFeedRetentionDays", "RAW_FEED_RETENTION_DAYS", "11"),
        ("ErrorRetentionDays", "ERROR_RETENTION_DAYS", "12"),
        ("DeliveryRetentionDays", "DELIVERY_RETENTION_DAYS", "13"),
        ("OutboxRetentionDays", "OUTBOX_RETENTION_DAYS", "14"),
        ("OrderRetentionDays", "ORDER_RETENTION_DAYS", "15"),
    ];
    let d = Retention::default();
    let defaults = [
        d.raw_feed_days,
        d.error_days,
        d.delivery_days,
        d.outbox_days,
        d.order_days,
    ];
    let model = zb_local::template::parse(&text, &repo_root(), "test", &BTreeMap::new()).expect("parse");
    for ((param, _, _), default) in params.iter().zip(defaults) {
        assert_eq!(
            model.parameters.get(*param).map(String::as_str),
            Some(default.to_string().as_str()),
            "{param}'s Default is the one shared/src/config.rs falls back to"
        );
    }
    assert_eq!(
        model.parameters.get("BackupRecoveryPeriodDays").map(String::as_str),
        Some("35")
    );
    let overrides: BTreeMap<String, String> = params.iter().map(|(p, _, v)| (p.to_string(), v.to_string())).collect();
    let model = zb_local::template::parse(&text, &repo_root(), "test", &overrides).expect("parse");
    assert!(!model.functions.is_empty());
    for f in &model.functions {
        for (param, var, value) in params {
            assert_eq!(
                f.env.get(var).map(String::as_str),
                Some(value),
                "{}: {var} carries {param}",
                f.logical_id
            );
        }
    }
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("yaml");
    let resources = doc["Resources"].as_mapping().expect("Resources");
    let mut tables = 0;
    for (id, r) in resources {
        if r["Type"].as_str() != Some("AWS::DynamoDB::Table") {
            continue;
        }
        tables += 1;
        let id = id.as_str().unwrap_or_default();
        let pitr = &r["Properties"]["PointInTimeRecoverySpecification"];
        // Idempotency claims and rate-limit counters hold no personal data
        // and live hours: restoring them would bring back stale state.
        if matches!(id, "IdempotencyTable" | "RateLimitTable") {
            continue;
        }
        assert_eq!(pitr["PointInTimeRecoveryEnabled"].as_bool(), Some(true), "{id}: PITR");
        let period = serde_yaml::to_string(&pitr["RecoveryPeriodInDays"]).unwrap_or_default();
        assert!(
            period.contains("BackupRecoveryPeriodDays"),
            "{id}: RecoveryPeriodInDays is {period}"
        );
    }
    assert!(tables >= 9, "{tables} tables");
}

/// The local cloud sweeps on its own: an item that expired disappears
/// within a few periods (60 s × the tests' time scale, at least 1 s), an
/// unexpired one and one whose TTL is not a Number stay; `sweep_ttl` runs
/// one sweep at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_cloud_sweeps_expired_items_in_the_background() {
    let cloud = zb_tests::cloud::start(zb_tests::cloud::Options::default()).await;
    let table = |logical: &str| {
        cloud
            .model
            .tables
            .iter()
            .find(|t| t.logical_id == logical)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| panic!("no {logical}"))
    };
    let (errors, outbox) = (table("ErrorsTable"), table("OutboxTable"));
    let ddb = zb_tests::dynamodb().await;
    let n = |v: i64| aws_sdk_dynamodb::types::AttributeValue::N(v.to_string());
    let now = chrono::Utc::now().timestamp();
    let put = |table: &str, pk: &str, sk: &str, ttl: aws_sdk_dynamodb::types::AttributeValue| {
        ddb.put_item()
            .table_name(table)
            .item("partnerId", zb_str(pk))
            .item("sk", zb_str(sk))
            .item("expiresAt", ttl)
            .send()
    };
    put(&errors, "p", "expired", n(now - 10)).await.expect("put");
    put(&errors, "p", "fresh", n(now + 3600)).await.expect("put");
    put(&errors, "p", "text", zb_str("1")).await.expect("put");
    let keys = |ddb: aws_sdk_dynamodb::Client, table: String| async move {
        let out = ddb.scan().table_name(table).send().await.expect("scan");
        let mut keys: Vec<String> = out
            .items()
            .iter()
            .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .collect();
        keys.sort();
        keys
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while keys(ddb.clone(), errors.clone()).await.contains(&"expired".to_string()) {
        assert!(std::time::Instant::now() < deadline, "the background sweep never came");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(keys(ddb.clone(), errors.clone()).await, vec!["fresh", "text"]);

    // One sweep on demand: an outbox entry (key partnerId + seq).
    ddb.put_item()
        .table_name(&outbox)
        .item("partnerId", zb_str("p"))
        .item("seq", n(7))
        .item("expiresAt", n(now - 1))
        .send()
        .await
        .expect("put");
    let report = cloud.sweep_ttl().await.expect("sweep");
    let left = ddb.scan().table_name(&outbox).send().await.expect("scan");
    assert!(
        left.items()
            .iter()
            .all(|i| i.get("partnerId").and_then(|v| v.as_s().ok()) != Some(&"p".to_string())),
        "{report:?}"
    );
    cloud.shutdown().await;
}
