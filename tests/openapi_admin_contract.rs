//! openapi-admin.yaml against what it describes, so neither can drift
//! unnoticed: the template's AdminApi routes, the roles each route admits
//! (issue 14's table, written out below), API Gateway's 401 for a token its
//! JWT authorizer refuses, the problem types the admin function renders, and
//! the promise that partner answers hold no secrets. No AWS needed.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use zb_shared::feed::FeedStatus;
use zb_shared::problem::{FieldError, Problem, ProblemKind};
use zb_shared::rejection::RejectionCode;
use zb_tests::openapi::{operations, pascal, template_routes, validator};
use zb_tests::template::{repo_root, Intrinsic};

fn spec() -> Value {
    zb_tests::openapi::load("openapi-admin.yaml")
}

/// Issue 14's route table, with issue 15's three routes for the ops
/// console: method, path, the roles it admits.
const ROUTES: [(&str, &str, &[&str]); 28] = [
    ("GET", "/v1/admin/me", &["admin", "ops", "finance"]),
    ("GET", "/v1/admin/partners", &["admin", "ops"]),
    ("POST", "/v1/admin/partners", &["admin"]),
    ("GET", "/v1/admin/partners/{partnerId}", &["admin", "ops"]),
    ("PATCH", "/v1/admin/partners/{partnerId}", &["admin"]),
    ("POST", "/v1/admin/partners/{partnerId}/disable", &["admin"]),
    ("POST", "/v1/admin/partners/{partnerId}/rotate-key", &["admin"]),
    ("POST", "/v1/admin/partners/{partnerId}/rotate-secret", &["admin"]),
    ("GET", "/v1/admin/formats", &["admin", "ops"]),
    ("POST", "/v1/admin/formats", &["admin"]),
    ("GET", "/v1/admin/formats/{formatId}", &["admin", "ops"]),
    ("GET", "/v1/admin/feeds", &["admin", "ops"]),
    ("GET", "/v1/admin/feeds/{feedId}", &["admin", "ops"]),
    ("POST", "/v1/admin/feeds/{feedId}/redrive", &["admin", "ops"]),
    ("GET", "/v1/admin/feeds/{feedId}/executions", &["admin", "ops"]),
    ("GET", "/v1/admin/executions/{executionArn}", &["admin", "ops"]),
    ("GET", "/v1/admin/state-machines", &["admin", "ops"]),
    ("GET", "/v1/admin/orders", &["admin", "ops"]),
    ("GET", "/v1/admin/errors", &["admin", "ops"]),
    ("GET", "/v1/admin/deliveries", &["admin", "ops"]),
    (
        "POST",
        "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay",
        &["admin", "ops"],
    ),
    ("GET", "/v1/admin/volume", &["admin", "ops", "finance"]),
    ("GET", "/v1/admin/cost", &["admin", "ops", "finance"]),
    ("GET", "/v1/admin/cost/feeds/{feedId}", &["admin", "ops", "finance"]),
    ("GET", "/v1/admin/audit", &["admin"]),
    // Issue 16: erasure and export of one data subject.
    ("POST", "/v1/admin/privacy/erasures", &["admin"]),
    ("GET", "/v1/admin/privacy/erasures/{erasureId}", &["admin"]),
    ("POST", "/v1/admin/privacy/exports", &["admin"]),
];

fn errors_of(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| e.to_string()).collect()
}

#[test]
fn the_admin_api_routes_and_the_document_are_the_same() {
    let routes = template_routes(|api| api == Some(Intrinsic::Ref("AdminApi")));
    let spec = spec();
    let documented: BTreeSet<_> = operations(&spec).into_keys().collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let not_deployed: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && not_deployed.is_empty(),
        "template.yaml's AdminApi and openapi-admin.yaml disagree.\n  routes without a spec: {undocumented:?}\n  spec paths without a route: {not_deployed:?}"
    );
    let issue: BTreeSet<_> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, issue, "the document's routes are issues 14, 15 and 16's");
    for (method, path) in &documented {
        assert!(
            path.starts_with("/v1/admin/"),
            "{method} {path} is not under /v1/admin/"
        );
    }
}

