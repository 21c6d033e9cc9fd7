//! One lifetime for local state: a cloud restarted on the same state folder,
//! with its own DynamoDB Local keeping its tables there (-dbPath), still has
//! the partner and the feed; and the partner API's access log names each
//! request's feed and partner.

use serde_json::{json, Value};
use std::time::Duration;
use zb_local::Config;
use zb_tests::cloud::{binaries, repo};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn config(state: &std::path::Path, seed: Option<std::path::PathBuf>) -> Config {
    let mut c = Config::for_repo(repo());
    c.stack = "persist".into();
    c.api_port = 0;
    c.admin_api_port = 0;
    c.cognito_port = 0;
    c.aws_port = 0;
    c.dynamodb_port = free_port();
    c.dynamodb_endpoint = None;
    c.binaries = binaries();
    c.state_dir = state.to_path_buf();
    c.seed_file = seed;
    c.time_scale = 0.01;
    c.max_instances = 1;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_cloud_keeps_its_partners_and_feeds_and_logs_each_request() {
    if !zb_local::dynamodb_local::default_dir(&repo())
        .join("DynamoDBLocal.jar")
        .exists()
    {
        eprintln!("skipped: DynamoDB Local is not installed (scripts/dynamodb-local install)");
        return;
    }
    let state = std::env::temp_dir().join(format!("zb-e2e-state-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&state).expect("state folder");
    let seed = state.join("partners.json");
    let partners = json!([{"partnerId": "partner-p", "name": "P", "format": "partner-a@1", "apiKey": "key-p"}]);
    std::fs::write(&seed, partners.to_string()).expect("seed");
    let http = reqwest::Client::new();

    let mut cloud = zb_local::start(config(&state, Some(seed))).await.expect("first start");
    let mut access = cloud.take_access_log().expect("the access log");
    let now = chrono::Utc::now().timestamp_millis();
    let feed = json!({"orders": [{"sequenceNumber": 1, "orderId": "P-1", "createdAt": now, "currency": "EUR",
        "items": [{"sku": "S1", "quantity": 1, "unitPriceCents": 100}]}]});
    let resp = http
        .post(format!("{}/v1/feeds", cloud.api_url))
        .header("x-api-key", "key-p")
        .json(&feed)
        .send()
        .await
        .expect("POST /v1/feeds");
    assert_eq!(resp.status().as_u16(), 202);
    let body: Value = resp.json().await.expect("JSON answer");
    let feed_id = body["feedId"].as_str().expect("feedId").to_string();
    let line = tokio::time::timeout(Duration::from_secs(10), access.recv())
        .await
        .expect("an access log line")
        .expect("the gateway is up");
    let text = line.to_string();
    assert!(text.starts_with("POST /v1/feeds 202 "), "{text}");
    assert!(text.ends_with(&format!("feed={feed_id} partner=partner-p")), "{text}");
    cloud.shutdown().await;
    assert!(state
        .join("dynamodb")
        .read_dir()
        .expect("tables folder")
        .next()
        .is_some());

    // No seed this time: the partner and its key come from the kept tables.
    let cloud = zb_local::start(config(&state, None)).await.expect("restart");
    let resp = http
        .get(format!("{}/v1/feeds/{feed_id}", cloud.api_url))
        .header("x-api-key", "key-p")
        .send()
        .await
        .expect("GET /v1/feeds/{id}");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&feed_id), "{text}");
    cloud.shutdown().await;
    let _ = std::fs::remove_dir_all(&state);
}
