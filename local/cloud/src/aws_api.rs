//! One AWS-compatible endpoint for the SDKs and the AWS CLI: Step Functions
//! (awsJson1_0, X-Amz-Target AWSStepFunctions.*: executions, state machines,
//! TestState), EventBridge (awsJson1_1, AWSEvents.*: PutEvents, rules,
//! targets, TestEventPattern), CloudWatch Logs' read APIs (awsJson1_1,
//! Logs_20140328.*: FilterLogEvents, GetLogEvents, DescribeLogStreams, see
//! logs_api.rs), KMS Encrypt and Decrypt (awsJson1_1, TrentService.*, see
//! kms.rs) and the Lambda Invoke API (REST:
//! POST /2015-03-31/functions/{name}/invocations). Signatures are not
//! verified, but the access key they name says who calls: a function's call is
//! evaluated against its role's policies (see crate::iam) before it is served.

use crate::awsjson::{respond, ApiError};
use crate::cloud::Services;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn router(services: Arc<Services>) -> axum::Router {
    axum::Router::new()
        // Lambda's payload limit is checked in the handler, to answer as Lambda does.
        .route(
            "/2015-03-31/functions/{name}/invocations",
            post(lambda_invoke).layer(axum::extract::DefaultBodyLimit::disable()),
        )
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
    if let Some((prefix, op)) = target.split_once('.') {
        // KMS checks need the key a KeyId, alias or ciphertext names: the local KMS resolves it.
        let checks = if prefix == "TrentService" {
            s.kms.checks(op, &body)
        } else {
            crate::iam::Iam::endpoint_checks(prefix, op, &body)
        };
        if let Err(denied) = s.iam.authorize_key(caller(&headers), checks) {
            let version = if prefix == "AWSStepFunctions" { "1.0" } else { "1.1" };
            return respond(version, Err(ApiError::new("AccessDeniedException", denied.message)));
        }
    }
    match target.split_once('.') {
        Some(("AWSStepFunctions", op)) => respond("1.0", s.sfn.call(op, &body).await),
        Some(("AWSEvents", "PutEvents")) => respond("1.1", s.events.put_events(caller(&headers), &body).await),
        Some(("AWSEvents", op)) => respond("1.1", s.events.call(op, &body)),
        Some(("TrentService", op)) => respond("1.1", s.kms.call(op, &body)),
        Some(("Logs_20140328", op)) => respond(
            "1.1",
            crate::logs_api::call(s.sfn.state_dir(), &s.log_groups(), op, &body),
        ),
        _ => respond(
            "1.1",
            Err(ApiError::new("UnknownOperationException", unknown_target(&target))),
        ),
    }
}

/// What an unknown X-Amz-Target is told: which port serves DynamoDB, or what this endpoint serves.
fn unknown_target(target: &str) -> String {
    if target.starts_with("DynamoDB_") {
        return format!(
            "{target} is a DynamoDB call: the local cloud serves DynamoDB on its own port, not this one \
             (http://127.0.0.1:8000 with `make run`, see its start-up banner): use `zb --local`, \
             --dynamodb-endpoint or AWS_ENDPOINT_URL_DYNAMODB"
        );
    }
    let shown = if target.is_empty() {
        "no X-Amz-Target".to_string()
    } else {
        format!("X-Amz-Target {target:?}")
    };
    format!(
        "{shown} is not served here: this local endpoint serves Step Functions (AWSStepFunctions.*), \
         EventBridge (AWSEvents.*), CloudWatch Logs reads (Logs_20140328.*), KMS Encrypt and Decrypt \
         (TrentService.*) and Lambda Invoke; \
         DynamoDB is on its own port (http://127.0.0.1:8000 with `make run`)"
    )
}

/// The access key id a SigV4-signed request names (`Credential=<id>/...`):
/// who calls (recorded, as CloudTrail records it, and evaluated by IAM).
pub(crate) fn caller(headers: &HeaderMap) -> Option<&str> {
    crate::dynamodb_proxy::access_key(headers)
}

/// A Lambda error as the REST API answers it: `{"Type", "message"}` with
/// x-amzn-ErrorType (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors).
fn lambda_error(status: StatusCode, kind: &'static str, message: String) -> Response {
    let origin = if status.is_server_error() { "Service" } else { "User" };
    let mut resp = (status, json!({"Type": origin, "message": message}).to_string()).into_response();
    resp.headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_static(kind));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn host_error(e: &zb_lambda_host::HostError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = lambda_error(status, e.aws_error_code(), e.to_string());
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    }
    resp
}

/// A function named as Invoke's FunctionName allows: `name`, `name:qualifier`,
/// `account:function:name[:qualifier]` or
/// `arn:aws:lambda:region:account:function:name[:qualifier]`.
#[derive(Debug, PartialEq, Eq)]
struct FunctionRef<'a> {
    region: Option<&'a str>,
    account: Option<&'a str>,
    name: &'a str,
    qualifier: Option<&'a str>,
}

