//! The admin API's handler against DynamoDB Local, called with payload 2.0
//! events as API Gateway's JWT authorizer hands them on: every claim a
//! string, `cognito:groups` as `"[admin ops]"`
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use zb_shared::delivery::{Delivery, DeliveryStatus};
use zb_shared::store::{AuditStore, DeliveryStore};
use zb_shared::workflow::SfnStarter;
use zb_tests::api::{from_json, lambda_event, seen, Request, Seen};
use zb_tests::cloud::shared_cloud;
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order, clock};
use zb_tests::template::{repo_root, Template};
use zb_tests::wiring::Env;

/// Who calls, as the claims of the token say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Ops,
    Finance,
    /// An access token of a user in no group (Cognito then leaves the claim out).
    Nobody,
    /// An ID token of an admin: the wrong kind of token.
    IdToken,
}

const EVERYONE: [Who; 5] = [Who::Admin, Who::Ops, Who::Finance, Who::Nobody, Who::IdToken];

/// The claims API Gateway passes on for `who`, every value a string.
fn claims(who: Who) -> Value {
    let (user, groups, token_use) = match who {
        Who::Admin => ("admin", Some("[admin]"), "access"),
        Who::Ops => ("ops", Some("[ops]"), "access"),
        Who::Finance => ("finance", Some("[finance]"), "access"),
        Who::Nobody => ("nobody", None, "access"),
        Who::IdToken => ("admin", Some("[admin]"), "id"),
    };
    claims_of(user, groups, token_use)
}

fn claims_of(user: &str, groups: Option<&str>, token_use: &str) -> Value {
    let mut c = json!({
        "sub": format!("sub-{user}"),
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL1",
        "version": "2",
        "client_id": "abcdefghijklmnopqrstuvwxyz",
        "origin_jti": "c0ffee00-0000-4000-8000-000000000000",
        "event_id": "e0000000-0000-4000-8000-000000000000",
        "token_use": token_use,
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": "1767268800",
        "exp": "1767272400",
        "iat": "1767268800",
        "jti": "0f000000-0000-4000-8000-000000000000",
    });
    if token_use == "access" {
        c["username"] = json!(user);
    } else {
        c["cognito:username"] = json!(user);
        c["aud"] = json!("abcdefghijklmnopqrstuvwxyz");
    }
    if let Some(g) = groups {
        c["cognito:groups"] = json!(g);
    }
    c
}

/// `req` with the JWT authorizer's context for these claims.
fn with_claims(req: &Request, claims: Option<Value>) -> ApiGatewayV2httpRequest {
    let mut v = serde_json::to_value(req.build()).expect("the request serializes");
    if let Some(c) = claims {
        v["requestContext"]["authorizer"] = json!({"jwt": {"claims": c, "scopes": null}});
    }
    from_json(v)
}

/// An admin API request for a route and its concrete path.
fn admin_req(method: &'static str, route: &str, path: &str) -> Request {
    Request::new(method, route, path)
}

struct Admin {
    env: Env,
    app: admin::App,
    /// The stand-in order pipeline a redrive starts.
    pipeline_arn: String,
}

impl Admin {
    async fn new() -> Self {
        let env = Env::new().await;
        let audit_table = extra_table(&env.ddb, "AuditTable").await;
        let metrics = env.metrics();
        let pipeline_arn = pipeline_arn().await;
        let pipeline = SfnStarter::new(sfn().await, &pipeline_arn);
        let app = admin::App {
            partners: env.partners(),
            onboarding: zb_shared::onboarding::Onboarding {
                store: env.partners(),
                clock: clock(),
                url_policy: zb_shared::ssrf::UrlPolicy::AllowLoopbackHttp,
                formats: env.formats.ids().map(str::to_string).collect(),
            },
            feeds: env.feeds(),
            orders: env.orders(),
            errors: env.errors(),
            deliveries: env.deliveries(),
            audit: AuditStore::new(env.ddb.clone(), &audit_table),
            metrics,
            costs: zb_shared::store::CostStore::new(env.ddb.clone(), &env.tables.metrics),
            formats: zb_shared::format::FormatResolver::with_clock(
                env.formats.clone(),
                Some(env.format_store()),
                clock(),
            ),
            pipeline,
            webhooks: env.starter().await,
            machines: admin::Machines {
                order_pipeline: pipeline_arn.clone(),
                webhook_delivery: template_machine_arn("WebhookDeliveryStateMachine").await,
            },
            executions: admin::ExecutionReader::new(sfn().await, logs().await),
            // The privacy routes are covered end to end (tests/e2e_privacy.rs).
            privacy: None,
            clock: clock(),
            function_name: "admin".into(),
        };
        Self { env, app, pipeline_arn }
    }

    async fn call(&self, who: Option<Value>, req: &Request) -> Seen {
        let event = lambda_event(with_claims(req, who));
        seen(admin::handler(&self.app, event).await.unwrap_or_else(|e| match e {}))
    }

    async fn as_(&self, who: Who, req: &Request) -> Seen {
        self.call(Some(claims(who)), req).await
    }

