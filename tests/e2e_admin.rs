//! The admin API end to end (issue 14): the real binaries behind the local
//! cloud's real endpoints - the local Cognito (InitiateAuth, JWKS), the admin
//! API's JWT authorizer, the admin function, the pipeline - reached only
//! through HTTP, and the tables read beside them with the AWS SDK.
//!
//! 1. Every route x every kind of caller, with the status the table
//!    gives (written out in [`MATRIX`]).
//! 2. Every change writes an audit entry (who, what, which target, before
//!    and after), and no secret ever appears in it.
//! 3. A format published through the API is used by the partner API at once:
//!    no build, no restart.
//! 4. A feed failed by an injected fault is redriven: it completes, what was
//!    stored before stays as it was, nothing is stored twice, and it counts once.
//! 5. After the demo feeds, the volume figures equal what the feeds, orders
//!    and errors tables hold.
//! 6. The ops console's view of executions (issue 15): a feed's pipeline
//!    executions from the pipeline's log group, one Express execution's
//!    events from its log lines, a webhook delivery's (Standard) from its
//!    history, the state machines' definitions, and a feed found by an order.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use zb_local::Running;
use zb_tests::cloud::{repo, sdk, start, Options};
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order, partner_c_format, partner_c_schema};
use zb_tests::operators::{
    claims_of, login, now_secs, AdminApi, Endpoints, Reply, SigningKey, ADMIN, FINANCE, NOBODY, OPS,
};
use zb_tests::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(120);
const SECRET_B: &str = "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGhlIHRlc3Q=";

// ------------------------------------------------------------------ set-up

/// A local cloud and its operators' tokens.
struct Session {
    cloud: Running,
    endpoints: Endpoints,
    api: AdminApi,
    http: reqwest::Client,
    admin: String,
    ops: String,
    finance: String,
    nobody: String,
}

impl Session {
    async fn start(options: Options) -> Self {
        let cloud = start(options).await;
        let endpoints = Endpoints::read(cloud.state_dir());
        let http = reqwest::Client::new();
        let admin = login(&http, &endpoints, ADMIN).await.access;
        let ops = login(&http, &endpoints, OPS).await.access;
        let finance = login(&http, &endpoints, FINANCE).await.access;
        let nobody = login(&http, &endpoints, NOBODY).await.access;
        Self {
            api: AdminApi::new(&endpoints.admin_api),
            cloud,
            endpoints,
            http,
            admin,
            ops,
            finance,
            nobody,
        }
    }

    fn table(&self, logical_id: &str) -> String {
        self.cloud
            .model
            .tables
            .iter()
            .find(|t| t.logical_id == logical_id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| panic!("no {logical_id} in the model"))
    }

    async fn ddb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&sdk(&self.cloud.dynamodb_url).await)
    }

    /// POSTs a feed to the partner API as `key`; its feedId.
    async fn post_feed(&self, key: &str, content_type: &str, body: &Value) -> String {
        let r = zb_tests::post_feed_http(&self.http, &self.cloud.api_url, key, content_type, body).await;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 202, "POST /v1/feeds as {key}: {answer}");
        answer["feedId"].as_str().expect("feedId").to_string()
    }

    /// Polls the partner API until the feed has a terminal status.
    async fn finished(&self, key: &str, feed_id: &str) -> Value {
        let started = Instant::now();
        loop {
            let (status, feed) =
                zb_tests::get_http(&self.http, &self.cloud.api_url, key, &format!("/v1/feeds/{feed_id}")).await;
            assert_eq!(status, 200, "{feed}");
            if feed["status"] != "RECEIVED" {
                return feed;
            }
            assert!(started.elapsed() < WAIT, "feed {feed_id} still RECEIVED: {feed}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn shutdown(self) {
        self.cloud.shutdown().await;
    }
}

/// A Partner A order whose event time is a minute ago (the canonical rules
/// refuse event times far from now).
fn recent_a_order(seq: u64) -> Value {
    let mut o = a_order(seq);
    o["createdAt"] = json!(chrono::Utc::now().timestamp_millis() - 60_000);
    o
}

fn recent_b_order(seq: u64) -> Value {
    let mut o = b_order(seq);
    o["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    o
}

/// Validates `instance` against a schema of openapi-admin.yaml.
fn conforms(schema: &str, instance: &Value) {
    let text = std::fs::read_to_string(repo().join("openapi-admin.yaml")).expect("openapi-admin.yaml");
    let mut root: Value = serde_yaml::from_str(&text).expect("openapi-admin.yaml parses");
    root["$ref"] = json!(format!("#/components/schemas/{schema}"));
    let v = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{schema}: {e}"));
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "an answer does not match openapi-admin.yaml's {schema}: {errors:?}\n{instance}"
    );
}

fn is_problem(r: &Reply, status: u16, slug: &str) -> bool {
    r.status == status
        && r.content_type.starts_with("application/problem+json")
        && r.body["type"] == json!(format!("https://api.zerobeta.example/problems/{slug}"))
}

// ------------------------------------------------------------------ 1. roles x callers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The route runs: any answer but 401 and 403 (a 404 for an id of nothing is fine).
    Serves,
    /// The admin function's 403 problem naming the roles the route admits.
    Forbidden,
    /// API Gateway's JWT authorizer: 401 {"message":"Unauthorized"}, no function runs.
    Unauthorized,
    /// API Gateway's JWT authorizer: a valid token without the route's scope,
    /// 403 {"message":"Forbidden"}, no function runs.
    GatewayForbidden,
}
use Expect::{Forbidden as F, GatewayForbidden as G, Serves as S, Unauthorized as U};

/// The callers, in the order of [`MATRIX`]'s columns.
const CALLERS: [&str; 9] = [
    "admin",
    "ops",
    "finance",
    "nobody (no group)",
    "no token",
    "expired token",
    "wrong audience",
    "unknown key",
    "ID token",
];

