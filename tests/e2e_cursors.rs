//! Cursors and page tokens on a running local cloud, only through its public
//! endpoints. Every listing of the partner API (GET /v1/orders, /v1/errors,
//! /v1/deliveries, /v1/outbox) answers 400 problem+json naming the `cursor`
//! parameter for any cursor it did not issue: well-formed forgeries (empty
//! keys, keys outside the query's range, numbers beyond u64, wrong types,
//! unknown fields), text that is not a cursor, oversize cursors, another
//! listing's cursor and a real cursor issued to the other partner. And the
//! AWS endpoint answers a forged nextToken with AWS's InvalidToken, as the
//! real AWS SDK sees it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use zb_tests::cloud::{sdk, start, Options};
use zb_tests::receiver::Receiver;

const PROBLEMS: &str = "https://api.zerobeta.example/problems/";
const WAIT: Duration = Duration::from_secs(90);
const LISTINGS: [&str; 4] = ["/v1/orders", "/v1/errors", "/v1/deliveries", "/v1/outbox"];
const KEYS: [&str; 2] = ["key-a", "key-b"];

struct Api {
    http: reqwest::Client,
    url: String,
}

struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

impl Api {
    async fn get(&self, key: &str, route: &str, query: &[(&str, &str)]) -> Answer {
        let r = self
            .http
            .get(format!("{}{route}", self.url))
            .header("x-api-key", key)
            .query(query)
            .send()
            .await
            .expect("the local cloud answers");
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = r.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            body,
        }
    }

    async fn post(&self, key: &str, content_type: &str, body: &Value) -> String {
        let r = zb_tests::post_feed_http(&self.http, &self.url, key, content_type, body).await;
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.expect("json");
        v["feedId"].as_str().expect("feedId").to_string()
    }

    async fn processed(&self, key: &str, feed_id: &str) -> Value {
        let started = Instant::now();
        loop {
            let feed = self.get(key, &format!("/v1/feeds/{feed_id}"), &[]).await;
            if feed.body["status"] != "RECEIVED" {
                return feed.body;
            }
            assert!(started.elapsed() < WAIT, "feed {feed_id} is still RECEIVED");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The nextCursor of a one-item page, once the listing has two items.
    async fn real_cursor(&self, key: &str, route: &str) -> String {
        let started = Instant::now();
        loop {
            let all = self.get(key, route, &[("limit", "100")]).await;
            assert_eq!(all.status, 200, "{route}: {}", all.body);
            if all.body["items"].as_array().map_or(0, Vec::len) >= 2 {
                let first = self.get(key, route, &[("limit", "1")]).await;
                if let Some(c) = first.body["nextCursor"].as_str() {
                    return c.to_string();
                }
            }
            assert!(started.elapsed() < WAIT, "{key}: {route} never had two items");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A cursor `what` is refused: 400 problem+json naming `cursor`, never a 5xx.
    async fn refused(&self, key: &str, route: &str, cursor: &str, window: &[(&str, &str)], what: &str) {
        let mut query = vec![("limit", "1"), ("cursor", cursor)];
        query.extend_from_slice(window);
        let got = self.get(key, route, &query).await;
        assert_eq!(got.status, 400, "{key} {route}, {what}: {}", got.body);
        assert_eq!(got.content_type, "application/problem+json", "{route}, {what}");
        assert_eq!(
            got.body["type"],
            json!(format!("{PROBLEMS}bad-request")),
            "{route}, {what}"
        );
        assert_eq!(
            got.body["errors"][0]["parameter"], "cursor",
            "{route}, {what}: {}",
            got.body
        );
    }

    async fn accepted(&self, key: &str, route: &str, cursor: &str, what: &str) {
        let got = self.get(key, route, &[("limit", "1"), ("cursor", cursor)]).await;
        assert_eq!(got.status, 200, "{key} {route}, {what}: {}", got.body);
    }
}

fn fields(cursor: &str) -> Map<String, Value> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).expect("an issued cursor is base64url");
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => m,
        other => panic!("an issued cursor is a JSON object: {other:?}"),
    }
}

