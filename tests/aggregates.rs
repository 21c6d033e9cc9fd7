//! The volume figures (VOLUME#<partner>/<hour> in the metrics table) that
//! the pipeline keeps as feeds finish, against DynamoDB Local: they equal
//! what the feeds, orders and errors tables hold; a retried or racing finish
//! counts once; a redrive takes a FAILED feed's figures back and its rerun
//! counts once; and the admin feed listing (filters, pages, cursors).
//!
//! Transactions follow "Amazon DynamoDB Transactions: How it works"
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html):
//! all-or-nothing across tables, a failed condition cancels every item.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use zb_shared::clock::FixedClock;
use zb_shared::cost::CostMeter;
use zb_shared::feed::{Failure, FeedCounts, FeedRecord, FeedStatus, OrderOutcome, Outcome};
use zb_shared::metrics::{hour_of, VolumeDelta, VolumeHour};
use zb_shared::pipeline::{ErrorsToRecord, FeedRef};
use zb_shared::rejection::RejectionCode;
use zb_shared::store::{
    BadCursor, ErrorItem, FeedFilter, FeedUpdate, RedriveError, StoredOrder, Written, PENDING_SHARDS,
};
use zb_tests::api::{lambda_event, Request};
use zb_tests::fixtures::{a_feed, a_order, now, NOW_MS};
use zb_tests::wiring::Env;

const A: &str = "partner-a";
const HOUR: &str = "2026-01-01T12";

async fn accept(env: &Env, orders: Vec<serde_json::Value>) -> FeedRef {
    let (resp, announced) = env
        .ingest_feed(&Request::post_feed(A, "partner-a@1", &a_feed(orders)))
        .await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    announced.expect("OrderFeedReceived published")
}

/// Partner A's hours, all of them.
async fn volume(env: &Env) -> Vec<VolumeHour> {
    env.metrics()
        .volume(A, "0000-01-01T00", "9999-12-31T23", &CostMeter::default())
        .await
        .unwrap()
}

async fn the_hour(env: &Env) -> VolumeHour {
    let hours = volume(env).await;
    assert_eq!(hours.len(), 1, "{hours:?}");
    hours.into_iter().next().unwrap()
}

async fn scan<T: serde::de::DeserializeOwned>(env: &Env, table: &str, keep: &str) -> Vec<T> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = env
            .ddb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(
            out.items
                .unwrap_or_default()
                .into_iter()
                .filter(|i| i.contains_key(keep)),
        );
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    serde_dynamo::from_items(items).unwrap()
}

/// What the tables hold, hour by hour, in the figures' shape: counted by
/// scanning (which the figures exist to avoid; fine on a test's tables).
async fn from_the_tables(env: &Env) -> BTreeMap<String, VolumeHour> {
    let feeds: Vec<FeedRecord> = scan(env, &env.tables.feeds, "status").await;
    let orders: Vec<StoredOrder> = scan(env, &env.tables.orders, "orderHash").await;
    let errors: Vec<ErrorItem> = scan(env, &env.tables.errors, "code").await;
    let mut hours: BTreeMap<String, VolumeHour> = BTreeMap::new();
    let mut hour = |received_at: &str| {
        let key = hour_of(received_at).unwrap();
        hours
            .entry(key.clone())
            .or_insert_with(|| VolumeHour {
                partner_id: A.into(),
                hour: key,
                feeds: 0,
                orders: Default::default(),
                latency_ms: None,
                rejection_codes: BTreeMap::new(),
                latency_histogram: Default::default(),
            })
            .clone()
    };
    let mut out: BTreeMap<String, VolumeHour> = BTreeMap::new();
    let mut put = |h: VolumeHour, f: &dyn Fn(&mut VolumeHour)| {
        let e = out.entry(h.hour.clone()).or_insert(h);
        f(e);
    };
    let finished: BTreeMap<&str, &FeedRecord> = feeds
        .iter()
        .filter(|f| f.partner_id == A && f.status.is_terminal())
        .map(|f| (f.feed_id.as_str(), f))
        .collect();
    for f in finished.values() {
        put(hour(&f.received_at), &|h| {
            h.feeds += 1;
            h.orders.received += f.order_count as u64;
            h.orders.duplicate += f.counts.duplicate as u64;
        });
    }
    for o in orders.iter().filter(|o| o.partner_id == A) {
        let f = finished.get(o.feed_id.as_str()).expect("an order of a finished feed");
        if f.status != FeedStatus::Failed {
            put(hour(&o.received_at), &|h| h.orders.persisted += 1);
        }
    }
    for e in errors.iter().filter(|e| e.partner_id == A) {
        let code = e.code;
        put(hour(&e.received_at), &|h| {
            if code == RejectionCode::PipelineFailed {
                h.orders.failed += 1;
            } else {
                h.orders.rejected += 1;
                *h.rejection_codes.entry(code.as_str().to_string()).or_insert(0) += 1;
            }
        });
    }
    out
}

