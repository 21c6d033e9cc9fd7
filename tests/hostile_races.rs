//! The hostile corpus's "concurrent races" class (see hostile/README.md),
//! through a running local cloud: requests that are each fine alone but
//! race each other. Never a 5xx, and exactly one winner.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use zb_local::Running;
use zb_tests::cloud::{start, Options};

const PROBLEMS: &str = "https://api.zerobeta.example/problems/";
const WAIT: Duration = Duration::from_secs(120);
/// How many identical requests race for one Idempotency-Key.
const RACERS: usize = 20;

struct Api {
    http: reqwest::Client,
    url: String,
}

struct Answer {
    status: u16,
    body: Value,
}

impl Api {
    async fn post(&self, body: &str, idempotency_key: Option<&str>, request_id: &str) -> Answer {
        let mut req = self
            .http
            .post(format!("{}/v1/feeds", self.url))
            .header("x-api-key", "key-a")
            .header("content-type", "application/json")
            .header("x-request-id", request_id)
            .body(body.to_string());
        if let Some(k) = idempotency_key {
            req = req.header("idempotency-key", k);
        }
        let r = req.send().await.expect("the local cloud answers");
        let status = r.status().as_u16();
        Answer {
            status,
            body: r.json().await.unwrap_or(Value::Null),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        let (status, body) = zb_tests::get_http(&self.http, &self.url, "key-a", path).await;
        Answer { status, body }
    }

    async fn processed(&self, feed_id: &str) -> Value {
        let started = Instant::now();
        loop {
            let feed = self.get(&format!("/v1/feeds/{feed_id}")).await;
            assert_eq!(feed.status, 200, "{}", feed.body);
            if feed.body["status"] != "RECEIVED" {
                return feed.body;
            }
            assert!(started.elapsed() < WAIT, "feed {feed_id} is still RECEIVED");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn order(seq: u64, order_id: &str, quantity: u64) -> Value {
    json!({
        "sequenceNumber": seq, "orderId": order_id,
        "createdAt": chrono::Utc::now().timestamp_millis() - 1000, "currency": "EUR",
        "items": [{"sku": "SKU-1", "quantity": quantity, "unitPriceCents": 500}]
    })
}

/// The distinct feed ids of the feed records written for requests whose
/// X-Request-ID starts with `prefix`.
async fn feeds_of_requests(cloud: &Running, prefix: &str) -> std::collections::BTreeSet<String> {
    let table = cloud
        .model
        .tables
        .iter()
        .find(|t| t.logical_id == "FeedsTable")
        .map(|t| t.name.clone())
        .expect("FeedsTable");
    let ddb = zb_tests::dynamodb().await;
    let mut ids = std::collections::BTreeSet::new();
    let mut start = None;
    loop {
        let out = ddb
            .scan()
            .table_name(&table)
            .filter_expression("begins_with(requestId, :r)")
            .expression_attribute_values(":r", aws_sdk_dynamodb::types::AttributeValue::S(prefix.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the feeds table");
        for item in out.items() {
            if let Some(aws_sdk_dynamodb::types::AttributeValue::S(id)) = item.get("feedId") {
                // Only the records: a body or outcome page item has a suffix.
                if uuid::Uuid::parse_str(id).is_ok() {
                    ids.insert(id.clone());
                }
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return ids;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_posted_many_times_at_once_creates_one_feed() {
    let cloud = start(Options::default()).await;
    let api = std::sync::Arc::new(Api {
        http: reqwest::Client::new(),
        url: cloud.api_url.clone(),
    });
    let body = json!({"orders": [order(7_001, "RACE-7001", 1)]}).to_string();
    let key = "race-key-7001";

    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (api, body) = (api.clone(), body.clone());
            tokio::spawn(async move { api.post(&body, Some(key), &format!("race-idem-{i}")).await })
        })
        .collect();
    let mut feed_ids = std::collections::BTreeSet::new();
    let mut in_flight = 0;
    for r in racers {
        let got = r.await.expect("a racer");
        assert!(got.status < 500, "a {}: {}", got.status, got.body);
        match got.status {
            202 => {
                feed_ids.insert(got.body["feedId"].as_str().expect("feedId").to_string());
            }
            // Documented: the same key while the first request runs (openapi.yaml).
            409 => {
                assert_eq!(got.body["type"], json!(format!("{PROBLEMS}idempotency-in-flight")));
                assert_eq!(got.body["errors"][0]["header"], "idempotency-key", "{}", got.body);
                in_flight += 1;
            }
            other => panic!("a {other}: {}", got.body),
        }
    }
    println!("{} answered 202, {in_flight} answered 409", RACERS - in_flight);
    assert_eq!(feed_ids.len(), 1, "every 202 names the same feed: {feed_ids:?}");
    let feed_id = feed_ids.into_iter().next().unwrap_or_default();

    // After the race, the key replays that feed; and only one feed was made.
    let replay = api.post(&body, Some(key), "race-idem-after").await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.body["feedId"], json!(feed_id));
    let made = feeds_of_requests(&cloud, "race-idem-").await;
    assert_eq!(made.len(), 1, "feeds made for one key: {made:?}");
    let feed = api.processed(&feed_id).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    assert_eq!(feed["counts"]["persisted"], 1, "{feed}");
    let stored = api.get("/v1/orders/7001").await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert_eq!(stored.body["feedId"], json!(feed_id));
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_feeds_claiming_one_sequence_number_at_once_store_one_order() {
    let cloud = start(Options::default()).await;
    let api = Api {
        http: reqwest::Client::new(),
        url: cloud.api_url.clone(),
    };
    // Several pairs, so the pipeline's writes really overlap at least once.
    let seqs: Vec<u64> = (8_001..=8_005).collect();
    let mut pairs = Vec::new();
    for &seq in &seqs {
        let one = json!({"orders": [order(seq, &format!("ONE-{seq}"), 1)]}).to_string();
        let two = json!({"orders": [order(seq, &format!("TWO-{seq}"), 2)]}).to_string();
        let (id_one, id_two) = (format!("race-seq-{seq}-one"), format!("race-seq-{seq}-two"));
        let (a, b) = tokio::join!(api.post(&one, None, &id_one), api.post(&two, None, &id_two));
        for got in [&a, &b] {
            assert_eq!(got.status, 202, "{}", got.body);
        }
        let id = |g: &Answer| g.body["feedId"].as_str().expect("feedId").to_string();
        pairs.push((seq, id(&a), id(&b)));
    }
    for (seq, one, two) in pairs {
        let (f1, f2) = (api.processed(&one).await, api.processed(&two).await);
        let persisted = |f: &Value| f["counts"]["persisted"].as_u64().unwrap_or(0);
        assert_eq!(persisted(&f1) + persisted(&f2), 1, "seq {seq}: {f1} {f2}");
        let (winner, loser, loser_feed) = if persisted(&f1) == 1 {
            (one, two, f2)
        } else {
            (two, one, f1)
        };
        assert_eq!(loser_feed["status"], "COMPLETED_WITH_REJECTIONS", "{loser_feed}");
        assert_eq!(loser_feed["orders"][0]["code"], "SEQUENCE_CONFLICT", "{loser_feed}");
        let stored = api.get(&format!("/v1/orders/{seq}")).await;
        assert_eq!(stored.status, 200, "{}", stored.body);
        assert_eq!(
            stored.body["feedId"],
            json!(winner),
            "seq {seq}: the order of the winning feed"
        );
        let page = api.get("/v1/errors?limit=100").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let errors = page.body["items"].as_array().cloned().unwrap_or_default();
        let recorded = errors
            .iter()
            .find(|e| e["feedId"] == json!(loser))
            .unwrap_or_else(|| panic!("seq {seq}: GET /v1/errors has no rejection for {loser}"));
        assert_eq!(recorded["code"], "SEQUENCE_CONFLICT");
        assert_eq!(recorded["sequenceNumber"], json!(seq));
    }
    cloud.shutdown().await;
}
