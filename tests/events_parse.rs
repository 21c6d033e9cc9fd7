//! The sample events in events/ (for `sam local invoke <Function> -e
//! events/<file>.json`) deserialize into the exact type each function
//! takes, lose no field on the way (a misspelt key would be silently
//! ignored by serde otherwise), and tell one consistent story: the partner-a
//! feed that ingest accepts is the one validate, transform, persist and
//! record-error process, computed by the real validation and mapping code.

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use zb_shared::feed::{summarize, Outcome};
use zb_shared::format::{Format, FormatRegistry};
use zb_shared::http::{caller, header};
use zb_shared::pipeline::{ErrorsToRecord, FeedRef, Persisted, Transformed, Validated};
use zb_shared::rejection::Rejection;
use zb_tests::template::{get, repo_root, scalar_text, untag, Template};

/// Every sample and the function (crate) it is an input of.
const SAMPLES: &[(&str, &str)] = &[
    ("authorizer.json", "authorizer"),
    ("ingest-partner-a.json", "ingest"),
    ("ingest-partner-b.json", "ingest"),
    ("validate.json", "validate"),
    ("transform.json", "transform"),
    ("persist.json", "persist"),
    ("record-error.json", "record-error"),
    ("record-error-failure.json", "record-error"),
    ("notify.json", "notify"),
    ("deliver.json", "deliver"),
    ("query-feed.json", "query"),
    ("query-orders.json", "query"),
    ("sweeper.json", "sweeper"),
    ("admin-volume.json", "admin"),
    ("cost-rollup.json", "cost-rollup"),
    ("privacy-find.json", "privacy"),
];

fn events_dir() -> PathBuf {
    repo_root().join("events")
}

fn raw(name: &str) -> Value {
    let path = events_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"))
}

/// Every field of `sample` comes back with the same value after
/// deserializing and serializing again: nothing was misspelt or dropped.
fn assert_survives(name: &str, sample: &Value, reparsed: &Value, at: &str) {
    match (sample, reparsed) {
        (Value::Object(s), Value::Object(r)) => {
            for (k, v) in s {
                let Some(rv) = r.get(k) else {
                    panic!("{name}: {at}/{k} is not a field of the type it is parsed into (misspelt or unknown)");
                };
                assert_survives(name, v, rv, &format!("{at}/{k}"));
            }
        }
        (Value::Array(s), Value::Array(r)) if s.len() == r.len() => {
            for (i, (sv, rv)) in s.iter().zip(r).enumerate() {
                assert_survives(name, sv, rv, &format!("{at}/{i}"));
            }
        }
        // The same instant written another way (`.000Z` vs `Z`) is fine.
        (Value::String(s), Value::String(r)) if same_instant(s, r) => {}
        _ => assert_eq!(
            sample, reparsed,
            "{name}: {at} changes when parsed (wrong type or format?)"
        ),
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    matches!(
        (zb_shared::time::parse_rfc3339(a), zb_shared::time::parse_rfc3339(b)),
        (Ok(x), Ok(y)) if x == y
    )
}

/// Parses a sample into `T` and checks no field is lost.
fn parse<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let sample = raw(name);
    let parsed: T = serde_json::from_value(sample.clone())
        .unwrap_or_else(|e| panic!("{name} does not deserialize into {}: {e}", std::any::type_name::<T>()));
    let reparsed = serde_json::to_value(&parsed).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_survives(name, &sample, &reparsed, "");
    parsed
}

/// Parses a pipeline message and checks it is exactly what the step would
/// send on (no field more, no field less).
fn parse_exact<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let parsed: T = parse(name);
    let reparsed = serde_json::to_value(&parsed).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(reparsed, raw(name), "{name} is not exactly the JSON the step produces");
    parsed
}

fn format(id: &str) -> std::sync::Arc<Format> {
    FormatRegistry::builtin()
        .expect("the built-in formats load")
        .get(id)
        .unwrap_or_else(|e| panic!("format {id}: {e}"))
}

