//! The pipeline's steps (validate → transform → persist → record-error),
//! each a real handler, chained as the state machine chains them, against
//! DynamoDB Local.

use serde_json::json;
use zb_shared::events::{ORDERS_PERSISTED, ORDERS_REJECTED};
use zb_shared::feed::{Failure, FeedRecord, FeedStatus, Outcome};
use zb_shared::pipeline::{ErrorsToRecord, FeedRef};
use zb_shared::rejection::{RejectionCode, Stage};
use zb_shared::store::{ErrorItem, Page};
use zb_tests::api::{lambda_event, seen, Request};
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order, NOW_MS};
use zb_tests::wiring::Env;

const A: &str = "partner-a";

async fn accept(env: &Env, req: &Request) -> FeedRef {
    let (resp, announced) = env.ingest_feed(req).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    announced.expect("OrderFeedReceived published")
}

/// Partner A's stored record of feed `feed_id`, which must exist.
async fn feed_record(env: &Env, feed_id: &str) -> FeedRecord {
    env.feeds().get(A, feed_id, &Default::default()).await.unwrap().unwrap()
}

/// The first page (up to 10) of partner A's recorded errors, over all time.
async fn errors_page(env: &Env) -> Page<ErrorItem> {
    env.errors()
        .query(A, "0000", "9999", None, 10, &Default::default())
        .await
        .unwrap()
        .unwrap()
}

/// Most tests feed partner A's format; this accepts such a feed.
async fn accept_a(env: &Env, orders: Vec<serde_json::Value>) -> FeedRef {
    accept(env, &Request::post_feed(A, "partner-a@1", &a_feed(orders))).await
}

#[tokio::test]
async fn a_partner_a_feed_ends_as_canonical_orders() {
    let env = Env::new().await;
    let feed = accept_a(&env, vec![a_order(1), a_order(2)]).await;
    let run = env.run_pipeline(&feed).await;

    assert_eq!(run.persisted.status, FeedStatus::Completed);
    assert_eq!(run.persisted.counts.persisted, 2);
    assert_eq!(run.persisted.rejected_count, 0);
    assert!(run.recorded.is_none(), "no rejections, so RecordErrors is skipped");

    let stored = env
        .orders()
        .get(A, 2, &Default::default())
        .await
        .unwrap()
        .expect("order 2 stored");
    assert_eq!(stored.order.external_id, "A-2");
    assert_eq!(stored.order.currency, "EUR");
    assert_eq!(stored.order.total_minor, 1250);
    assert_eq!(stored.order.lines.len(), 2);
    assert_eq!(stored.feed_id, feed.feed_id);
    assert_eq!(
        zb_shared::time::format_utc(stored.order.event_time),
        zb_shared::time::format_utc(chrono::DateTime::from_timestamp_millis(NOW_MS - 120_000).unwrap())
    );
    let record = feed_record(&env, &feed.feed_id).await;
    assert_eq!(record.status, FeedStatus::Completed);
    assert_eq!(record.outcomes.len(), 2);
    assert!(record.outcomes.iter().all(|o| o.outcome == Outcome::Persisted));
    assert_eq!(run.events.len(), 1);
    assert_eq!(run.events[0].detail_type, ORDERS_PERSISTED);
    assert_eq!(run.events[0].detail["counts"]["persisted"], 2);
}

#[tokio::test]
async fn a_partner_b_feed_ends_as_canonical_orders() {
    let env = Env::new().await;
    let feed = accept(
        &env,
        &Request::post_feed("partner-b", "partner-b@1", &b_feed(vec![b_order(7)])),
    )
    .await;
    let run = env.run_pipeline(&feed).await;
    assert_eq!(run.persisted.counts.persisted, 1);
    let stored = env
        .orders()
        .get("partner-b", 7, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.order.currency, "USD");
    assert_eq!(stored.order.total_minor, 2550);
    assert_eq!(
        zb_shared::time::format_utc(stored.order.event_time),
        "2026-01-01T11:30:00.000Z"
    );
    assert_eq!(stored.order.customer_ref.as_deref(), Some("buyer7@example.com"));
}

