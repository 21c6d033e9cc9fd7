#![no_main]
//! RFC 9457 problems as the functions render them: any detail, instance,
//! field errors and request id give a response with the problem's status,
//! the problem+json type and a body that reads back as the same problem.

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use zb_shared::problem::{FieldError, Problem, ProblemKind};

#[derive(Debug, Arbitrary)]
struct Input {
    kind: u8,
    detail: String,
    instance: Option<String>,
    errors: Vec<(u8, String, String)>,
    request_id: String,
}

const KINDS: [ProblemKind; 11] = [
    ProblemKind::BadRequest,
    ProblemKind::MalformedBody,
    ProblemKind::Unauthorized,
    ProblemKind::NotFound,
    ProblemKind::IdempotencyInFlight,
    ProblemKind::PayloadTooLarge,
    ProblemKind::UnsupportedMediaType,
    ProblemKind::IdempotencyKeyReused,
    ProblemKind::TooManyRequests,
    ProblemKind::ServiceUnavailable,
    ProblemKind::Internal,
];

libfuzzer_sys::fuzz_target!(|input: Input| {
    let kind = KINDS[usize::from(input.kind) % KINDS.len()];
    let mut problem = Problem::new(kind, input.detail);
    if let Some(instance) = input.instance {
        problem = problem.with_instance(instance);
    }
    for (which, at, detail) in input.errors {
        problem = problem.with_error(match which % 3 {
            0 => FieldError::pointer(at, detail),
            1 => FieldError::header(at, detail),
            _ => FieldError::parameter(at, detail),
        });
    }
    let resp = zb_shared::http::problem_response(problem.clone(), &input.request_id);
    assert_eq!(resp.status_code, i64::from(kind.status()));
    assert_eq!(
        resp.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    if let Some(id) = resp.headers.get("x-request-id") {
        assert_eq!(id.as_bytes(), input.request_id.as_bytes());
    }
    let Some(aws_lambda_events::encodings::Body::Text(text)) = resp.body else {
        panic!("a problem has a text body");
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("the body is JSON");
    for member in ["type", "title", "status", "detail"] {
        assert!(v.get(member).is_some(), "RFC 9457 member {member} is missing");
    }
    let back: Problem = serde_json::from_value(v).expect("the body reads back as a problem");
    problem.request_id = Some(input.request_id);
    assert_eq!(back, problem);
});