fn body_json(name: &str, req: &ApiGatewayV2httpRequest) -> Value {
    let body = req.body.as_deref().unwrap_or_else(|| panic!("{name} has no body"));
    assert!(
        !req.is_base64_encoded,
        "{name}: keep sample bodies readable (not base64)"
    );
    assert_eq!(
        header(req, "content-length"),
        Some(body.len().to_string().as_str()),
        "{name}: content-length must match the body"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: the body is not JSON: {e}"))
}

/// The HttpApi routes ("METHOD /path") of a function in template.yaml.
fn routes_of(function_id: &str) -> Vec<String> {
    let template = Template::load();
    let function = template
        .resource(function_id)
        .unwrap_or_else(|| panic!("no {function_id}"));
    get(function, &["Properties", "Events"])
        .and_then(|e| untag(e).as_mapping())
        .into_iter()
        .flatten()
        .filter(|(_, e)| get(e, &["Type"]).and_then(scalar_text).as_deref() == Some("HttpApi"))
        .filter_map(|(_, e)| {
            let method = get(e, &["Properties", "Method"]).and_then(scalar_text)?;
            let path = get(e, &["Properties", "Path"]).and_then(scalar_text)?;
            Some(format!("{} {path}", method.to_uppercase()))
        })
        .collect()
}

/// Checks an HTTP API request against a route of `function_id`: route key,
/// method, path (with its path parameters filled in) and the authorizer
/// context the handlers read.
fn check_route(name: &str, req: &ApiGatewayV2httpRequest, function_id: &str) -> String {
    let route = req
        .route_key
        .clone()
        .unwrap_or_else(|| panic!("{name} has no routeKey"));
    let routes = routes_of(function_id);
    assert!(
        routes.contains(&route),
        "{name}: {route:?} is not one of {function_id}'s routes {routes:?}"
    );
    assert_eq!(
        req.request_context.route_key.as_ref(),
        Some(&route),
        "{name}: requestContext.routeKey"
    );
    let (method, template_path) = route.split_once(' ').expect("METHOD /path");
    assert_eq!(
        req.request_context.http.method.as_str(),
        method,
        "{name}: requestContext.http.method"
    );
    let mut path = template_path.to_string();
    for (k, v) in &req.path_parameters {
        let placeholder = format!("{{{k}}}");
        assert!(
            path.contains(&placeholder),
            "{name}: path parameter {k} is not in {template_path}"
        );
        path = path.replace(&placeholder, v);
    }
    assert!(
        !path.contains('{'),
        "{name}: {template_path} needs path parameters, got {:?}",
        req.path_parameters
    );
    assert_eq!(req.raw_path.as_deref(), Some(path.as_str()), "{name}: rawPath");
    assert_eq!(
        req.request_context.http.path.as_deref(),
        Some(path.as_str()),
        "{name}: http.path"
    );
    assert!(
        header(req, "x-api-key").is_some(),
        "{name}: partners always send x-api-key"
    );
    route
}

fn uuid_version(id: &str) -> usize {
    uuid::Uuid::try_parse(id)
        .unwrap_or_else(|e| panic!("{id} is not a UUID: {e}"))
        .get_version_num()
}

fn feed_of_partner_a() -> FeedRef {
    parse_exact("validate.json")
}

/// The fields of a rejection that do not depend on a library's wording.
fn rejection_keys(rejections: &[Rejection]) -> Vec<(usize, Option<u64>, String, String, String)> {
    rejections
        .iter()
        .map(|r| {
            (
                r.index,
                r.sequence_number,
                r.field.clone(),
                r.code.as_str().to_string(),
                format!("{:?}", r.stage),
            )
        })
        .collect()
}

#[test]
fn every_function_has_a_sample_and_every_sample_is_checked() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/ exists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let listed: BTreeSet<String> = SAMPLES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed, "events/*.json and this test's SAMPLES list must match");

    let template = Template::load();
    let deployed: BTreeSet<String> = template
        .resources_of_type("AWS::Serverless::Function")
        .into_iter()
        .filter_map(|(_, f)| get(f, &["Metadata", "BuildProperties", "Binary"]).and_then(scalar_text))
        .collect();
    let sampled: BTreeSet<String> = SAMPLES.iter().map(|(_, f)| f.to_string()).collect();
    assert_eq!(deployed, sampled, "every deployed function needs a sample event");
}