#[tokio::test]
async fn bad_orders_are_recorded_as_errors_and_good_ones_persist() {
    let env = Env::new().await;
    let mut no_id = a_order(2);
    no_id.as_object_mut().unwrap().remove("orderId");
    let mut zero_qty = a_order(3);
    zero_qty["items"][0]["quantity"] = json!(0);
    let feed = accept_a(&env, vec![a_order(1), no_id.clone(), zero_qty, a_order(4)]).await;
    let run = env.run_pipeline(&feed).await;

    assert_eq!(run.persisted.status, FeedStatus::CompletedWithRejections);
    assert_eq!(run.persisted.counts.persisted, 2);
    assert_eq!(run.persisted.counts.rejected, 2);
    let recorded = run.recorded.expect("RecordErrors ran");
    assert_eq!(recorded.recorded, 2);
    assert!(recorded.failure.is_none());

    let page = errors_page(&env).await;
    assert_eq!(page.items.len(), 2);
    let missing = &page.items[0];
    assert_eq!(
        (missing.index, missing.code, missing.stage),
        (1, RejectionCode::MissingField, Stage::Validate)
    );
    assert_eq!(missing.field, "/orders/1/orderId");
    assert_eq!(missing.sequence_number, Some(2));
    let raw: serde_json::Value = serde_json::from_str(missing.raw_order.as_deref().unwrap()).unwrap();
    assert_eq!(raw, no_id, "the raw order is kept for diagnosis");
    let thirty_days = 30 * 24 * 3600;
    assert_eq!(missing.expires_at, NOW_MS / 1000 + thirty_days);
    let qty = &page.items[1];
    assert_eq!(
        (qty.code, qty.field.as_str()),
        (RejectionCode::InvalidQuantity, "/orders/2/items/0/quantity")
    );
    assert_eq!(qty.stage, Stage::Transform);

    assert!(env.orders().get(A, 1, &Default::default()).await.unwrap().is_some());
    assert!(env.orders().get(A, 3, &Default::default()).await.unwrap().is_none());
    let types: Vec<_> = run.events.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(types, vec![ORDERS_PERSISTED, ORDERS_REJECTED]);

    // The partner's status URL reports both the persisted and the rejected.
    let q = env.query();
    let path = format!("/v1/feeds/{}", feed.feed_id);
    let resp = seen(
        query::handler(
            &q,
            Request::get(A, "/v1/feeds/{feedId}", &path)
                .path_param("feedId", &feed.feed_id)
                .event(),
        )
        .await
        .unwrap_or_else(|e| match e {}),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["status"], "COMPLETED_WITH_REJECTIONS");
    assert_eq!(
        resp.body["counts"],
        json!({"received": 4, "persisted": 2, "duplicate": 0, "rejected": 2})
    );
    let outcomes = resp.body["orders"].as_array().unwrap();
    assert_eq!(outcomes.len(), 4);
    assert_eq!(outcomes[1]["outcome"], "rejected");
    assert_eq!(outcomes[1]["code"], "MISSING_FIELD");
    assert_eq!(outcomes[1]["field"], "/orders/1/orderId");
    assert_eq!(outcomes[3]["outcome"], "persisted");
}

#[tokio::test]
async fn a_replayed_feed_creates_no_duplicate_order() {
    let env = Env::new().await;
    let body = a_feed(vec![a_order(1), a_order(2), a_order(3)]);
    let first = accept(&env, &Request::post_feed(A, "partner-a@1", &body)).await;
    env.run_pipeline(&first).await;
    let before = env.orders().get(A, 2, &Default::default()).await.unwrap().unwrap();

    // The partner sends the same feed again (a new request, a new feed id).
    let again = accept(&env, &Request::post_feed(A, "partner-a@1", &body)).await;
    assert_ne!(again.feed_id, first.feed_id);
    let run = env.run_pipeline(&again).await;
    assert_eq!(run.persisted.counts.duplicate, 3);
    assert_eq!(run.persisted.counts.persisted, 0);
    assert_eq!(run.persisted.status, FeedStatus::Completed);
    assert_eq!(env.count(&env.tables.orders).await, 3, "still three orders");
    let after = env.orders().get(A, 2, &Default::default()).await.unwrap().unwrap();
    assert_eq!(after, before, "a replay changes nothing");
    let record = feed_record(&env, &again.feed_id).await;
    assert!(record.outcomes.iter().all(|o| o.outcome == Outcome::Duplicate));
}

#[tokio::test]
async fn a_different_order_under_a_used_sequence_number_is_a_conflict() {
    let env = Env::new().await;
    let first = accept_a(&env, vec![a_order(5)]).await;
    env.run_pipeline(&first).await;

    let mut changed = a_order(5);
    changed["orderId"] = json!("A-5-bis");
    let second = accept_a(&env, vec![changed, a_order(6)]).await;
    let run = env.run_pipeline(&second).await;
    assert_eq!(run.persisted.counts.persisted, 1);
    assert_eq!(run.persisted.counts.rejected, 1);
    // Rejections hold order content, so they are always staged (issue 16).
    let staged = zb_shared::pipeline::open(
        &env.feeds(),
        &run.persisted.feed,
        run.persisted.batch.clone(),
        &Default::default(),
    )
    .await
    .expect("the staged rejections");
    let conflict = &staged.rejections[0];
    assert_eq!(conflict.code, RejectionCode::SequenceConflict);
    assert_eq!(conflict.field, "/orders/0/sequenceNumber");
    assert_eq!(conflict.stage, Stage::Persist);
    assert!(conflict.message.contains(&first.feed_id), "{}", conflict.message);
    let kept = env.orders().get(A, 5, &Default::default()).await.unwrap().unwrap();
    assert_eq!(kept.order.external_id, "A-5", "the first order stays");
    assert_eq!(run.recorded.expect("conflict recorded").recorded, 1);
}