    async fn audit(&self) -> Vec<Value> {
        let page = self
            .as_(Who::Admin, &admin_req("GET", "/v1/admin/audit", "/v1/admin/audit"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.body["items"].as_array().cloned().unwrap_or_default()
    }
}

/// One table of template.yaml (by logical id) under a fresh name, made by
/// the local cloud's own code, as `zb_tests::create_tables` makes the rest.
async fn extra_table(ddb: &aws_sdk_dynamodb::Client, logical_id: &str) -> String {
    let template = Template::load();
    let text = serde_yaml::to_string(&template.doc).expect("template.yaml");
    let model = zb_local::template::parse(&text, &repo_root(), "test", &BTreeMap::new())
        .unwrap_or_else(|e| panic!("template.yaml: {e}"));
    let table = model
        .tables
        .into_iter()
        .find(|t| t.logical_id == logical_id)
        .unwrap_or_else(|| panic!("template.yaml has no table {logical_id}"));
    let name = format!("{logical_id}-{}", uuid::Uuid::new_v4().simple());
    zb_local::tables::create(ddb, &table, &name)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..200 {
        let out = ddb.describe_table().table_name(&name).send().await;
        if out
            .ok()
            .and_then(|o| o.table)
            .and_then(|t| t.table_status)
            .is_some_and(|s| s == aws_sdk_dynamodb::types::TableStatus::Active)
        {
            return name;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{name} did not become ACTIVE");
}

async fn sfn() -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(&aws_sdk().await)
}

async fn logs() -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&aws_sdk().await)
}

/// The ARN of one of the template's state machines on the shared local cloud.
async fn template_machine_arn(logical_id: &str) -> String {
    shared_cloud()
        .await
        .model
        .state_machines
        .iter()
        .find(|m| m.logical_id == logical_id)
        .map(|m| m.arn.clone())
        .unwrap_or_else(|| panic!("template.yaml has no {logical_id}"))
}

async fn aws_sdk() -> aws_config::SdkConfig {
    let cloud = shared_cloud().await;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&cloud.aws_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "AKIDZBTESTADMIN",
            "local",
            None,
            None,
            "zb-tests",
        ))
        .load()
        .await
}

/// A Standard state machine of one Pass state on the shared local cloud,
/// standing in for the order pipeline: a redrive's StartExecution is real,
/// and DescribeExecution shows its name and input (a Standard machine's
/// executions can be described; https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
async fn pipeline_arn() -> String {
    let definition = json!({"StartAt": "Run", "States": {"Run": {"Type": "Pass", "End": true}}});
    sfn()
        .await
        .create_state_machine()
        .name(format!("admin-test-pipeline-{}", uuid::Uuid::new_v4().simple()))
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/zb-tests")
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStateMachine: {}", aws_sdk_sfn::error::DisplayErrorContext(&e)))
        .state_machine_arn()
        .to_string()
}

const PARTNER: &str = "partner-m";
const FEED: &str = "0190a000-0000-7000-8000-000000000001";
/// An execution ARN of no machine of the stack (a 404 to those allowed).
const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:elsewhere:none";

/// A request on `route` that an allowed caller can make without harm.
fn matrix_request(method: &'static str, route: &str) -> Request {
    let path = route
        .replace("{partnerId}", PARTNER)
        .replace("{feedId}", FEED)
        .replace("{formatId}", "partner-a@1")
        .replace("{deliveryId}", "20260101T000000Z-none")
        .replace("{executionArn}", EXECUTION);
    let mut req = admin_req(method, route, &path);
    for (name, value) in [
        ("partnerId", PARTNER),
        ("feedId", FEED),
        ("formatId", "partner-a@1"),
        ("deliveryId", "20260101T000000Z-none"),
        ("executionArn", EXECUTION),
    ] {
        if route.contains(&format!("{{{name}}}")) {
            req = req.path_param(name, value);
        }
    }
    match (method, route) {
        ("POST", "/v1/admin/partners") => req.body(json!({"name": "Matrix Co", "format": "partner-a@1"}).to_string()),
        ("PATCH", _) => req.body("{}"),
        ("POST", "/v1/admin/formats") => req.body("{}"),
        ("GET", "/v1/admin/orders") => req.query("partnerId", PARTNER),
        _ => req,
    }
}

/// Issue 14's table, written out here (not derived from the code): each
/// route and who may call it. `Who::Nobody` and `Who::IdToken` may call none.
const MATRIX: [(&str, &str, &[Who]); 25] = {
    use Who::{Admin as A, Finance as F, Ops as O};
    [
        ("GET", "/v1/admin/me", &[A, O, F]),
        ("GET", "/v1/admin/partners", &[A, O]),
        ("POST", "/v1/admin/partners", &[A]),
        ("GET", "/v1/admin/partners/{partnerId}", &[A, O]),
        ("PATCH", "/v1/admin/partners/{partnerId}", &[A]),
        ("POST", "/v1/admin/partners/{partnerId}/disable", &[A]),
        ("POST", "/v1/admin/partners/{partnerId}/rotate-key", &[A]),
        ("POST", "/v1/admin/partners/{partnerId}/rotate-secret", &[A]),
        ("GET", "/v1/admin/formats", &[A, O]),
        ("POST", "/v1/admin/formats", &[A]),
        ("GET", "/v1/admin/formats/{formatId}", &[A, O]),
        ("GET", "/v1/admin/feeds", &[A, O]),
        ("GET", "/v1/admin/feeds/{feedId}", &[A, O]),
        ("POST", "/v1/admin/feeds/{feedId}/redrive", &[A, O]),
        ("GET", "/v1/admin/feeds/{feedId}/executions", &[A, O]),
        ("GET", "/v1/admin/executions/{executionArn}", &[A, O]),
        ("GET", "/v1/admin/state-machines", &[A, O]),
        ("GET", "/v1/admin/orders", &[A, O]),
        ("GET", "/v1/admin/errors", &[A, O]),
        ("GET", "/v1/admin/deliveries", &[A, O]),
        (
            "POST",
            "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay",
            &[A, O],
        ),
        ("GET", "/v1/admin/volume", &[A, O, F]),
        ("GET", "/v1/admin/cost", &[A, O, F]),
        ("GET", "/v1/admin/cost/feeds/{feedId}", &[A, O, F]),
        ("GET", "/v1/admin/audit", &[A]),
    ]
};