#[test]
fn the_authorizer_sample_is_an_http_api_v2_authorizer_request() {
    let req: ApiGatewayV2CustomAuthorizerV2Request = parse("authorizer.json");
    assert_eq!(req.version.as_deref(), Some("2.0"));
    assert_eq!(req.type_.as_deref(), Some("REQUEST"));
    let key = req
        .headers
        .get(authorizer::API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    assert!(key.is_some(), "the sample sends {}", authorizer::API_KEY_HEADER);
    assert_eq!(
        req.identity_source
            .as_ref()
            .and_then(|ids| ids.first())
            .map(String::as_str),
        key,
        "identitySource is the x-api-key value (Identity.Headers in the template)"
    );
    let route = req.route_key.clone().expect("routeKey");
    let all_routes: Vec<String> = ["IngestFunction", "QueryFunction"]
        .into_iter()
        .flat_map(routes_of)
        .collect();
    assert!(all_routes.contains(&route), "{route} is not a route of the API");
    let (method, path) = route.split_once(' ').expect("METHOD /path");
    assert!(
        req.route_arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(&format!("/$default/{method}{path}"))),
        "routeArn names the route: {:?}",
        req.route_arn
    );
}

#[test]
fn the_ingest_samples_are_feeds_their_partner_format_accepts() {
    for (name, format_id, partner_id) in [
        ("ingest-partner-a.json", "partner-a@1", "acme-retail"),
        ("ingest-partner-b.json", "partner-b@1", "globex-jp"),
    ] {
        let req: ApiGatewayV2httpRequest = parse(name);
        assert_eq!(check_route(name, &req, "IngestFunction"), "POST /v1/feeds");
        let who = caller(&req).unwrap_or_else(|| panic!("{name}: no authorizer context"));
        assert_eq!(
            (who.partner_id.as_str(), who.format.as_str()),
            (partner_id, format_id),
            "{name}"
        );
        let format = format(&who.format);
        let content_type = header(&req, "content-type").unwrap_or_else(|| panic!("{name}: no content-type"));
        assert!(
            format.accepts_content_type(content_type),
            "{name}: {format_id} refuses {content_type}"
        );
        let body = body_json(name, &req);
        let split = zb_shared::validate::validate_feed(&format, &body)
            .unwrap_or_else(|e| panic!("{name}: not a {format_id} feed: {e}"));
        assert!(
            (2..=3).contains(&split.total),
            "{name}: 2-3 orders, got {}",
            split.total
        );
        if name == "ingest-partner-b.json" {
            // The partner-b sample is the all-good case: every order maps.
            assert_eq!(split.rejections, [], "{name}");
            let mapped = zb_shared::transform::transform_feed(&format, &split.valid, Utc::now());
            assert_eq!(mapped.rejections, [], "{name}");
            assert_eq!(mapped.orders.len(), split.total);
        }
    }
}

