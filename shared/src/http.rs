//! API Gateway HTTP API (payload format 2.0) helpers shared by ingest and
//! query: headers, the request id, the authorizer context, and responses.

use crate::problem::{Problem, ProblemKind, CONTENT_TYPE};
use crate::ratelimit::RateLimit;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest caller-supplied X-Request-ID we echo; longer ones get a new id.
const MAX_REQUEST_ID_LEN: usize = 128;

/// A header value as UTF-8 text (HTTP API lower-cases header names).
pub fn header<'a>(req: &'a ApiGatewayV2httpRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The caller's X-Request-ID when it is sane printable ASCII, otherwise a new one.
pub fn request_id(req: &ApiGatewayV2httpRequest) -> String {
    match header(req, REQUEST_ID_HEADER) {
        Some(id) if !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic()) => {
            id.to_string()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

/// What the authorizer put in the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub partner_id: String,
    pub format: String,
    /// The partner's limit (`rate`, `burst` in the context); the defaults
    /// when the authorizer sent none.
    pub rate_limit: RateLimit,
}

/// A context number, as a JSON number or a numeric string.
fn context_u32(fields: &std::collections::HashMap<String, serde_json::Value>, name: &str) -> Option<u32> {
    match fields.get(name)? {
        serde_json::Value::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Reads the authorizer context. Missing means the route was wired without
/// the authorizer, which we treat as unauthenticated, never as a partner.
pub fn caller(req: &ApiGatewayV2httpRequest) -> Option<Caller> {
    let fields = &req.request_context.authorizer.as_ref()?.fields;
    let partner_id = fields.get("partnerId")?.as_str()?.to_string();
    let format = fields
        .get("format")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if partner_id.is_empty() {
        return None;
    }
    let defaults = RateLimit::default();
    let rate_limit = RateLimit {
        rate: context_u32(fields, "rate").unwrap_or(defaults.rate),
        burst: context_u32(fields, "burst").unwrap_or(defaults.burst),
    };
    Some(Caller {
        partner_id,
        format,
        rate_limit,
    })
}

/// The request body as bytes, decoding base64 when API Gateway encoded it.
pub fn body_bytes(req: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    match &req.body {
        None => Ok(Vec::new()),
        Some(b) if req.is_base64_encoded => base64::engine::general_purpose::STANDARD.decode(b),
        Some(b) => Ok(b.clone().into_bytes()),
    }
}

fn base_headers(content_type: &'static str, request_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID_HEADER, v);
    }
    headers
}

/// A JSON response with the X-Request-ID header.
pub fn json_response(status: u16, body: &serde_json::Value, request_id: &str) -> ApiGatewayV2httpResponse {
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = i64::from(status);
    resp.headers = base_headers("application/json", request_id);
    resp.body = Some(Body::Text(body.to_string()));
    resp
}

/// An RFC 9457 problem response carrying the request id.
pub fn problem_response(mut problem: Problem, request_id: &str) -> ApiGatewayV2httpResponse {
    problem.request_id = Some(request_id.to_string());
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = i64::from(problem.status);
    resp.headers = base_headers(CONTENT_TYPE, request_id);
    resp.body = Some(Body::Text(problem.to_json()));
    resp
}

/// The 401 every unauthenticated request gets: no detail on purpose.
pub fn unauthorized(request_id: &str) -> ApiGatewayV2httpResponse {
    problem_response(
        Problem::new(ProblemKind::Unauthorized, "a valid x-api-key header is required"),
        request_id,
    )
}

/// Adds a header to a response.
pub fn with_header(mut resp: ApiGatewayV2httpResponse, name: &'static str, value: &str) -> ApiGatewayV2httpResponse {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers.insert(name, v);
    }
    resp
}
