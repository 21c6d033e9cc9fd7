//! The AWS JSON protocols (awsJson1_0 for Step Functions, awsJson1_1 for
//! EventBridge): an operation named by X-Amz-Target, a JSON body in, a JSON
//! body out, and errors as `{"__type", "message"}` with x-amzn-ErrorType,
//! which is what the AWS SDKs and the AWS CLI parse.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error the SDK turns into its typed error (`code()` = `kind`).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind,
            message: message.into(),
        }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }
}

/// Renders a result for the given JSON protocol version ("1.0" or "1.1").
pub fn respond(version: &str, result: Result<Value, ApiError>) -> Response {
    let content_type = format!("application/x-amz-json-{version}");
    let (status, body, error) = match result {
        Ok(v) => (StatusCode::OK, v, None),
        Err(e) => (e.status, json!({"__type": e.kind, "message": e.message}), Some(e.kind)),
    };
    let mut resp = (status, body.to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert("content-type", v);
    }
    if let Some(kind) = error {
        resp.headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(kind));
    }
    resp.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("local")),
    );
    resp
}

/// Reads a required string member.
pub fn required<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// Timestamps in the JSON protocols are epoch seconds with a fraction.
pub fn epoch(t: chrono::DateTime<chrono::Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// How a list operation names its page size and continuation token, and the
/// largest page it serves (the default page is 100 for every one we serve).
pub struct Paging {
    pub limit: &'static str,
    pub token: &'static str,
    pub max: usize,
}

/// Step Functions: maxResults (1..=1000) and nextToken.
pub const SFN_PAGING: Paging = Paging {
    limit: "maxResults",
    token: "nextToken",
    max: 1000,
};

/// EventBridge: Limit (1..=100) and NextToken.
pub const EVENTS_PAGING: Paging = Paging {
    limit: "Limit",
    token: "NextToken",
    max: 100,
};

/// One page of a list under `key`, with an opaque token (here, the offset).
pub fn page(body: &Value, paging: &Paging, key: &str, items: Vec<Value>) -> Value {
    let max = body
        .get(paging.limit)
        .and_then(Value::as_u64)
        .filter(|m| *m > 0)
        .unwrap_or(100)
        .min(paging.max as u64) as usize;
    let skip: usize = body
        .get(paging.token)
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let total = items.len();
    let mut out = json!({ key: items.into_iter().skip(skip).take(max).collect::<Vec<_>>() });
    if skip + max < total {
        out[paging.token] = json!((skip + max).to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: u64) -> Vec<Value> {
        (0..n).map(|i| json!(i)).collect()
    }

    #[test]
    fn pages_follow_each_services_names_and_bounds() {
        // EventBridge: Limit caps at 100, NextToken continues.
        let first = page(&json!({"Limit": 500}), &EVENTS_PAGING, "Rules", numbers(150));
        assert_eq!(first["Rules"].as_array().map(Vec::len), Some(100));
        assert_eq!(first["NextToken"], json!("100"));
        let rest = page(&json!({"NextToken": "100"}), &EVENTS_PAGING, "Rules", numbers(150));
        assert_eq!(rest["Rules"][0], json!(100));
        assert_eq!(rest["Rules"].as_array().map(Vec::len), Some(50));
        assert!(rest.get("NextToken").is_none());
        // Step Functions: maxResults up to 1000; 0 means the default 100.
        let big = page(&json!({"maxResults": 1000}), &SFN_PAGING, "events", numbers(1200));
        assert_eq!(big["events"].as_array().map(Vec::len), Some(1000));
        assert_eq!(big["nextToken"], json!("1000"));
        let default = page(&json!({"maxResults": 0}), &SFN_PAGING, "events", numbers(150));
        assert_eq!(default["events"].as_array().map(Vec::len), Some(100));
    }
}