/// The figures with what only they know (latency) left out.
fn comparable(hours: Vec<VolumeHour>) -> BTreeMap<String, VolumeHour> {
    hours
        .into_iter()
        .map(|mut h| {
            h.latency_ms = None;
            h.latency_histogram = Default::default();
            (h.hour.clone(), h)
        })
        .collect()
}

fn failure() -> Failure {
    Failure {
        error: "Lambda.Unknown".into(),
        cause: "The function crashed".into(),
    }
}

/// What a Catch hands RecordErrors for `feed`.
fn caught(feed: &FeedRef) -> ErrorsToRecord {
    ErrorsToRecord {
        feed: feed.clone(),
        batch: None,
        record_failure: None,
        failure: Some(failure()),
    }
}

async fn fail(env: &Env, feed: &FeedRef) {
    let (bus, _) = env.event_bridge().await;
    let out = record_error::handler(&env.record_error(bus), lambda_event(caught(feed)))
        .await
        .unwrap();
    assert_eq!(out.status, FeedStatus::Failed);
}

#[tokio::test]
async fn the_figures_equal_what_the_orders_errors_and_feeds_tables_hold() {
    let env = Env::new().await;
    // Valid; with rejections (a missing id, a zero quantity); a replay of
    // the first (all duplicates); a conflict; a failed feed.
    let valid = accept(&env, vec![a_order(1), a_order(2), a_order(3)]).await;
    env.run_pipeline(&valid).await;
    let mut no_id = a_order(5);
    no_id.as_object_mut().unwrap().remove("orderId");
    let mut zero_qty = a_order(6);
    zero_qty["items"][0]["quantity"] = json!(0);
    let rejected = accept(&env, vec![a_order(4), no_id, zero_qty, a_order(7)]).await;
    env.run_pipeline(&rejected).await;
    let replay = accept(&env, vec![a_order(1), a_order(2), a_order(3)]).await;
    env.run_pipeline(&replay).await;
    let mut changed = a_order(1);
    changed["orderId"] = json!("A-1-bis");
    let conflict = accept(&env, vec![changed, a_order(8)]).await;
    env.run_pipeline(&conflict).await;
    let failed = accept(&env, vec![a_order(9), a_order(10)]).await;
    fail(&env, &failed).await;

    let hour = the_hour(&env).await;
    assert_eq!(hour.hour, HOUR);
    assert_eq!(hour.feeds, 5);
    assert_eq!(
        json!(hour.orders),
        json!({"received": 14, "persisted": 6, "rejected": 3, "duplicate": 3, "failed": 2})
    );
    assert_eq!(
        hour.rejection_codes,
        BTreeMap::from([
            ("INVALID_QUANTITY".to_string(), 1),
            ("MISSING_FIELD".to_string(), 1),
            ("SEQUENCE_CONFLICT".to_string(), 1),
        ])
    );
    // The fixed clock finishes every feed the instant it was received: all
    // in the first bucket, [0, 100] ms, which the estimate stays within.
    assert_eq!(hour.latency_histogram[0], 5);
    let l = hour.latency_ms.unwrap();
    assert!(l.p50 <= l.p95 && l.p95 <= 100, "{l:?}");
    assert_eq!(comparable(volume(&env).await), from_the_tables(&env).await);
    // The admin API's shape.
    let shown = serde_json::to_value(&hour).unwrap();
    assert_eq!(shown["partnerId"], A);
    assert_eq!(shown["latencyMs"], json!({"p50": l.p50, "p95": l.p95}));
    assert_eq!(shown["rejectionCodes"]["MISSING_FIELD"], 1);
    assert!(shown.get("latencyHistogram").is_none());
}

