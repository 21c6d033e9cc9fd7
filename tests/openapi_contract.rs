//! openapi.yaml against the things it describes, so neither can drift
//! unnoticed: the template's HTTP API routes, the partner formats' schemas
//! and content types, the problem types, the rejection codes and feed
//! statuses, and the header syntax the functions render. No AWS needed.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use zb_shared::feed::FeedStatus;
use zb_shared::format::FormatRegistry;
use zb_shared::problem::{FieldError, Problem, ProblemKind};
use zb_shared::ratelimit::{Decision, RateLimit};
use zb_shared::rejection::RejectionCode;
use zb_tests::openapi::{operations, pascal, template_routes, validator, METHODS};
use zb_tests::template::{repo_root, Intrinsic};

fn spec() -> Value {
    zb_tests::openapi::load("openapi.yaml")
}

fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    spec.pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("openapi.yaml has no components.schemas.{name}"))
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the spec: {errors:?}\n{instance}"
    );
}

/// `partner-a` @ 1 -> (`PartnerAOrderV1`, `PartnerAFeedV1`).
fn component_names(name: &str, version: u32) -> (String, String) {
    let p = pascal(name);
    (format!("{p}OrderV{version}"), format!("{p}FeedV{version}"))
}

#[test]
fn the_template_routes_and_the_spec_paths_are_the_same() {
    // The admin API has its own document (openapi-admin.yaml, tests/openapi_admin_contract.rs).
    let routes = template_routes(|api| api != Some(Intrinsic::Ref("AdminApi")));
    assert!(
        routes.len() >= 5,
        "the template's HTTP API routes were not found: {routes:?}"
    );

    let spec = spec();
    let documented: BTreeSet<_> = operations(&spec).into_keys().collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let not_deployed: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && not_deployed.is_empty(),
        "template.yaml and openapi.yaml disagree.\n  routes without a spec: {undocumented:?}\n  spec paths without a route: {not_deployed:?}"
    );
}

#[test]
fn every_operation_is_secured_and_documents_its_errors() {
    let spec = spec();
    assert_eq!(
        spec["components"]["securitySchemes"]["apiKey"],
        json!({"type": "apiKey", "in": "header", "name": "x-api-key",
               "description": spec["components"]["securitySchemes"]["apiKey"]["description"]})
    );
    assert_eq!(spec["security"], json!([{"apiKey": []}]));
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let responses = op["responses"].as_object().expect("responses");
            for code in ["401", "403", "500", "503"] {
                assert!(responses.contains_key(code), "{method} {path} does not document {code}");
            }
            // What API Gateway answers on AWS before any function runs:
            // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
            assert_eq!(responses["401"], json!({"$ref": "#/components/responses/Unauthorized"}));
            assert_eq!(responses["403"], json!({"$ref": "#/components/responses/Forbidden"}));
            // An HTTP API answers a method a path does not take with 404, never 405.
            // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
            assert!(!responses.contains_key("405"), "{method} {path} documents a 405");
            let ok = responses.keys().find(|c| c.starts_with('2'));
            let ok = ok.unwrap_or_else(|| panic!("{method} {path} has no 2xx"));
            let headers = &responses[ok]["headers"];
            for h in ["X-Request-ID", "RateLimit-Policy", "RateLimit"] {
                assert!(headers.get(h).is_some(), "{method} {path} {ok} does not document {h}");
            }
        }
    }
}

