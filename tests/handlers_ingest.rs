//! POST /v1/feeds through the ingest handler, against DynamoDB Local.

use serde_json::json;
use zb_shared::events::{DomainEvent, EventError, EventSink, ORDER_FEED_RECEIVED};
use zb_shared::feed::FeedStatus;
use zb_tests::api::{seen, Request};
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order};
use zb_tests::wiring::Env;

const A: &str = "partner-a";
const A_FORMAT: &str = "partner-a@1";

#[tokio::test]
async fn a_valid_feed_is_stored_announced_and_answered_202() {
    let env = Env::new().await;
    let (bus, journal) = env.event_bridge().await;
    let app = env.ingest(bus);
    let req = Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1), a_order(2)])).header("x-request-id", "req-123");
    let resp = seen(ingest::handler(&app, req.event()).await.unwrap_or_else(|e| match e {}));

    assert_eq!(resp.status, 202, "{}", resp.body);
    assert_eq!(
        resp.request_id.as_deref(),
        Some("req-123"),
        "the caller's X-Request-ID is echoed"
    );
    let feed_id = resp.body["feedId"].as_str().expect("feedId").to_string();
    assert_eq!(resp.body["status"], "RECEIVED");
    assert_eq!(resp.body["statusUrl"], format!("/v1/feeds/{feed_id}"));
    assert_eq!(resp.header("location"), Some(format!("/v1/feeds/{feed_id}").as_str()));
    assert_eq!(resp.body["orderCount"], 2);

    let meter = Default::default();
    let record = env
        .feeds()
        .get(A, &feed_id, &meter)
        .await
        .unwrap()
        .expect("feed record stored");
    assert_eq!(record.status, FeedStatus::Received);
    assert_eq!(record.order_count, 2);
    assert_eq!(record.request_id, "req-123");
    let body = env
        .feeds()
        .get_body(A, &feed_id, &meter)
        .await
        .unwrap()
        .expect("raw body stored");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        a_feed(vec![a_order(1), a_order(2)])
    );

    let events = journal.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail_type, ORDER_FEED_RECEIVED);
    assert_eq!(events[0].detail["feedId"], feed_id.as_str());
    assert_eq!(events[0].detail["partnerId"], A);
    assert_eq!(events[0].detail["format"], A_FORMAT);
    assert_eq!(events[0].detail["correlationId"], "req-123");
}

#[tokio::test]
async fn every_response_carries_a_request_id_even_when_the_caller_sends_none() {
    let env = Env::new().await;
    let (ok, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1)])))
        .await;
    let (bad, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &json!({})).body("{"))
        .await;
    for resp in [ok, bad] {
        let id = resp.request_id.clone().expect("X-Request-ID header");
        assert!(uuid::Uuid::try_parse(&id).is_ok(), "a fresh id is a UUID: {id}");
    }
}

#[tokio::test]
async fn partner_b_feeds_use_their_own_content_type_and_orders_path() {
    let env = Env::new().await;
    let req = Request::post_feed("partner-b", "partner-b@1", &b_feed(vec![b_order(1)]))
        .header("content-type", "application/vnd.partner-b.feed+json; charset=utf-8");
    let (resp, announced) = env.ingest_feed(&req).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    assert_eq!(announced.expect("announced").format, "partner-b@1");

    // Partner A's shape is a malformed Partner B feed: the orders are not where B's are.
    let (resp, announced) = env
        .ingest_feed(&Request::post_feed(
            "partner-b",
            "partner-b@1",
            &a_feed(vec![a_order(1)]),
        ))
        .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["pointer"], "/data/orders");
    assert!(announced.is_none());
}

#[tokio::test]
async fn a_body_over_256_kb_is_413_and_nothing_is_stored() {
    let env = Env::new().await;
    let padding = "x".repeat(256 * 1024);
    let mut order = a_order(1);
    order["notes"] = json!(padding);
    let (resp, announced) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &a_feed(vec![order])))
        .await;
    resp.assert_problem(413);
    assert_eq!(resp.fault()["pointer"], "");
    assert!(
        resp.body["detail"].as_str().unwrap().contains("262144"),
        "{}",
        resp.body
    );
    assert!(announced.is_none());
    assert_eq!(env.count(&env.tables.feeds).await, 0);
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_accepted() {
    let env = Env::new().await;
    let base = a_feed(vec![a_order(1)]).to_string().len();
    let mut order = a_order(1);
    // Fill the body up to exactly 256 KiB.
    order["notes"] = json!("");
    let empty_len = a_feed(vec![order.clone()]).to_string().len();
    order["notes"] = json!("y".repeat(256 * 1024 - empty_len));
    let body = a_feed(vec![order]);
    assert_eq!(body.to_string().len(), 256 * 1024);
    assert!(base < empty_len);
    let (resp, _) = env.ingest_feed(&Request::post_feed(A, A_FORMAT, &body)).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
}