#[tokio::test]
async fn a_retried_or_racing_finish_counts_once() {
    let env = Env::new().await;
    let feed = accept(&env, vec![a_order(1), a_order(2)]).await;
    let run = env.run_pipeline(&feed).await;
    let once = the_hour(&env).await;
    assert_eq!((once.feeds, once.orders.persisted), (1, 2));

    // Express runs a step at least once: Persist again, after it finished the feed.
    let (bus, _) = env.event_bridge().await;
    let input = serde_json::from_value(serde_json::to_value(&run.transformed).unwrap()).unwrap();
    let again = persist::handler(&env.persist(bus.clone()), lambda_event(input))
        .await
        .unwrap();
    assert_eq!(again.counts.persisted, 2);
    // The sweeper gave up on it at the same moment (it fails the feed with
    // every order recorded), and RecordErrors' own Catch marks it FAILED.
    let recorder = env.record_error(bus.clone()).recorder;
    let stuck = Failure {
        error: "FeedStuck".into(),
        cause: "not finished".into(),
    };
    let raced = recorder
        .record(&feed, Vec::new(), Some(&stuck), now(), &CostMeter::default())
        .await
        .unwrap();
    assert_eq!((raced.status, raced.recorded), (FeedStatus::Completed, 0));
    let marked = recorder
        .mark_failed(&feed, &stuck, now(), &CostMeter::default())
        .await
        .unwrap();
    assert_eq!(marked, FeedStatus::Completed);
    assert_eq!(the_hour(&env).await, once, "counted once");
    let record = env
        .feeds()
        .get(A, &feed.feed_id, &CostMeter::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, FeedStatus::Completed, "a finished feed stays as it is");
    assert_eq!(
        env.count(&env.tables.errors).await,
        0,
        "no PIPELINE_FAILED for a completed feed"
    );

    // A feed with rejections: RecordErrors runs twice.
    let mut no_id = a_order(4);
    no_id.as_object_mut().unwrap().remove("orderId");
    let rejected = accept(&env, vec![a_order(3), no_id]).await;
    let run = env.run_pipeline(&rejected).await;
    let before = the_hour(&env).await;
    assert_eq!((before.feeds, before.orders.rejected), (2, 1));
    let input = serde_json::from_value(serde_json::to_value(&run.persisted).unwrap()).unwrap();
    let out = record_error::handler(&env.record_error(bus), lambda_event(input))
        .await
        .unwrap();
    assert_eq!(out.status, FeedStatus::CompletedWithRejections);
    assert_eq!(the_hour(&env).await, before);

    // Two finishes at once: one transaction wins, the other is told.
    let racing = accept(&env, vec![a_order(5)]).await;
    let volume = VolumeDelta::completed(now(), now(), &FeedCounts::default(), []);
    let update = FeedUpdate {
        status: Some(FeedStatus::Completed),
        counts: FeedCounts::default(),
        outcomes: Vec::new(),
        failure: None,
        updated_at: "2026-01-01T12:00:00.000Z".into(),
    };
    let feeds = env.feeds();
    let m = CostMeter::default();
    let (x, y) = tokio::join!(
        feeds.finish(A, &racing.feed_id, &update, &volume, &m),
        feeds.finish(A, &racing.feed_id, &update, &volume, &m)
    );
    let mut outcomes = [x.unwrap(), y.unwrap()];
    outcomes.sort_by_key(|w| matches!(w, Written::Applied));
    assert_eq!(
        outcomes,
        [Written::AlreadyFinished(FeedStatus::Completed), Written::Applied]
    );
    assert_eq!(the_hour(&env).await.feeds, 3);
    // A terminal status never goes through the uncounted write.
    assert!(feeds.update(A, &racing.feed_id, &update, &m).await.is_err());
}