/// The roles a refused route is for, as its 403 names them.
fn roles_named(allowed: &[Who]) -> Vec<&'static str> {
    allowed
        .iter()
        .map(|w| match w {
            Who::Admin => "admin",
            Who::Ops => "ops",
            _ => "finance",
        })
        .collect()
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_of_the_contract() {
    let t = Admin::new().await;
    zb_tests::seed_env_partner(&t.env, PARTNER, "partner-a@1", "key-m", None).await;
    for (method, route, allowed) in MATRIX {
        for who in EVERYONE {
            let req = matrix_request(method, route);
            let got = t.as_(who, &req).await;
            if allowed.contains(&who) {
                assert!(
                    got.status != 403 && got.status < 500,
                    "{who:?} may call {method} {route}, got {}: {}",
                    got.status,
                    got.body
                );
            } else {
                got.assert_problem(403);
                assert_eq!(got.body["type"], "https://api.zerobeta.example/problems/forbidden");
                let detail = got.body["detail"].as_str().unwrap_or_default();
                for role in roles_named(allowed) {
                    assert!(
                        detail.contains(role),
                        "{method} {route}: the 403 names {role}: {detail}"
                    );
                }
                assert!(got.request_id.is_some(), "the 403 carries the request id");
            }
        }
        // No claims at all (a route wired without the authorizer) is nobody.
        let got = t.call(None, &matrix_request(method, route)).await;
        got.assert_problem(403);
    }
}

