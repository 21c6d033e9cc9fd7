//! Per-partner rate limits, against DynamoDB Local: a partner record's rate
//! and burst travel through the real authorizer's context to ingest, which
//! counts every request in the rate-limit table. The clock is pinned (to the
//! real now: DynamoDB Local's TTL deletes the counters of windows long past),
//! so all requests fall in one window and the counts are exact; nothing is
//! timed.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use zb_shared::clock::FixedClock;
use zb_shared::cost::CostMeter;
use zb_shared::events::EventBridgeSink;
use zb_shared::ratelimit::RateLimit;
use zb_tests::api::{from_json, lambda_event, seen, Request, Seen};
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order};
use zb_tests::wiring::Env;

/// Seeds partner-a (with `limit`, or none) and partner-b (none: the defaults).
async fn partners(env: &Env, limit: Option<RateLimit>) {
    zb_tests::seed_env_partner(env, "partner-a", "partner-a@1", "key-a", None).await;
    zb_tests::seed_env_partner(env, "partner-b", "partner-b@1", "key-b", None).await;
    let store = env.partners();
    let meter = CostMeter::default();
    let mut a = store
        .get_partner("partner-a", &meter)
        .await
        .expect("read partner-a")
        .expect("partner-a");
    a.rate_limit = limit;
    store.put_partner(&a, &meter).await.expect("write partner-a");
}

/// What the real authorizer puts in the request context for `key`.
async fn context(env: &Env, key: &str) -> Value {
    let req: ApiGatewayV2CustomAuthorizerV2Request = from_json(json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/POST/v1/feeds",
        "routeKey": "POST /v1/feeds", "rawPath": "/v1/feeds",
        "identitySource": [key], "headers": {"x-api-key": key},
        "requestContext": {"http": {"method": "POST", "path": "/v1/feeds"}, "routeKey": "POST /v1/feeds"}
    }));
    let resp = authorizer::handler(&env.authorizer(), lambda_event(req))
        .await
        .unwrap_or_else(|e| panic!("{key} is not authorized: {e}"));
    assert!(resp.is_authorized);
    resp.context
}

/// Ingest with the clock stopped at `now`.
fn ingest_app(env: &Env, now: DateTime<Utc>, events: EventBridgeSink) -> ingest::App<EventBridgeSink> {
    let mut app = env.ingest(events);
    app.clock = Arc::new(FixedClock(now));
    app
}

/// Posts through ingest; the answer and whether the feed was announced.
async fn post(env: &Env, now: DateTime<Utc>, req: &Request) -> (Seen, bool) {
    let (bus, journal) = env.event_bridge().await;
    let app = ingest_app(env, now, bus);
    let resp = ingest::handler(&app, req.event()).await.unwrap_or_else(|e| match e {});
    (seen(resp), !journal.events().is_empty())
}

fn a_post(ctx: &Value, seq: u64) -> Request {
    Request::post_feed("partner-a", "partner-a@1", &a_feed(vec![a_order(seq)])).authorized_as(ctx.clone())
}

fn b_post(ctx: &Value, seq: u64) -> Request {
    Request::post_feed("partner-b", "partner-b@1", &b_feed(vec![b_order(seq)])).authorized_as(ctx.clone())
}

/// (remaining, reset) from `RateLimit: "feeds";r=..;t=..`.
fn rate_limit(seen: &Seen) -> (u32, u32) {
    let h = seen
        .header("ratelimit")
        .unwrap_or_else(|| panic!("no RateLimit header: {:?}", seen.headers));
    let param = |name: &str| -> u32 {
        h.split(';')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("RateLimit {h:?} has no {name}"))
    };
    assert!(h.starts_with("\"feeds\";"), "{h}");
    (param("r"), param("t"))
}