fn encode_text(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn encode(v: &Value) -> String {
    encode_text(&v.to_string())
}

/// Forgeries of every class made from a real cursor (so the listing and
/// partner are right and only the forged part is wrong), and its key
/// fields re-encoded unchanged (which must still be accepted).
fn forgeries(real: &str) -> (String, Vec<(String, String)>) {
    let m = fields(real);
    let keys: Vec<String> = m.keys().filter(|k| *k != "l" && *k != "p").cloned().collect();
    assert!(!keys.is_empty(), "a cursor carries a key: {m:?}");
    let with = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut x = m.clone();
        f(&mut x);
        encode(&Value::Object(x))
    };
    // The cursor's JSON with `field` set to raw JSON text.
    let raw = |field: &str, text: &str| {
        let mut x = m.clone();
        x.insert(field.into(), json!("@RAW@"));
        encode_text(&Value::Object(x).to_string().replace("\"@RAW@\"", text))
    };
    let mut out: Vec<(String, String)> = vec![
        ("an empty object".into(), encode(&json!({}))),
        (
            "no key fields".into(),
            with(&|x| {
                for k in &keys {
                    x.remove(k);
                }
            }),
        ),
        (
            "an unknown field".into(),
            with(&|x| {
                x.insert("x".into(), json!(1));
            }),
        ),
        (
            "a partnerId field".into(),
            with(&|x| {
                x.insert("partnerId".into(), json!("partner-b"));
            }),
        ),
        (
            "no listing".into(),
            with(&|x| {
                x.remove("l");
            }),
        ),
        (
            "no partner".into(),
            with(&|x| {
                x.remove("p");
            }),
        ),
        ("an array".into(), encode(&json!([m.clone()]))),
        ("a string".into(), encode(&json!("cursor"))),
        ("a number".into(), encode(&json!(1))),
        ("null".into(), encode(&Value::Null)),
        ("not base64".into(), "not a cursor!".into()),
        ("percent signs".into(), "%%".into()),
        ("padding".into(), format!("{real}=")),
        ("the standard alphabet".into(), format!("{real}+/")),
        ("invalid UTF-8".into(), URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0xfd])),
        ("truncated JSON".into(), encode_text("{\"l\":")),
        ("1 KiB of base64".into(), "A".repeat(1100)),
        (
            "an oversize field".into(),
            with(&|x| {
                x.insert("pad".into(), json!("x".repeat(1200)));
            }),
        ),
    ];
    for k in &keys {
        out.push((
            format!("{k} empty"),
            with(&|x| {
                x.insert(k.clone(), json!(""));
            }),
        ));
        for text in [
            "18446744073709551616",
            "99999999999999999999999999999",
            "-1",
            "1.5",
            "1e3",
            "1E2",
            "1.0",
            "1e400",
            "[]",
            "{}",
            "null",
            "true",
            "[\"x\"]",
            "{\"S\":\"x\"}",
        ] {
            out.push((format!("{k} = {text}"), raw(k, text)));
        }
        if m[k].is_string() {
            let long = "2".repeat(1100);
            out.push((
                format!("an oversize {k}"),
                with(&|x| {
                    x.insert(k.clone(), json!(long));
                }),
            ));
        }
    }
    (encode(&Value::Object(m.clone())), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_refuses_every_cursor_it_did_not_issue() {
    // Partner A has a webhook (deliveries), partner B has not (an outbox).
    let receiver = Receiver::start(vec![200]).await;
    let mut options = Options::default();
    options.seed[0]["webhookUrl"] = json!(receiver.url);
    options.seed[0]["webhookSecret"] = json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let cloud = start(options).await;
    let api = Api {
        http: reqwest::Client::new(),
        url: cloud.api_url.clone(),
    };

    // Each partner: two stored orders and two rejected ones, in two feeds
    // (two notifications each: deliveries for A, outbox entries for B).
    let now_ms = chrono::Utc::now().timestamp_millis() - 5_000;
    let now = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    let a_order = |seq: u64, currency: &str| {
        let mut o = zb_tests::fixtures::a_order(seq);
        o["createdAt"] = json!(now_ms + seq as i64);
        o["currency"] = json!(currency);
        o.as_object_mut().map(|o| o.remove("totalCents"));
        o
    };
    let b_order = |seq: u64, qty: u64| {
        let mut o = zb_tests::fixtures::b_order(seq);
        o["created_at"] = json!(now);
        o["line_items"][0]["qty"] = json!(qty);
        o.as_object_mut().map(|o| o.remove("order_total"));
        o
    };
    let mut feeds = Vec::new();
    for (seqs, ok) in [([1, 2], true), ([3, 4], false)] {
        let orders = seqs
            .iter()
            .map(|&s| a_order(s, if ok { "EUR" } else { "XYZ" }))
            .collect();
        feeds.push((
            "key-a",
            api.post("key-a", "application/json", &zb_tests::fixtures::a_feed(orders))
                .await,
        ));
        let orders = seqs.iter().map(|&s| b_order(s, if ok { 3 } else { 0 })).collect();
        let body = zb_tests::fixtures::b_feed(orders);
        feeds.push(("key-b", api.post("key-b", "application/json", &body).await));
    }
    for (key, feed_id) in &feeds {
        let feed = api.processed(key, feed_id).await;
        assert_ne!(feed["status"], "FAILED", "{feed}");
    }

    // A real next cursor of every listing a partner has two items in.
    let mut real: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for key in KEYS {
        for route in ["/v1/orders", "/v1/errors"] {
            real.insert((key, route), api.real_cursor(key, route).await);
        }
    }
    real.insert(
        ("key-a", "/v1/deliveries"),
        api.real_cursor("key-a", "/v1/deliveries").await,
    );
    real.insert(("key-b", "/v1/outbox"), api.real_cursor("key-b", "/v1/outbox").await);
    // The outbox issues a cursor to a partner with an empty one too.
    let a_outbox = api.get("key-a", "/v1/outbox", &[("limit", "1")]).await;
    let a_outbox = a_outbox.body["nextCursor"]
        .as_str()
        .expect("an outbox cursor")
        .to_string();
    real.insert(("key-a", "/v1/outbox"), a_outbox);

    let mut checked = BTreeMap::<&str, usize>::new();
    for ((key, route), cursor) in &real {
        // The real cursor, and its fields re-encoded, are served.
        api.accepted(key, route, cursor, "its own cursor").await;
        let (reencoded, forged) = forgeries(cursor);
        api.accepted(key, route, &reencoded, "its own cursor re-encoded").await;
        for (what, bad) in &forged {
            api.refused(key, route, bad, &[], what).await;
            *checked.entry(route).or_default() += 1;
        }
        // Issued to this partner, presented by the other one.
        let other = if *key == "key-a" { "key-b" } else { "key-a" };
        api.refused(other, route, cursor, &[], &format!("{key}'s cursor")).await;
        // Issued by another listing, to the same partner.
        for (_, theirs) in real.iter().filter(|((k, r), _)| k == key && r != route) {
            api.refused(key, route, theirs, &[], "another listing's cursor").await;
        }
        // Outside the query's range.
        match *route {
            "/v1/orders" | "/v1/errors" => {
                let window = [("from", "2000-01-01T00:00:00Z"), ("to", "2000-01-02T00:00:00Z")];
                api.refused(key, route, cursor, &window, "outside from/to").await;
                let window = [("from", "2999-01-01T00:00:00Z")];
                api.refused(key, route, cursor, &window, "before from").await;
                let window = [("to", "2000-01-01T00:00:00Z")];
                api.refused(key, route, cursor, &window, "after to").await;
            }
            "/v1/deliveries" => {
                let window = [("from", "2999-01-01T00:00:00Z")];
                api.refused(key, route, cursor, &window, "before from").await;
            }
            _ => {
                // A position past the last entry the partner was given.
                let mut m = fields(cursor);
                m.insert("s".into(), json!(1_000_000));
                let past = encode(&Value::Object(m));
                api.refused(key, route, &past, &[], "past the last entry").await;
            }
        }
    }
    for route in LISTINGS {
        assert!(
            checked.get(route).copied().unwrap_or(0) >= 30,
            "{route}: forgeries checked {checked:?}"
        );
    }
    assert!(!receiver.received().is_empty(), "partner A's webhook was called");
    cloud.shutdown().await;
}

// AWS documents HTTP 400 InvalidToken for a pagination token it does not
// accept: https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
// (Errors: InvalidToken) and .../API_ListStateMachines.html.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_next_token_is_invalid_token_to_the_aws_sdk() {
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let cloud = start(Options::default()).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk(&cloud.aws_url).await);
    // The stack has two state machines: a page of one has a real token.
    let first = sfn
        .list_state_machines()
        .max_results(1)
        .send()
        .await
        .expect("ListStateMachines");
    let token = first.next_token().expect("a second page").to_string();
    let second = sfn
        .list_state_machines()
        .max_results(1)
        .next_token(&token)
        .send()
        .await
        .expect("the real token is served");
    assert_eq!(second.state_machines().len(), 1);
    // ListExecutions serves Standard machines only (StateMachineTypeNotSupported
    // for Express): the webhook-delivery machine, on the second page by name.
    let arn = second.state_machines()[0].state_machine_arn().to_string();
    assert_eq!(second.state_machines()[0].r#type().as_str(), "STANDARD");

    let forged = [
        "forged".to_string(),
        "2".into(),
        URL_SAFE_NO_PAD.encode(r#"{"l":"x","o":1}"#),
        URL_SAFE_NO_PAD.encode(r#"{"o":18446744073709551616}"#),
        format!("{token}A"),
    ];
    for t in forged.iter().chain([&token]) {
        // The machines' token is another listing's for ListExecutions.
        let err = sfn
            .list_executions()
            .state_machine_arn(&arn)
            .next_token(t)
            .send()
            .await
            .expect_err("a token ListExecutions did not issue");
        assert_eq!(err.code(), Some("InvalidToken"), "{t}: {err:?}");
        assert!(
            err.as_service_error().is_some_and(|e| e.is_invalid_token()),
            "{t}: the SDK's typed InvalidToken"
        );
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    }
    let err = sfn
        .list_state_machines()
        .next_token("forged")
        .send()
        .await
        .expect_err("a forged token");
    assert!(err.as_service_error().is_some_and(|e| e.is_invalid_token()), "{err:?}");
    cloud.shutdown().await;
}