#[tokio::test]
async fn groups_arrive_as_api_gateway_renders_them_and_a_user_gets_their_union() {
    let t = Admin::new().await;
    let me = admin_req("GET", "/v1/admin/me", "/v1/admin/me");
    let got = t
        .call(Some(claims_of("pat", Some("[ops finance]"), "access")), &me)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["username"], "pat");
    assert_eq!(got.body["groups"], json!(["ops", "finance"]));
    assert_eq!(got.body["roles"], json!(["ops", "finance"]));
    // ops from one group, finance from the other: the audit log is admin's only.
    let audit = admin_req("GET", "/v1/admin/audit", "/v1/admin/audit");
    let got = t
        .call(Some(claims_of("pat", Some("[ops finance]"), "access")), &audit)
        .await;
    got.assert_problem(403);
    // A group this API does not know gives no role.
    let got = t.call(Some(claims_of("eve", Some("[auditors]"), "access")), &me).await;
    got.assert_problem(403);
    // A JSON array text is read too.
    let got = t
        .call(Some(claims_of("ann", Some(r#"["admin"]"#), "access")), &audit)
        .await;
    assert_eq!(got.status, 200, "{}", got.body);
    // An ID token is refused whatever its groups, and says why.
    let got = t.as_(Who::IdToken, &me).await;
    got.assert_problem(403);
    assert!(got.body["detail"].as_str().unwrap_or_default().contains("access token"));
}

#[tokio::test]
async fn a_new_partners_key_is_shown_once_and_never_listed() {
    let t = Admin::new().await;
    let create = admin_req("POST", "/v1/admin/partners", "/v1/admin/partners").body(
        json!({"name": "Acme Co", "format": "partner-b@1", "webhookUrl": "http://127.0.0.1:9/hook",
               "rateLimit": {"rate": 5, "burst": 10}})
        .to_string(),
    );
    let created = t.as_(Who::Admin, &create).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["partnerId"], "acme-co");
    let key = created.body["apiKey"].as_str().expect("the key, once").to_string();
    let secret = created.body["webhookSecret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created.body["partner"]["rateLimit"], json!({"rate": 5, "burst": 10}));

    // The key works at the partner API's authorizer.
    let hash = zb_shared::apikey::hash_api_key(&key);
    let stored = t
        .env
        .partners()
        .get_key(&hash, &zb_shared::cost::CostMeter::default())
        .await
        .expect("read")
        .expect("the key's item");
    assert_eq!(stored.partner_id, "acme-co");

    let list = t
        .as_(Who::Ops, &admin_req("GET", "/v1/admin/partners", "/v1/admin/partners"))
        .await;
    let show = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/partners/{partnerId}", "/v1/admin/partners/acme-co")
                .path_param("partnerId", "acme-co"),
        )
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(show.status, 200);
    assert_eq!(list.body["items"][0]["partnerId"], "acme-co");
    assert!(list.body.get("nextCursor").is_none(), "no cursor on the last page");
    for body in [&list.body, &show.body] {
        let text = body.to_string();
        for leaked in [
            key.as_str(),
            secret.as_str(),
            hash.as_str(),
            "apiKey",
            "webhookSecret",
            "KeyHash",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
    }
    // The audit entry has neither.
    let audit = t.audit().await;
    let text = json!(audit).to_string();
    assert!(!text.contains(&key) && !text.contains(&secret) && !text.contains(&hash));
    assert_eq!(audit[0]["after"]["apiKey"], "[redacted]");
    assert_eq!(audit[0]["after"]["webhookSecret"], "[redacted]");

    // The same id again is a conflict, and writes no entry.
    let again = t.as_(Who::Admin, &create).await;
    again.assert_problem(409);
    assert_eq!(t.audit().await.len(), 1);
}

fn partner_route(method: &'static str, suffix: &str, partner: &str) -> Request {
    admin_req(
        method,
        &format!("/v1/admin/partners/{{partnerId}}{suffix}"),
        &format!("/v1/admin/partners/{partner}{suffix}"),
    )
    .path_param("partnerId", partner)
}

fn dead_delivery(partner: &str, id: &str, status: DeliveryStatus) -> Delivery {
    Delivery {
        partner_id: partner.into(),
        delivery_id: id.into(),
        webhook_id: format!("msg_{id}"),
        event_type: "orders.persisted".into(),
        body: json!({"type": "orders.persisted"}).to_string(),
        status,
        attempts: Vec::new(),
        replays: 0,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        last_error: Some("HTTP 500".into()),
        expires_at: 4_000_000_000,
    }
}

#[tokio::test]
async fn every_change_writes_an_audit_entry_with_before_and_after() {
    let t = Admin::new().await;
    let create = admin_req("POST", "/v1/admin/partners", "/v1/admin/partners")
        .header("x-request-id", "req-create")
        .header("x-correlation-id", "corr-1")
        .body(json!({"partnerId": "audited", "name": "Audited", "format": "partner-a@1"}).to_string());
    assert_eq!(t.as_(Who::Admin, &create).await.status, 201);
    let patch = partner_route("PATCH", "", "audited")
        .body(json!({"name": "Audited Ltd", "rateLimit": {"rate": 7, "burst": 7}}).to_string());
    let patched = t.as_(Who::Admin, &patch).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"], "Audited Ltd");
    let key = t
        .as_(Who::Admin, &partner_route("POST", "/rotate-key", "audited"))
        .await;
    assert_eq!(key.status, 200, "{}", key.body);
    assert!(key.body["apiKey"].is_string() && key.body.get("webhookSecret").is_none());
    let secret = t
        .as_(Who::Admin, &partner_route("POST", "/rotate-secret", "audited"))
        .await;
    assert_eq!(secret.status, 200, "{}", secret.body);
    assert!(secret.body["webhookSecret"].is_string() && secret.body.get("apiKey").is_none());
    let disabled = t.as_(Who::Admin, &partner_route("POST", "/disable", "audited")).await;
    assert_eq!(disabled.status, 200);
    assert_eq!(disabled.body["status"], "DISABLED");

    // A dead delivery replayed by ops.
    let deliveries = DeliveryStore::new(t.env.ddb.clone(), &t.env.tables.deliveries);
    let meter = zb_shared::cost::CostMeter::default();
    let id = "20260101T000000Z-evt-1";
    deliveries
        .create(&dead_delivery("audited", id, DeliveryStatus::Dead), &meter)
        .await
        .expect("seed a delivery");
    let replay = admin_req(
        "POST",
        "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay",
        &format!("/v1/admin/partners/audited/deliveries/{id}/replay"),
    )
    .path_param("partnerId", "audited")
    .path_param("deliveryId", id);
    let replayed = t.as_(Who::Ops, &replay).await;
    assert_eq!(replayed.status, 202, "{}", replayed.body);
    assert_eq!(replayed.body["executionName"], format!("{id}-r1"));
    assert_eq!(replayed.body["replays"], 1);
    let runs = t.env.runs().await;
    assert!(runs.iter().any(|(name, _)| name == &format!("{id}-r1")), "{runs:?}");
    // Not DEAD any more: a second replay is a conflict.
    t.as_(Who::Ops, &replay).await.assert_problem(409);

    let audit = t.audit().await;
    let actions: Vec<_> = audit.iter().map(|e| e["action"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        actions,
        [
            "delivery.replay",
            "partner.disable",
            "partner.rotate-secret",
            "partner.rotate-key",
            "partner.update",
            "partner.create"
        ],
        "newest first"
    );
    let created = &audit[5];
    assert_eq!(created["target"], "partner/audited");
    assert_eq!(
        created["actor"],
        json!({"sub": "sub-admin", "username": "admin", "groups": ["admin"]})
    );
    assert_eq!(created["requestId"], "req-create");
    assert_eq!(created["correlationId"], "corr-1");
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"]["name"], "Audited");
    let updated = &audit[4];
    assert_eq!(updated["before"]["name"], "Audited");
    assert_eq!(updated["after"]["name"], "Audited Ltd");
    assert_eq!(updated["after"]["rateLimit"], json!({"rate": 7, "burst": 7}));
    assert_eq!(updated["before"]["webhookSecret"], "[redacted]");
    assert_eq!(audit[3]["after"]["apiKey"], "[redacted]");
    assert_eq!(audit[3]["after"]["currentKeyHash"], "[redacted]");
    assert_eq!(audit[2]["before"]["webhookSecret"], "[redacted]");
    assert_eq!(audit[1]["before"]["status"], "ACTIVE");
    assert_eq!(audit[1]["after"]["status"], "DISABLED");
    let replay_entry = &audit[0];
    assert_eq!(replay_entry["target"], format!("delivery/audited/{id}"));
    assert_eq!(replay_entry["actor"]["username"], "ops");
    assert_eq!(replay_entry["before"]["status"], "DEAD");
    assert_eq!(replay_entry["after"]["status"], "PENDING");
    let text = json!(audit).to_string();
    assert!(!text.contains("whsec_"), "no secret in the audit log");

    // Reads write nothing; the actor filter and a time window.
    let by_ops = t
        .as_(
            Who::Admin,
            &admin_req("GET", "/v1/admin/audit", "/v1/admin/audit").query("actor", "ops"),
        )
        .await;
    assert_eq!(by_ops.body["items"].as_array().map(Vec::len), Some(1));
    let later = t
        .as_(
            Who::Admin,
            &admin_req("GET", "/v1/admin/audit", "/v1/admin/audit").query("from", "2026-01-01T12:00:01Z"),
        )
        .await;
    assert_eq!(
        later.body["items"],
        json!([]),
        "every entry was made at the fixed clock's 12:00:00"
    );
    // Page by page, newest first, every entry once.
    let mut seen_ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = admin_req("GET", "/v1/admin/audit", "/v1/admin/audit").query("limit", "4");
        if let Some(c) = &cursor {
            req = req.query("cursor", c);
        }
        let page = t.as_(Who::Admin, &req).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for e in page.body["items"].as_array().cloned().unwrap_or_default() {
            seen_ids.push(e["entryId"].as_str().unwrap_or_default().to_string());
        }
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let all: Vec<_> = audit
        .iter()
        .map(|e| e["entryId"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(seen_ids, all);
}

#[tokio::test]
async fn bad_filters_and_bodies_are_400_naming_the_parameter_or_member() {
    let t = Admin::new().await;
    let get = |route: &str| admin_req("GET", route, route);
    let cases: Vec<(Request, &str)> = vec![
        (get("/v1/admin/partners").query("limit", "0"), "limit"),
        (get("/v1/admin/partners").query("limit", "101"), "limit"),
        (get("/v1/admin/partners").query("cursor", "not-a-cursor"), "cursor"),
        (get("/v1/admin/orders"), "partnerId"),
        (get("/v1/admin/orders").query("partnerId", "Partner A"), "partnerId"),
        (
            get("/v1/admin/orders")
                .query("partnerId", "partner-a")
                .query("from", "yesterday"),
            "from",
        ),
        (
            get("/v1/admin/orders")
                .query("partnerId", "partner-a")
                .query("from", "2026-01-02T00:00:00Z")
                .query("to", "2026-01-01T00:00:00Z"),
            "from",
        ),
        (
            get("/v1/admin/orders")
                .query("partnerId", "partner-a")
                .query("cursor", "eyJ4IjoxfQ"),
            "cursor",
        ),
        (get("/v1/admin/errors").query("code", "NOT_A_CODE"), "code"),
        (get("/v1/admin/errors").query("to", "soon"), "to"),
        (get("/v1/admin/deliveries").query("status", "lost"), "status"),
        (
            get("/v1/admin/deliveries").query("cursor", "eyJsIjoiZmVlZHMiLCJwIjoiYSIsImMiOm51bGx9"),
            "cursor",
        ),
        (get("/v1/admin/audit").query("actor", &"x".repeat(257)), "actor"),
        (get("/v1/admin/feeds").query("orderId", "1"), "orderId"),
        (
            get("/v1/admin/feeds")
                .query("partnerId", "partner-a")
                .query("orderId", "+1"),
            "orderId",
        ),
        (
            get("/v1/admin/feeds")
                .query("partnerId", "partner-a")
                .query("orderId", &"9".repeat(20)),
            "orderId",
        ),
        (
            admin_req(
                "GET",
                "/v1/admin/executions/{executionArn}",
                "/v1/admin/executions/not-an-arn",
            )
            .path_param("executionArn", "not-an-arn"),
            "executionArn",
        ),
        (
            admin_req(
                "GET",
                "/v1/admin/executions/{executionArn}",
                "/v1/admin/executions/arn%zz",
            )
            .path_param("executionArn", "arn%zz"),
            "executionArn",
        ),
        (get("/v1/admin/audit").query("from", "2026-13-01T00:00:00Z"), "from"),
        (
            admin_req(
                "GET",
                "/v1/admin/partners/{partnerId}",
                "/v1/admin/partners/Not%20Valid",
            )
            .path_param("partnerId", "Not Valid"),
            "partnerId",
        ),
    ];
    for (req, parameter) in cases {
        let got = t.as_(Who::Admin, &req).await;
        got.assert_problem(400);
        assert_eq!(got.fault()["parameter"], parameter, "{}", got.body);
    }

    let create = |body: Value| admin_req("POST", "/v1/admin/partners", "/v1/admin/partners").body(body.to_string());
    let bodies: Vec<(Value, &str)> = vec![
        (json!({"format": "partner-a@1"}), "/name"),
        (json!({"name": "X", "format": "partner-z@9"}), "/format"),
        (json!({"name": "X"}), "/format"),
        (
            json!({"name": "X", "format": "partner-a@1", "partnerId": "Bad Id"}),
            "/partnerId",
        ),
        (
            json!({"name": "X", "format": "partner-a@1", "rateLimit": {"rate": 0, "burst": 1}}),
            "/rateLimit/rate",
        ),
        (
            json!({"name": "X", "format": "partner-a@1", "webhookUrl": "ftp://example.com"}),
            "/webhookUrl",
        ),
    ];
    for (body, pointer) in bodies {
        let got = t.as_(Who::Admin, &create(body.clone())).await;
        got.assert_problem(400);
        assert_eq!(got.fault()["pointer"], pointer, "{body}: {}", got.body);
    }
    let malformed = t
        .as_(
            Who::Admin,
            &admin_req("POST", "/v1/admin/partners", "/v1/admin/partners").body("{not json"),
        )
        .await;
    malformed.assert_problem(400);
    assert_eq!(
        malformed.body["type"],
        "https://api.zerobeta.example/problems/malformed-body"
    );
    assert_eq!(malformed.fault()["pointer"], "");
    // A PATCH of an unknown partner is a 404, not a creation.
    let got = t
        .as_(Who::Admin, &partner_route("PATCH", "", "nobody-here").body("{}"))
        .await;
    got.assert_problem(404);
    assert!(t.audit().await.is_empty(), "refused changes are not audited");
}

#[tokio::test]
async fn errors_and_deliveries_are_listed_partner_by_partner_with_filters() {
    let t = Admin::new().await;
    zb_tests::seed_env_partner(&t.env, "partner-a", "partner-a@1", "key-a", None).await;
    zb_tests::seed_env_partner(&t.env, "partner-b", "partner-b@1", "key-b", None).await;
    // One rejected order per partner, and persisted ones for A.
    let mut bad_a = a_order(9);
    bad_a["currency"] = json!("XYZ");
    let (resp, feed) = t
        .env
        .ingest_feed(&Request::post_feed(
            "partner-a",
            "partner-a@1",
            &a_feed(vec![a_order(1), a_order(2), bad_a]),
        ))
        .await;
    assert_eq!(resp.status, 202);
    t.env.run_pipeline(&feed.expect("announced")).await;
    let mut bad_b = b_order(5);
    bad_b.as_object_mut().map(|o| o.remove("order_ref"));
    let (resp, feed) = t
        .env
        .ingest_feed(&Request::post_feed("partner-b", "partner-b@1", &b_feed(vec![bad_b])))
        .await;
    assert_eq!(resp.status, 202);
    t.env.run_pipeline(&feed.expect("announced")).await;

    let errors = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/errors", "/v1/admin/errors").query("limit", "1"),
        )
        .await;
    assert_eq!(errors.status, 200, "{}", errors.body);
    assert_eq!(errors.body["items"][0]["partnerId"], "partner-a");
    let cursor = errors.body["nextCursor"].as_str().expect("more").to_string();
    let next = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/errors", "/v1/admin/errors")
                .query("limit", "1")
                .query("cursor", &cursor),
        )
        .await;
    assert_eq!(next.body["items"][0]["partnerId"], "partner-b", "{}", next.body);
    let unknown_currency = t
        .as_(
            Who::Admin,
            &admin_req("GET", "/v1/admin/errors", "/v1/admin/errors").query("code", "UNKNOWN_CURRENCY"),
        )
        .await;
    let items = unknown_currency.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", unknown_currency.body);
    assert_eq!(items[0]["partnerId"], "partner-a");
    let only_b = t
        .as_(
            Who::Admin,
            &admin_req("GET", "/v1/admin/errors", "/v1/admin/errors").query("partnerId", "partner-b"),
        )
        .await;
    assert!(only_b.body["items"]
        .as_array()
        .is_some_and(|i| i.len() == 1 && i[0]["partnerId"] == "partner-b"));

    let orders = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/orders", "/v1/admin/orders").query("partnerId", "partner-a"),
        )
        .await;
    assert_eq!(orders.status, 200, "{}", orders.body);
    let seqs: Vec<_> = orders.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| o["sequenceNumber"].as_u64())
        .collect();
    assert_eq!(seqs, [Some(2), Some(1)], "oldest event first");

    let deliveries = DeliveryStore::new(t.env.ddb.clone(), &t.env.tables.deliveries);
    let meter = zb_shared::cost::CostMeter::default();
    for (p, id, st) in [
        ("partner-a", "20260101T000001Z-a1", DeliveryStatus::Dead),
        ("partner-a", "20260101T000002Z-a2", DeliveryStatus::Delivered),
        ("partner-b", "20260101T000003Z-b1", DeliveryStatus::Dead),
    ] {
        deliveries
            .create(&dead_delivery(p, id, st), &meter)
            .await
            .expect("seed");
    }
    let dead = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/deliveries", "/v1/admin/deliveries").query("status", "DEAD"),
        )
        .await;
    assert_eq!(dead.status, 200, "{}", dead.body);
    let ids: Vec<_> = dead.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| (d["partnerId"].clone(), d["deliveryId"].clone()))
        .collect();
    assert_eq!(
        ids,
        [
            (json!("partner-a"), json!("20260101T000001Z-a1")),
            (json!("partner-b"), json!("20260101T000003Z-b1"))
        ]
    );
    assert!(
        !dead.body.to_string().contains("orders.persisted\\\""),
        "never the body"
    );
    // A delivered one is not replayed; an unknown one is not found.
    let replay = |id: &str| {
        admin_req(
            "POST",
            "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay",
            &format!("/v1/admin/partners/partner-a/deliveries/{id}/replay"),
        )
        .path_param("partnerId", "partner-a")
        .path_param("deliveryId", id)
    };
    t.as_(Who::Ops, &replay("20260101T000002Z-a2"))
        .await
        .assert_problem(409);
    t.as_(Who::Ops, &replay("20260101T000009Z-zz"))
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn a_failed_feed_is_found_by_id_and_redriven_once() {
    let t = Admin::new().await;
    zb_tests::seed_env_partner(&t.env, "partner-a", "partner-a@1", "key-a", None).await;
    let (resp, feed) = t
        .env
        .ingest_feed(&Request::post_feed(
            "partner-a",
            "partner-a@1",
            &a_feed(vec![a_order(1)]),
        ))
        .await;
    assert_eq!(resp.status, 202);
    let feed = feed.expect("announced");
    // The pipeline failed on it, as RecordErrors records a caught failure.
    let (bus, _journal) = t.env.event_bridge().await;
    let failure = zb_shared::feed::Failure {
        error: "States.Timeout".into(),
        cause: "the execution timed out".into(),
    };
    t.env
        .record_error(bus)
        .recorder
        .record(
            &feed,
            Vec::new(),
            Some(&failure),
            zb_tests::fixtures::now(),
            &zb_shared::cost::CostMeter::default(),
        )
        .await
        .expect("recorded");

    let failed = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/feeds", "/v1/admin/feeds").query("status", "FAILED"),
        )
        .await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["items"][0]["feedId"], feed.feed_id.as_str());
    assert_eq!(failed.body["items"][0]["partnerId"], "partner-a");
    let completed = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/feeds", "/v1/admin/feeds").query("status", "COMPLETED"),
        )
        .await;
    assert_eq!(completed.body["items"], json!([]));

    let show_req = admin_req(
        "GET",
        "/v1/admin/feeds/{feedId}",
        &format!("/v1/admin/feeds/{}", feed.feed_id),
    )
    .path_param("feedId", &feed.feed_id);
    let shown = t.as_(Who::Admin, &show_req).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["status"], "FAILED");
    assert_eq!(shown.body["failure"]["error"], "States.Timeout");
    assert_eq!(shown.body["orderCount"], 1);

    let redrive = admin_req(
        "POST",
        "/v1/admin/feeds/{feedId}/redrive",
        &format!("/v1/admin/feeds/{}/redrive", feed.feed_id),
    )
    .path_param("feedId", &feed.feed_id);
    let accepted = t.as_(Who::Ops, &redrive).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let name = format!("{}-redrive-1", feed.feed_id);
    assert_eq!(accepted.body["executionName"], name.as_str());
    assert_eq!(accepted.body["redriveCount"], 1);
    assert_eq!(accepted.body["partnerId"], "partner-a");
    // The execution runs with the input the sweeper's restart sends: the FeedRef.
    let execution_arn = format!("{}:{name}", t.pipeline_arn.replace(":stateMachine:", ":execution:"));
    let described = sfn()
        .await
        .describe_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "DescribeExecution {execution_arn}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            )
        });
    let input: Value = serde_json::from_str(described.input().unwrap_or_default()).expect("JSON input");
    assert_eq!(input, serde_json::to_value(&feed).expect("FeedRef"));

    // RECEIVED again: a second redrive is a conflict.
    t.as_(Who::Ops, &redrive).await.assert_problem(409);
    let shown = t.as_(Who::Ops, &show_req).await;
    assert_eq!(shown.body["status"], "RECEIVED");
    // An unknown feed is not found.
    let unknown = uuid::Uuid::now_v7().to_string();
    t.as_(
        Who::Ops,
        &admin_req(
            "POST",
            "/v1/admin/feeds/{feedId}/redrive",
            &format!("/v1/admin/feeds/{unknown}/redrive"),
        )
        .path_param("feedId", &unknown),
    )
    .await
    .assert_problem(404);

    let audit = t.audit().await;
    assert_eq!(audit.len(), 1, "one redrive, one entry: {audit:?}");
    assert_eq!(audit[0]["action"], "feed.redrive");
    assert_eq!(audit[0]["target"], format!("feed/{}", feed.feed_id));
    assert_eq!(audit[0]["before"]["status"], "FAILED");
    assert_eq!(audit[0]["after"]["status"], "RECEIVED");
    assert_eq!(audit[0]["after"]["executionName"], name.as_str());
}