#[tokio::test]
async fn a_redrive_takes_the_failed_feed_back_and_its_rerun_counts_once() {
    let env = Env::new().await;
    let feed = accept(&env, vec![a_order(1), a_order(2)]).await;
    fail(&env, &feed).await;
    let failed = the_hour(&env).await;
    assert_eq!((failed.feeds, failed.orders.failed, failed.orders.received), (1, 2, 2));

    let m = CostMeter::default();
    let feeds = env.feeds();
    let reopened = feeds
        .reopen_for_redrive(A, &feed.feed_id, "2026-01-01T12:30:00.000Z", &m)
        .await
        .unwrap();
    assert_eq!(reopened.redrive_count, 1);
    assert_eq!(reopened.feed.status, FeedStatus::Received);
    assert!(reopened.feed.failure.is_none());
    assert!(
        volume(&env).await.is_empty(),
        "taken back: no finished feed in the hour"
    );
    let stored = feeds.get(A, &feed.feed_id, &m).await.unwrap().unwrap();
    assert_eq!(stored.status, FeedStatus::Received);
    assert!(stored.failure.is_none());
    // Back in the pending index, so the sweeper covers the rerun.
    let mut pending = Vec::new();
    for shard in 0..PENDING_SHARDS {
        pending.extend(
            feeds
                .pending_before(&format!("P{shard}"), "9999", 100, &m)
                .await
                .unwrap(),
        );
    }
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].feed_id, feed.feed_id);
    assert_eq!(pending[0].pending_since, "2026-01-01T12:30:00.000Z");

    // The rerun: the pipeline again, which finishes it once.
    let run = env.run_pipeline(&feed).await;
    assert_eq!(run.persisted.status, FeedStatus::Completed);
    let hour = the_hour(&env).await;
    assert_eq!(hour.feeds, 1);
    assert_eq!(
        json!(hour.orders),
        json!({"received": 2, "persisted": 2, "rejected": 0, "duplicate": 0, "failed": 0})
    );

    // Only a FAILED feed is redriven.
    match feeds
        .reopen_for_redrive(A, &feed.feed_id, "2026-01-01T13:00:00.000Z", &m)
        .await
    {
        Err(RedriveError::NotFailed { status }) => assert_eq!(status, "COMPLETED"),
        other => panic!("{other:?}"),
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    assert!(matches!(
        feeds
            .reopen_for_redrive(A, &unknown, "2026-01-01T13:00:00.000Z", &m)
            .await,
        Err(RedriveError::NotFound)
    ));
    assert!(matches!(
        feeds
            .reopen_for_redrive("partner-b", &feed.feed_id, "2026-01-01T13:00:00.000Z", &m)
            .await,
        Err(RedriveError::NotFound)
    ));
    assert!(matches!(
        feeds
            .reopen_for_redrive(A, "not-a-feed#body", "2026-01-01T13:00:00.000Z", &m)
            .await,
        Err(RedriveError::NotFound)
    ));
}

#[tokio::test]
async fn persisted_orders_stay_persisted_through_a_redrive() {
    let env = Env::new().await;
    // Persist stores orders 1 and 3, then RecordErrors fails and its Catch
    // (MarkFeedFailed) marks the feed FAILED.
    let mut no_id = a_order(2);
    no_id.as_object_mut().unwrap().remove("orderId");
    let feed = accept(&env, vec![a_order(1), no_id, a_order(3)]).await;
    let validated = validate::handler(
        &env.validate(),
        lambda_event(serde_json::from_value(json!(feed)).unwrap()),
    )
    .await
    .unwrap();
    let transformed = transform::handler(
        &env.transform(),
        lambda_event(serde_json::from_value(serde_json::to_value(&validated).unwrap()).unwrap()),
    )
    .await
    .unwrap();
    let (bus, _) = env.event_bridge().await;
    persist::handler(
        &env.persist(bus.clone()),
        lambda_event(serde_json::from_value(serde_json::to_value(&transformed).unwrap()).unwrap()),
    )
    .await
    .unwrap();
    let mark = ErrorsToRecord {
        feed: feed.clone(),
        batch: None,
        failure: None,
        record_failure: Some(failure()),
    };
    let out = record_error::handler(&env.record_error(bus.clone()), lambda_event(mark))
        .await
        .unwrap();
    assert_eq!(out.status, FeedStatus::Failed);
    let hour = the_hour(&env).await;
    assert_eq!((hour.feeds, hour.orders.failed, hour.orders.persisted), (1, 3, 0));
    let first = env.orders().get(A, 1, &CostMeter::default()).await.unwrap().unwrap();

    // Two operators redrive at once: one reopens it.
    let feeds = env.feeds();
    let m = CostMeter::default();
    let (x, y) = tokio::join!(
        feeds.reopen_for_redrive(A, &feed.feed_id, "2026-01-01T12:10:00.000Z", &m),
        feeds.reopen_for_redrive(A, &feed.feed_id, "2026-01-01T12:10:00.000Z", &m)
    );
    let reopened: Vec<_> = [x, y].into_iter().filter_map(Result::ok).collect();
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].redrive_count, 1);

    let run = env.run_pipeline(&feed).await;
    assert_eq!(
        run.persisted.counts.persisted, 2,
        "its own orders count as persisted, not duplicate"
    );
    assert_eq!(
        run.recorded.map(|r| r.status),
        Some(FeedStatus::CompletedWithRejections)
    );
    assert_eq!(env.count(&env.tables.orders).await, 2, "nothing stored twice");
    assert_eq!(
        env.orders().get(A, 1, &m).await.unwrap().unwrap(),
        first,
        "left as it was"
    );
    let hour = the_hour(&env).await;
    assert_eq!(hour.feeds, 1);
    assert_eq!(
        json!(hour.orders),
        json!({"received": 3, "persisted": 2, "rejected": 1, "duplicate": 0, "failed": 0})
    );
    assert_eq!(hour.rejection_codes, BTreeMap::from([("MISSING_FIELD".to_string(), 1)]));
}