#[test]
fn the_step_samples_follow_the_partner_a_feed_through_the_pipeline() {
    // validate.json: the OrderFeedReceived detail ingest publishes for the sample request.
    let feed = feed_of_partner_a();
    let req: ApiGatewayV2httpRequest = parse("ingest-partner-a.json");
    let who = caller(&req).expect("authorizer context");
    assert_eq!(feed.partner_id, who.partner_id);
    assert_eq!(feed.format, who.format);
    assert_eq!(Some(feed.request_id.as_str()), header(&req, "x-request-id"));
    assert_eq!(Some(feed.correlation_id.as_str()), header(&req, "x-correlation-id"));
    let received = Utc
        .timestamp_millis_opt(req.request_context.time_epoch)
        .single()
        .expect("timeEpoch");
    assert_eq!(feed.received_at, zb_shared::time::format_utc(received));
    assert_eq!(uuid_version(&feed.feed_id), 7, "ingest mints UUIDv7 feed ids");

    // transform.json: what validate makes of the sample body.
    let format = format(&feed.format);
    let split = zb_shared::validate::validate_feed(&format, &body_json("ingest-partner-a.json", &req))
        .expect("a partner-a feed");
    let validated: Validated = parse_exact("transform.json");
    let valid = validated.batch.inline().expect("a sample batch travels inline");
    assert_eq!(validated.feed, feed);
    assert_eq!(validated.order_count, split.total);
    assert_eq!(
        (validated.valid_count, validated.rejected_count),
        (split.valid.len(), split.rejections.len())
    );
    assert_eq!(valid.valid, split.valid, "transform.json's valid orders are validate's");
    assert_eq!(rejection_keys(&valid.rejections), rejection_keys(&split.rejections));
    assert!(!valid.rejections.is_empty(), "the sample shows a rejected order too");

    // persist.json: what transform maps them to.
    let transformed: Transformed = parse_exact("persist.json");
    let canonical = transformed.batch.inline().expect("a sample batch travels inline");
    let mapped = zb_shared::transform::transform_feed(&format, &valid.valid, Utc::now());
    assert_eq!(transformed.feed, feed);
    assert_eq!(transformed.order_count, validated.order_count);
    assert_eq!(
        canonical.orders, mapped.orders,
        "persist.json's canonical orders are transform's"
    );
    let mut rejections = valid.rejections.clone();
    rejections.extend(mapped.rejections);
    assert_eq!(canonical.rejections, rejections);
    assert_eq!(
        (transformed.valid_count, transformed.rejected_count),
        (canonical.orders.len(), rejections.len())
    );

    // record-error.json: persist's output on a first delivery, which is
    // what RecordErrors receives after HasRejections.
    let persisted: Persisted = parse_exact("record-error.json");
    let stored: Vec<(usize, u64, Outcome)> = canonical
        .orders
        .iter()
        .map(|o| (o.index, o.order.sequence_number, Outcome::Persisted))
        .collect();
    let (_, counts) = summarize(transformed.order_count, &stored, &canonical.rejections);
    assert_eq!(persisted.feed, feed);
    assert_eq!(persisted.counts, counts);
    assert_eq!(persisted.status, counts.status());
    assert_eq!(persisted.rejected_count, canonical.rejections.len());
    assert!(
        persisted.rejected_count > 0,
        "HasRejections sends this sample to RecordErrors"
    );
    let recorded = persisted.batch.inline().expect("a sample batch travels inline");
    assert_eq!(recorded.rejections, canonical.rejections);
    // ErrorsToRecord ignores persist's other fields (status, counts, ...) on
    // purpose: the state machine hands RecordErrors persist's whole output.
    let to_record: ErrorsToRecord =
        serde_json::from_value(raw("record-error.json")).expect("record-error.json is an ErrorsToRecord");
    assert_eq!(to_record.feed, feed);
    let batch: zb_shared::claim::Carried<zb_shared::pipeline::RejectionBatch> =
        serde_json::from_value(to_record.batch.expect("the batch")).expect("a rejection batch");
    assert_eq!(batch.inline().map(|b| &b.rejections), Some(&recorded.rejections));
    assert_eq!(to_record.failure, None);
}

#[test]
fn the_failure_sample_is_a_caught_step_error() {
    let sample = raw("record-error-failure.json");
    let input: ErrorsToRecord = parse("record-error-failure.json");
    let failure = input.failure.as_ref().expect("the sample carries a caught failure");
    let known = [
        "TransientDependencyError",
        "InvalidPipelineInput",
        "FeedNotFound",
        "UnknownFormat",
        "States.Timeout",
    ];
    assert!(
        known.contains(&failure.error.as_str()),
        "{} is not an error the steps raise",
        failure.error
    );
    let cause: Value = serde_json::from_str(&failure.cause).expect("a Lambda error's Cause is its JSON error payload");
    assert_eq!(cause["errorType"], failure.error.as_str());
    // A Catch keeps the failed step's input: here, Validate's (a bare FeedRef).
    let mut step_input = sample.clone();
    step_input.as_object_mut().expect("an object").remove("failure");
    let feed: FeedRef = serde_json::from_value(step_input.clone()).expect("a FeedRef");
    assert_eq!(serde_json::to_value(&feed).expect("JSON"), step_input);
    assert_eq!(input.feed, feed);

    // It is the partner-b sample feed.
    let req: ApiGatewayV2httpRequest = parse("ingest-partner-b.json");
    let who = caller(&req).expect("authorizer context");
    assert_eq!(
        (feed.partner_id.as_str(), feed.format.as_str()),
        (who.partner_id.as_str(), who.format.as_str())
    );
    assert_eq!(uuid_version(&feed.feed_id), 7, "ingest mints UUIDv7 feed ids");
}