#[tokio::test]
async fn a_published_format_can_be_given_to_a_partner_at_once() {
    let t = Admin::new().await;
    let dir = repo_root().join("formats/partner-a/1");
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).expect("read")).expect("JSON")
    };
    let mut format = read("format.json");
    format["version"] = json!(2);
    let body = json!({"format": format, "schema": read("schema.json"), "samples": [a_order(1), {"nope": 1}]});
    let publish = admin_req("POST", "/v1/admin/formats", "/v1/admin/formats").body(body.to_string());
    // Ops may look, not publish.
    t.as_(Who::Ops, &publish).await.assert_problem(403);
    let dry = t
        .as_(
            Who::Admin,
            &admin_req("POST", "/v1/admin/formats", "/v1/admin/formats")
                .query("dryRun", "true")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let published = t.as_(Who::Admin, &publish).await;
    assert_eq!(published.status, 201, "{}", published.body);
    assert_eq!(published.body["formatId"], "partner-a@2");
    assert_eq!(published.body["samples"][0]["outcome"], "canonical");
    assert_eq!(published.body["samples"][1]["outcome"], "rejected");
    // The same version again is a conflict.
    t.as_(Who::Admin, &publish).await.assert_problem(409);

    let listed = t
        .as_(Who::Ops, &admin_req("GET", "/v1/admin/formats", "/v1/admin/formats"))
        .await;
    let ids: Vec<_> = listed.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| f["formatId"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(ids.contains(&"partner-a@2".to_string()), "{ids:?}");
    let shown = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/formats/{formatId}", "/v1/admin/formats/partner-a@2")
                .path_param("formatId", "partner-a@2"),
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["format"]["version"], 2);
    let bad_id = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/formats/{formatId}", "/v1/admin/formats/nope").path_param("formatId", "nope"),
        )
        .await;
    bad_id.assert_problem(400);
    assert_eq!(bad_id.fault()["parameter"], "formatId");

    let create = admin_req("POST", "/v1/admin/partners", "/v1/admin/partners")
        .body(json!({"name": "Newco", "format": "partner-a@2"}).to_string());
    assert_eq!(t.as_(Who::Admin, &create).await.status, 201);

    // Every sample rejected: 422 with the report, nothing published.
    let mut v3 = format.clone();
    v3["version"] = json!(3);
    let none = json!({"format": v3, "schema": read("schema.json"), "samples": [{"nope": 1}]});
    let refused = t
        .as_(
            Who::Admin,
            &admin_req("POST", "/v1/admin/formats", "/v1/admin/formats").body(none.to_string()),
        )
        .await;
    refused.assert_problem(422);
    assert_eq!(refused.body["samples"][0]["outcome"], "rejected");

    let actions: Vec<_> = t
        .audit()
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        actions,
        ["partner.create", "format.publish"],
        "the dry run and refusals write nothing"
    );
}