/// Issue 14's table. The four columns after `nobody` are tokens API Gateway's
/// JWT authorizer refuses with 401 before any function runs: missing, `exp`
/// in the past, a `client_id` that is not the configured audience, signed by
/// a key whose kid is not in the issuer's JWKS ("Control access to HTTP APIs
/// with JWT authorizers in API Gateway",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html;
/// the 401 and its `www-authenticate` header: "Troubleshooting issues with
/// HTTP API JWT authorizers",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html).
/// The last is an ID token: valid, but without the routes' scope
/// `aws.cognito.signin.user.admin`, which "receives a 403 Forbidden response"
/// ("Attach a JWT authorizer to methods and require scopes",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-methods.html):
/// API Gateway's own `{"message":"Forbidden"}`, not the function's problem.
#[rustfmt::skip]
const MATRIX: [(&str, &str, [Expect; 9]); 28] = [
    //                                                                      admin ops finance nobody none exp aud key id
    ("GET",   "/v1/admin/me",                                              [S, S, S, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/partners",                                        [S, S, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/partners",                                        [S, F, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/partners/{partnerId}",                            [S, S, F, F, U, U, U, U, G]),
    ("PATCH", "/v1/admin/partners/{partnerId}",                            [S, F, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/partners/{partnerId}/disable",                    [S, F, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/partners/{partnerId}/rotate-key",                 [S, F, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/partners/{partnerId}/rotate-secret",              [S, F, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/formats",                                         [S, S, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/formats",                                         [S, F, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/formats/{formatId}",                              [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/feeds",                                           [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/feeds/{feedId}",                                  [S, S, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/feeds/{feedId}/redrive",                          [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/feeds/{feedId}/executions",                       [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/executions/{executionArn}",                       [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/state-machines",                                  [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/orders",                                          [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/errors",                                          [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/deliveries",                                      [S, S, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay", [S, S, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/volume",                                          [S, S, S, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/cost",                                            [S, S, S, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/cost/feeds/{feedId}",                             [S, S, S, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/audit",                                           [S, F, F, F, U, U, U, U, G]),
    // Issue 16: personal data is the admin's alone.
    ("POST",  "/v1/admin/privacy/erasures",                                [S, F, F, F, U, U, U, U, G]),
    ("GET",   "/v1/admin/privacy/erasures/{erasureId}",                    [S, F, F, F, U, U, U, U, G]),
    ("POST",  "/v1/admin/privacy/exports",                                 [S, F, F, F, U, U, U, U, G]),
];

/// The roles a row admits, read off its first three columns.
fn admitted(row: &[Expect; 9]) -> Vec<&'static str> {
    ["admin", "ops", "finance"]
        .into_iter()
        .zip(row.iter())
        .filter(|(_, e)| **e == S)
        .map(|(r, _)| r)
        .collect()
}

/// A Partner C order placed a minute ago.
fn c_order(seq: u64, price: f64, count: u64, total: f64) -> Value {
    json!({"Seq": seq, "Ref": format!("C-{seq}"), "PlacedAt": now_secs() - 60,
           "Money": {"Currency": "gbp", "Total": total},
           "Lines": [{"Article": "ART-9", "Count": count, "Price": price}]})
}

fn publish_body(version: u32, samples: Vec<Value>) -> Value {
    json!({"format": partner_c_format(version), "schema": partner_c_schema(), "samples": samples})
}

/// The concrete request the matrix sends for a route: real ids where the
/// route names one, and a body a permitted caller's request would be served with.
fn request_for(method: &str, route: &str, feed_id: &str) -> (String, Option<Value>) {
    let path = route
        .replace("{partnerId}", "matrix")
        .replace("{formatId}", "partner-a@1")
        .replace("{feedId}", feed_id)
        .replace("{deliveryId}", "20260101T000000Z-nothing")
        .replace("{erasureId}", "no-such-erasure")
        .replace(
            "{executionArn}",
            "arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3Aexecution%3Aelsewhere%3Anothing",
        );
    match (method, route) {
        ("POST", "/v1/admin/partners") => (
            path,
            Some(json!({"partnerId": "matrix-new", "name": "Matrix New", "format": "partner-a@1"})),
        ),
        ("PATCH", _) => (path, Some(json!({"name": "Matrix renamed"}))),
        ("POST", "/v1/admin/formats") => (
            format!("{path}?dryRun=true"),
            Some(publish_body(1, vec![c_order(1, 12.5, 2, 25.0)])),
        ),
        ("GET", "/v1/admin/orders") => (format!("{path}?partnerId=partner-a"), None),
        ("POST", "/v1/admin/privacy/erasures" | "/v1/admin/privacy/exports") => (
            path,
            Some(json!({"partnerId": "matrix", "emails": ["matrix-subject@example.org"]})),
        ),
        _ => (path, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_admits_exactly_the_roles_of_the_table_and_the_gateway_refuses_bad_tokens() {
    let options = Options {
        seed: json!([
            {"partnerId": "partner-a", "name": "A", "format": "partner-a@1", "apiKey": "key-a"},
            {"partnerId": "matrix", "name": "Matrix", "format": "partner-a@1", "apiKey": "key-matrix"}
        ]),
        ..Options::default()
    };
    let s = Session::start(options).await;
    let feed_id = s
        .post_feed("key-a", "application/json", &a_feed(vec![recent_a_order(1)]))
        .await;
    s.finished("key-a", &feed_id).await;

    // Tokens API Gateway must refuse, each wrong in one way only: the admin's
    // own claims, re-signed.
    let issuer_key = SigningKey::issuer(s.cloud.state_dir());
    let claims = claims_of(&s.admin);
    assert_eq!(claims["token_use"], "access", "{claims}");
    assert_eq!(claims["iss"], json!(s.endpoints.issuer), "{claims}");
    let now = now_secs();
    let mut fresh = claims.clone();
    fresh["iat"] = json!(now - 5);
    fresh["exp"] = json!(now + 600);
    let resigned = issuer_key.sign(&fresh);
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 7200);
    expired["auth_time"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let expired = issuer_key.sign(&expired);
    let mut other_client = fresh.clone();
    other_client["client_id"] = json!("0000000000000000000000000a");
    let wrong_audience = issuer_key.sign(&other_client);
    let unknown_key = SigningKey::fresh().sign(&fresh);
    let id_token = login(&s.http, &s.endpoints, ADMIN).await.id;

    // The control: the same claims under the issuer's key are accepted, so
    // each refusal below is for the one thing that differs.
    let me = s.api.call("GET", "/v1/admin/me", Some(&resigned), None).await;
    assert_eq!(
        me.status, 200,
        "a token signed by the issuer's key is refused: {}",
        me.body
    );
    assert_eq!(me.body["username"], "admin", "{}", me.body);
    conforms("Me", &me.body);

    let tokens: [Option<&str>; 9] = [
        Some(&s.admin),
        Some(&s.ops),
        Some(&s.finance),
        Some(&s.nobody),
        None,
        Some(&expired),
        Some(&wrong_audience),
        Some(&unknown_key),
        Some(&id_token),
    ];
    let mut wrong = Vec::new();
    for (method, route, row) in MATRIX {
        for (column, expect) in row.iter().enumerate() {
            let (path, body) = request_for(method, route, &feed_id);
            let r = s.api.call(method, &path, tokens[column], body.as_ref()).await;
            let ok = match expect {
                Expect::Serves => r.status != 401 && r.status != 403 && r.status < 500,
                Expect::Forbidden => {
                    let names_roles = admitted(&row)
                        .iter()
                        .all(|role| r.body["detail"].as_str().unwrap_or_default().contains(role));
                    is_problem(&r, 403, "forbidden") && names_roles
                }
                Expect::Unauthorized => {
                    // A presented token is refused with a www-authenticate header saying why.
                    r.status == 401
                        && r.content_type.starts_with("application/json")
                        && r.body == json!({"message": "Unauthorized"})
                        && (tokens[column].is_none() || r.www_authenticate.is_some())
                }
                Expect::GatewayForbidden => {
                    r.status == 403
                        && r.content_type.starts_with("application/json")
                        && r.body == json!({"message": "Forbidden"})
                }
            };
            if !ok {
                wrong.push(format!(
                    "{method} {path} as {}: expected {expect:?}, got {} {} {}",
                    CALLERS[column], r.status, r.content_type, r.body
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers differ from the table:\n{}",
        wrong.len(),
        MATRIX.len() * CALLERS.len(),
        wrong.join("\n")
    );

    // Nothing a refused caller asked for was done: every change in the audit
    // log is the admin's.
    let audit = s.api.all("/v1/admin/audit?limit=100", &s.admin).await;
    assert!(!audit.is_empty(), "the admin's changes were not audited");
    for entry in &audit {
        assert_eq!(entry["actor"]["username"], "admin", "{entry}");
    }
    s.shutdown().await;
}

// ------------------------------------------------------------------ 2. audit

/// The lowercase hex SHA-256 of a key: what the partners table stores.
fn key_hash(key: &str) -> String {
    zb_shared::apikey::hash_api_key(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_audited_with_who_what_before_and_after_and_never_a_secret() {
    // Partner B's webhook answers 410, so its first notification is DEAD at
    // once; RecordErrors fails once, so Partner A's mixed feed ends FAILED.
    let gone = Receiver::start(vec![410]).await;
    let mut options = Options {
        faults: vec![("RecordErrorFunction".into(), "StoreError*1".into())],
        parameters: vec![("WebhookRetrySchedule".into(), "1,2,2,2,2,2,2".into())],
        ..Options::default()
    };
    options.seed[1]["webhookUrl"] = json!(gone.url);
    options.seed[1]["webhookSecret"] = json!(SECRET_B);
    let s = Session::start(options).await;

    let failed = s
        .post_feed("key-a", "application/json", &a_feed(vec![recent_a_order(1), json!({})]))
        .await;
    assert_eq!(s.finished("key-a", &failed).await["status"], "FAILED");
    s.post_feed(
        "key-b",
        "application/vnd.partner-b.feed+json",
        &b_feed(vec![recent_b_order(1)]),
    )
    .await;
    let dead = {
        let started = Instant::now();
        loop {
            let page = s
                .api
                .get_ok("/v1/admin/deliveries?partnerId=partner-b&status=DEAD", &s.ops)
                .await;
            if let Some(d) = page["items"].as_array().and_then(|i| i.first()) {
                conforms("Delivery", d);
                break d["deliveryId"].as_str().expect("deliveryId").to_string();
            }
            assert!(started.elapsed() < WAIT, "no DEAD delivery: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    // The eight changes, each with its own X-Request-ID.
    let change = |method: &'static str, path: String, token: String, body: Option<Value>, rid: &'static str| {
        let api = s.api.clone();
        async move {
            api.call_with(method, &path, Some(&token), body.as_ref(), &[("x-request-id", rid)])
                .await
        }
    };
    let created = change(
        "POST",
        "/v1/admin/partners".into(),
        s.admin.clone(),
        Some(json!({"partnerId": "acme", "name": "Acme", "format": "partner-a@1"})),
        "audit-create",
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    conforms("PartnerCreated", &created.body);
    let updated = change(
        "PATCH",
        "/v1/admin/partners/acme".into(),
        s.admin.clone(),
        Some(json!({"name": "Acme Ltd", "rateLimit": {"rate": 5, "burst": 10}})),
        "audit-update",
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    conforms("Partner", &updated.body);
    assert_eq!(updated.body["name"], "Acme Ltd");
    let rotated_key = change(
        "POST",
        "/v1/admin/partners/acme/rotate-key".into(),
        s.admin.clone(),
        None,
        "audit-rotate-key",
    )
    .await;
    assert_eq!(rotated_key.status, 200, "{}", rotated_key.body);
    conforms("KeyRotated", &rotated_key.body);
    let rotated_secret = change(
        "POST",
        "/v1/admin/partners/acme/rotate-secret".into(),
        s.admin.clone(),
        None,
        "audit-rotate-secret",
    )
    .await;
    assert_eq!(rotated_secret.status, 200, "{}", rotated_secret.body);
    conforms("SecretRotated", &rotated_secret.body);
    let disabled = change(
        "POST",
        "/v1/admin/partners/acme/disable".into(),
        s.admin.clone(),
        None,
        "audit-disable",
    )
    .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.body["status"], "DISABLED");
    let published = change(
        "POST",
        "/v1/admin/formats".into(),
        s.admin.clone(),
        Some(publish_body(1, vec![c_order(1, 12.5, 2, 25.0)])),
        "audit-publish",
    )
    .await;
    assert_eq!(published.status, 201, "{}", published.body);
    let redriven = change(
        "POST",
        format!("/v1/admin/feeds/{failed}/redrive"),
        s.ops.clone(),
        None,
        "audit-redrive",
    )
    .await;
    assert_eq!(redriven.status, 202, "{}", redriven.body);
    let replayed = change(
        "POST",
        format!("/v1/admin/partners/partner-b/deliveries/{dead}/replay"),
        s.ops.clone(),
        None,
        "audit-replay",
    )
    .await;
    assert_eq!(replayed.status, 202, "{}", replayed.body);
    conforms("ReplayAccepted", &replayed.body);

    let secrets: Vec<String> = [
        created.body["apiKey"].as_str(),
        created.body["webhookSecret"].as_str(),
        rotated_key.body["apiKey"].as_str(),
        rotated_secret.body["webhookSecret"].as_str(),
        Some(SECRET_B),
    ]
    .into_iter()
    .map(|s| {
        s.unwrap_or_else(|| panic!("a create/rotate answer lacks its credential"))
            .to_string()
    })
    .collect();
    let mut forbidden_text: Vec<String> = secrets.clone();
    forbidden_text.push(key_hash(&secrets[0]));
    forbidden_text.push(key_hash(&secrets[2]));
    forbidden_text.push("whsec_".into());

    // Reads change nothing and are not audited.
    s.api.get_ok("/v1/admin/partners/acme", &s.admin).await;
    s.api.get_ok("/v1/admin/partners?limit=100", &s.ops).await;
    let refused = s
        .api
        .call("POST", "/v1/admin/partners/partner-a/disable", Some(&s.ops), None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let audit = s.api.all("/v1/admin/audit?limit=100", &s.admin).await;
    for entry in &audit {
        conforms("AuditEntry", entry);
    }
    let feed_target = format!("feed/{failed}");
    let delivery_target = format!("delivery/partner-b/{dead}");
    let admin_sub = claims_of(&s.admin)["sub"].clone();
    let ops_sub = claims_of(&s.ops)["sub"].clone();
    let expected = [
        ("partner.create", "partner/acme", "admin", "audit-create"),
        ("partner.update", "partner/acme", "admin", "audit-update"),
        ("partner.rotate-key", "partner/acme", "admin", "audit-rotate-key"),
        ("partner.rotate-secret", "partner/acme", "admin", "audit-rotate-secret"),
        ("partner.disable", "partner/acme", "admin", "audit-disable"),
        ("format.publish", "format/partner-c@1", "admin", "audit-publish"),
        ("feed.redrive", feed_target.as_str(), "ops", "audit-redrive"),
        ("delivery.replay", delivery_target.as_str(), "ops", "audit-replay"),
    ];
    assert_eq!(
        audit.len(),
        expected.len(),
        "one entry per change, none for reads or refusals: {}",
        Value::from(audit.clone())
    );
    // Newest first.
    let order: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    let mut newest_first: Vec<&str> = expected.iter().map(|e| e.0).collect();
    newest_first.reverse();
    assert_eq!(order, newest_first);
    let ids: Vec<&str> = audit.iter().filter_map(|e| e["entryId"].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "entry ids are time-ordered (UUID v7)");

    for (action, target, who, request_id) in expected {
        let entry = audit
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} entry"));
        assert_eq!(entry["target"], target, "{entry}");
        assert_eq!(entry["actor"]["username"], who, "{entry}");
        assert_eq!(entry["actor"]["groups"], json!([who]), "{entry}");
        let sub = if who == "admin" { &admin_sub } else { &ops_sub };
        assert_eq!(&entry["actor"]["sub"], sub, "{entry}");
        assert_eq!(entry["requestId"], request_id, "{entry}");
        let at = entry["at"].as_str().unwrap_or_default();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "at: {at:?}");
        let id = entry["entryId"].as_str().unwrap_or_default();
        assert_eq!(
            uuid::Uuid::parse_str(id).map(|u| u.get_version_num()).ok(),
            Some(7),
            "entryId {id:?} is a UUID v7"
        );
    }
    let entry = |action: &str| {
        audit
            .iter()
            .find(|e| e["action"] == action)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let create = entry("partner.create");
    assert_eq!(create["before"], Value::Null, "{create}");
    assert_eq!(create["after"]["name"], "Acme", "{create}");
    let update = entry("partner.update");
    assert_eq!(update["before"]["name"], "Acme", "{update}");
    assert_eq!(update["after"]["name"], "Acme Ltd", "{update}");
    assert_eq!(
        update["after"]["rateLimit"],
        json!({"rate": 5, "burst": 10}),
        "{update}"
    );
    let disable = entry("partner.disable");
    assert_eq!(disable["before"]["status"], "ACTIVE", "{disable}");
    assert_eq!(disable["after"]["status"], "DISABLED", "{disable}");
    let publish = entry("format.publish");
    assert_eq!(publish["before"], Value::Null, "{publish}");
    assert!(publish["after"].is_object(), "{publish}");
    assert_eq!(entry("feed.redrive")["before"]["status"], "FAILED");
    assert_eq!(entry("delivery.replay")["before"]["status"], "DEAD");
    for action in ["partner.rotate-key", "partner.rotate-secret"] {
        let text = entry(action).to_string();
        assert!(
            text.contains("[redacted]"),
            "{action} shows the credential as [redacted]: {text}"
        );
    }

    // No secret, anywhere an operator can read.
    let mut readable = Value::from(audit.clone()).to_string();
    readable.push_str(&s.api.get_ok("/v1/admin/partners/acme", &s.admin).await.to_string());
    readable.push_str(&s.api.get_ok("/v1/admin/partners/partner-b", &s.admin).await.to_string());
    readable.push_str(&Value::from(s.api.all("/v1/admin/partners?limit=100", &s.ops).await).to_string());
    for secret in &forbidden_text {
        assert!(
            !readable.contains(secret.as_str()),
            "{secret:?} is readable: {readable}"
        );
    }
    conforms("Partner", &s.api.get_ok("/v1/admin/partners/partner-b", &s.admin).await);

    // The actor filter.
    let by_ops = s.api.all("/v1/admin/audit?actor=ops", &s.admin).await;
    let actions: BTreeSet<&str> = by_ops.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, BTreeSet::from(["feed.redrive", "delivery.replay"]));
    s.shutdown().await;
}

// ------------------------------------------------------------------ 3. formats at run time

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_published_through_the_api_takes_feeds_at_once_without_a_build_or_restart() {
    let s = Session::start(Options::default()).await;
    let mut no_ref = c_order(3, 1.5, 1, 1.5);
    if let Some(o) = no_ref.as_object_mut() {
        o.remove("Ref");
    }

    // A dry run stores nothing.
    let dry = s
        .api
        .call(
            "POST",
            "/v1/admin/formats?dryRun=true",
            Some(&s.admin),
            Some(&publish_body(1, vec![c_order(1, 12.5, 2, 25.0)])),
        )
        .await;
    assert!(matches!(dry.status, 200 | 201), "{}", dry.body);
    conforms("PublishReport", &dry.body);
    let absent = s
        .api
        .call("GET", "/v1/admin/formats/partner-c@1", Some(&s.ops), None)
        .await;
    assert!(
        is_problem(&absent, 404, "not-found"),
        "{} {}",
        absent.status,
        absent.body
    );

    // No sample yields a canonical order: 422, nothing published.
    let hopeless = s
        .api
        .call(
            "POST",
            "/v1/admin/formats",
            Some(&s.admin),
            Some(&publish_body(1, vec![no_ref.clone()])),
        )
        .await;
    assert!(
        is_problem(&hopeless, 422, "unprocessable-content"),
        "{} {}",
        hopeless.status,
        hopeless.body
    );

    // A mapping that does not load: 400 naming the member at fault.
    let mut broken = publish_body(1, vec![c_order(1, 12.5, 2, 25.0)]);
    broken["format"]["mapping"]["eventTime"]["as"] = json!("sundial");
    let bad = s
        .api
        .call("POST", "/v1/admin/formats", Some(&s.admin), Some(&broken))
        .await;
    assert!(is_problem(&bad, 400, "bad-request"), "{} {}", bad.status, bad.body);
    let pointer = bad.body["errors"][0]["pointer"].as_str().unwrap_or_default();
    assert!(pointer.starts_with("/format/mapping"), "{}", bad.body);

    // Published, with a report on each sample.
    let published = s
        .api
        .call(
            "POST",
            "/v1/admin/formats",
            Some(&s.admin),
            Some(&publish_body(1, vec![c_order(1, 12.5, 2, 25.0), no_ref.clone()])),
        )
        .await;
    assert_eq!(published.status, 201, "{}", published.body);
    conforms("PublishReport", &published.body);
    assert_eq!(published.body["formatId"], "partner-c@1");
    let samples = &published.body["samples"];
    assert_eq!(samples[0]["outcome"], "canonical", "{samples}");
    assert_eq!(samples[0]["order"]["currency"], "GBP", "{samples}");
    assert_eq!(samples[1]["outcome"], "rejected", "{samples}");
    assert_eq!(samples[1]["rejections"][0]["code"], "MISSING_FIELD", "{samples}");

    // Immutable: the same version again is a conflict, as is a built-in one.
    let again = s
        .api
        .call(
            "POST",
            "/v1/admin/formats",
            Some(&s.admin),
            Some(&publish_body(1, vec![c_order(1, 12.5, 2, 25.0)])),
        )
        .await;
    assert!(is_problem(&again, 409, "conflict"), "{} {}", again.status, again.body);
    let mut builtin = publish_body(1, vec![c_order(1, 12.5, 2, 25.0)]);
    builtin["format"]["name"] = json!("partner-a");
    let clash = s
        .api
        .call("POST", "/v1/admin/formats", Some(&s.admin), Some(&builtin))
        .await;
    assert!(is_problem(&clash, 409, "conflict"), "{} {}", clash.status, clash.body);

    let detail = s.api.get_ok("/v1/admin/formats/partner-c@1", &s.ops).await;
    conforms("FormatDetail", &detail);
    assert_eq!(detail["source"], "published");
    assert_eq!(detail["format"]["orders"], "/Feed/Orders");
    let listed = s.api.all("/v1/admin/formats?limit=100", &s.ops).await;
    let ids: BTreeSet<&str> = listed.iter().filter_map(|f| f["formatId"].as_str()).collect();
    assert!(
        ids.is_superset(&BTreeSet::from(["partner-a@1", "partner-b@1", "partner-c@1"])),
        "{ids:?}"
    );

    // A partner in the new format, its key shown once, and a feed in it.
    let created = s
        .api
        .call(
            "POST",
            "/v1/admin/partners",
            Some(&s.admin),
            Some(&json!({"partnerId": "partner-c", "name": "Partner C", "format": "partner-c@1"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.body["apiKey"].as_str().expect("apiKey").to_string();
    let feed = json!({"Feed": {"Orders": [c_order(1, 12.5, 2, 25.0), c_order(2, 0.99, 3, 2.97), no_ref]}});
    let feed_id = s.post_feed(&key, "application/x-partner-c+json", &feed).await;
    let done = s.finished(&key, &feed_id).await;
    assert_eq!(done["status"], "COMPLETED_WITH_REJECTIONS", "{done}");
    assert_eq!(done["counts"]["persisted"], 2, "{done}");
    assert_eq!(done["orders"][2]["field"], "/Feed/Orders/2/Ref", "{done}");

    let (status, orders) = zb_tests::get_http(&s.http, &s.cloud.api_url, &key, "/v1/orders").await;
    assert_eq!(status, 200, "{orders}");
    let items = orders["items"].as_array().cloned().unwrap_or_default();
    // By event time; both were placed in the same second, so sort by sequence.
    let mut totals: Vec<(Value, Value, Value)> = items
        .iter()
        .map(|o| {
            (
                o["sequenceNumber"].clone(),
                o["currency"].clone(),
                o["totalMinor"].clone(),
            )
        })
        .collect();
    totals.sort_by_key(|t| t.0.as_u64());
    assert_eq!(
        totals,
        vec![
            (json!(1), json!("GBP"), json!(2500)),
            (json!(2), json!("GBP"), json!(297))
        ]
    );
    let seen_by_ops = s.api.all("/v1/admin/orders?partnerId=partner-c", &s.ops).await;
    assert_eq!(seen_by_ops.len(), 2);
    for o in &seen_by_ops {
        conforms("Order", o);
    }
    s.shutdown().await;
}

// ------------------------------------------------------------------ 4. redrive

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_failed_by_a_fault_is_redriven_to_completion_storing_nothing_twice() {
    // RecordErrors fails once with an error no Retry matches: its Catch runs
    // MarkFeedFailed (the same function, the fault spent), which marks the
    // feed FAILED after Persist stored the valid orders.
    let s = Session::start(Options {
        faults: vec![("RecordErrorFunction".into(), "StoreError*1".into())],
        ..Options::default()
    })
    .await;
    let feed_id = s
        .post_feed(
            "key-a",
            "application/json",
            &a_feed(vec![recent_a_order(1), json!({}), recent_a_order(2)]),
        )
        .await;
    let failed = s.finished("key-a", &feed_id).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert_eq!(failed["counts"]["persisted"], 2, "{failed}");
    let seen = s.api.get_ok(&format!("/v1/admin/feeds/{feed_id}"), &s.ops).await;
    conforms("AdminFeed", &seen);
    assert_eq!(seen["status"], "FAILED");
    assert_eq!(seen["partnerId"], "partner-a");
    let before = s.api.all("/v1/admin/orders?partnerId=partner-a", &s.ops).await;
    assert_eq!(before.len(), 2, "{}", Value::from(before.clone()));

    // The operator fixes the cause first: no fault is left to fail the redrive.
    s.cloud.services.host.clear_faults();
    let redrive = s
        .api
        .call(
            "POST",
            &format!("/v1/admin/feeds/{feed_id}/redrive"),
            Some(&s.ops),
            None,
        )
        .await;
    assert_eq!(redrive.status, 202, "{}", redrive.body);
    conforms("RedriveAccepted", &redrive.body);
    assert_eq!(redrive.body["feedId"], json!(feed_id));
    assert_eq!(redrive.body["partnerId"], "partner-a");
    assert_eq!(redrive.body["redriveCount"], 1);
    assert_eq!(redrive.body["executionName"], json!(format!("{feed_id}-redrive-1")));

    let done = s.finished("key-a", &feed_id).await;
    assert_eq!(done["status"], "COMPLETED_WITH_REJECTIONS", "{done}");
    assert_eq!(
        done["counts"],
        json!({"received": 3, "persisted": 2, "duplicate": 0, "rejected": 1}),
        "the feed's own orders are its, not duplicates: {done}"
    );
    assert!(done.get("failure").is_none() || done["failure"].is_null(), "{done}");

    // The orders stored before the failure are exactly as they were.
    let after = s.api.all("/v1/admin/orders?partnerId=partner-a", &s.ops).await;
    assert_eq!(after, before, "orders changed across the redrive");
    // One rejection, recorded once: no PIPELINE_FAILED left from the failed run.
    let errors = s.api.all("/v1/admin/errors?partnerId=partner-a", &s.ops).await;
    let codes: Vec<&str> = errors.iter().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(codes, vec!["MISSING_FIELD"], "{}", Value::from(errors.clone()));
    for e in &errors {
        conforms("RejectedOrder", e);
    }

    // Once finished, it is not FAILED any more; an unknown feed is not found.
    let again = s
        .api
        .call(
            "POST",
            &format!("/v1/admin/feeds/{feed_id}/redrive"),
            Some(&s.ops),
            None,
        )
        .await;
    assert!(is_problem(&again, 409, "conflict"), "{} {}", again.status, again.body);
    let nothing = s
        .api
        .call(
            "POST",
            "/v1/admin/feeds/0190c6c2-0000-7000-8000-000000000000/redrive",
            Some(&s.admin),
            None,
        )
        .await;
    assert!(
        is_problem(&nothing, 404, "not-found"),
        "{} {}",
        nothing.status,
        nothing.body
    );

    // Both runs in the feed's executions, oldest first: the rule's, failed
    // through RecordErrors' Catch (MarkFeedFailed, then the Fail state), and
    // the redrive's, succeeded.
    let runs = settled_executions(&s, &feed_id, 2).await;
    assert_eq!(runs[0]["by"], "rule", "{}", Value::from(runs.clone()));
    assert_eq!(runs[0]["status"], "FAILED", "{}", Value::from(runs.clone()));
    assert_eq!(runs[1]["by"], "redrive");
    assert_eq!(runs[1]["name"], json!(format!("{feed_id}-redrive-1")));
    assert_eq!(runs[1]["status"], "SUCCEEDED");
    let failed_run = execution(&s, runs[0]["executionArn"].as_str().unwrap_or_default()).await;
    assert_eq!(failed_run["status"], "FAILED", "{failed_run}");
    assert!(failed_run["error"].is_string(), "{failed_run}");
    let entered = entered_states(&failed_run);
    for state in [
        "Validate",
        "Transform",
        "Persist",
        "RecordErrors",
        "MarkFeedFailed",
        "FeedFailed",
    ] {
        assert!(entered.contains(&state.to_string()), "{state} not entered: {entered:?}");
    }
    // RecordErrors' failure is among its own events.
    assert!(
        failed_run["events"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["stateName"] == "RecordErrors"
                && e["type"].as_str().is_some_and(|t| t.ends_with("Failed"))
                && e["error"].is_string()),
        "{failed_run}"
    );

    // The feed counts once in the volume figures: its failed run was taken back.
    let volume = s.api.get_ok("/v1/admin/volume?partnerId=partner-a", &s.finance).await;
    let hours = volume["items"].as_array().cloned().unwrap_or_default();
    let sum = |f: &dyn Fn(&Value) -> &Value| hours.iter().map(|h| f(h).as_u64().unwrap_or(0)).sum::<u64>();
    assert_eq!(sum(&|h| &h["feeds"]), 1, "{volume}");
    assert_eq!(sum(&|h| &h["orders"]["received"]), 3, "{volume}");
    assert_eq!(sum(&|h| &h["orders"]["persisted"]), 2, "{volume}");
    assert_eq!(sum(&|h| &h["orders"]["rejected"]), 1, "{volume}");
    assert_eq!(sum(&|h| &h["orders"]["failed"]), 0, "{volume}");
    assert_eq!(sum(&|h| &h["orders"]["duplicate"]), 0, "{volume}");
    s.shutdown().await;
}

// ------------------------------------------------------------------ 5. aggregates

/// Figures of one partner and hour: feeds, received, persisted, rejected,
/// duplicate, failed, and rejections per code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Figures {
    feeds: u64,
    received: u64,
    persisted: u64,
    rejected: u64,
    duplicate: u64,
    failed: u64,
    codes: BTreeMap<String, u64>,
}

async fn scan(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = ddb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Scan {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
        for item in out.items() {
            let v: Value = serde_dynamo::from_item(item.clone()).unwrap_or_else(|e| panic!("{table} item: {e}"));
            items.push(v);
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

fn hour_of(received_at: &str) -> String {
    received_at.chars().take(13).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_demo_the_volume_figures_equal_what_the_tables_hold() {
    let seed_file = repo().join("local/seed/partners.json");
    let seed: Value = serde_json::from_str(&std::fs::read_to_string(&seed_file).expect("seed")).expect("seed JSON");
    let s = Session::start(Options {
        seed,
        ..Options::default()
    })
    .await;
    let rows = zb_local::demo::run(
        &s.cloud.api_url,
        &s.cloud.aws_url,
        &repo().join("local/seed/feeds"),
        &seed_file,
        WAIT,
    )
    .await
    .unwrap_or_else(|e| panic!("demo: {e}"));
    assert!(rows.iter().all(|r| r.ok), "{}", zb_local::demo::render(&rows));

    // What the tables hold, per partner and hour of receipt.
    let ddb = s.ddb().await;
    let mut expected: BTreeMap<(String, String), Figures> = BTreeMap::new();
    let mut feeds_seen = 0;
    for feed in scan(&ddb, &s.table("FeedsTable")).await {
        let id = feed["feedId"].as_str().unwrap_or_default();
        if id.contains('#') {
            continue; // a body, a staged batch or an outcome page beside the record
        }
        feeds_seen += 1;
        let status = feed["status"].as_str().unwrap_or_default();
        assert_ne!(status, "RECEIVED", "the demo waited for every feed: {feed}");
        let key = (
            feed["partnerId"].as_str().unwrap_or_default().to_string(),
            hour_of(feed["receivedAt"].as_str().unwrap_or_default()),
        );
        let f = expected.entry(key).or_default();
        let count = feed["orderCount"].as_u64().unwrap_or(0);
        f.feeds += 1;
        f.received += count;
        f.duplicate += feed["counts"]["duplicate"].as_u64().unwrap_or(0);
        if status == "FAILED" {
            f.failed += count;
        }
    }
    assert_eq!(feeds_seen, rows.len(), "one feed record per demo feed");
    for order in scan(&ddb, &s.table("OrdersTable")).await {
        let key = (
            order["partnerId"].as_str().unwrap_or_default().to_string(),
            hour_of(order["receivedAt"].as_str().unwrap_or_default()),
        );
        expected.entry(key).or_default().persisted += 1;
    }
    for error in scan(&ddb, &s.table("ErrorsTable")).await {
        let code = error["code"].as_str().unwrap_or_default().to_string();
        if code == "PIPELINE_FAILED" {
            continue; // an order of a FAILED feed: counted in `failed`
        }
        let key = (
            error["partnerId"].as_str().unwrap_or_default().to_string(),
            hour_of(error["receivedAt"].as_str().unwrap_or_default()),
        );
        let f = expected.entry(key).or_default();
        f.rejected += 1;
        *f.codes.entry(code).or_default() += 1;
    }
    assert!(
        expected.values().any(|f| f.duplicate > 0) && expected.values().any(|f| f.rejected > 0),
        "the demo has duplicates and rejections: {expected:?}"
    );

    // What the admin API says, to finance.
    let volume = s.api.get_ok("/v1/admin/volume", &s.finance).await;
    let mut reported: BTreeMap<(String, String), Figures> = BTreeMap::new();
    for hour in volume["items"].as_array().cloned().unwrap_or_default() {
        conforms("VolumeHour", &hour);
        let o = &hour["orders"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let figures = Figures {
            feeds: n(&hour["feeds"]),
            received: n(&o["received"]),
            persisted: n(&o["persisted"]),
            rejected: n(&o["rejected"]),
            duplicate: n(&o["duplicate"]),
            failed: n(&o["failed"]),
            codes: hour["rejectionCodes"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), n(v)))
                        .filter(|(_, v)| *v > 0)
                        .collect()
                })
                .unwrap_or_default(),
        };
        let latency = &hour["latencyMs"];
        if figures.feeds > 0 {
            assert!(
                latency["p50"].as_u64() <= latency["p95"].as_u64() && latency["p95"].as_u64().is_some(),
                "{hour}"
            );
        }
        let key = (
            hour["partnerId"].as_str().unwrap_or_default().to_string(),
            hour["hour"].as_str().unwrap_or_default().to_string(),
        );
        assert!(reported.insert(key, figures).is_none(), "an hour listed twice: {hour}");
    }
    assert_eq!(reported, expected, "GET /v1/admin/volume differs from the tables");

    // Per partner, the same figures.
    for partner in ["partner-a", "partner-b"] {
        let one = s
            .api
            .get_ok(&format!("/v1/admin/volume?partnerId={partner}"), &s.ops)
            .await;
        let items = one["items"].as_array().cloned().unwrap_or_default();
        assert!(items.iter().all(|h| h["partnerId"] == partner), "{one}");
        let want = expected.keys().filter(|(p, _)| p == partner).count();
        assert_eq!(items.len(), want, "{one}");
    }
    s.shutdown().await;
}

// ------------------------------------------------------------------ 6. executions

/// GET /v1/admin/executions/{arn} as ops, the ARN percent-encoded as the
/// console's `encodeURIComponent` does it; the answer checked against the document.
async fn execution(s: &Session, arn: &str) -> Value {
    let encoded: String = arn
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let got = s.api.get_ok(&format!("/v1/admin/executions/{encoded}"), &s.ops).await;
    conforms("Execution", &got);
    got
}

/// The states an execution entered, in order.
fn entered_states(execution: &Value) -> Vec<String> {
    execution["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.ends_with("StateEntered")))
        .filter_map(|e| e["stateName"].as_str().map(str::to_string))
        .collect()
}

/// The feed's executions once `count` of them have ended (a feed's status
/// is final before its execution's last line is logged).
async fn settled_executions(s: &Session, feed_id: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let page = s
            .api
            .get_ok(&format!("/v1/admin/feeds/{feed_id}/executions"), &s.ops)
            .await;
        conforms("FeedExecutionList", &page);
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() == count && items.iter().all(|i| i["status"] != "RUNNING") {
            return items;
        }
        assert!(started.elapsed() < WAIT, "{feed_id}: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feeds_executions_come_from_the_log_and_a_deliverys_from_its_history() {
    // Partner A has a webhook, so its feed also starts a webhook-delivery run.
    let hook = Receiver::start(vec![200]).await;
    let mut options = Options::default();
    options.seed[0]["webhookUrl"] = json!(hook.url);
    options.seed[0]["webhookSecret"] = json!(SECRET_B);
    let s = Session::start(options).await;
    let feed_id = s
        .post_feed(
            "key-a",
            "application/json",
            &a_feed(vec![recent_a_order(41), recent_a_order(42)]),
        )
        .await;
    let done = s.finished("key-a", &feed_id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // The two machines, each with its definition.
    let machines = s.api.get_ok("/v1/admin/state-machines", &s.ops).await;
    conforms("StateMachineList", &machines);
    let items = machines["items"].as_array().cloned().unwrap_or_default();
    let keys: Vec<&str> = items.iter().filter_map(|m| m["key"].as_str()).collect();
    assert_eq!(keys, ["order-pipeline", "webhook-delivery"], "{machines}");
    let pipeline = &items[0];
    assert_eq!(pipeline["type"], "EXPRESS", "the template's default WorkflowType");
    for state in ["Validate", "Transform", "Persist", "RecordErrors", "Done"] {
        assert!(
            pipeline["definition"]["States"][state].is_object(),
            "{state}: {pipeline}"
        );
    }
    let webhook = &items[1];
    assert_eq!(webhook["type"], "STANDARD");
    assert!(webhook["definition"]["States"]["Attempt"].is_object(), "{webhook}");

    // The feed's one execution, started by the rule, from the log group.
    let runs = settled_executions(&s, &feed_id, 1).await;
    let run = &runs[0];
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["by"], "rule", "{run}");
    assert!(run["stopDate"].is_string(), "{run}");
    let arn = run["executionArn"].as_str().unwrap_or_default().to_string();
    assert!(arn.contains(":express:"), "{arn}");

    // Its events, from the log lines: the pipeline's states, in order, each
    // defined in the machine's definition.
    let shown = execution(&s, &arn).await;
    assert_eq!(shown["source"], "log", "{shown}");
    assert_eq!(shown["status"], "SUCCEEDED");
    assert_eq!(shown["name"], run["name"]);
    assert_eq!(shown["stateMachine"]["key"], "order-pipeline");
    assert_eq!(shown["stateMachine"]["type"], "EXPRESS");
    assert_eq!(shown["stateMachine"]["stateMachineArn"], pipeline["stateMachineArn"]);
    assert!(shown["input"].as_str().is_some_and(|i| i.contains(&feed_id)), "{shown}");
    let entered = entered_states(&shown);
    assert_eq!(
        entered,
        ["Validate", "Transform", "Persist", "HasRejections", "Done"],
        "{shown}"
    );
    for state in &entered {
        assert!(
            pipeline["definition"]["States"][state].is_object(),
            "{state} is not defined"
        );
    }
    let events = shown["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        events.first().map(|e| e["type"].clone()),
        Some(json!("ExecutionStarted"))
    );
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("ExecutionSucceeded"))
    );
    // A Task's own events (lambda:invoke: TaskScheduled, TaskStarted,
    // TaskSucceeded) belong to its state.
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "TaskSucceeded" && e["stateName"] == "Persist"),
        "{shown}"
    );

    // The webhook delivery's run (Standard, named after the delivery) from its history.
    let delivery = {
        let started = Instant::now();
        loop {
            let page = s
                .api
                .get_ok("/v1/admin/deliveries?partnerId=partner-a&status=DELIVERED", &s.ops)
                .await;
            if let Some(d) = page["items"].as_array().and_then(|i| i.first()) {
                break d["deliveryId"].as_str().expect("deliveryId").to_string();
            }
            assert!(started.elapsed() < WAIT, "no DELIVERED delivery: {page}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let machine_arn = webhook["stateMachineArn"].as_str().unwrap_or_default();
    let delivery_arn = format!(
        "{}:{delivery}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    );
    let started = Instant::now();
    let run = loop {
        let run = execution(&s, &delivery_arn).await;
        if run["status"] != "RUNNING" {
            break run;
        }
        assert!(started.elapsed() < WAIT, "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(run["source"], "history", "{run}");
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["name"], json!(delivery));
    assert_eq!(run["stateMachine"]["key"], "webhook-delivery");
    assert_eq!(run["stateMachine"]["type"], "STANDARD");
    let entered = entered_states(&run);
    assert_eq!(entered.first().map(String::as_str), Some("Attempt"), "{run}");
    assert!(entered.contains(&"Delivered".to_string()), "{entered:?}");

    // Ops may look, finance may not.
    for path in [
        format!("/v1/admin/feeds/{feed_id}/executions"),
        "/v1/admin/state-machines".to_string(),
        format!("/v1/admin/executions/{arn}"),
    ] {
        let refused = s.api.call("GET", &path, Some(&s.finance), None).await;
        assert!(
            is_problem(&refused, 403, "forbidden"),
            "{path}: {} {}",
            refused.status,
            refused.body
        );
        let admin = s.api.call("GET", &path, Some(&s.admin), None).await;
        assert_eq!(admin.status, 200, "{path}: {}", admin.body);
    }

    // What is not there: another machine's execution, a malformed ARN, an unknown feed.
    let elsewhere = s
        .api
        .call(
            "GET",
            "/v1/admin/executions/arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3Aexecution%3Aelsewhere%3Ax",
            Some(&s.ops),
            None,
        )
        .await;
    assert!(
        is_problem(&elsewhere, 404, "not-found"),
        "{} {}",
        elsewhere.status,
        elsewhere.body
    );
    let malformed = s
        .api
        .call("GET", "/v1/admin/executions/not-an-arn", Some(&s.ops), None)
        .await;
    assert!(
        is_problem(&malformed, 400, "bad-request"),
        "{} {}",
        malformed.status,
        malformed.body
    );
    assert_eq!(
        malformed.body["errors"][0]["parameter"], "executionArn",
        "{}",
        malformed.body
    );
    let unknown = s
        .api
        .call(
            "GET",
            "/v1/admin/feeds/0190c6c2-0000-7000-8000-000000000000/executions",
            Some(&s.ops),
            None,
        )
        .await;
    assert!(
        is_problem(&unknown, 404, "not-found"),
        "{} {}",
        unknown.status,
        unknown.body
    );

    // The feed that stored an order, by its sequence number.
    let found = s
        .api
        .get_ok("/v1/admin/feeds?partnerId=partner-a&orderId=42", &s.ops)
        .await;
    conforms("FeedPage", &found);
    let ids: Vec<&str> = found["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["feedId"].as_str())
        .collect();
    assert_eq!(ids, [feed_id.as_str()], "{found}");
    let none = s
        .api
        .get_ok("/v1/admin/feeds?partnerId=partner-a&orderId=43", &s.ops)
        .await;
    assert_eq!(none["items"], json!([]), "{none}");
    let other = s
        .api
        .get_ok("/v1/admin/feeds?partnerId=partner-a&orderId=42&status=FAILED", &s.ops)
        .await;
    assert_eq!(other["items"], json!([]), "{other}");
    let alone = s
        .api
        .call("GET", "/v1/admin/feeds?orderId=42", Some(&s.ops), None)
        .await;
    assert!(
        is_problem(&alone, 400, "bad-request"),
        "{} {}",
        alone.status,
        alone.body
    );
    assert_eq!(alone.body["errors"][0]["parameter"], "orderId", "{}", alone.body);
    s.shutdown().await;
}
