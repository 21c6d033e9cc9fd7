//! One AWS-compatible endpoint for the SDKs and the AWS CLI: Step Functions
//! (awsJson1_0, X-Amz-Target AWSStepFunctions.*: executions, state machines,
//! TestState), EventBridge (awsJson1_1, AWSEvents.*: PutEvents, rules,
//! targets, TestEventPattern) and the Lambda Invoke API (REST:
//! POST /2015-03-31/functions/{name}/invocations). Signatures are accepted
//! unchecked: the local cloud has no IAM.

use crate::awsjson::{respond, ApiError};
use crate::cloud::Services;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(services: Arc<Services>) -> axum::Router {
    axum::Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(lambda_invoke))
        .fallback(json_protocol)
        // Lambda's synchronous payload limit is 6 MB; axum's default is 2 MB.
        .layer(axum::extract::DefaultBodyLimit::max(
            zb_lambda_host::MAX_SYNC_PAYLOAD + 1024,
        ))
        .with_state(services)
}

async fn json_protocol(State(s): State<Arc<Services>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return respond(
                    "1.1",
                    Err(ApiError::new(
                        "SerializationException",
                        format!("body is not JSON: {e}"),
                    )),
                )
            }
        }
    };
    match target.split_once('.') {
        Some(("AWSStepFunctions", op)) => respond("1.0", s.sfn.call(op, &body).await),
        Some(("AWSEvents", "PutEvents")) => respond("1.1", s.events.put_events(caller(&headers), &body).await),
        Some(("AWSEvents", op)) => respond("1.1", s.events.call(op, &body)),
        _ => respond(
            "1.1",
            Err(ApiError::new(
                "UnknownOperationException",
                format!("unknown or missing X-Amz-Target {target:?}"),
            )),
        ),
    }
}

/// The access key id a SigV4-signed request names (`Credential=<id>/...`):
/// not checked, only recorded, as CloudTrail records it.
fn caller(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let (_, credential) = auth.split_once("Credential=")?;
    credential.split('/').next().filter(|id| !id.is_empty())
}

fn lambda_error(status: StatusCode, kind: &'static str, message: String) -> Response {
    let mut resp = (status, json!({"Type": "User", "message": message}).to_string()).into_response();
    resp.headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(kind));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

async fn lambda_invoke(
    State(s): State<Arc<Services>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(function) = s.model.function(&name).map(|f| f.name.clone()) else {
        return lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!(
                "Function not found: arn:aws:lambda:{}:{}:function:{name}",
                crate::template::REGION,
                crate::template::ACCOUNT
            ),
        );
    };
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    match kind {
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        "Event" => {
            s.invoke_async(&function, body.to_vec());
            StatusCode::ACCEPTED.into_response()
        }
        "RequestResponse" => match s.host.invoke(&function, body.to_vec()).await {
            Ok(inv) => {
                let tail = headers.get("x-amz-log-type").and_then(|v| v.to_str().ok()) == Some("Tail");
                let (payload, error) = match inv.result {
                    Ok(p) => (p, None),
                    Err(e) => (e.raw.clone(), Some("Unhandled")),
                };
                let mut resp = (StatusCode::OK, payload).into_response();
                let h = resp.headers_mut();
                h.insert("content-type", HeaderValue::from_static("application/json"));
                h.insert("x-amz-executed-version", HeaderValue::from_static("$LATEST"));
                if let Some(e) = error {
                    h.insert("x-amz-function-error", HeaderValue::from_static(e));
                }
                if tail {
                    let log = base64::engine::general_purpose::STANDARD.encode(inv.report.to_string());
                    if let Ok(v) = HeaderValue::from_str(&log) {
                        h.insert("x-amz-log-result", v);
                    }
                }
                resp
            }
            Err(e) => lambda_error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", e.to_string()),
        },
        other => lambda_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!("invalid invocation type {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_access_key_id_of_the_signature() {
        let mut h = HeaderMap::new();
        assert_eq!(caller(&h), None);
        h.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/events/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc",
            ),
        );
        assert_eq!(caller(&h), Some("AKIDEXAMPLE"));
        h.insert("authorization", HeaderValue::from_static("Bearer x"));
        assert_eq!(caller(&h), None);
    }
}
