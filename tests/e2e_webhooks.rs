//! Webhook delivery and the outbox end to end on a local cloud: real notify, the real
//! webhook-delivery state machine (Standard, its Waits scaled 100x faster by
//! the cloud's time scale), real deliver, a receiver on 127.0.0.1, the `zb`
//! binary for operators, and the `standardwebhooks` Python package
//! (tools/requirements.txt) as an independent signature check.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use zb_tests::cloud::{binaries, repo, start, Options};
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order};
use zb_tests::receiver::{Received, Receiver};

const WAIT: Duration = Duration::from_secs(90);
const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGhlIHRlc3Q=";

/// Short waits so a run finishes in seconds: 1-2 s, scaled to 10-20 ms.
fn options(webhooks: [Option<&str>; 2]) -> Options {
    let mut o = Options::default();
    for (i, (url, secret)) in webhooks.iter().zip([SECRET_A, SECRET_B]).enumerate() {
        if let Some(url) = url {
            o.seed[i]["webhookUrl"] = json!(url);
            o.seed[i]["webhookSecret"] = json!(secret);
        }
    }
    o.parameters = vec![("WebhookRetrySchedule".into(), "1,2,2,2,2,2,2".into())];
    o
}

async fn post_feed(http: &reqwest::Client, api: &str, key: &str, content_type: &str, body: &Value) -> String {
    let r = zb_tests::post_feed_http(http, api, key, content_type, body).await;
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.expect("json");
    v["feedId"].as_str().expect("feedId").to_string()
}

async fn get(http: &reqwest::Client, api: &str, key: &str, path: &str) -> (u16, Value) {
    zb_tests::get_http(http, api, key, path).await
}