#[tokio::test]
async fn latency_percentiles_come_from_the_histogram_of_finish_times() {
    let env = Env::new().await;
    // Received at 12:00:00.000 (the fixed clock); finished 400 ms, 2.5 s
    // and 20 minutes later.
    for (seq, after_ms) in [(1, 400), (2, 2_500), (3, 1_200_000)] {
        let feed = accept(&env, vec![a_order(seq)]).await;
        let validated = validate::handler(
            &env.validate(),
            lambda_event(serde_json::from_value(json!(feed)).unwrap()),
        )
        .await
        .unwrap();
        let transformed = transform::handler(
            &env.transform(),
            lambda_event(serde_json::from_value(serde_json::to_value(&validated).unwrap()).unwrap()),
        )
        .await
        .unwrap();
        let (bus, _) = env.event_bridge().await;
        let later = chrono::DateTime::from_timestamp_millis(NOW_MS + after_ms).unwrap();
        let app = persist::App {
            clock: Arc::new(FixedClock(later)),
            ..env.persist(bus)
        };
        persist::handler(
            &app,
            lambda_event(serde_json::from_value(serde_json::to_value(&transformed).unwrap()).unwrap()),
        )
        .await
        .unwrap();
    }
    let hour = the_hour(&env).await;
    assert_eq!(hour.hour, HOUR, "counted in the hour of receipt");
    // Buckets (300, 500], (2000, 3000] and > 900 s, one feed each:
    // p50 is rank 2, the top of (2000, 3000]; p95 rank 3, the open bucket's floor.
    let l = hour.latency_ms.unwrap();
    assert_eq!((l.p50, l.p95), (3_000, 900_000));
    assert_eq!(hour.latency_histogram.iter().sum::<u64>(), 3);
}

/// A feed record of partner `partner` received at `at` (its id minted then).
fn record(partner: &str, at: chrono::DateTime<chrono::Utc>, status: FeedStatus) -> FeedRecord {
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp() as u64, at.timestamp_subsec_nanos());
    FeedRecord {
        partner_id: partner.into(),
        feed_id: uuid::Uuid::new_v7(ts).to_string(),
        status,
        format: "partner-a@1".into(),
        received_at: zb_shared::time::format_utc(at),
        request_id: "r".into(),
        correlation_id: "c".into(),
        content_type: "application/json".into(),
        body_bytes: 2,
        order_count: 1,
        counts: FeedCounts::default(),
        outcomes: vec![OrderOutcome {
            index: 0,
            sequence_number: Some(1),
            outcome: Outcome::Persisted,
            code: None,
            field: None,
        }],
        outcome_pages: 1,
        failure: None,
        updated_at: zb_shared::time::format_utc(at),
        sweep_attempts: 0,
        redrive_count: 0,
    }
}

