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