#[tokio::test]
async fn a_partner_over_its_limit_gets_429s_while_another_is_served() {
    let env = Env::new().await;
    partners(&env, Some(RateLimit { rate: 1, burst: 3 })).await;
    let ctx_a = context(&env, "key-a").await;
    assert_eq!((ctx_a["rate"].clone(), ctx_a["burst"].clone()), (json!(1), json!(3)));
    let ctx_b = context(&env, "key-b").await;

    let now = Utc::now();
    let mut a_accepted = Vec::new();
    let mut a_refused = 0;
    for seq in 1..=8 {
        let (a, announced) = post(&env, now, &a_post(&ctx_a, seq)).await;
        // 3 per 3-second window: the policy says so on every answer.
        assert_eq!(a.header("ratelimit-policy"), Some("\"feeds\";q=3;w=3"));
        let (remaining, reset) = rate_limit(&a);
        assert!((1..=3).contains(&reset), "reset {reset}");
        if seq <= 3 {
            assert_eq!(a.status, 202, "request {seq} is within the burst: {}", a.body);
            assert_eq!(remaining, 3 - seq as u32);
            assert!(announced, "an accepted feed is announced");
            a_accepted.push(a.body["feedId"].as_str().expect("feedId").to_string());
        } else {
            a.assert_problem(429);
            assert_eq!(
                a.body["type"],
                "https://api.zerobeta.example/problems/too-many-requests"
            );
            assert_eq!(a.fault()["header"], "x-api-key");
            assert_eq!(remaining, 0);
            let retry: u32 = a.header("retry-after").expect("Retry-After").parse().expect("seconds");
            assert_eq!(retry, reset, "Retry-After is the end of the window");
            assert!(!announced, "a refused feed is neither stored nor announced");
            a_refused += 1;
        }

        // Partner B, interleaved, is not affected.
        let (b, announced) = post(&env, now, &b_post(&ctx_b, seq)).await;
        assert_eq!(b.status, 202, "partner B's request {seq}: {}", b.body);
        assert!(announced);
        assert_eq!(
            b.header("ratelimit-policy"),
            Some("\"feeds\";q=200;w=2"),
            "no limit on the record: the defaults"
        );
        assert_eq!(rate_limit(&b).0, 200 - seq as u32);
    }
    assert_eq!((a_accepted.len(), a_refused), (3, 5));
    // Only the accepted feeds exist.
    let meter = CostMeter::default();
    for feed_id in &a_accepted {
        assert!(env
            .feeds()
            .get("partner-a", feed_id, &meter)
            .await
            .expect("read")
            .is_some());
    }
}

#[tokio::test]
async fn the_limit_holds_across_concurrent_instances() {
    let env = Env::new().await;
    partners(&env, Some(RateLimit { rate: 5, burst: 5 })).await;
    let ctx = context(&env, "key-a").await;
    // 20 requests at once, each through its own app (as separate Lambda
    // instances would be), against the same table.
    let now = Utc::now();
    let mut tasks = tokio::task::JoinSet::new();
    for seq in 1..=20u64 {
        let app = ingest_app(&env, now, env.event_bridge().await.0);
        let event = a_post(&ctx, seq).event();
        tasks.spawn(async move { seen(ingest::handler(&app, event).await.unwrap_or_else(|e| match e {})) });
    }
    let mut statuses = Vec::new();
    while let Some(r) = tasks.join_next().await {
        statuses.push(r.expect("request task").status);
    }
    statuses.sort();
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((accepted, refused), (5, 15), "{statuses:?}");
}

#[tokio::test]
async fn the_read_routes_report_the_quota_without_spending_it() {
    let env = Env::new().await;
    partners(&env, Some(RateLimit { rate: 1, burst: 3 })).await;
    let ctx = context(&env, "key-a").await;
    let now = Utc::now();
    for seq in 1..=2 {
        assert_eq!(post(&env, now, &a_post(&ctx, seq)).await.0.status, 202);
    }
    let mut query = env.query();
    query.clock = Arc::new(FixedClock(now));
    for _ in 0..5 {
        let get = Request::get("partner-a", "/v1/orders", "/v1/orders").authorized_as(ctx.clone());
        let got = seen(query::handler(&query, get.event()).await.unwrap_or_else(|e| match e {}));
        assert_eq!(got.status, 200);
        assert_eq!(got.header("ratelimit-policy"), Some("\"feeds\";q=3;w=3"));
        assert_eq!(rate_limit(&got).0, 1, "one feed left, however often it is read");
    }
    assert_eq!(post(&env, now, &a_post(&ctx, 3)).await.0.status, 202);
    post(&env, now, &a_post(&ctx, 4)).await.0.assert_problem(429);
}

#[tokio::test]
async fn counting_a_request_is_one_conditional_write_of_one_unit() {
    let env = Env::new().await;
    let store = env.rate_limits();
    let policy = RateLimit { rate: 1, burst: 1 }.policy();
    let now = Utc::now();
    let admitted = CostMeter::default();
    assert!(
        store
            .consume("p", policy, now, &admitted)
            .await
            .expect("consume")
            .allowed
    );
    let refused = CostMeter::default();
    assert!(
        !store
            .consume("p", policy, now, &refused)
            .await
            .expect("consume")
            .allowed
    );
    let read = CostMeter::default();
    let peeked = store.peek("p", policy, now, &read).await.expect("peek");
    assert_eq!((peeked.remaining, peeked.allowed), (0, false));
    for (what, meter, writes, reads) in [
        ("admitted", admitted, 1.0, 0.0),
        ("refused", refused, 1.0, 0.0),
        ("peek", read, 0.0, 0.5),
    ] {
        let c = meter.counters();
        assert_eq!(c.dynamodb_calls, 1, "{what}: one call");
        assert_eq!(
            (c.dynamodb_write_units, c.dynamodb_read_units),
            (writes, reads),
            "{what}"
        );
    }
}
