//! The hostile-input corpus (tests/hostile/*.yaml, see its README) through
//! a running local cloud: real gateway, authorizer, functions and pipeline,
//! only through the public API plus a look at the tables for what must not
//! be there. And partner isolation: every read route, with partner A's key
//! and partner B's ids, is a 404.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use zb_local::Running;
use zb_tests::cloud::{repo, start, Options};

const PROBLEMS: &str = "https://api.zerobeta.example/problems/";
/// How long the pipeline may take for every accepted feed together.
const DRAIN: Duration = Duration::from_secs(180);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for the reader of the corpus
    why: Option<String>,
    #[serde(default = "partner_a")]
    partner: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    /// Absent: the format's own; null: no header; a string: that.
    #[serde(default = "absent")]
    content_type: serde_yaml::Value,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    generate: Option<Generate>,
    #[serde(default)]
    order: Option<Value>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    kind: String,
    #[serde(default)]
    depth: usize,
    #[serde(default)]
    bytes: usize,
    /// Orders in the feed (many_orders, empty_orders).
    #[serde(default)]
    count: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    #[serde(default, rename = "type")]
    problem: Option<String>,
    #[serde(default)]
    pointer: Option<String>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    parameter: Option<String>,
    #[serde(default)]
    rejected: Option<Rejected>,
    #[serde(default)]
    stored: bool,
    /// API Gateway answers itself, `{"message": <this>}` (no function runs).
    #[serde(default)]
    gateway: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejected {
    code: String,
    field: String,
}

fn partner_a() -> String {
    "a".into()
}

fn absent() -> serde_yaml::Value {
    serde_yaml::Value::Bool(false)
}

fn corpus() -> Vec<Case> {
    let dir = repo().join("tests").join("hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut more: Vec<Case> = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        cases.append(&mut more);
    }
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name.clone()), "two cases are named {}", c.name);
    }
    cases
}

struct Partner {
    key: &'static str,
    content_type: &'static str,
    orders_pointer: &'static str,
}

fn partner(p: &str) -> Partner {
    match p {
        "a" => Partner {
            key: "key-a",
            content_type: "application/json",
            orders_pointer: "/orders",
        },
        "b" => Partner {
            key: "key-b",
            content_type: "application/vnd.partner-b.feed+json",
            orders_pointer: "/data/orders",
        },
        other => panic!("unknown partner {other:?} (a or b)"),
    }
}

/// A valid order of the partner's format. No total, so a patch that
/// changes the lines does not also break the total.
fn base_order(p: &str, seq: u64) -> Value {
    let now_ms = chrono::Utc::now().timestamp_millis() - 1000;
    match p {
        "a" => json!({
            "sequenceNumber": seq, "orderId": format!("H-{seq}"), "createdAt": now_ms, "currency": "EUR",
            "customer": {"id": format!("cust-{seq}")},
            "items": [{"sku": "SKU-1", "quantity": 2, "unitPriceCents": 500}]
        }),
        _ => json!({
            "seq_no": seq, "order_ref": format!("HB-{seq}"),
            "created_at": (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339(),
            "currency_code": "usd", "buyer": {"email": format!("b{seq}@example.com")},
            "line_items": [{"product_code": "P-1", "qty": 3, "unit_price": "8.50"}]
        }),
    }
}

fn feed_of(p: &str, order: Value) -> Value {
    feed_of_all(p, vec![order])
}

fn feed_of_all(p: &str, orders: Vec<Value>) -> Value {
    match p {
        "a" => json!({ "orders": orders }),
        _ => json!({ "feed_version": 1, "data": { "orders": orders } }),
    }
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The request body of a case, and the order in it when there is one.
fn body_of(case: &Case, seq: u64) -> (Vec<u8>, Option<Value>) {
    let p = case.partner.as_str();
    if let Some(text) = &case.body {
        let now_ms = (chrono::Utc::now().timestamp_millis() - 1000).to_string();
        let now = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
        let text = text
            .replace("{{seq}}", &seq.to_string())
            .replace("{{now_ms}}", &now_ms)
            .replace("{{now}}", &now);
        let order = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.pointer(&format!("{}/0", partner(p).orders_pointer)).cloned());
        return (text.into_bytes(), order);
    }
    if let Some(b64) = &case.body_base64 {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("{}: body_base64: {e}", case.name));
        return (bytes, None);
    }
    if let Some(g) = &case.generate {
        return match g.kind.as_str() {
            "nested" => {
                let text = format!("{{\"orders\":{}{}}}", "[".repeat(g.depth), "]".repeat(g.depth));
                (text.into_bytes(), None)
            }
            "padded_feed" => {
                let order = base_order(p, seq);
                let mut text = feed_of(p, order.clone()).to_string();
                assert!(
                    text.len() <= g.bytes,
                    "{}: the feed is longer than {}",
                    case.name,
                    g.bytes
                );
                text.push_str(&" ".repeat(g.bytes - text.len()));
                (text.into_bytes(), Some(order))
            }
            "long_order_id" => {
                let mut order = base_order(p, seq);
                order["orderId"] = json!("x".repeat(g.bytes));
                (feed_of(p, order.clone()).to_string().into_bytes(), Some(order))
            }
            // `count` valid orders, sequence numbers in a range of their own.
            "many_orders" => {
                let first = 1_000_000_000 + seq * 10_000;
                let orders: Vec<Value> = (0..g.count as u64).map(|i| base_order(p, first + i)).collect();
                let first_order = orders.first().cloned();
                (feed_of_all(p, orders).to_string().into_bytes(), first_order)
            }
            // `count` empty objects: the most rejections the smallest body makes.
            "empty_orders" => (
                feed_of_all(p, vec![json!({}); g.count]).to_string().into_bytes(),
                Some(json!({})),
            ),
            other => panic!("{}: unknown generate kind {other:?}", case.name),
        };
    }
    if let Some(patch) = &case.order {
        let mut order = base_order(p, seq);
        merge_patch(&mut order, patch);
        return (feed_of(p, order.clone()).to_string().into_bytes(), Some(order));
    }
    (Vec::new(), None)
}

