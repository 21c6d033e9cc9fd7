//! End to end on a running local cloud, only through its public endpoints:
//! the partner API with reqwest, and the AWS endpoint with the real AWS SDK
//! clients (Step Functions, EventBridge, Lambda).

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use zb_tests::cloud::{sdk, start, Options};
use zb_tests::fixtures::{a_feed, a_order, b_feed, b_order};
use zb_tests::receiver::Receiver;

const WAIT: Duration = Duration::from_secs(60);

struct Client {
    http: reqwest::Client,
    api: String,
}

impl Client {
    fn new(api: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: api.to_string(),
        }
    }

    async fn post(&self, key: &str, content_type: &str, body: &Value) -> (u16, Value) {
        let r = zb_tests::post_feed_http(&self.http, &self.api, key, content_type, body).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        zb_tests::get_http(&self.http, &self.api, key, path).await
    }

    /// Posts a feed and waits until the pipeline has written its outcome.
    async fn process(&self, key: &str, content_type: &str, body: &Value) -> Value {
        let (status, accepted) = self.post(key, content_type, body).await;
        assert_eq!(status, 202, "{accepted}");
        let id = accepted["feedId"].as_str().expect("feedId").to_string();
        let started = Instant::now();
        loop {
            let (_, feed) = self.get(key, &format!("/v1/feeds/{id}")).await;
            if feed["status"] != "RECEIVED" {
                return feed;
            }
            assert!(started.elapsed() < WAIT, "feed {id} still RECEIVED");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The order pipeline's ARN (the stack also has the webhook-delivery machine).
async fn pipeline_arn(sfn: &aws_sdk_sfn::Client) -> String {
    let machines = sfn.list_state_machines().send().await.expect("ListStateMachines");
    machines
        .state_machines()
        .iter()
        .find(|m| m.name().ends_with("order-pipeline"))
        .map(|m| m.state_machine_arn().to_string())
        .expect("an order-pipeline state machine")
}

/// The execution that processed a feed, once it has finished: read from the
/// order pipeline's log group with FilterLogEvents, as ops read an Express
/// execution on AWS ("Express Workflows don't record execution history in
/// AWS Step Functions", https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html;
/// ListExecutions answers StateMachineTypeNotSupported for them,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html).
async fn execution_of(aws_url: &str, feed_id: &str) -> zb_local::express_logs::ExpressRun {
    let config = sdk(aws_url).await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let group = zb_local::express_logs::log_group_of(&sfn, &pipeline_arn(&sfn).await)
        .await
        .expect("the pipeline's log group");
    let started = Instant::now();
    loop {
        if let Some(run) = zb_local::express_logs::finished_for_feed(&logs, &group, feed_id)
            .await
            .expect("FilterLogEvents")
        {
            return run;
        }
        assert!(started.elapsed() < WAIT, "no finished execution for feed {feed_id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The lines of one type in an execution's log.
fn lines_of<'a>(run: &'a zb_local::express_logs::ExpressRun, event_type: &str) -> Vec<&'a Value> {
    run.lines.iter().filter(|l| l["type"] == event_type).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_from_both_partners_end_as_orders_with_a_signed_webhook() {
    let receiver = Receiver::start(vec![200]).await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut options = Options::default();
    options.seed[0]["webhookUrl"] = json!(receiver.url);
    options.seed[0]["webhookSecret"] = json!(secret);
    let cloud = start(options).await;
    let api = Client::new(&cloud.api_url);

    let now = chrono::Utc::now().timestamp_millis();
    let mut order = a_order(11);
    order["createdAt"] = json!(now - 1000);
    let feed = api.process("key-a", "application/json", &a_feed(vec![order])).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    let (status, stored) = api.get("key-a", "/v1/orders/11").await;
    assert_eq!(status, 200);
    assert_eq!(stored["externalId"], "A-11");
    let exec = execution_of(&cloud.aws_url, feed["feedId"].as_str().unwrap()).await;
    assert_eq!(exec.status.as_str(), "SUCCEEDED");

    let mut b = b_order(21);
    b["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    let feed = api
        .process("key-b", "application/vnd.partner-b.feed+json", &b_feed(vec![b]))
        .await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    assert_eq!(api.get("key-b", "/v1/orders/21").await.0, 200);
    assert_eq!(
        api.get("key-a", "/v1/orders/21").await.0,
        404,
        "partner A cannot see B's order"
    );

    // Partner A's webhook got the outcome, signed.
    let started = Instant::now();
    while receiver.received().is_empty() {
        assert!(started.elapsed() < WAIT, "no webhook delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = receiver.received()[0].clone();
    let h = &got.headers;
    let ts: i64 = h["webhook-timestamp"].parse().unwrap();
    zb_shared::signing::verify(
        secret,
        &h["webhook-id"],
        ts,
        &got.body,
        &h["webhook-signature"],
        ts,
        300,
    )
    .expect("signature verifies");
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "orders.persisted");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_orders_go_to_the_errors_table_and_a_replay_creates_nothing() {
    let cloud = start(Options::default()).await;
    let api = Client::new(&cloud.api_url);
    let now = chrono::Utc::now().timestamp_millis();
    let fresh = |seq| {
        let mut o = a_order(seq);
        o["createdAt"] = json!(now - 1000);
        o
    };
    let mut bad = fresh(32);
    bad["items"][0]["quantity"] = json!(0);
    let body = a_feed(vec![fresh(31), bad, fresh(33)]);
    let feed = api.process("key-a", "application/json", &body).await;
    assert_eq!(feed["status"], "COMPLETED_WITH_REJECTIONS", "{feed}");
    assert_eq!(
        feed["counts"],
        json!({"received": 3, "persisted": 2, "duplicate": 0, "rejected": 1})
    );
    assert_eq!(feed["orders"][1]["code"], "INVALID_QUANTITY");
    let started = Instant::now();
    let errors = loop {
        let (_, errors) = api.get("key-a", "/v1/errors").await;
        if !errors["items"].as_array().unwrap().is_empty() {
            break errors;
        }
        assert!(started.elapsed() < WAIT, "the rejection was never recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(errors["items"][0]["field"], "/orders/1/items/0/quantity");

    let replay = api.process("key-a", "application/json", &body).await;
    assert_eq!(replay["counts"]["duplicate"], 2);
    assert_eq!(replay["counts"]["persisted"], 0);
    let (_, orders) = api.get("key-a", "/v1/orders").await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 2, "still two orders");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_retried_and_the_feed_completes() {
    let options = Options {
        faults: vec![("ValidateFunction".into(), "TransientDependencyError*2".into())],
        ..Options::default()
    };
    let cloud = start(options).await;
    let api = Client::new(&cloud.api_url);
    let mut order = a_order(41);
    order["createdAt"] = json!(chrono::Utc::now().timestamp_millis() - 1000);
    let feed = api.process("key-a", "application/json", &a_feed(vec![order])).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    let exec = execution_of(&cloud.aws_url, feed["feedId"].as_str().unwrap()).await;
    assert_eq!(exec.status.as_str(), "SUCCEEDED");
    let failed = lines_of(&exec, "TaskFailed");
    assert_eq!(failed.len(), 2, "two failed attempts, then success: {:?}", exec.lines);
    assert_eq!(failed[0]["details"]["error"], "TransientDependencyError");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_always_fails_ends_on_the_catch_path_and_loses_nothing() {
    let options = Options {
        faults: vec![("TransformFunction".into(), "InvalidPipelineInput".into())],
        ..Options::default()
    };
    let cloud = start(options).await;
    let api = Client::new(&cloud.api_url);
    let now = chrono::Utc::now().timestamp_millis();
    let orders: Vec<Value> = (51..=52)
        .map(|s| {
            let mut o = a_order(s);
            o["createdAt"] = json!(now - 1000);
            o
        })
        .collect();
    let feed = api.process("key-a", "application/json", &a_feed(orders)).await;
    assert_eq!(feed["status"], "FAILED", "{feed}");
    assert_eq!(feed["failure"]["error"], "InvalidPipelineInput");
    let exec = execution_of(&cloud.aws_url, feed["feedId"].as_str().unwrap()).await;
    assert_eq!(exec.status.as_str(), "FAILED");
    assert_eq!(exec.error.as_deref(), Some("FeedFailed"));
    let (_, errors) = api.get("key-a", "/v1/errors").await;
    let codes: Vec<_> = errors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![json!("PIPELINE_FAILED"), json!("PIPELINE_FAILED")],
        "every order recorded"
    );
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_endpoint_serves_the_sdks() {
    let cloud = start(Options::default()).await;
    let config = sdk(&cloud.aws_url).await;

    // EventBridge: entries are validated one by one.
    let eb = aws_sdk_eventbridge::Client::new(&config);
    let good = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(format!("{}-orders", cloud.model.stack_name))
        .source("zerobeta.tests")
        .detail_type("Ping")
        .detail("{}")
        .build();
    let bad = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("zerobeta.tests")
        .detail_type("Ping")
        .detail("not json")
        .build();
    let out = eb
        .put_events()
        .entries(good)
        .entries(bad)
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(out.failed_entry_count(), 1);
    assert!(out.entries()[0].event_id().is_some());
    assert_eq!(out.entries()[1].error_code(), Some("MalformedDetail"));

    // Lambda Invoke: a function by name, with the template's environment.
    let lambda = aws_sdk_lambda::Client::new(&config);
    let event = std::fs::read(zb_tests::cloud::repo().join("events/transform.json")).unwrap();
    let out = lambda
        .invoke()
        .function_name(format!("{}-transform", cloud.model.stack_name))
        .payload(aws_sdk_lambda::primitives::Blob::new(event))
        .send()
        .await
        .expect("Invoke");
    assert_eq!(out.status_code(), 200);
    assert!(out.function_error().is_none());
    let payload: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    // Canonical orders are order content: always staged, never in a state (issue 16).
    assert_eq!(payload["batch"]["staged"]["step"], "transform", "{payload}");
    let missing = lambda.invoke().function_name("nope").send().await.unwrap_err();
    assert!(format!("{missing:?}").contains("ResourceNotFound"));

    // Step Functions: a missing execution is a typed error.
    let sfn = aws_sdk_sfn::Client::new(&config);
    let err = sfn
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:000000000000:execution:x:y")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_execution_does_not_exist());

    // Bad input gets AWS's typed errors.
    let machine_arn = pipeline_arn(&sfn).await;
    let err = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .input("{not json")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_execution_input());
    let err = sfn
        .start_execution()
        .state_machine_arn("arn:aws:states:us-east-1:000000000000:stateMachine:nope")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_state_machine_does_not_exist());
    let raw = reqwest::Client::new()
        .post(&cloud.aws_url)
        .header("x-amz-target", "AWSStepFunctions.CreateActivity")
        .header("content-type", "application/x-amz-json-1.0")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(raw.headers()["x-amzn-errortype"], "UnknownOperationException");

    // StartSyncExecution, in the awsJson1_0 wire format. (The Rust SDK
    // prefixes this operation's host with "sync-", which a bare IP endpoint
    // cannot take, so this call is made on the wire directly.)
    let machine = pipeline_arn(&sfn).await;
    let input = json!({"feedId": uuid::Uuid::now_v7().to_string(), "partnerId": "partner-a", "format": "partner-a@1",
                       "receivedAt": "2026-01-01T12:00:00.000Z", "requestId": "r", "correlationId": "c"});
    let resp: Value = reqwest::Client::new()
        .post(&cloud.aws_url)
        .header("x-amz-target", "AWSStepFunctions.StartSyncExecution")
        .header("content-type", "application/x-amz-json-1.0")
        .body(json!({"stateMachineArn": machine, "input": input.to_string()}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // No such feed: validate fails (FeedNotFound), the Catch records it, the machine ends in FeedFailed.
    assert_eq!(resp["status"], "FAILED", "{resp}");
    assert_eq!(resp["error"], "FeedFailed", "{resp}");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_histories_survive_a_restart() {
    let state = std::env::temp_dir().join(format!("zb-e2e-restart-{}", uuid::Uuid::new_v4().simple()));
    let stack = format!("e2er{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let options = || Options {
        state_dir: Some(state.clone()),
        stack: Some(stack.clone()),
        ..Options::default()
    };
    let cloud = start(options()).await;
    let api = Client::new(&cloud.api_url);
    let mut order = a_order(61);
    order["createdAt"] = json!(chrono::Utc::now().timestamp_millis() - 1000);
    let feed = api.process("key-a", "application/json", &a_feed(vec![order])).await;
    let before = execution_of(&cloud.aws_url, feed["feedId"].as_str().unwrap()).await;
    cloud.shutdown().await;

    // The log group is kept with the state: the execution reads the same after a restart.
    let again = start(options()).await;
    let after = execution_of(&again.aws_url, feed["feedId"].as_str().unwrap()).await;
    assert_eq!(after.execution_arn, before.execution_arn);
    assert_eq!(after.status, "SUCCEEDED");
    assert_eq!(after.lines, before.lines);
    again.shutdown().await;
}

#[tokio::test]
async fn a_template_with_an_unsupported_feature_is_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("zb-e2e-bad-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = std::fs::read_to_string(zb_tests::cloud::repo().join("template.yaml")).unwrap();
    let bad = template.replacen(
        "  OrdersEventBus:\n",
        "  Archive:\n    Type: AWS::Events::Archive\n    Properties:\n      SourceArn: x\n  OrdersEventBus:\n",
        1,
    );
    std::fs::write(dir.join("template.yaml"), bad).unwrap();
    let mut config = zb_local::Config::for_repo(zb_tests::cloud::repo());
    config.template = dir.join("template.yaml");
    config.api_port = 0;
    config.aws_port = 0;
    config.dynamodb_endpoint = Some("http://127.0.0.1:9".into());
    config.state_dir = dir.clone();
    let err = match zb_local::start(config).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a template with AWS::Events::Archive was accepted"),
    };
    assert!(err.contains("Archive") && err.contains("AWS::Events::Archive"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_follow_executions_with_zb() {
    let cloud = start(Options::default()).await;
    let api = Client::new(&cloud.api_url);
    let mut bad = a_order(71);
    bad["currency"] = json!("XYZ");
    let feed = api.process("key-a", "application/json", &a_feed(vec![bad])).await;
    let exec = execution_of(&cloud.aws_url, feed["feedId"].as_str().unwrap()).await;
    let zb = |args: &[&str]| {
        let out = std::process::Command::new(zb_tests::cloud::binaries().join("zb"))
            .args(["--endpoint-url", &cloud.aws_url])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .output()
            .expect("zb runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = zb(&["executions", "list"]);
    assert!(
        list.contains(exec.execution_arn.rsplit(':').next().unwrap_or("?")) && list.contains("SUCCEEDED"),
        "{list}"
    );
    let show = zb(&["executions", "show", &exec.execution_arn]);
    for state in [
        "Validate",
        "Transform",
        "Persist",
        "HasRejections",
        "RecordErrors",
        "Done",
    ] {
        assert!(show.contains(state), "{state} missing from:\n{show}");
    }
    cloud.shutdown().await;
}

/// An answer API Gateway sends itself: its status, `application/json`, and
/// exactly `{"message": <message>}`.
async fn assert_gateway_answer(r: reqwest::Response, status: u16, message: &str, what: &str) {
    assert_eq!(r.status().as_u16(), status, "{what}");
    assert_eq!(r.headers()["content-type"], "application/json", "{what}");
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(body, json!({"message": message}), "{what}");
}

/// "start" or "report" for Lambda's START and REPORT platform lines, in
/// text or in JSON (`platform.start`, LogFormat JSON as the template sets).
fn platform_line(line: &str) -> Option<String> {
    for kind in ["START", "REPORT"] {
        if line.starts_with(&format!("{kind} RequestId")) {
            return Some(kind.to_ascii_lowercase());
        }
    }
    let v: Value = serde_json::from_str(line).ok()?;
    v["type"].as_str()?.strip_prefix("platform.").map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_answers_unknown_routes_methods_and_keys() {
    let mut options = Options::default();
    if let Some(seed) = options.seed.as_array_mut() {
        seed.push(json!({"partnerId": "partner-c", "name": "C", "format": "partner-a@1", "apiKey": "key-c"}));
    }
    let mut cloud = start(options).await;
    let mut logs = cloud.take_logs().expect("the function logs");
    let authorizer = cloud
        .model
        .functions
        .iter()
        .find(|f| f.logical_id == "AuthorizerFunction")
        .expect("AuthorizerFunction")
        .name
        .clone();
    // partner-c's key is disabled before it is ever used (nothing cached).
    let partners = zb_shared::store::PartnerStore::new(
        zb_tests::dynamodb().await,
        &cloud
            .model
            .tables
            .iter()
            .find(|t| t.logical_id == "PartnersTable")
            .expect("PartnersTable")
            .name,
    );
    partners
        .put_key(
            &zb_shared::partner::ApiKey {
                key_hash: zb_shared::apikey::hash_api_key("key-c"),
                partner_id: "partner-c".into(),
                status: zb_shared::partner::PartnerStatus::Disabled,
            },
            &Default::default(),
        )
        .await
        .expect("disable key-c");
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", cloud.api_url);
    let orders = |key: Option<&str>| {
        let req = http.get(url("/v1/orders"));
        match key {
            Some(k) => req.header("x-api-key", k),
            None => req,
        }
    };

    // Routes: "If no routes match a request, API Gateway returns
    // {"message":"Not Found"} to the client" (no $default route here), before
    // any authorizer; a known path with a method it has no route for is no
    // match either: no 405.
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
    let r = http
        .get(url("/v1/nothing"))
        .header("x-api-key", "key-a")
        .send()
        .await
        .unwrap();
    assert_gateway_answer(r, 404, "Not Found", "unknown route").await;
    let r = http.get(url("/v1/nothing")).send().await.unwrap();
    assert_gateway_answer(r, 404, "Not Found", "unknown route, no key: routing comes first").await;
    let r = http
        .delete(url("/v1/feeds"))
        .header("x-api-key", "key-a")
        .send()
        .await
        .unwrap();
    assert_gateway_answer(r, 404, "Not Found", "unknown method on a known path").await;
    let r = http
        .put(url("/v1/orders"))
        .header("x-api-key", "key-a")
        .send()
        .await
        .unwrap();
    assert_gateway_answer(r, 404, "Not Found", "unknown method on a known path").await;

    // A missing or empty identity source: 401 without calling the authorizer.
    // "verifying all of the identity-related request parameters are present in
    // the request, not null, and non-empty. Only when this is true does the
    // authorizer invoke the authorizer Lambda function. Otherwise, it returns a
    // 401 Unauthorized response without calling the authorizer Lambda function."
    // https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    let r = orders(None).send().await.unwrap();
    assert_gateway_answer(r, 401, "Unauthorized", "no key").await;
    let r = orders(Some("")).send().await.unwrap();
    assert_gateway_answer(r, 401, "Unauthorized", "an empty key").await;

    // A key the authorizer refuses ({"isAuthorized": false}): 403 Forbidden.
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    let r = orders(Some("not-a-key")).send().await.unwrap();
    assert_gateway_answer(r, 403, "Forbidden", "an unknown key").await;

    // The authorizer ran once so far: for the unknown key, not for the
    // missing or empty one. Every authorizer line up to a quiet second after
    // a REPORT: an invocation for the missing key would have come before.
    let (mut starts, mut reports) = (0, 0);
    let waited = Instant::now();
    loop {
        let wait = if reports > 0 {
            Duration::from_secs(1)
        } else {
            WAIT.saturating_sub(waited.elapsed())
        };
        let line = match tokio::time::timeout(wait, logs.recv()).await {
            Ok(line) => line.expect("the log stream"),
            Err(_) if reports > 0 => break,
            Err(_) => panic!("no REPORT line from the authorizer"),
        };
        if line.function != authorizer {
            continue;
        }
        match platform_line(&line.line).as_deref() {
            Some("start") => starts += 1,
            Some("report") => reports += 1,
            _ => {}
        }
    }
    assert_eq!(starts, 1, "the authorizer was invoked for a missing or empty key");

    let r = orders(Some("key-c")).send().await.unwrap();
    assert_gateway_answer(r, 403, "Forbidden", "a disabled key").await;
    let r = orders(Some("key-a")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "a known key reaches the function");
    // 3 MB passes the gateway (its limit is 10 MB) and ingest refuses it itself.
    let big = vec![b'x'; 3 * 1024 * 1024];
    let r = http
        .post(url("/v1/feeds"))
        .header("x-api-key", "key-a")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "ingest's own answer"
    );
    let huge = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = http
        .post(url("/v1/feeds"))
        .header("x-api-key", "key-a")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413, "over API Gateway's 10 MB payload limit");
    assert_eq!(
        r.headers()["content-type"],
        "application/json",
        "the gateway's own answer"
    );
    cloud.shutdown().await;
}

/// An authorizer that fails (raises an error: here an injected fault, as if
/// its table were unreachable) is API Gateway's 500, not a 401 or 403:
/// with simple responses only `isAuthorized` decides, an error is no answer.
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_authorizer_is_a_500_from_the_gateway() {
    let cloud = start(Options {
        faults: vec![("AuthorizerFunction".into(), "SomeError".into())],
        ..Options::default()
    })
    .await;
    let http = reqwest::Client::new();
    for key in ["key-a", "not-a-key"] {
        let r = http
            .get(format!("{}/v1/orders", cloud.api_url))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap();
        assert_gateway_answer(r, 500, "Internal Server Error", key).await;
    }
    // A missing key is still answered before the authorizer: 401.
    let r = http.get(format!("{}/v1/orders", cloud.api_url)).send().await.unwrap();
    assert_gateway_answer(r, 401, "Unauthorized", "no key").await;
    cloud.shutdown().await;
}

/// Lambda Invoke answers with Lambda's documented errors and statuses
/// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors)
/// and resolves every FunctionName form the API takes
/// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax).
/// The local cloud has no versions or aliases: another qualifier is a
/// function that does not exist, ResourceNotFoundException.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_answers_with_lambdas_errors_and_statuses() {
    use aws_sdk_lambda::primitives::Blob;
    let cloud = start(Options::default()).await;
    let config = sdk(&cloud.aws_url).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let name = format!("{}-transform", cloud.model.stack_name);
    let event = std::fs::read(zb_tests::cloud::repo().join("events/transform.json")).unwrap();
    let status = |e: &aws_sdk_lambda::error::SdkError<_, aws_sdk_lambda::config::http::HttpResponse>| {
        e.raw_response().map(|r| r.status().as_u16())
    };

    for function in [
        name.clone(),
        format!("{name}:$LATEST"),
        format!("000000000000:function:{name}"),
        format!("arn:aws:lambda:us-east-1:000000000000:function:{name}"),
        format!("arn:aws:lambda:us-east-1:000000000000:function:{name}:$LATEST"),
    ] {
        let out = lambda
            .invoke()
            .function_name(&function)
            .payload(Blob::new(event.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{function}: {e:?}"));
        assert_eq!(out.status_code(), 200, "{function}");
        assert_eq!(out.function_error(), None, "{function}");
        assert_eq!(out.executed_version(), Some("$LATEST"));
    }
    let out = lambda
        .invoke()
        .function_name(&name)
        .qualifier("$LATEST")
        .payload(Blob::new(event.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), None);

    // An unknown function, and a version or alias that does not exist: 404.
    let err = lambda.invoke().function_name("nope").send().await.unwrap_err();
    assert_eq!(status(&err), Some(404));
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = lambda
        .invoke()
        .function_name(&name)
        .qualifier("7")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), Some(404));
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(err.to_string().contains(&format!("function:{name}:7")), "{err}");
    let err = lambda
        .invoke()
        .function_name(format!("arn:aws:lambda:us-east-1:111111111111:function:{name}"))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = lambda
        .invoke()
        .function_name(format!("{name}:live"))
        .qualifier("other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), Some(400));
    assert!(err.into_service_error().is_invalid_parameter_value_exception());

    // A body that is not JSON: 400 InvalidRequestContentException.
    let err = lambda
        .invoke()
        .function_name(&name)
        .payload(Blob::new("{not json"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), Some(400));
    assert!(err.into_service_error().is_invalid_request_content_exception());

    // Over the limit: 413 RequestTooLargeException. "For synchronous
    // invocations, the maximum payload size is 6 MB. For asynchronous
    // invocations, the maximum payload size is 1 MB."
    // (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)
    let over_async = format!("\"{}\"", "a".repeat(1024 * 1024));
    let big = format!("\"{}\"", "a".repeat(6 * 1024 * 1024));
    for (kind, big) in [
        (aws_sdk_lambda::types::InvocationType::RequestResponse, big),
        (aws_sdk_lambda::types::InvocationType::Event, over_async.clone()),
    ] {
        let err = lambda
            .invoke()
            .function_name(&name)
            .invocation_type(kind.clone())
            .payload(Blob::new(big.clone()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), Some(413), "{kind:?}");
        assert!(err.into_service_error().is_request_too_large_exception(), "{kind:?}");
    }
    // The same 1 MB payload is taken synchronously (the function then refuses it).
    let out = lambda
        .invoke()
        .function_name(&name)
        .payload(Blob::new(over_async))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);

    // A function that fails: still 200, with X-Amz-Function-Error.
    let out = lambda
        .invoke()
        .function_name(&name)
        .payload(Blob::new(r#"{"not":"a transform input"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.function_error(), Some("Unhandled"));
}