/// `s` as `encodeURIComponent` writes it (what the console sends).
fn uri_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn execution_req(arn_in_path: &str) -> Request {
    admin_req(
        "GET",
        "/v1/admin/executions/{executionArn}",
        &format!("/v1/admin/executions/{arn_in_path}"),
    )
    .path_param("executionArn", arn_in_path)
}

/// The ops console's routes on a Standard stand-in pipeline (one Pass
/// state, no logging): its definition through DescribeStateMachine, one of
/// its executions through DescribeExecution + GetExecutionHistory
/// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html),
/// the ARN percent-encoded or not.
#[tokio::test]
async fn a_standard_execution_is_shown_from_its_history_beside_its_machines_definition() {
    let t = Admin::new().await;
    let machines = t
        .as_(
            Who::Ops,
            &admin_req("GET", "/v1/admin/state-machines", "/v1/admin/state-machines"),
        )
        .await;
    assert_eq!(machines.status, 200, "{}", machines.body);
    let items = machines.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{}", machines.body);
    assert_eq!(items[0]["key"], "order-pipeline");
    assert_eq!(items[0]["stateMachineArn"], json!(t.pipeline_arn));
    assert_eq!(items[0]["type"], "STANDARD");
    assert_eq!(items[0]["definition"]["States"]["Run"]["Type"], "Pass", "{}", items[0]);
    assert_eq!(items[1]["key"], "webhook-delivery");
    assert_eq!(items[1]["type"], "STANDARD");
    assert!(
        items[1]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("-webhook-delivery")),
        "{}",
        items[1]
    );
    assert!(items[1]["definition"]["States"]["Attempt"].is_object(), "{}", items[1]);

    let sfn = sfn().await;
    let started = sfn
        .start_execution()
        .state_machine_arn(&t.pipeline_arn)
        .name(format!("handler-{}", uuid::Uuid::new_v4().simple()))
        .input(r#"{"feedId":"f-1"}"#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartExecution: {}", aws_sdk_sfn::error::DisplayErrorContext(&e)));
    let arn = started.execution_arn().to_string();
    let mut shown = Value::Null;
    for _ in 0..200 {
        let got = t.as_(Who::Ops, &execution_req(&uri_component(&arn))).await;
        assert_eq!(got.status, 200, "{}", got.body);
        shown = got.body;
        if shown["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(shown["status"], "SUCCEEDED", "{shown}");
    assert_eq!(shown["source"], "history");
    assert_eq!(shown["executionArn"], json!(arn));
    assert_eq!(
        shown["stateMachine"],
        json!({"key": "order-pipeline", "type": "STANDARD", "stateMachineArn": t.pipeline_arn})
    );
    assert_eq!(shown["input"], r#"{"feedId":"f-1"}"#);
    assert!(shown["stopDate"].is_string(), "{shown}");
    let events = shown["events"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap_or_default(), e["stateName"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ExecutionStarted", None),
            ("PassStateEntered", Some("Run")),
            ("PassStateExited", Some("Run")),
            ("ExecutionSucceeded", None)
        ],
        "{shown}"
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1), "{e}");
        assert!(
            e["timestamp"]
                .as_str()
                .is_some_and(|t| zb_shared::time::parse_rfc3339(t).is_ok()),
            "{e}"
        );
    }
    // The decoded ARN names the same execution.
    let plain = t.as_(Who::Admin, &execution_req(&arn)).await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.body, shown);
    // Finance may not look.
    t.as_(Who::Finance, &execution_req(&arn)).await.assert_problem(403);

    // Executions of nothing: another machine's, one that does not exist, an
    // Express one of a machine that logs nowhere.
    let webhook = template_machine_arn("WebhookDeliveryStateMachine").await;
    let (_, webhook_name) = webhook.rsplit_once(':').unwrap_or_default();
    let (_, pipeline_name) = t.pipeline_arn.rsplit_once(':').unwrap_or_default();
    for missing in [
        "arn:aws:states:us-east-1:123456789012:execution:elsewhere:x".to_string(),
        format!("arn:aws:states:us-east-1:123456789012:execution:{webhook_name}:none"),
        format!("arn:aws:states:us-east-1:123456789012:express:{pipeline_name}:none"),
    ] {
        let got = t.as_(Who::Ops, &execution_req(&uri_component(&missing))).await;
        got.assert_problem(404);
    }
    // A feed of nothing has no executions to list.
    let none = t
        .as_(
            Who::Ops,
            &admin_req(
                "GET",
                "/v1/admin/feeds/{feedId}/executions",
                &format!("/v1/admin/feeds/{FEED}/executions"),
            )
            .path_param("feedId", FEED),
        )
        .await;
    none.assert_problem(404);
}