#[tokio::test]
async fn the_feed_listing_filters_by_status_and_time_and_pages() {
    let env = Env::new().await;
    let feeds = env.feeds();
    let m = CostMeter::default();
    let t0 = now();
    let minute = chrono::Duration::minutes(1);
    // Ten feeds a minute apart, every third FAILED; another partner's too.
    let mut all = Vec::new();
    for i in 0..10 {
        let status = if i % 3 == 0 {
            FeedStatus::Failed
        } else {
            FeedStatus::Completed
        };
        let r = record(A, t0 + minute * i, status);
        feeds.create(&r, "{}", &m).await.unwrap();
        all.push(r);
    }
    feeds
        .create(&record("partner-b", t0, FeedStatus::Failed), "{}", &m)
        .await
        .unwrap();
    let newest_first: Vec<String> = all.iter().rev().map(|r| r.feed_id.clone()).collect();
    let ids = |v: &[FeedRecord]| v.iter().map(|r| r.feed_id.clone()).collect::<Vec<_>>();

    let (got, next) = feeds
        .list(A, &FeedFilter::default(), 50, None, &m)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ids(&got), newest_first, "records only (no bodies), newest first");
    assert_eq!(next, None);
    assert_eq!(got[0], all[9]);

    let failed = FeedFilter {
        status: Some("FAILED".into()),
        ..Default::default()
    };
    let (got, _) = feeds.list(A, &failed, 50, None, &m).await.unwrap().unwrap();
    assert_eq!(ids(&got), [9, 6, 3, 0].map(|i| all[i].feed_id.clone()));

    // From minute 2 to minute 5, both inclusive, to the millisecond.
    let window = FeedFilter {
        from: Some(t0 + minute * 2),
        to: Some(t0 + minute * 5),
        ..Default::default()
    };
    let (got, _) = feeds.list(A, &window, 50, None, &m).await.unwrap().unwrap();
    assert_eq!(ids(&got), [5, 4, 3, 2].map(|i| all[i].feed_id.clone()));
    let just_after = FeedFilter {
        from: Some(t0 + minute * 5 + chrono::Duration::milliseconds(1)),
        to: Some(t0 + minute * 6 - chrono::Duration::milliseconds(1)),
        ..Default::default()
    };
    assert!(feeds
        .list(A, &just_after, 50, None, &m)
        .await
        .unwrap()
        .unwrap()
        .0
        .is_empty());
    let both = FeedFilter {
        status: Some("FAILED".into()),
        ..window.clone()
    };
    let (got, _) = feeds.list(A, &both, 50, None, &m).await.unwrap().unwrap();
    assert_eq!(ids(&got), [all[3].feed_id.clone()]);

    // Pages of 3: every feed once, in order, then no cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let (got, next) = feeds
            .list(A, &FeedFilter::default(), 3, cursor.as_deref(), &m)
            .await
            .unwrap()
            .unwrap();
        assert!(got.len() <= 3);
        seen.extend(ids(&got));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
    // Filtered pages of 1 go through the failed ones only.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let (got, next) = feeds.list(A, &failed, 1, cursor.as_deref(), &m).await.unwrap().unwrap();
        seen.extend(ids(&got));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, [9, 6, 3, 0].map(|i| all[i].feed_id.clone()));

    // Cursors: another partner's, another window's, a forged one: refused.
    let (_, next) = feeds
        .list(A, &FeedFilter::default(), 2, None, &m)
        .await
        .unwrap()
        .unwrap();
    let c = next.unwrap();
    assert_eq!(
        feeds
            .list("partner-b", &FeedFilter::default(), 2, Some(&c), &m)
            .await
            .unwrap(),
        Err(BadCursor)
    );
    assert_eq!(feeds.list(A, &window, 2, Some(&c), &m).await.unwrap(), Err(BadCursor));
    assert_eq!(
        feeds
            .list(A, &FeedFilter::default(), 2, Some("bm90IGEgY3Vyc29y"), &m)
            .await
            .unwrap(),
        Err(BadCursor)
    );

    // Whose feed is it: the byFeedId index (eventually consistent on AWS;
    // DynamoDB Local answers at once).
    assert_eq!(
        feeds.find_partner(&all[4].feed_id, &m).await.unwrap().as_deref(),
        Some(A)
    );
    assert_eq!(
        feeds.find_partner(&uuid::Uuid::now_v7().to_string(), &m).await.unwrap(),
        None
    );
    assert_eq!(feeds.find_partner("x#body", &m).await.unwrap(), None);
}