fn parse_function_name(s: &str) -> Option<FunctionRef<'_>> {
    let parts: Vec<&str> = s.split(':').collect();
    let (region, account, rest) = match parts.as_slice() {
        ["arn", partition, "lambda", region, account, "function", rest @ ..] if partition.starts_with("aws") => {
            (Some(*region), Some(*account), rest)
        }
        [account, "function", rest @ ..] => (None, Some(*account), rest),
        rest => (None, None, rest),
    };
    let (name, qualifier) = match rest {
        [name] => (*name, None),
        [name, qualifier] => (*name, Some(*qualifier)),
        _ => return None,
    };
    let word = |t: &str, extra: &[char]| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(&c))
    };
    let valid = word(name, &['.'])
        && name.len() <= 140
        && qualifier.is_none_or(|q| q == "$LATEST" || (word(q, &[]) && q.len() <= 128))
        && account.is_none_or(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()));
    valid.then_some(FunctionRef {
        region,
        account,
        name,
        qualifier,
    })
}

/// Resolves Invoke's FunctionName and Qualifier to a template function.
/// The local cloud has no versions or aliases: `$LATEST` is the function,
/// any other qualifier is not found, as Lambda answers for a version or
/// alias that does not exist.
fn resolve_function(
    model: &crate::template::Model,
    raw: &str,
    qualifier: Option<&str>,
) -> Result<String, Box<Response>> {
    let (region, account) = (crate::template::REGION, crate::template::ACCOUNT);
    let f = parse_function_name(raw).ok_or_else(|| {
        Box::new(lambda_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            format!(
                "1 validation error detected: Value '{raw}' at 'functionName' failed to satisfy constraint: \
                 Member must satisfy regular expression pattern: \
                 (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?\
                 ([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
            ),
        ))
    })?;
    let qualifier = match (f.qualifier, qualifier.filter(|q| !q.is_empty())) {
        (Some(a), Some(b)) if a != b => {
            return Err(Box::new(lambda_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.".into(),
            )))
        }
        (a, b) => a.or(b),
    };
    let arn = format!("arn:aws:lambda:{region}:{account}:function:{}", f.name);
    let not_found = |arn: String| {
        Box::new(lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {arn}"),
        ))
    };
    let found = model
        .functions
        .iter()
        .find(|x| x.name == f.name)
        .filter(|_| f.region.is_none_or(|r| r == region) && f.account.is_none_or(|a| a == account));
    match (found, qualifier) {
        (Some(x), None | Some("$LATEST")) => Ok(x.name.clone()),
        (_, Some(q)) => Err(not_found(format!("{arn}:{q}"))),
        (None, None) => Err(not_found(arn)),
    }
}

/// Lambda's payload limit for an asynchronous (Event) invocation.
const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;

async fn lambda_invoke(
    State(s): State<Arc<Services>>,
    Path(name): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let function = match resolve_function(&s.model, &name, query.get("Qualifier").map(String::as_str)) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let arn = crate::cloud::function_arn(&function);
    if let Err(denied) = s
        .iam
        .authorize_key(caller(&headers), Ok(vec![zb_iam::actions::lambda_invoke(&arn)]))
    {
        // Lambda's REST API answers a refused call with 403 AccessDeniedException.
        return lambda_error(StatusCode::FORBIDDEN, "AccessDeniedException", denied.message);
    }
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    // "For synchronous invocations, the maximum payload size is 6 MB. For
    // asynchronous invocations, the maximum payload size is 1 MB."
    // (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)
    let limit = if kind == "Event" {
        MAX_ASYNC_PAYLOAD
    } else {
        zb_lambda_host::MAX_SYNC_PAYLOAD
    };
    let too_large = || {
        lambda_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        )
    };
    let Ok(body) = axum::body::to_bytes(body, zb_lambda_host::MAX_SYNC_PAYLOAD).await else {
        return too_large();
    };
    if body.len() > limit {
        return too_large();
    }
    if !body.is_empty() {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
            return lambda_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {e}"),
            );
        }
    }
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
            Err(e) => host_error(&e),
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

    /// FunctionName's forms, from https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_RequestSyntax
    /// ("Function name – my-function (name-only), my-function:v1 (with alias);
    /// Function ARN; Partial ARN – 123456789012:function:my-function").
    #[test]
    fn unknown_targets_name_the_fix() {
        let ddb = unknown_target("DynamoDB_20120810.ListTables");
        assert!(ddb.contains("8000") && ddb.contains("--local"), "{ddb}");
        let none = unknown_target("");
        assert!(none.contains("no X-Amz-Target") && none.contains("8000"), "{none}");
    }

    #[test]
    fn function_names_parse_in_every_form_invoke_documents() {
        let f = |region, account, name, qualifier| FunctionRef {
            region,
            account,
            name,
            qualifier,
        };
        assert_eq!(parse_function_name("zb-ingest"), Some(f(None, None, "zb-ingest", None)));
        assert_eq!(
            parse_function_name("zb-ingest:$LATEST"),
            Some(f(None, None, "zb-ingest", Some("$LATEST")))
        );
        assert_eq!(
            parse_function_name("000000000000:function:zb-ingest:live"),
            Some(f(None, Some("000000000000"), "zb-ingest", Some("live")))
        );
        assert_eq!(
            parse_function_name("arn:aws:lambda:us-east-1:000000000000:function:zb-ingest:7"),
            Some(f(Some("us-east-1"), Some("000000000000"), "zb-ingest", Some("7")))
        );
        for bad in [
            "",
            "a:b:c:d",
            "zb ingest",
            "zb-ingest:",
            "arn:aws:s3:::bucket",
            "1:function:x",
            "x:$PREV",
        ] {
            assert_eq!(parse_function_name(bad), None, "{bad:?}");
        }
    }
}