#[tokio::test]
async fn the_same_sequence_number_twice_in_one_feed_keeps_the_first() {
    let env = Env::new().await;
    let mut twin = a_order(8);
    twin["orderId"] = json!("A-8-twin");
    let feed = accept_a(&env, vec![a_order(8), twin]).await;
    let run = env.run_pipeline(&feed).await;
    assert_eq!(run.persisted.counts.persisted, 1);
    // Rejections hold order content, so they are always staged (issue 16).
    let staged = zb_shared::pipeline::open(
        &env.feeds(),
        &run.persisted.feed,
        run.persisted.batch.clone(),
        &Default::default(),
    )
    .await
    .expect("the staged rejections");
    let rejections = &staged.rejections;
    assert_eq!(rejections[0].code, RejectionCode::DuplicateSequence);
    assert_eq!(rejections[0].index, 1);
}

#[tokio::test]
async fn a_retried_persist_counts_its_own_writes_as_persisted() {
    let env = Env::new().await;
    let feed = accept_a(&env, vec![a_order(1), a_order(2)]).await;
    let run = env.run_pipeline(&feed).await;
    // Step Functions retries Persist after, say, a publish timeout.
    let input = serde_json::from_value(serde_json::to_value(&run.transformed).unwrap()).unwrap();
    let (bus, _) = env.event_bridge().await;
    let again = persist::handler(&env.persist(bus), lambda_event(input)).await.unwrap();
    assert_eq!(again.counts.persisted, 2);
    assert_eq!(again.counts.duplicate, 0);
}

#[tokio::test]
async fn a_failed_feed_is_marked_failed_and_every_order_recorded() {
    let env = Env::new().await;
    let feed = accept_a(&env, vec![a_order(1), a_order(2)]).await;
    // What a Catch hands RecordErrors: the failed step's input plus $.failure.
    let input = ErrorsToRecord {
        feed: feed.clone(),
        batch: None,
        record_failure: None,
        failure: Some(Failure {
            error: "Lambda.Unknown".into(),
            cause: "The function crashed".into(),
        }),
    };
    let (bus, journal) = env.event_bridge().await;
    let app = env.record_error(bus);
    let out = record_error::handler(&app, lambda_event(input)).await.unwrap();
    assert_eq!(out.status, FeedStatus::Failed);
    assert_eq!(out.recorded, 2);
    assert_eq!(
        out.failure.as_ref().unwrap().error,
        "Lambda.Unknown",
        "passed on for the Fail state"
    );

    let record = feed_record(&env, &feed.feed_id).await;
    assert_eq!(record.status, FeedStatus::Failed);
    assert_eq!(record.failure.as_ref().unwrap().cause, "The function crashed");
    assert_eq!(record.counts.rejected, 2);
    let page = errors_page(&env).await;
    assert_eq!(page.items.len(), 2, "no order of a failed feed is lost");
    assert!(page.items.iter().all(|e| e.code == RejectionCode::PipelineFailed));
    assert!(page.items[0].message.contains("Lambda.Unknown"));
    assert!(page.items[0].raw_order.is_some());
    let published = journal.events();
    assert_eq!(published[0].detail_type, ORDERS_REJECTED);
    assert_eq!(published[0].detail["status"], "FAILED");
}

#[tokio::test]
async fn validate_names_its_error_type_for_an_unknown_feed() {
    let env = Env::new().await;
    let feed = FeedRef {
        feed_id: uuid::Uuid::now_v7().to_string(),
        partner_id: A.into(),
        format: "partner-a@1".into(),
        received_at: "2026-01-01T12:00:00.000Z".into(),
        request_id: "r".into(),
        correlation_id: "c".into(),
    };
    let err = validate::handler(&env.validate(), lambda_event(feed.clone()))
        .await
        .unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "FeedNotFound");
    let mut unknown = feed;
    unknown.format = "partner-z@9".into();
    let err = validate::handler(&env.validate(), lambda_event(unknown))
        .await
        .unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "UnknownFormat");
}