/// What the figures add to a feed's writes, as DynamoDB Local reports it
/// (ReturnConsumedCapacity): finishing a feed in a transaction with its
/// hour's ADD, against the terminal UpdateItem of the same record it
/// replaced. A transaction bills 2 WCU per KB of each item ("Capacity
/// management for transactions",
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling);
/// DynamoDB Local doubles the byPending index write too.
#[tokio::test]
async fn what_the_figures_cost_per_feed() {
    let env = Env::new().await;
    let feeds = env.feeds();
    let mut extra_units = Vec::new();
    for orders in [1usize, 100] {
        let outcomes: Vec<OrderOutcome> = (0..orders)
            .map(|i| OrderOutcome {
                index: i,
                sequence_number: Some(i as u64 + 1),
                outcome: Outcome::Persisted,
                code: None,
                field: None,
            })
            .collect();
        let counts = FeedCounts {
            received: orders,
            persisted: orders,
            duplicate: 0,
            rejected: 0,
        };
        let mut units = Vec::new();
        for status in [None, Some(FeedStatus::Completed)] {
            let mut r = record(A, now(), FeedStatus::Received);
            r.outcomes = Vec::new();
            r.order_count = orders;
            feeds.create(&r, "{}", &CostMeter::default()).await.unwrap();
            let update = FeedUpdate {
                status,
                counts,
                outcomes: outcomes.clone(),
                failure: None,
                updated_at: "2026-01-01T12:00:01.000Z".into(),
            };
            let m = CostMeter::default();
            match status {
                // The terminal update as it was before the figures: one
                // UpdateItem that also takes the feed out of the pending index.
                None => {
                    let out = env
                        .ddb
                        .update_item()
                        .table_name(&env.tables.feeds)
                        .key("partnerId", aws_sdk_dynamodb::types::AttributeValue::S(A.into()))
                        .key("feedId", aws_sdk_dynamodb::types::AttributeValue::S(r.feed_id.clone()))
                        .update_expression(
                            "SET counts = :c, outcomes = :o, outcomePages = :p, updatedAt = :u, #st = :s \
                             REMOVE pendingShard, pendingSince",
                        )
                        .condition_expression("attribute_exists(feedId)")
                        .expression_attribute_names("#st", "status")
                        .expression_attribute_values(":c", serde_dynamo::to_attribute_value(counts).unwrap())
                        .expression_attribute_values(":o", serde_dynamo::to_attribute_value(&outcomes).unwrap())
                        .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
                        .expression_attribute_values(
                            ":u",
                            aws_sdk_dynamodb::types::AttributeValue::S(update.updated_at.clone()),
                        )
                        .expression_attribute_values(
                            ":s",
                            aws_sdk_dynamodb::types::AttributeValue::S("COMPLETED".into()),
                        )
                        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
                        .send()
                        .await
                        .unwrap();
                    m.dynamodb_write(out.consumed_capacity());
                }
                Some(_) => {
                    let volume = VolumeDelta::completed(now(), now(), &counts, []);
                    assert_eq!(
                        feeds.finish(A, &r.feed_id, &update, &volume, &m).await.unwrap(),
                        Written::Applied
                    );
                }
            }
            units.push(m.counters().dynamodb_write_units);
        }
        let extra = units[1] - units[0];
        let per_million_orders = extra * (1_000_000.0 / orders as f64) * 0.625 / 1_000_000.0;
        println!(
            "{orders}-order feed: terminal UpdateItem {} WCU, finishing transaction {} WCU, +{extra} WCU per feed, \
             ${per_million_orders:.4} per million orders (on-demand, $0.625 per million WRU)",
            units[0], units[1]
        );
        extra_units.push(extra);
    }
    // What the measurement found (BENCHMARKS.md): the hour item (1 KB,
    // twice) plus the record and its index write billed twice.
    assert_eq!(extra_units, [4.0, 8.0]);
}