#[test]
fn the_notify_sample_is_the_event_persist_publishes() {
    let event: EventBridgeEvent<Value> = parse("notify.json");
    assert_eq!(event.source, zb_shared::events::SOURCE);
    assert_eq!(event.detail_type, zb_shared::events::ORDERS_PERSISTED);

    // NotifyRule routes it to the notify function.
    let template = Template::load();
    let rule = template.resource("NotifyRule").expect("NotifyRule");
    let pattern = |field: &str| -> Vec<String> {
        get(rule, &["Properties", "EventPattern", field])
            .and_then(|v| untag(v).as_sequence())
            .into_iter()
            .flatten()
            .filter_map(scalar_text)
            .collect()
    };
    assert!(
        pattern("source").contains(&event.source),
        "NotifyRule matches the source"
    );
    assert!(
        pattern("detail-type").contains(&event.detail_type),
        "NotifyRule matches the detail-type"
    );

    // The detail is persist's, for the partner-a sample feed.
    let persisted: Persisted = parse_exact("record-error.json");
    let d = &event.detail;
    assert_eq!(d["feedId"], persisted.feed.feed_id.as_str());
    assert_eq!(d["partnerId"], persisted.feed.partner_id.as_str());
    assert_eq!(d["correlationId"], persisted.feed.correlation_id.as_str());
    assert_eq!(d["status"], serde_json::to_value(persisted.status).expect("JSON"));
    assert_eq!(d["counts"], serde_json::to_value(persisted.counts).expect("JSON"));
}

#[test]
fn the_query_samples_are_requests_on_the_query_routes() {
    let feed = feed_of_partner_a();

    let req: ApiGatewayV2httpRequest = parse("query-feed.json");
    assert_eq!(
        check_route("query-feed.json", &req, "QueryFunction"),
        "GET /v1/feeds/{feedId}"
    );
    assert_eq!(req.path_parameters.get("feedId"), Some(&feed.feed_id));
    assert_eq!(caller(&req).map(|c| c.partner_id), Some(feed.partner_id.clone()));
    assert!(req.body.is_none(), "a GET has no body");

    let req: ApiGatewayV2httpRequest = parse("query-orders.json");
    assert_eq!(
        check_route("query-orders.json", &req, "QueryFunction"),
        "GET /v1/orders"
    );
    assert_eq!(caller(&req).map(|c| c.partner_id), Some(feed.partner_id.clone()));
    let param = |k: &str| {
        let v = req
            .query_string_parameters
            .first(k)
            .unwrap_or_else(|| panic!("query-orders.json: no {k}"));
        zb_shared::time::parse_rfc3339(v).unwrap_or_else(|e| panic!("query-orders.json: {k}={v}: {e}"))
    };
    let (from, to) = (param("from"), param("to"));
    assert!(from < to, "from is before to");
    let raw_query = req.raw_query_string.as_deref().unwrap_or_default();
    for k in ["from", "to"] {
        assert!(
            raw_query.contains(&format!("{k}=")),
            "rawQueryString carries {k}: {raw_query}"
        );
    }
    // The sample feed's orders fall in the window, so the query finds them.
    let transformed: Transformed = parse_exact("persist.json");
    assert!(transformed
        .batch
        .inline()
        .expect("a sample batch travels inline")
        .orders
        .iter()
        .all(|o| from <= o.order.event_time && o.order.event_time <= to));
}

#[test]
fn the_deliver_sample_is_the_input_notify_starts_a_delivery_run_with() {
    let step: zb_shared::delivery::DeliveryStep = parse_exact("deliver.json");
    assert_eq!((step.partner_id.as_str(), step.attempt), ("partner-a", 0));
    assert!(step.outcome.is_none() && step.wait_seconds.is_none());
}

