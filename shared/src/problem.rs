//! RFC 9457 problem details. Every 4xx/5xx the partner API sends is one of
//! these, and each names what is at fault in `errors`: a JSON Pointer into
//! the body, a header or a query parameter.

use serde::{Deserialize, Serialize};

/// Base of our problem type URIs; each type is documented under it.
pub const PROBLEM_BASE: &str = "https://api.zerobeta.example/problems/";
pub const CONTENT_TYPE: &str = "application/problem+json";

/// Where the fault is. Exactly one of `pointer`, `header`, `parameter` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) into the request body; "" is the whole body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    pub detail: String,
}

impl FieldError {
    pub fn pointer(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: Some(pointer.into()),
            header: None,
            parameter: None,
            detail: detail.into(),
        }
    }
    pub fn header(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: None,
            header: Some(name.into()),
            parameter: None,
            detail: detail.into(),
        }
    }
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: None,
            header: None,
            parameter: Some(name.into()),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The X-Request-ID of the request, so a partner can quote it to support.
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The problem types the API uses. Their slugs are part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    BadRequest,
    MalformedBody,
    Unauthorized,
    /// The admin API: no role of the caller's may call the route.
    Forbidden,
    NotFound,
    /// The admin API: the target's state does not allow the change.
    Conflict,
    IdempotencyInFlight,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    /// The admin API: well-formed, but it cannot be carried out.
    UnprocessableContent,
    TooManyRequests,
    ServiceUnavailable,
    Internal,
}

impl ProblemKind {
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::MalformedBody => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::Conflict => 409,
            Self::UnprocessableContent => 422,
            Self::NotFound => 404,
            Self::IdempotencyInFlight => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::IdempotencyKeyReused => 422,
            Self::TooManyRequests => 429,
            Self::ServiceUnavailable => 503,
            Self::Internal => 500,
        }
    }
    pub fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::MalformedBody => "malformed-body",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::UnprocessableContent => "unprocessable-content",
            Self::NotFound => "not-found",
            Self::IdempotencyInFlight => "idempotency-in-flight",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::TooManyRequests => "too-many-requests",
            Self::ServiceUnavailable => "service-unavailable",
            Self::Internal => "internal",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::MalformedBody => "The request body does not parse",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::Conflict => "Conflict",
            Self::UnprocessableContent => "Unprocessable content",
            Self::NotFound => "Not found",
            Self::IdempotencyInFlight => "A request with this Idempotency-Key is still in progress",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "Unsupported content type",
            Self::IdempotencyKeyReused => "Idempotency-Key reused with a different body",
            Self::TooManyRequests => "Too many requests",
            Self::ServiceUnavailable => "Service temporarily unavailable",
            Self::Internal => "Internal error",
        }
    }
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{PROBLEM_BASE}{}", kind.slug()),
            title: kind.title().to_string(),
            status: kind.status(),
            detail: detail.into(),
            instance: None,
            errors: Vec::new(),
            request_id: None,
        }
    }

    pub fn with_error(mut self, error: FieldError) -> Self {
        self.errors.push(error);
        self
    }

    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc9457_members_and_the_field_at_fault() {
        let p = Problem::new(ProblemKind::UnsupportedMediaType, "partner-a@1 takes application/json")
            .with_error(FieldError::header("content-type", "text/csv is not accepted"))
            .with_instance("/v1/feeds");
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(
            v["type"],
            "https://api.zerobeta.example/problems/unsupported-media-type"
        );
        assert_eq!(v["status"], 415);
        assert_eq!(v["title"], "Unsupported content type");
        assert_eq!(v["instance"], "/v1/feeds");
        assert_eq!(v["errors"][0]["header"], "content-type");
        assert!(v["errors"][0].get("pointer").is_none());
    }
}