struct Api {
    http: reqwest::Client,
    url: String,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.expect("the local cloud answers");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.expect("body");
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer { status, headers, body }
    }

    async fn get(&self, key: &str, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.url)).header("x-api-key", key))
            .await
    }

    async fn post_good(&self, p: &str, seq: u64) -> Answer {
        let body = feed_of(p, base_order(p, seq)).to_string();
        self.send(
            self.http
                .post(format!("{}/v1/feeds", self.url))
                .header("x-api-key", partner(p).key)
                .header("content-type", partner(p).content_type)
                .body(body),
        )
        .await
    }

    /// Every item of a list route, following nextCursor.
    async fn all(&self, key: &str, route: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("{route}?limit=100&cursor={c}"),
                None => format!("{route}?limit=100"),
            };
            let page = self.get(key, &path).await;
            assert_eq!(page.status, 200, "{route}: {}", page.body);
            items.extend(page.body["items"].as_array().cloned().unwrap_or_default());
            match page.body["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Polls a feed until the pipeline has written its outcome.
    async fn processed(&self, key: &str, feed_id: &str, deadline: Instant) -> Value {
        loop {
            let feed = self.get(key, &format!("/v1/feeds/{feed_id}")).await;
            assert_eq!(feed.status, 200, "feed {feed_id}: {}", feed.body);
            if feed.body["status"] != "RECEIVED" {
                return feed.body;
            }
            assert!(Instant::now() < deadline, "feed {feed_id} is still RECEIVED");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn table(cloud: &Running, logical_id: &str) -> String {
    cloud
        .model
        .tables
        .iter()
        .find(|t| t.logical_id == logical_id)
        .unwrap_or_else(|| panic!("no {logical_id}"))
        .name
        .clone()
}

/// Feed items written for a request id (a refused request must leave none).
async fn feeds_with_request_id(ddb: &aws_sdk_dynamodb::Client, table: &str, request_id: &str) -> usize {
    let mut n = 0;
    let mut start = None;
    loop {
        let out = ddb
            .scan()
            .table_name(table)
            .filter_expression("requestId = :r")
            .expression_attribute_values(":r", aws_sdk_dynamodb::types::AttributeValue::S(request_id.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the feeds table");
        n += out.items().len();
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return n;
        }
    }
}

/// What the pipeline must do with an accepted feed.
/// Posts a good feed after a hostile case: it must be served normally.
async fn good_feed_after(api: &Api, partner: &str, seq: u64, name: &str) -> Pending {
    let good = api.post_good(partner, seq).await;
    assert_eq!(good.status, 202, "after {name}, a good feed: {}", good.body);
    Pending {
        case: format!("the good feed after {name}"),
        partner: partner.to_string(),
        feed_id: good.body["feedId"].as_str().expect("feedId").to_string(),
        order: None,
        count: 1,
        expect: Outcome::Stored,
    }
}

struct Pending {
    case: String,
    partner: String,
    feed_id: String,
    /// The feed's first order.
    order: Option<Value>,
    /// How many orders the feed holds.
    count: usize,
    expect: Outcome,
}

enum Outcome {
    Stored,
    Rejected { code: String, field: String },
}

/// The order's sequence number, when it is one the API can look up.
fn sequence_of(p: &str, order: &Value) -> Option<u64> {
    let field = if p == "a" { "sequenceNumber" } else { "seq_no" };
    order[field]
        .as_u64()
        .filter(|s| (1..=9_007_199_254_740_991).contains(s))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_case_gets_a_clear_answer_and_stores_nothing_partial() {
    let cases = corpus();
    assert!(cases.len() >= 60, "the corpus shrank to {} cases", cases.len());
    let cloud = start(Options::default()).await;
    let api = Api {
        http: reqwest::Client::new(),
        url: cloud.api_url.clone(),
    };
    let ddb = zb_tests::dynamodb().await;
    let (feeds, idempotency) = (table(&cloud, "FeedsTable"), table(&cloud, "IdempotencyTable"));
    let mut pending = Vec::new();
    let mut good_seq = 900_000;

    for (i, case) in cases.iter().enumerate() {
        let name = &case.name;
        let p = partner(&case.partner);
        let seq = 100_000 + i as u64;
        let (body, order) = body_of(case, seq);
        let method = case.method.as_deref().unwrap_or("POST");
        let path = case.path.as_deref().unwrap_or("/v1/feeds");
        let request_id = format!("hostile-{name}");
        let mut req = api
            .http
            .request(method.parse().expect("method"), format!("{}{path}", api.url))
            .header("x-api-key", p.key)
            .header("x-request-id", &request_id);
        if method == "POST" {
            match &case.content_type {
                serde_yaml::Value::Bool(false) => req = req.header("content-type", p.content_type),
                serde_yaml::Value::Null => {}
                serde_yaml::Value::String(ct) => req = req.header("content-type", ct.as_str()),
                other => panic!("{name}: content_type {other:?}"),
            }
            req = req.body(body);
        }
        for (k, v) in &case.headers {
            let value = reqwest::header::HeaderValue::from_bytes(v.as_bytes()).expect("header bytes");
            req = req.header(k.as_str(), value);
        }
        let got = api.send(req).await;
        let e = &case.expect;

        assert!(got.status < 500, "{name}: a {} : {}", got.status, got.body);
        assert_eq!(got.status, e.status, "{name}: {}", got.body);
        if let Some(message) = &e.gateway {
            // API Gateway's own answer, as AWS sends it: application/json
            // {"message"}, no function ran (so no X-Request-ID), nothing stored.
            // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
            assert_eq!(got.header("content-type"), Some("application/json"), "{name}");
            assert_eq!(got.body, json!({"message": message}), "{name}");
            assert_eq!(got.header("x-request-id"), None, "{name}: a function answered");
            assert_eq!(
                feeds_with_request_id(&ddb, &feeds, &request_id).await,
                0,
                "{name}: stored a feed"
            );
            good_seq += 1;
            pending.push(good_feed_after(&api, &case.partner, good_seq, name).await);
            continue;
        }
        assert_eq!(
            got.header("x-request-id"),
            Some(request_id.as_str()),
            "{name}: X-Request-ID"
        );
        assert!(
            got.header("ratelimit-policy").is_some() && got.header("ratelimit").is_some(),
            "{name}: no RateLimit headers: {:?}",
            got.headers
        );
        if got.status >= 400 {
            assert_eq!(got.header("content-type"), Some("application/problem+json"), "{name}");
            let ty = e
                .problem
                .as_deref()
                .unwrap_or_else(|| panic!("{name}: expect.type is needed"));
            assert_eq!(
                got.body["type"],
                json!(format!("{PROBLEMS}{ty}")),
                "{name}: {}",
                got.body
            );
            assert_eq!(got.body["status"], json!(got.status), "{name}");
            assert!(got.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{name}");
            assert_eq!(got.body["requestId"], json!(request_id), "{name}");
            let fault = &got.body["errors"][0];
            for (what, want) in [
                ("pointer", &e.pointer),
                ("header", &e.header),
                ("parameter", &e.parameter),
            ] {
                if let Some(want) = want {
                    assert_eq!(fault[what], json!(want), "{name}: the {what} at fault: {}", got.body);
                }
            }
            if method == "POST" {
                assert_eq!(
                    feeds_with_request_id(&ddb, &feeds, &request_id).await,
                    0,
                    "{name}: a refused request stored a feed"
                );
                if let Some(key) = case.headers.get("Idempotency-Key") {
                    let claim = ddb
                        .get_item()
                        .table_name(&idempotency)
                        .key(
                            "pk",
                            aws_sdk_dynamodb::types::AttributeValue::S(format!("partner-{}#{key}", case.partner)),
                        )
                        .send()
                        .await
                        .expect("GetItem");
                    assert!(claim.item().is_none(), "{name}: a refused request left its key claimed");
                }
            }
        } else {
            assert_eq!(got.status, 202, "{name}: only a feed is accepted here");
            let feed_id = got.body["feedId"].as_str().expect("feedId").to_string();
            let expect = match (&e.rejected, e.stored) {
                (Some(r), false) => Outcome::Rejected {
                    code: r.code.clone(),
                    field: r.field.clone(),
                },
                (None, true) => Outcome::Stored,
                _ => panic!("{name}: a 202 case says `rejected:` or `stored: true`"),
            };
            pending.push(Pending {
                case: name.clone(),
                partner: case.partner.clone(),
                feed_id,
                order,
                count: case.generate.as_ref().map_or(0, |g| g.count).max(1),
                expect,
            });
        }

        // The next good request is served normally.
        good_seq += 1;
        pending.push(good_feed_after(&api, &case.partner, good_seq, name).await);
    }

    let refused = cases.iter().filter(|c| c.expect.status >= 400).count();
    let rejected = cases.iter().filter(|c| c.expect.rejected.is_some()).count();
    println!(
        "{} cases: {refused} refused at the door, {rejected} rejected by the pipeline, {} stored",
        cases.len(),
        cases.len() - refused - rejected
    );

    // What the pipeline made of every accepted feed.
    let deadline = Instant::now() + DRAIN;
    let mut errors: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for item in pending {
        let p = partner(&item.partner);
        let name = &item.case;
        let feed = api.processed(p.key, &item.feed_id, deadline).await;
        match &item.expect {
            Outcome::Stored => {
                assert_eq!(feed["status"], "COMPLETED", "{name}: {feed}");
                assert_eq!(feed["counts"]["persisted"], item.count, "{name}: {feed}");
                let Some(order) = &item.order else { continue };
                let seq = sequence_of(&item.partner, order).expect("a stored order has a sequence number");
                let stored = api.get(p.key, &format!("/v1/orders/{seq}")).await;
                assert_eq!(stored.status, 200, "{name}: {}", stored.body);
                let s = &stored.body;
                // Every string the API gives back is the one sent, unchanged.
                let (id, customer, lines, sku) = if item.partner == "a" {
                    ("/orderId", "/customer/id", "/items", "/sku")
                } else {
                    ("/order_ref", "/buyer/email", "/line_items", "/product_code")
                };
                assert_eq!(
                    s["externalId"],
                    order.pointer(id).cloned().unwrap_or_default(),
                    "{name}"
                );
                assert_eq!(
                    s["customerRef"],
                    order.pointer(customer).cloned().unwrap_or(Value::Null),
                    "{name}"
                );
                let sent: Vec<&Value> = order
                    .pointer(lines)
                    .and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(|line| line.pointer(sku)).collect())
                    .unwrap_or_default();
                let got: Vec<&Value> = s["lines"]
                    .as_array()
                    .map(|l| l.iter().map(|x| &x["sku"]).collect())
                    .unwrap_or_default();
                assert_eq!(got, sent, "{name}: the skus");
            }
            Outcome::Rejected { code, field } => {
                assert_eq!(feed["status"], "COMPLETED_WITH_REJECTIONS", "{name}: {feed}");
                assert_eq!(
                    (feed["counts"]["rejected"].clone(), feed["counts"]["persisted"].clone()),
                    (json!(item.count), json!(0)),
                    "{name}: {feed}"
                );
                assert_eq!(
                    (feed["orders"][0]["code"].clone(), feed["orders"][0]["field"].clone()),
                    (json!(code), json!(field)),
                    "{name}: {feed}"
                );
                if !errors.contains_key(&item.partner) {
                    errors.insert(item.partner.clone(), api.all(p.key, "/v1/errors").await);
                }
                let recorded = errors[&item.partner]
                    .iter()
                    .find(|e| e["feedId"] == json!(item.feed_id))
                    .unwrap_or_else(|| panic!("{name}: GET /v1/errors has no rejection for the feed"));
                assert_eq!(
                    (&recorded["code"], &recorded["field"]),
                    (&json!(code), &json!(field)),
                    "{name}"
                );
                if let Some(order) = &item.order {
                    // Up to 16 KiB the raw order is copied; a larger one is
                    // kept by reference into the stored body (400 KB items).
                    if order.to_string().len() > zb_shared::store::RAW_ORDER_MAX_BYTES {
                        assert_eq!(recorded["rawOrder"], Value::Null, "{name}");
                        assert!(
                            recorded["rawOrderRef"].as_str().is_some_and(|r| r.ends_with("/0")),
                            "{name}: {recorded}"
                        );
                        assert!(recorded["message"].as_str().is_some_and(|m| m.len() < 600), "{name}");
                        continue;
                    }
                    let raw: Value = serde_json::from_str(recorded["rawOrder"].as_str().expect("rawOrder"))
                        .expect("raw order is JSON");
                    assert_eq!(&raw, order, "{name}: the raw order comes back unchanged");
                    if let Some(seq) = sequence_of(&item.partner, order) {
                        let stored = api.get(p.key, &format!("/v1/orders/{seq}")).await;
                        assert_eq!(stored.status, 404, "{name}: a rejected order was stored");
                    }
                }
            }
        }
    }
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_route_answers_404_to_another_partners_ids() {
    let cloud = start(Options::default()).await;
    let api = Api {
        http: reqwest::Client::new(),
        url: cloud.api_url.clone(),
    };
    // Partner B: two stored orders and a rejected one.
    let now = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let order = |seq: u64, qty: u64| {
        let mut o = base_order("b", seq);
        o["created_at"] = json!(now);
        o["line_items"][0]["qty"] = json!(qty);
        o
    };
    let body = json!({"data": {"orders": [order(501, 1), order(502, 2), order(503, 0)]}});
    let posted = api
        .send(
            api.http
                .post(format!("{}/v1/feeds", api.url))
                .header("x-api-key", "key-b")
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(posted.status, 202, "{}", posted.body);
    let feed_id = posted.body["feedId"].as_str().expect("feedId").to_string();
    let feed = api
        .processed("key-b", &feed_id, Instant::now() + Duration::from_secs(60))
        .await;
    assert_eq!(feed["counts"]["persisted"], 2, "{feed}");

    // Every GET route of the contract with a path parameter, filled with B's ids.
    let text = std::fs::read_to_string(repo().join("openapi.yaml")).expect("openapi.yaml");
    let spec: Value = serde_yaml::from_str(&text).expect("openapi.yaml");
    let ids = [("{feedId}", feed_id.clone()), ("{sequenceNumber}", "501".to_string())];
    let mut by_id = 0;
    let mut lists = Vec::new();
    for (route, item) in spec["paths"].as_object().expect("paths") {
        if item.get("get").is_none() {
            continue;
        }
        if !route.contains('{') {
            lists.push(route.clone());
            continue;
        }
        let mut path = route.clone();
        for (param, id) in &ids {
            path = path.replace(param, id);
        }
        assert!(!path.contains('{'), "no id of B for {route}: add it to this test");
        assert_eq!(api.get("key-b", &path).await.status, 200, "B reads its own {path}");
        let theirs = api.get("key-a", &path).await;
        assert_eq!(theirs.status, 404, "A read B's {path}: {}", theirs.body);
        assert_eq!(theirs.body["type"], json!(format!("{PROBLEMS}not-found")));
        assert!(!theirs.body.to_string().contains("HB-"), "nothing of B's leaks");
        by_id += 1;
    }
    assert!(by_id >= 2, "the read routes by id were not found in openapi.yaml");

    // The lists: A sees none of B's items, not even with B's own cursor.
    for route in lists {
        let b_page = api.get("key-b", &format!("{route}?limit=1")).await;
        assert_eq!(b_page.status, 200, "{route}: {}", b_page.body);
        if route == "/v1/orders" || route == "/v1/errors" {
            // B has orders and a rejection (no webhook, so no deliveries).
            assert_eq!(
                b_page.body["items"].as_array().map(Vec::len),
                Some(1),
                "{route}: B has items"
            );
        }
        let a_page = api.get("key-a", &route).await;
        assert_eq!(
            a_page.body["items"],
            json!([]),
            "{route}: A sees B's items: {}",
            a_page.body
        );
        if let Some(cursor) = b_page.body["nextCursor"].as_str() {
            let with_b_cursor = api.get("key-a", &format!("{route}?limit=1&cursor={cursor}")).await;
            assert!(
                with_b_cursor.status == 400 || with_b_cursor.body["items"] == json!([]),
                "{route}: B's cursor gave A {}",
                with_b_cursor.body
            );
            assert!(!with_b_cursor.body.to_string().contains(&feed_id), "{route}");
        }
    }
    cloud.shutdown().await;
}