/// The sweeper's sample is what its Schedule event delivers, as the
/// EventBridge docs show a scheduled rule's event
/// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html),
/// and what the local cloud's scheduler sends.
#[test]
fn the_sweeper_sample_is_a_scheduled_event_of_its_template_schedule() {
    let event: EventBridgeEvent<Value> = parse("sweeper.json");
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
    assert_eq!(event.detail, serde_json::json!({}));
    let template = Template::load();
    let sweeper = template.resource("SweeperFunction").expect("SweeperFunction");
    let schedule = get(sweeper, &["Properties", "Events", "Sweep", "Properties", "Schedule"]).and_then(scalar_text);
    assert_eq!(schedule.as_deref(), Some("rate(5 minutes)"));
    assert!(
        event
            .resources
            .iter()
            .flatten()
            .any(|r| r.contains(":rule/") && r.contains("SweeperFunctionSweep")),
        "{:?}",
        event.resources
    );
}

/// The admin sample is what API Gateway hands the admin function after its
/// JWT authorizer accepted a Cognito access token: every claim a string,
/// `cognito:groups` as `"[finance]"`
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html;
/// the wire format as measured, floci-io/floci#2011), on one of the admin routes.
#[test]
fn the_admin_sample_is_a_finance_request_on_an_admin_route() {
    let req: ApiGatewayV2httpRequest = parse("admin-volume.json");
    let route = req.route_key.clone().expect("routeKey");
    assert!(routes_of("AdminFunction").contains(&route), "{route}");
    assert_eq!(req.request_context.route_key.as_ref(), Some(&route));
    let raw = raw("admin-volume.json");
    let claims = &raw["requestContext"]["authorizer"]["jwt"]["claims"];
    let claims = claims.as_object().expect("claims");
    assert!(
        claims.values().all(Value::is_string),
        "API Gateway stringifies every claim"
    );
    assert_eq!(claims["cognito:groups"], "[finance]");
    assert_eq!(claims["token_use"], "access");
    let template = Template::load();
    let api = template.resource("AdminApi").expect("AdminApi");
    let scopes: Vec<String> = get(
        api,
        &[
            "Properties",
            "Auth",
            "Authorizers",
            "OperatorJwt",
            "AuthorizationScopes",
        ],
    )
    .and_then(|s| untag(s).as_sequence())
    .into_iter()
    .flatten()
    .filter_map(scalar_text)
    .collect();
    assert_eq!(claims["scope"].as_str(), scopes.first().map(String::as_str));
}

/// The cost job's sample is the Scheduled Event of its hourly rule.
#[test]
fn the_cost_rollup_sample_is_a_scheduled_event_of_its_template_schedule() {
    let event: EventBridgeEvent<Value> = parse("cost-rollup.json");
    assert_eq!(
        (event.detail_type.as_str(), event.source.as_str()),
        ("Scheduled Event", "aws.events")
    );
    let template = Template::load();
    let job = template.resource("CostRollupFunction").expect("CostRollupFunction");
    let schedule = get(job, &["Properties", "Events", "Hourly", "Properties", "Schedule"]).and_then(scalar_text);
    assert_eq!(schedule.as_deref(), Some("rate(1 hour)"));
    assert!(event
        .resources
        .iter()
        .flatten()
        .any(|r| r.contains(":rule/") && r.contains("CostRollupFunctionHourly")));
}

#[test]
fn the_privacy_sample_is_what_the_erasure_machines_find_state_sends() {
    // The Find task's Payload is {"action": "find", "step.$": "$"}, and the
    // execution's input is {"erasureId"} only (never an identifier).
    let request: privacy::Request = serde_json::from_value(raw("privacy-find.json")).expect("a privacy::Request");
    assert_eq!(request.action, privacy::Action::Find);
    assert_eq!(
        uuid_version(&request.step.erasure_id),
        7,
        "an erasure id is a UUID v7, like an audit entry id"
    );
    let sample = raw("privacy-find.json");
    assert_eq!(
        sample["step"]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["erasureId".to_string()]),
        "the machine's input carries the erasure id only"
    );
    let asl: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("statemachines/privacy-erasure.asl.json")).expect("the ASL"),
    )
    .expect("JSON");
    assert_eq!(asl["States"]["Find"]["Parameters"]["Payload"]["action"], "find");
    assert_eq!(asl["States"]["Find"]["Parameters"]["Payload"]["step.$"], "$");
}