#[tokio::test]
async fn a_content_type_the_format_does_not_take_is_415_naming_the_header() {
    let env = Env::new().await;
    let feed = a_feed(vec![a_order(1)]);
    let (resp, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &feed).header("content-type", "text/csv"))
        .await;
    resp.assert_problem(415);
    assert_eq!(resp.fault()["header"], "content-type");
    assert!(resp.body["detail"].as_str().unwrap().contains("application/json"));

    let (resp, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &feed).without_header("content-type"))
        .await;
    resp.assert_problem(415);
    assert_eq!(resp.fault()["header"], "content-type");
}

#[tokio::test]
async fn a_body_that_does_not_parse_is_400_with_where_it_broke() {
    let env = Env::new().await;
    let (resp, announced) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &json!({})).body(r#"{"orders": [ {"sequenceNumber": 1,, } ]}"#))
        .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["pointer"], "");
    assert!(
        resp.fault()["detail"].as_str().unwrap().contains("column"),
        "{}",
        resp.body
    );
    assert!(announced.is_none());

    let (resp, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &json!({"orders": {}})))
        .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["pointer"], "/orders");

    let (resp, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &json!({"orders": []})))
        .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["pointer"], "/orders");
}

#[tokio::test]
async fn a_request_without_the_authorizer_context_is_401() {
    let env = Env::new().await;
    let (resp, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1)])).anonymous())
        .await;
    resp.assert_problem(401);
    assert_eq!(env.count(&env.tables.feeds).await, 0);
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_replay_the_same_202() {
    let env = Env::new().await;
    let req = Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1)])).header("idempotency-key", "key-1");
    let (first, announced_first) = env.ingest_feed(&req).await;
    let (second, announced_second) = env.ingest_feed(&req).await;
    assert_eq!(first.status, 202);
    assert_eq!(second.status, 202);
    assert_eq!(first.body, second.body, "the replay is the same response");
    assert!(announced_first.is_some());
    assert!(announced_second.is_none(), "a replay does not start the pipeline again");
    // One feed: the record and its body item.
    assert_eq!(env.count(&env.tables.feeds).await, 2);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_422() {
    let env = Env::new().await;
    let first = Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1)])).header("idempotency-key", "key-2");
    let other = Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(2)])).header("idempotency-key", "key-2");
    assert_eq!(env.ingest_feed(&first).await.0.status, 202);
    let (resp, announced) = env.ingest_feed(&other).await;
    resp.assert_problem(422);
    assert_eq!(resp.fault()["header"], "idempotency-key");
    assert!(announced.is_none());
}

#[tokio::test]
async fn a_request_while_the_first_is_in_flight_is_409() {
    let env = Env::new().await;
    let feed = a_feed(vec![a_order(1)]);
    // Another instance holds the key right now (claimed, not completed).
    let hash = zb_shared::idempotency::body_hash(feed.to_string().as_bytes());
    let claim = env
        .idempotency()
        .claim(
            A,
            "key-3",
            &hash,
            zb_tests::fixtures::now().timestamp(),
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(claim, zb_shared::idempotency::Claim::Acquired);
    let (resp, announced) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &feed).header("idempotency-key", "key-3"))
        .await;
    resp.assert_problem(409);
    assert_eq!(resp.fault()["header"], "idempotency-key");
    assert!(announced.is_none());
}

#[tokio::test]
async fn keys_are_per_partner() {
    let env = Env::new().await;
    let feed = a_feed(vec![a_order(1)]);
    let a = Request::post_feed(A, A_FORMAT, &feed).header("idempotency-key", "shared");
    let b = Request::post_feed("partner-c", A_FORMAT, &a_feed(vec![a_order(9)])).header("idempotency-key", "shared");
    assert_eq!(env.ingest_feed(&a).await.0.status, 202);
    assert_eq!(
        env.ingest_feed(&b).await.0.status,
        202,
        "another partner's key does not collide"
    );
}

#[tokio::test]
async fn when_the_bus_is_down_the_answer_is_503_and_the_key_is_freed() {
    let env = Env::new().await;
    let req = Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1)])).header("idempotency-key", "key-4");
    // EventBridge unreachable: the real adapter cannot connect, a transient failure.
    let down = env.ingest(env.event_bridge_down().await);
    let probe = DomainEvent {
        detail_type: ORDER_FEED_RECEIVED,
        detail: json!({}),
    };
    assert!(matches!(
        down.events.publish(vec![probe], &Default::default()).await,
        Err(EventError::Transient(_))
    ));
    let resp = seen(ingest::handler(&down, req.event()).await.unwrap_or_else(|e| match e {}));
    resp.assert_problem(503);
    assert_eq!(resp.header("retry-after"), Some("1"));
    // The partner's retry with the same key goes through once the bus is back.
    let (retry, announced) = env.ingest_feed(&req).await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert!(announced.is_some());
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_400_naming_the_header() {
    let env = Env::new().await;
    let long = "k".repeat(300);
    let (resp, _) = env
        .ingest_feed(&Request::post_feed(A, A_FORMAT, &a_feed(vec![a_order(1)])).header("idempotency-key", &long))
        .await;
    resp.assert_problem(400);
    assert_eq!(resp.fault()["header"], "idempotency-key");
}