/// Polls GET /v1/deliveries?status=… until it lists `n` deliveries.
async fn deliveries_with(http: &reqwest::Client, api: &str, key: &str, status: &str, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (code, body) = get(http, api, key, &format!("/v1/deliveries?status={status}&limit=100")).await;
        assert_eq!(code, 200, "{body}");
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        assert!(
            started.elapsed() < WAIT,
            "{} of {n} deliveries {status}: {body}",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Verifies requests with the standardwebhooks package; one result per case.
fn python_verify(cases: &[(String, &Received)]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .map(|(secret, r)| {
            json!({
                "secret": secret,
                "headers": r.headers,
                "body": String::from_utf8_lossy(&r.body),
            })
        })
        .collect();
    let python = repo().join(".venv/bin/python");
    let mut child = std::process::Command::new(&python)
        .arg(repo().join("tests/scripts/verify_webhooks.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; run `make tools`", python.display()));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(Value::Array(input).to_string().as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("python ran");
    assert!(
        out.status.success(),
        "verify_webhooks.py failed (is standardwebhooks in .venv? `make tools`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON results")
}

/// Runs `zb` against the cloud; returns its JSON output.
fn zb(cloud: &zb_local::Running, args: &[&str]) -> Value {
    let out = std::process::Command::new(binaries().join("zb"))
        .args(args)
        .args([
            // The table itself (break-glass): this test runs no admin API.
            "--direct",
            "--stack",
            &cloud.model.stack_name,
            "--dynamodb-endpoint",
            &cloud.dynamodb_url,
            "--endpoint-url",
            &cloud.aws_url,
            "--output",
            "json",
        ])
        .output()
        .expect("zb runs");
    assert!(
        out.status.success(),
        "zb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("zb {args:?}: no JSON ({e})"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_its_first_attempts_gets_every_notification_exactly_once() {
    const DOWN: usize = 4;
    const FEEDS: usize = 3;
    let mut replies = vec![503; DOWN];
    replies.push(200);
    let receiver = Receiver::start(replies).await;
    let cloud = start(options([Some(&receiver.url), None])).await;
    let http = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp_millis();
    for seq in 0..FEEDS as u64 {
        let mut order = a_order(100 + seq);
        order["createdAt"] = json!(now - 1000);
        post_feed(&http, &cloud.api_url, "key-a", "application/json", &a_feed(vec![order])).await;
    }
    let delivered = deliveries_with(&http, &cloud.api_url, "key-a", "delivered", FEEDS).await;
    assert_eq!(delivered.len(), FEEDS);

    let got = receiver.received();
    assert_eq!(
        got.len(),
        DOWN + FEEDS,
        "failed attempts + one success per notification"
    );
    // The partner's view: the requests it answered 2xx, deduplicated by webhook-id.
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got[DOWN..] {
        *accepted.entry(r.headers["webhook-id"].clone()).or_default() += 1;
    }
    assert_eq!(accepted.len(), FEEDS, "{accepted:?}");
    assert!(
        accepted.values().all(|n| *n == 1),
        "a notification was accepted twice: {accepted:?}"
    );
    let all_ids: std::collections::BTreeSet<_> = got.iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert_eq!(all_ids.len(), FEEDS, "retries carry the same webhook-id");
    // Every attempt is on record; the failed ones with their status code.
    let attempts: usize = delivered
        .iter()
        .map(|d| d["attempts"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(attempts, DOWN + FEEDS);
    assert!(delivered
        .iter()
        .flat_map(|d| d["attempts"].as_array().cloned().unwrap_or_default())
        .any(|a| a["statusCode"] == 503 && a["error"] == "answered 503"));

    // An independent implementation verifies our signatures, and refuses a
    // tampered body and a wrong secret.
    let mut cases: Vec<(String, &Received)> = got[DOWN..].iter().map(|r| (SECRET_A.to_string(), r)).collect();
    let mut tampered = got[DOWN].clone();
    tampered.body.extend_from_slice(b" ");
    cases.push((SECRET_A.to_string(), &tampered));
    cases.push((SECRET_B.to_string(), &got[DOWN]));
    let results = python_verify(&cases);
    for r in &results[..FEEDS] {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["type"], "orders.persisted");
    }
    assert_eq!(results[FEEDS]["ok"], false, "a tampered body verified");
    assert_eq!(results[FEEDS + 1]["ok"], false, "a wrong secret verified");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_and_the_dead_letter_is_replayed_after_it_is_fixed() {
    let gone = Receiver::start(vec![410]).await;
    let cloud = start(options([None, Some(&gone.url)])).await;
    let http = reqwest::Client::new();
    let mut order = b_order(7);
    order["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    post_feed(
        &http,
        &cloud.api_url,
        "key-b",
        "application/vnd.partner-b.feed+json",
        &b_feed(vec![order]),
    )
    .await;
    let dead = deliveries_with(&http, &cloud.api_url, "key-b", "dead", 1).await;
    assert_eq!(dead[0]["attempts"][0]["statusCode"], 410);
    assert_eq!(gone.received().len(), 1, "410 is not retried");
    let webhook_id = gone.received()[0].headers["webhook-id"].clone();

    // Operators see the endpoint disabled; partner A (no webhook) is unaffected.
    let listed = zb(&cloud, &["partners", "list"]);
    let b = listed
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["partnerId"] == "partner-b")
        .expect("b");
    assert_eq!(b["webhookStatus"], "DISABLED", "{b}");
    let dead_cli = zb(
        &cloud,
        &["deliveries", "list", "--partner", "partner-b", "--status", "dead"],
    );
    assert_eq!(dead_cli.as_array().map(Vec::len), Some(1));

    // The partner fixes its endpoint; ops replay its dead letters.
    let fixed = Receiver::start(vec![200]).await;
    zb(&cloud, &["partners", "set-webhook", "partner-b", "--url", &fixed.url]);
    let replayed = zb(
        &cloud,
        &[
            "deliveries",
            "replay",
            "--partner",
            "partner-b",
            "--dead-since",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert_eq!(replayed.as_array().map(Vec::len), Some(1));
    let delivered = deliveries_with(&http, &cloud.api_url, "key-b", "delivered", 1).await;
    assert_eq!(delivered[0]["replays"], 1);
    let got = fixed.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].headers["webhook-id"], webhook_id,
        "a replay keeps the webhook-id"
    );
    let results = python_verify(&[(SECRET_B.to_string(), &got[0])]);
    assert_eq!(results[0]["ok"], true, "{}", results[0]);
    // Nothing left to replay.
    assert_eq!(
        zb(
            &cloud,
            &["deliveries", "list", "--partner", "partner-b", "--status", "dead"]
        )
        .as_array()
        .map(Vec::len),
        Some(0)
    );
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_and_its_predecessor_both_work_during_the_overlap_then_only_the_new_one() {
    let cloud = start(options([None, None])).await;
    let http = reqwest::Client::new();
    let created = zb(
        &cloud,
        &["partners", "create", "--name", "Gamma", "--format", "partner-a@1"],
    );
    let old = created["apiKey"].as_str().expect("key").to_string();
    assert_eq!(get(&http, &cloud.api_url, &old, "/v1/orders").await.0, 200);
    let rotated = zb(&cloud, &["partners", "rotate-key", "gamma", "--overlap", "1h"]);
    let new = rotated["apiKey"].as_str().expect("key").to_string();
    assert_eq!(get(&http, &cloud.api_url, &new, "/v1/orders").await.0, 200);
    assert_eq!(
        get(&http, &cloud.api_url, &old, "/v1/orders").await.0,
        200,
        "the old key during the overlap"
    );
    // A key the authorizer refuses is API Gateway's 403 (isAuthorized: false).
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    assert_eq!(get(&http, &cloud.api_url, "not-a-key", "/v1/orders").await.0, 403);
    // A rotation with no overlap ends the replaced key at once; the gateway
    // may answer from its authorizer cache (300 s, scaled to 3 s here) until then.
    let newest = zb(&cloud, &["partners", "rotate-key", "gamma", "--overlap", "0"])["apiKey"]
        .as_str()
        .expect("key")
        .to_string();
    let started = Instant::now();
    while get(&http, &cloud.api_url, &new, "/v1/orders").await.0 != 403 {
        assert!(started.elapsed() < WAIT, "the replaced key still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(get(&http, &cloud.api_url, &newest, "/v1/orders").await.0, 200);
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_pages_through_concurrent_writes_losing_and_repeating_nothing() {
    const FEEDS: u64 = 8;
    let cloud = start(options([None, None])).await;
    let http = reqwest::Client::new();
    let api = cloud.api_url.clone();
    // Feeds arrive while the partner pages through its outbox, 3 at a time.
    let writer = {
        let (http, api) = (http.clone(), api.clone());
        tokio::spawn(async move {
            for seq in 0..FEEDS {
                let mut order = b_order(300 + seq);
                order["created_at"] = json!(chrono::Utc::now().to_rfc3339());
                post_feed(
                    &http,
                    &api,
                    "key-b",
                    "application/vnd.partner-b.feed+json",
                    &b_feed(vec![order]),
                )
                .await;
            }
        })
    };
    let mut ids = Vec::new();
    let mut cursor = String::new();
    let started = Instant::now();
    while ids.len() < FEEDS as usize {
        assert!(
            started.elapsed() < WAIT,
            "{} of {FEEDS} notifications in the outbox",
            ids.len()
        );
        let (code, page) = get(&http, &api, "key-b", &format!("/v1/outbox?limit=3&cursor={cursor}")).await;
        assert_eq!(code, 200, "{page}");
        for item in page["items"].as_array().cloned().unwrap_or_default() {
            assert_eq!(item["notification"]["type"], "orders.persisted");
            ids.push(item["webhookId"].as_str().expect("webhookId").to_string());
        }
        cursor = page["nextCursor"].as_str().expect("nextCursor").to_string();
        if page["items"].as_array().is_none_or(Vec::is_empty) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    writer.await.expect("writer");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an entry was repeated: {ids:?}");
    assert_eq!(ids.len(), FEEDS as usize);

    // Acknowledge everything read: the next read without a cursor is empty;
    // before the ack it would have started from the beginning.
    let (code, before) = get(&http, &api, "key-b", "/v1/outbox?limit=100").await;
    assert_eq!(
        (code, before["items"].as_array().map(Vec::len)),
        (200, Some(FEEDS as usize))
    );
    let r = http
        .post(format!("{api}/v1/outbox/ack"))
        .header("x-api-key", "key-b")
        .header("content-type", "application/json")
        .body(json!({"cursor": cursor}).to_string())
        .send()
        .await
        .expect("ack");
    assert_eq!(r.status().as_u16(), 200);
    let (_, after) = get(&http, &api, "key-b", "/v1/outbox").await;
    assert_eq!(after["items"].as_array().map(Vec::len), Some(0), "{after}");
    // Partner A's outbox is its own, and empty.
    let (_, a) = get(&http, &api, "key-a", "/v1/outbox").await;
    assert_eq!(a["items"].as_array().map(Vec::len), Some(0));
    cloud.shutdown().await;
}