/// API Gateway's own answers to a missing key and a refused one are bare
/// `{"message"}` documents, whichever function the route has: a partner
/// never receives the functions' 401 problem (the authorizer runs first).
#[test]
fn the_gateway_answers_for_keys_are_gateway_messages_only() {
    let spec = spec();
    let message = json!({"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}});
    for name in ["Unauthorized", "Forbidden"] {
        let response = &spec["components"]["responses"][name];
        assert_eq!(response["content"], message, "components.responses.{name}");
    }
    let not_found = &spec["components"]["responses"]["NotFound"]["content"];
    assert_eq!(
        not_found["application/json"], message["application/json"],
        "a path that is no route is API Gateway's 404"
    );
    let gateway = validator(&spec, "GatewayMessage");
    for m in ["Unauthorized", "Forbidden", "Not Found", "Internal Server Error"] {
        assert_valid(&gateway, &json!({"message": m}), "GatewayMessage");
    }
}

#[test]
fn the_request_schemas_are_the_formats_own() {
    let spec = spec();
    let registry = FormatRegistry::builtin().expect("built-in formats");
    let content = &spec["paths"]["/v1/feeds"]["post"]["requestBody"]["content"];
    let mut media_types_seen = BTreeSet::new();
    for id in registry.ids() {
        let format = registry.get(id).expect("format");
        let dir = repo_root()
            .join("formats")
            .join(&format.name)
            .join(format.version.to_string());
        let text = std::fs::read_to_string(dir.join("schema.json")).expect("schema.json");
        let mut own: Value = serde_json::from_str(&text).expect("schema.json parses");
        own.as_object_mut().expect("object").remove("$schema");
        let (order, feed) = component_names(&format.name, format.version);
        assert_eq!(
            schema(&spec, &order),
            &own,
            "components.schemas.{order} differs from {}/schema.json; copy the file's content",
            dir.display()
        );

        // The envelope: format.json's orders pointer leads, through required
        // properties, to a non-empty array of the format's orders.
        let mut at = schema(&spec, &feed);
        for token in format.orders_pointer.trim_start_matches('/').split('/') {
            let required = at["required"].as_array().cloned().unwrap_or_default();
            assert!(required.contains(&json!(token)), "{feed}: {token} must be required");
            at = &at["properties"][token];
        }
        assert_eq!(
            at["type"], "array",
            "{feed}: {} is the orders array",
            format.orders_pointer
        );
        assert_eq!(at["minItems"], 1, "{feed}: ingest refuses a feed without orders");
        assert_eq!(
            at["maxItems"],
            zb_shared::feed::MAX_ORDERS_PER_FEED,
            "{feed}: ingest refuses a feed of more orders"
        );
        assert_eq!(at["items"]["$ref"], json!(format!("#/components/schemas/{order}")));

        // Each content type the format takes offers the format's feed.
        let feed_ref = json!({"$ref": format!("#/components/schemas/{feed}")});
        for ct in &format.content_types {
            let s = &content[ct]["schema"];
            let offered = s == &feed_ref || s["anyOf"].as_array().is_some_and(|a| a.contains(&feed_ref));
            assert!(
                offered,
                "{id} takes {ct}, but the spec does not offer {feed} under it: {s}"
            );
            media_types_seen.insert(ct.clone());
        }
    }
    let documented: BTreeSet<String> = content.as_object().expect("content").keys().cloned().collect();
    assert_eq!(
        documented, media_types_seen,
        "a media type no format takes is documented"
    );
}

/// Every kind; the match makes a new variant a compile error here.
fn problem_kinds() -> Vec<ProblemKind> {
    use ProblemKind::*;
    let all = vec![
        BadRequest,
        MalformedBody,
        Unauthorized,
        NotFound,
        IdempotencyInFlight,
        PayloadTooLarge,
        UnsupportedMediaType,
        IdempotencyKeyReused,
        TooManyRequests,
        ServiceUnavailable,
        Internal,
    ];
    for k in &all {
        match k {
            BadRequest | MalformedBody | Unauthorized | NotFound | IdempotencyInFlight | PayloadTooLarge
            | UnsupportedMediaType | IdempotencyKeyReused | TooManyRequests | ServiceUnavailable | Internal => {}
            // The admin API's own (openapi-admin.yaml, tests/openapi_admin_contract.rs).
            Forbidden | Conflict | UnprocessableContent => {}
        }
    }
    all
}

/// Kinds the functions can render that never reach a partner on AWS: the
/// authorizer runs before every route, so a request without its context
/// (ingest's and query's 401) cannot arrive. The spec leaves them out.
fn unreachable_on_aws(kind: ProblemKind) -> bool {
    matches!(kind, ProblemKind::Unauthorized)
}

#[test]
fn every_problem_type_has_its_schema_and_the_renderer_matches_it() {
    let spec = spec();
    for kind in problem_kinds() {
        let name = format!("{}Problem", pascal(kind.slug()));
        if unreachable_on_aws(kind) {
            assert!(
                spec.pointer(&format!("/components/schemas/{name}")).is_none(),
                "{name}: a partner cannot receive it on AWS; the spec does not document it"
            );
            continue;
        }
        let own = &schema(&spec, &name)["allOf"][1]["properties"];
        let problem = Problem::new(kind, "detail");
        assert_eq!(own["type"]["const"], json!(problem.type_uri), "{name}: type");
        assert_eq!(own["title"]["const"], json!(problem.title), "{name}: title");
        assert_eq!(own["status"]["const"], json!(problem.status), "{name}: status");

        // What the functions render for this kind passes the schema, with the
        // kind of field error the spec says it names.
        let error = match kind {
            ProblemKind::MalformedBody | ProblemKind::PayloadTooLarge => FieldError::pointer("/orders", "x"),
            ProblemKind::BadRequest => FieldError::parameter("limit", "x"),
            _ => FieldError::header("x-api-key", "x"),
        };
        let mut rendered = problem.with_error(error).with_instance("/v1/feeds");
        rendered.request_id = Some("req-1".into());
        let rendered: Value = serde_json::from_str(&rendered.to_json()).expect("problem JSON");
        assert_valid(&validator(&spec, &name), &rendered, &name);
        // And it is not mistaken for another type.
        let other = if kind == ProblemKind::Internal {
            "NotFoundProblem"
        } else {
            "InternalProblem"
        };
        assert!(
            !validator(&spec, other).is_valid(&rendered),
            "{name} also passes {other}"
        );
    }
}

fn rejection_codes() -> Vec<RejectionCode> {
    use RejectionCode::*;
    let all = vec![
        MissingField,
        WrongType,
        UnknownField,
        OutOfRange,
        InvalidValue,
        SchemaViolation,
        InvalidSequenceNumber,
        InvalidQuantity,
        UnknownCurrency,
        InvalidAmount,
        InvalidTimestamp,
        EventTimeInFuture,
        EventTimeTooOld,
        TotalMismatch,
        DuplicateSequence,
        SequenceConflict,
        PipelineFailed,
    ];
    for c in &all {
        match c {
            MissingField
            | WrongType
            | UnknownField
            | OutOfRange
            | InvalidValue
            | SchemaViolation
            | InvalidSequenceNumber
            | InvalidQuantity
            | UnknownCurrency
            | InvalidAmount
            | InvalidTimestamp
            | EventTimeInFuture
            | EventTimeTooOld
            | TotalMismatch
            | DuplicateSequence
            | SequenceConflict
            | PipelineFailed => {}
        }
    }
    all
}

#[test]
fn the_enumerations_are_the_codes_the_service_uses() {
    let spec = spec();
    let codes: Vec<Value> = rejection_codes().iter().map(|c| json!(c.as_str())).collect();
    assert_eq!(schema(&spec, "RejectionCode")["enum"], json!(codes));
    use FeedStatus::*;
    let statuses = [Received, Completed, CompletedWithRejections, Failed];
    for s in &statuses {
        match s {
            Received | Completed | CompletedWithRejections | Failed => {}
        }
    }
    let statuses: Vec<Value> = statuses
        .iter()
        .map(|s| serde_json::to_value(s).expect("status"))
        .collect();
    assert_eq!(schema(&spec, "FeedStatus")["enum"], json!(statuses));
}

#[test]
fn the_rate_limit_headers_the_functions_render_match_the_spec() {
    let spec = spec();
    let header_schema = |name: &str| {
        let s = spec
            .pointer(&format!("/components/headers/{name}/schema"))
            .unwrap_or_else(|| panic!("no components.headers.{name}"));
        jsonschema::validator_for(s).expect("header schema")
    };
    let policy = header_schema("RateLimit-Policy");
    let limit = header_schema("RateLimit");
    for l in [
        RateLimit::default(),
        RateLimit { rate: 1, burst: 3 },
        RateLimit { rate: 7, burst: 1 },
    ] {
        let p = l.policy();
        assert_valid(&policy, &json!(p.header()), "RateLimit-Policy");
        let d = Decision {
            allowed: true,
            remaining: p.quota - 1,
            reset_secs: p.window_secs,
        };
        assert_valid(&limit, &json!(d.header()), "RateLimit");
    }
    assert!(!policy.is_valid(&json!("200;w=2")), "the pattern is not a catch-all");
}
