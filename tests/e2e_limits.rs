//! Every accepted feed finishes (issue 11), end to end on a running local
//! cloud through the partner API: the largest feeds the API accepts, by
//! orders and by bytes; the most minimal invalid orders; one huge field; a
//! feed whose execution never starts (the stuck-feed sweeper finishes it);
//! RecordErrors failing (its Catch still ends the feed FAILED). Each test
//! asserts the terminal status, the counts, and that GET /v1/orders or
//! GET /v1/errors shows every order.
//!
//! The limits they test at: Step Functions' 256 KiB state payload
//! (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions),
//! DynamoDB's 400 KB item
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items),
//! and our own 256 KiB body and 1,000-order feed.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use zb_tests::cloud::{start, Options};
use zb_tests::fixtures::{a_feed, a_order};

const MAX_BODY: usize = 256 * 1024;
const MAX_ORDERS: usize = zb_shared::feed::MAX_ORDERS_PER_FEED;
/// Generous: a 1,000-order feed through debug binaries on two busy cores.
const WAIT: Duration = Duration::from_secs(240);

struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_string(),
        }
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        let r = zb_tests::post_feed_http(&self.http, &self.url, "key-a", "application/json", body).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = zb_tests::get_http(&self.http, &self.url, "key-a", path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Posts a feed (202) and returns its id.
    async fn accept(&self, body: &Value) -> String {
        let (status, accepted) = self.post(body).await;
        assert_eq!(status, 202, "{accepted}");
        accepted["feedId"].as_str().expect("feedId").to_string()
    }

    /// Waits until the feed is finished and returns it.
    async fn finished(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let feed = self.get(&format!("/v1/feeds/{id}")).await;
            if feed["status"] != "RECEIVED" {
                return feed;
            }
            assert!(started.elapsed() < WAIT, "feed {id} still RECEIVED: {feed}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every item of a listing, following nextCursor, 100 a page.
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                None => self.get(&format!("{path}?limit=100")).await,
                Some(c) => self.get(&format!("{path}?limit=100&cursor={c}")).await,
            };
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Every outcome of a feed, following the feed's nextCursor.
    async fn outcomes(&self, id: &str) -> Vec<Value> {
        let mut page = self.get(&format!("/v1/feeds/{id}")).await;
        let mut outcomes = Vec::new();
        loop {
            outcomes.extend(page["orders"].as_array().cloned().unwrap_or_default());
            let Some(c) = page["nextCursor"].as_str().map(str::to_string) else {
                return outcomes;
            };
            page = self.get(&format!("/v1/feeds/{id}?cursor={c}")).await;
        }
    }
}

fn body_len(v: &Value) -> usize {
    v.to_string().len()
}

/// The errors of one feed, from GET /v1/errors.
async fn errors_of(api: &Api, id: &str) -> Vec<Value> {
    api.all("/v1/errors")
        .await
        .into_iter()
        .filter(|e| e["feedId"] == id)
        .collect()
}

#[tokio::test]
async fn the_largest_feeds_by_orders_and_by_bytes_complete_and_every_order_is_stored() {
    let cloud = start(Options::default()).await;
    let api = Api::new(&cloud.api_url);

    // By orders: the most a feed may hold. Its canonical batch (~300 KB) is
    // over Step Functions' 256 KiB: it can only finish staged.
    let by_orders = a_feed((1..=MAX_ORDERS as u64).map(a_order).collect());
    assert!(body_len(&by_orders) <= MAX_BODY, "{} bytes", body_len(&by_orders));
    let id = api.accept(&by_orders).await;
    let feed = api.finished(&id).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    assert_eq!(feed["counts"]["persisted"], MAX_ORDERS);
    let outcomes = api.outcomes(&id).await;
    assert_eq!(outcomes.len(), MAX_ORDERS, "the whole outcome list is retrievable");
    assert!(outcomes
        .iter()
        .enumerate()
        .all(|(i, o)| o["index"] == i && o["outcome"] == "persisted"));

    // By bytes: orders as large as the format allows (notes of 2,048
    // characters), as many as fit under the body limit.
    let mut orders = Vec::new();
    let mut seq = 10_000;
    loop {
        let mut o = a_order(seq);
        o["notes"] = json!("n".repeat(2048));
        orders.push(o);
        if body_len(&a_feed(orders.clone())) > MAX_BODY {
            orders.pop();
            break;
        }
        seq += 1;
    }
    let by_bytes = a_feed(orders.clone());
    assert!(body_len(&by_bytes) > MAX_BODY - 3000, "{} bytes", body_len(&by_bytes));
    let id2 = api.accept(&by_bytes).await;
    let feed = api.finished(&id2).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    assert_eq!(feed["counts"]["persisted"], orders.len());

    let stored = api.all("/v1/orders").await;
    assert_eq!(
        stored.len(),
        MAX_ORDERS + orders.len(),
        "GET /v1/orders shows every order"
    );
    assert_eq!(stored.iter().filter(|o| o["feedId"] == id.as_str()).count(), MAX_ORDERS);

    // One order more is refused at the door, naming the orders array.
    let too_many = a_feed((1..=MAX_ORDERS as u64 + 1).map(a_order).collect());
    let (status, problem) = api.post(&too_many).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/orders", "{problem}");
    cloud.shutdown().await;
}

#[tokio::test]
async fn the_most_minimal_invalid_orders_and_one_huge_field_are_all_recorded() {
    let cloud = start(Options::default()).await;
    let api = Api::new(&cloud.api_url);

    // 1,000 `{}`: about 300 KB of rejections from an 3 KB body.
    let empties = a_feed(vec![json!({}); MAX_ORDERS]);
    let id = api.accept(&empties).await;
    let feed = api.finished(&id).await;
    assert_eq!(feed["status"], "COMPLETED_WITH_REJECTIONS", "{feed}");
    assert_eq!(feed["counts"]["rejected"], MAX_ORDERS);
    let errors = errors_of(&api, &id).await;
    assert_eq!(errors.len(), MAX_ORDERS, "GET /v1/errors shows every order");
    assert!(errors
        .iter()
        .all(|e| e["code"] == "MISSING_FIELD" && e["rawOrder"] == "{}"));
    assert_eq!(api.outcomes(&id).await.len(), MAX_ORDERS);

    // One order with a 200 KB string: its error keeps an excerpt of the
    // value and a reference to the raw order, never a 400 KB item.
    let mut huge = a_order(1);
    huge["orderId"] = json!("x".repeat(200_000));
    let id = api.accept(&a_feed(vec![huge, a_order(2)])).await;
    let feed = api.finished(&id).await;
    assert_eq!(feed["status"], "COMPLETED_WITH_REJECTIONS", "{feed}");
    assert_eq!(
        (
            feed["counts"]["persisted"].as_u64(),
            feed["counts"]["rejected"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let errors = errors_of(&api, &id).await;
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert_eq!(
        (e["field"].as_str(), e["code"].as_str()),
        (Some("/orders/0/orderId"), Some("INVALID_VALUE"))
    );
    assert!(e["message"].as_str().is_some_and(|m| m.len() < 300), "{}", e["message"]);
    assert_eq!(e["rawOrder"], Value::Null);
    assert_eq!(e["rawOrderRef"], "/orders/0");
    cloud.shutdown().await;
}

#[tokio::test]
async fn a_feed_whose_execution_never_starts_is_restarted_by_the_sweeper() {
    // Every delivery of OrderFeedReceived to the pipeline fails: EventBridge
    // retries as the target's RetryPolicy says, then dead-letters the event,
    // and nothing would ever run the feed. The sweeper (every 5 minutes, 3 s
    // at this time scale) restarts it with StartExecution.
    let cloud = start(Options {
        faults: vec![("OrderFeedReceivedRule".into(), "ServiceUnavailable".into())],
        parameters: vec![("StuckFeedAfterSeconds".into(), "1".into())],
        ..Options::default()
    })
    .await;
    let api = Api::new(&cloud.api_url);
    let id = api.accept(&a_feed(vec![a_order(1), a_order(2)])).await;
    let feed = api.finished(&id).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    assert_eq!(feed["counts"]["persisted"], 2);
    assert_eq!(api.all("/v1/orders").await.len(), 2);
    // Every delivery of its event fails, so only the sweeper can have run it;
    // EventBridge, meanwhile, retries and then dead-letters the event.
    let started = Instant::now();
    loop {
        let dead = std::fs::read_to_string(&cloud.services.dead_letters).unwrap_or_default();
        if dead.contains(&id) {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the undeliverable event was not dead-lettered: {dead}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cloud.shutdown().await;
}

#[tokio::test]
async fn a_feed_that_can_never_run_is_failed_by_the_sweeper_with_every_order_recorded() {
    let cloud = start(Options {
        faults: vec![("OrderPipelineStateMachine".into(), "ServiceUnavailable".into())],
        parameters: vec![
            ("StuckFeedAfterSeconds".into(), "1".into()),
            ("StuckFeedMaxRestarts".into(), "1".into()),
        ],
        ..Options::default()
    })
    .await;
    let api = Api::new(&cloud.api_url);
    let id = api.accept(&a_feed(vec![a_order(1), a_order(2), json!({})])).await;
    let feed = api.finished(&id).await;
    assert_eq!(feed["status"], "FAILED", "{feed}");
    assert_eq!(feed["failure"]["error"], "FeedStuck", "{feed}");
    assert_eq!(feed["counts"]["rejected"], 3);
    let errors = errors_of(&api, &id).await;
    assert_eq!(errors.len(), 3, "every order is recorded");
    assert!(errors.iter().all(|e| e["code"] == "PIPELINE_FAILED"));
    assert!(api.all("/v1/orders").await.is_empty());
    cloud.shutdown().await;
}

#[tokio::test]
async fn when_recording_the_errors_fails_the_feed_still_ends_failed_with_its_cause() {
    // RecordErrors fails once with an error no Retry matches; its Catch
    // hands the failure to MarkFeedFailed (the same function, now healthy).
    let cloud = start(Options {
        faults: vec![("RecordErrorFunction".into(), "StoreError*1".into())],
        ..Options::default()
    })
    .await;
    let api = Api::new(&cloud.api_url);
    let id = api.accept(&a_feed(vec![a_order(1), json!({})])).await;
    let feed = api.finished(&id).await;
    assert_eq!(feed["status"], "FAILED", "{feed}");
    assert_eq!(feed["failure"]["error"], "StoreError", "{feed}");
    assert_eq!(
        feed["counts"]["persisted"], 1,
        "persisted orders stay persisted: {feed}"
    );
    assert_eq!(api.all("/v1/orders").await.len(), 1);
    cloud.shutdown().await;
}