#[test]
fn each_operation_admits_the_roles_of_the_issue() {
    let spec = spec();
    let ops = operations(&spec);
    for (method, path, roles) in ROUTES {
        let op = ops
            .get(&(method.to_string(), path.to_string()))
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        assert_eq!(op["x-roles"], json!(roles), "{method} {path}: x-roles");
    }
}

#[test]
fn every_operation_takes_a_bearer_jwt_and_documents_the_gateway_and_role_refusals() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let scheme = &spec["components"]["securitySchemes"]["operatorJwt"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    assert_eq!(spec["security"], json!([{"operatorJwt": []}]));
    for ((method, path), op) in operations(&spec) {
        assert!(op.get("security").is_none(), "{method} {path} overrides the security");
        let responses = op["responses"].as_object().expect("responses");
        for code in ["401", "403", "429", "500", "503"] {
            assert!(responses.contains_key(code), "{method} {path} does not document {code}");
        }
        // API Gateway's JWT authorizer answers every refusal itself:
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
        assert_eq!(responses["401"], json!({"$ref": "#/components/responses/Unauthorized"}));
        assert_eq!(responses["403"], json!({"$ref": "#/components/responses/Forbidden"}));
        // An HTTP API answers a method a path does not take with 404, never 405.
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
        assert!(!responses.contains_key("405"), "{method} {path} documents a 405");
        assert!(
            responses.keys().any(|c| c.starts_with('2')),
            "{method} {path} has no 2xx"
        );
        let has_params = path.contains('{') || op["parameters"].as_array().is_some_and(|p| p.len() > 1);
        if has_params || op.get("requestBody").is_some() {
            assert!(
                responses.contains_key("400"),
                "{method} {path} takes input but has no 400"
            );
        }
        if path.contains('{') {
            assert!(
                responses.contains_key("404"),
                "{method} {path} names a thing but has no 404"
            );
        }
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(id.starts_with("admin"), "{method} {path}: operationId {id:?}");
    }
    let message = json!({"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}});
    assert_eq!(spec["components"]["responses"]["Unauthorized"]["content"], message);
    let gateway = validator(&spec, "GatewayMessage");
    assert!(gateway.is_valid(&json!({"message": "Unauthorized"})));
    // A role refusal is the function's problem; a token without the route's
    // scope is API Gateway's own 403.
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-jwt-authorizer-methods.html
    let forbidden = &spec["components"]["responses"]["Forbidden"]["content"];
    assert_eq!(
        forbidden,
        &json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/ForbiddenProblem"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}})
    );
}

/// Every change route (and only those) says which audit action it writes.
#[test]
fn every_change_says_it_is_audited() {
    let spec = spec();
    let actions: Vec<String> = spec["components"]["schemas"]["AuditEntry"]["properties"]["action"]["enum"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let mut seen = BTreeSet::new();
    for ((method, path), op) in operations(&spec) {
        let text = op["description"].as_str().unwrap_or_default();
        let audited: Vec<_> = actions.iter().filter(|a| text.contains(&format!("`{a}`"))).collect();
        if method == "GET" {
            assert!(audited.is_empty(), "{method} {path} is a read");
        } else {
            assert_eq!(audited.len(), 1, "{method} {path} names its audit action");
            seen.insert(audited[0].clone());
        }
    }
    assert_eq!(
        seen.len(),
        actions.len(),
        "an audit action no route writes: {actions:?}"
    );
}

/// A partner as GET, PATCH and disable answer it never carries a credential;
/// the create and rotate answers do.
#[test]
fn partner_answers_hold_no_secrets_except_the_issuing_ones() {
    let spec = spec();
    let partner = validator(&spec, "Partner");
    let plain = json!({"partnerId": "acme", "name": "Acme", "status": "ACTIVE", "format": "partner-a@1",
                       "webhookUrl": null, "rateLimit": {"rate": 10, "burst": 20}});
    assert!(
        errors_of(&partner, &plain).is_empty(),
        "{:?}",
        errors_of(&partner, &plain)
    );
    for secret in ["apiKey", "webhookSecret", "keyHash", "currentKeyHash", "retiredSecrets"] {
        let mut leaked = plain.clone();
        leaked[secret] = json!("zb_live_0123456789abcdef");
        assert!(!partner.is_valid(&leaked), "a partner with {secret} passes the schema");
    }
    let created = validator(&spec, "PartnerCreated");
    assert!(created
        .is_valid(&json!({"partnerId": "acme", "apiKey": "zb_0123456789abcdef0123", "webhookSecret": "whsec_abc"})));
    assert!(
        !created.is_valid(&json!({"partnerId": "acme"})),
        "the key is shown once, at creation"
    );
    let key = validator(&spec, "KeyRotated");
    assert!(
        key.is_valid(&json!({"partnerId": "acme", "apiKey": "zb_0123456789abcdef0123",
                                 "previousValidUntil": "2026-01-02T00:00:00.000Z"}))
    );
    let secret = validator(&spec, "SecretRotated");
    assert!(secret.is_valid(&json!({"partnerId": "acme", "webhookSecret": "whsec_abc"})));
}

#[test]
fn the_enumerations_are_the_codes_the_service_uses() {
    let spec = spec();
    let codes: Vec<Value> = [
        RejectionCode::MissingField,
        RejectionCode::WrongType,
        RejectionCode::UnknownField,
        RejectionCode::OutOfRange,
        RejectionCode::InvalidValue,
        RejectionCode::SchemaViolation,
        RejectionCode::InvalidSequenceNumber,
        RejectionCode::InvalidQuantity,
        RejectionCode::UnknownCurrency,
        RejectionCode::InvalidAmount,
        RejectionCode::InvalidTimestamp,
        RejectionCode::EventTimeInFuture,
        RejectionCode::EventTimeTooOld,
        RejectionCode::TotalMismatch,
        RejectionCode::DuplicateSequence,
        RejectionCode::SequenceConflict,
        RejectionCode::PipelineFailed,
    ]
    .iter()
    .map(|c| json!(c.as_str()))
    .collect();
    // The partner API's list is exhaustive (tests/openapi_contract.rs); this one is the same.
    let partner: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("openapi.yaml")).expect("openapi.yaml"))
            .expect("openapi.yaml parses");
    assert_eq!(
        spec["components"]["schemas"]["RejectionCode"]["enum"],
        partner["components"]["schemas"]["RejectionCode"]["enum"]
    );
    assert_eq!(spec["components"]["schemas"]["RejectionCode"]["enum"], json!(codes));
    let statuses: Vec<Value> = [
        FeedStatus::Received,
        FeedStatus::Completed,
        FeedStatus::CompletedWithRejections,
        FeedStatus::Failed,
    ]
    .iter()
    .map(|s| serde_json::to_value(s).expect("status"))
    .collect();
    assert_eq!(spec["components"]["schemas"]["FeedStatus"]["enum"], json!(statuses));
}

/// The problem kinds the admin function renders, and which field error each
/// names. Kinds it never sends (ingest's) are left out on purpose.
fn admin_problem_kinds() -> Vec<(ProblemKind, Option<FieldError>)> {
    vec![
        (ProblemKind::BadRequest, Some(FieldError::parameter("limit", "x"))),
        (ProblemKind::MalformedBody, Some(FieldError::pointer("", "x"))),
        (ProblemKind::Forbidden, None),
        (ProblemKind::NotFound, None),
        (ProblemKind::Conflict, None),
        (ProblemKind::UnprocessableContent, None),
        (ProblemKind::ServiceUnavailable, None),
        (ProblemKind::Internal, None),
    ]
}

#[test]
fn every_problem_the_admin_function_sends_has_its_schema_and_the_renderer_matches_it() {
    let spec = spec();
    let mut documented: BTreeSet<String> = spec["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .filter(|k| k.ends_with("Problem") && *k != "Problem" && *k != "BadParameterProblem")
        .cloned()
        .collect();
    for (kind, error) in admin_problem_kinds() {
        let name = format!("{}Problem", pascal(kind.slug()));
        assert!(documented.remove(&name), "{name} is not documented");
        let own = &spec["components"]["schemas"][&name]["allOf"][1]["properties"];
        let problem = Problem::new(kind, "detail");
        assert_eq!(own["type"]["const"], json!(problem.type_uri), "{name}: type");
        assert_eq!(own["title"]["const"], json!(problem.title), "{name}: title");
        assert_eq!(own["status"]["const"], json!(problem.status), "{name}: status");
        let mut rendered = problem.with_instance("/v1/admin/partners");
        if let Some(e) = error {
            rendered = rendered.with_error(e);
        }
        rendered.request_id = Some("req-1".into());
        let rendered: Value = serde_json::from_str(&rendered.to_json()).expect("problem JSON");
        let v = validator(&spec, &name);
        assert!(
            errors_of(&v, &rendered).is_empty(),
            "{name}: {:?}\n{rendered}",
            errors_of(&v, &rendered)
        );
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
    assert!(
        documented.is_empty(),
        "problem schemas no admin problem kind renders: {documented:?}"
    );
}

/// The shapes the contract fixes, checked on hand-written examples so the
/// document cannot silently loosen them.
#[test]
fn the_contract_shapes_pass_and_near_misses_fail() {
    let spec = spec();
    let volume = validator(&spec, "VolumeHour");
    let hour = json!({"partnerId": "partner-a", "hour": "2026-01-01T12", "feeds": 2,
        "orders": {"received": 5, "persisted": 3, "rejected": 1, "duplicate": 1, "failed": 0},
        "latencyMs": {"p50": 120, "p95": 900}, "rejectionCodes": {"MISSING_FIELD": 1}});
    assert!(errors_of(&volume, &hour).is_empty(), "{:?}", errors_of(&volume, &hour));
    let mut no_latency = hour.clone();
    no_latency["latencyMs"] = Value::Null;
    assert!(volume.is_valid(&no_latency));
    let mut bad_code = hour.clone();
    bad_code["rejectionCodes"] = json!({"NOT_A_CODE": 1});
    assert!(!volume.is_valid(&bad_code));

    let audit = validator(&spec, "AuditEntry");
    let entry = json!({"entryId": "01890a5d-ac96-774b-bcce-b302099a8057", "at": "2026-01-01T12:00:00.000Z",
        "actor": {"sub": "1b6f", "username": "admin", "groups": ["admin"]},
        "action": "partner.rotate-key", "target": "partner/acme",
        "before": {"apiKey": "[redacted]"}, "after": {"apiKey": "[redacted]"},
        "requestId": "r-1", "correlationId": "c-1"});
    assert!(errors_of(&audit, &entry).is_empty(), "{:?}", errors_of(&audit, &entry));
    let mut unknown = entry.clone();
    unknown["action"] = json!("partner.delete");
    assert!(!audit.is_valid(&unknown));

    let report = validator(&spec, "PublishReport");
    let r = json!({"formatId": "partner-c@1", "samples": [
        {"index": 0, "outcome": "canonical", "order": {"sequenceNumber": 1}},
        {"index": 1, "outcome": "rejected", "rejections": [{"code": "MISSING_FIELD", "field": "/Ref", "message": "x"}]}]});
    assert!(errors_of(&report, &r).is_empty(), "{:?}", errors_of(&report, &r));
    let lost = json!({"formatId": "partner-c@1", "samples": [{"index": 0, "outcome": "rejected"}]});
    assert!(!report.is_valid(&lost), "a rejected sample says why");

    let redrive = validator(&spec, "RedriveAccepted");
    assert!(redrive.is_valid(&json!({"feedId": "f", "partnerId": "partner-a",
        "executionName": "f-redrive-1", "redriveCount": 1})));
    let cost = validator(&spec, "CostDay");
    assert!(cost.is_valid(
        &json!({"partnerId": "partner-a", "day": "2026-01-01", "totalUsd": "0.000123",
        "byService": {"lambda": "0.0001", "dynamodb": "0.000023"}, "feeds": 3})
    ));
    assert!(
        !cost.is_valid(&json!({"partnerId": "partner-a", "day": "2026-01-01", "totalUsd": 0.1,
        "byService": {}, "feeds": 3})),
        "money is a decimal string"
    );
}
