//! The AWS JSON protocols (awsJson1_0 for Step Functions, awsJson1_1 for
//! EventBridge): an operation named by X-Amz-Target, a JSON body in, a JSON
//! body out, and errors as `{"__type", "message"}` with x-amzn-ErrorType,
//! which is what the AWS SDKs and the AWS CLI parse.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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

/// How a list operation names its page size and continuation token, the
/// largest page it serves (the default page is 100 for every one we serve)
/// and the longest token its API model accepts.
pub struct Paging {
    pub limit: &'static str,
    pub token: &'static str,
    pub max: usize,
    pub max_token_len: usize,
    /// The page size when the request names none.
    pub default: usize,
    /// The error code for a token the service did not issue.
    pub invalid_token: &'static str,
}

/// Step Functions: maxResults (1..=1000) and nextToken (1..=1024 characters).
pub const SFN_PAGING: Paging = Paging {
    limit: "maxResults",
    token: "nextToken",
    max: 1000,
    max_token_len: 1024,
    default: 100,
    invalid_token: "InvalidToken",
};

/// EventBridge: Limit (1..=100) and NextToken (1..=2048 characters).
pub const EVENTS_PAGING: Paging = Paging {
    limit: "Limit",
    token: "NextToken",
    max: 100,
    max_token_len: 2048,
    default: 100,
    invalid_token: "InvalidToken",
};

/// CloudWatch Logs FilterLogEvents: limit 1..=10000 (default: as many as
/// fit, up to 10,000) and nextToken (at least 1 character). Its model lists
/// no InvalidToken: a token it did not issue is an InvalidParameterException
/// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html, Errors).
pub const LOGS_FILTER_PAGING: Paging = Paging {
    limit: "limit",
    token: "nextToken",
    max: 10_000,
    max_token_len: 65_536,
    default: 10_000,
    invalid_token: "InvalidParameterException",
};

/// CloudWatch Logs DescribeLogStreams: limit 1..=50, default 50
/// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html).
pub const LOGS_STREAMS_PAGING: Paging = Paging {
    limit: "limit",
    token: "nextToken",
    max: 50,
    max_token_len: 65_536,
    default: 50,
    invalid_token: "InvalidParameterException",
};

/// Which listing a token continues: the list's key and every request
/// member but the token and the page size ("keep all other arguments
/// unchanged", as AWS says), hashed. A token of another listing is refused.
fn listing_of(body: &Value, paging: &Paging, key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut args = body.as_object().cloned().unwrap_or_default();
    args.remove(paging.token);
    args.remove(paging.limit);
    let mut h = std::hash::DefaultHasher::new();
    (key, Value::Object(args).to_string()).hash(&mut h);
    format!("{:016x}", h.finish())
}

fn token_of(listing: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(json!({"l": listing, "o": offset}).to_string())
}

/// The offset a token of this listing stands for, if we issued it: one we
/// issue is base64url of `{"l": listing, "o": offset}` with 0 < offset <
/// the list's length. A token that breaks the API model's length limits is
/// a ValidationException, any other token we did not issue is AWS's
/// `InvalidToken` (HTTP 400), as the Step Functions and EventBridge API
/// references document for an expired token.
fn offset_of(token: &Value, paging: &Paging, listing: &str, total: usize) -> Result<usize, ApiError> {
    let name = paging.token;
    let Some(token) = token.as_str() else {
        return Err(ApiError::new(
            "SerializationException",
            format!("{name} must be a string"),
        ));
    };
    if token.is_empty() || token.chars().count() > paging.max_token_len {
        let (relation, limit) = if token.is_empty() {
            ("greater than or equal to", 1)
        } else {
            ("less than or equal to", paging.max_token_len)
        };
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must have length {relation} {limit}"
        )));
    }
    let invalid = || {
        ApiError::new(
            paging.invalid_token,
            format!("Invalid Token: the provided {name} is not valid"),
        )
    };
    let decoded = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&decoded) else {
        return Err(invalid());
    };
    let offset = fields.get("o").and_then(Value::as_u64);
    match (fields.len(), fields.get("l").and_then(Value::as_str), offset) {
        (2, Some(l), Some(o)) if l == listing && o > 0 && o < total as u64 => usize::try_from(o).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// One page of a list under `key`, with an opaque token for the next one.
pub fn page(body: &Value, paging: &Paging, key: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let max = body
        .get(paging.limit)
        .and_then(Value::as_u64)
        .filter(|m| *m > 0)
        .unwrap_or(paging.default as u64)
        .min(paging.max as u64) as usize;
    let listing = listing_of(body, paging, key);
    let total = items.len();
    let skip = match body.get(paging.token) {
        None | Some(Value::Null) => 0,
        Some(token) => offset_of(token, paging, &listing, total)?,
    };
    let mut out = json!({ key: items.into_iter().skip(skip).take(max).collect::<Vec<_>>() });
    if skip + max < total {
        out[paging.token] = json!(token_of(&listing, skip + max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: u64) -> Vec<Value> {
        (0..n).map(|i| json!(i)).collect()
    }

    fn ok(v: Result<Value, ApiError>) -> Value {
        v.unwrap_or_else(|e| panic!("{}: {}", e.kind, e.message))
    }

    #[test]
    fn pages_follow_each_services_names_and_bounds() {
        // EventBridge: Limit caps at 100, NextToken continues.
        let first = ok(page(&json!({"Limit": 500}), &EVENTS_PAGING, "Rules", numbers(150)));
        assert_eq!(first["Rules"].as_array().map(Vec::len), Some(100));
        let token = first["NextToken"].clone();
        assert!(token.is_string(), "{first}");
        let rest = ok(page(
            &json!({"NextToken": token}),
            &EVENTS_PAGING,
            "Rules",
            numbers(150),
        ));
        assert_eq!(rest["Rules"][0], json!(100));
        assert_eq!(rest["Rules"].as_array().map(Vec::len), Some(50));
        assert!(rest.get("NextToken").is_none());
        // Step Functions: maxResults up to 1000; 0 means the default 100.
        let big = ok(page(&json!({"maxResults": 1000}), &SFN_PAGING, "events", numbers(1200)));
        assert_eq!(big["events"].as_array().map(Vec::len), Some(1000));
        let next = json!({"maxResults": 1000, "nextToken": big["nextToken"]});
        assert_eq!(
            ok(page(&next, &SFN_PAGING, "events", numbers(1200)))["events"][0],
            json!(1000)
        );
        let default = ok(page(&json!({"maxResults": 0}), &SFN_PAGING, "events", numbers(150)));
        assert_eq!(default["events"].as_array().map(Vec::len), Some(100));
    }

    /// What a list answers to `token` (a page of 2 of 10 items).
    fn refusal(token: Value) -> (&'static str, StatusCode) {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:a";
        let body = json!({"stateMachineArn": arn, "maxResults": 2, "nextToken": token});
        match page(&body, &SFN_PAGING, "executions", numbers(10)) {
            Ok(v) => panic!("{token} was accepted: {v}"),
            Err(e) => {
                assert!(!e.message.is_empty());
                (e.kind, e.status)
            }
        }
    }

    fn forged(v: Value) -> Value {
        json!(URL_SAFE_NO_PAD.encode(v.to_string()))
    }

    // A token the service did not issue is HTTP 400 InvalidToken: Step
    // Functions documents it for every paged operation
    // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html,
    // .../API_ListStateMachines.html, .../API_GetExecutionHistory.html, Errors: InvalidToken),
    // EventBridge in ListRules' NextToken
    // (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListRules.html:
    // "Using an expired pagination token results in an HTTP 400 InvalidToken error").
    #[test]
    fn a_token_we_did_not_issue_is_invalid_token() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:a";
        let body = json!({"stateMachineArn": arn, "maxResults": 2});
        let issued = ok(page(&body, &SFN_PAGING, "executions", numbers(10)))["nextToken"].clone();
        let fields: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(issued.as_str().unwrap_or_default())
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        let listing = fields["l"].clone();
        assert!(listing.is_string(), "{fields}");
        let invalid = ("InvalidToken", StatusCode::BAD_REQUEST);
        for token in [
            json!("2"),
            json!("not base64!"),
            json!(format!("{}=", issued.as_str().unwrap_or_default())),
            forged(json!({})),
            forged(json!({"l": "", "o": 2})),
            forged(json!({"l": listing, "o": 0})),
            forged(json!({"l": listing, "o": 10})),
            forged(json!({"l": listing, "o": 11})),
            forged(json!({"l": listing, "o": u64::MAX})),
            forged(json!({"l": listing, "o": -2})),
            forged(json!({"l": listing, "o": 2.5})),
            forged(json!({"l": listing, "o": "2"})),
            json!(URL_SAFE_NO_PAD.encode(format!(r#"{{"l":{listing},"o":18446744073709551616}}"#))),
            json!(URL_SAFE_NO_PAD.encode(format!(r#"{{"l":{listing},"o":2e0}}"#))),
            forged(json!({"l": listing, "o": 2, "x": 1})),
            forged(json!([listing, 2])),
        ] {
            assert_eq!(refusal(token.clone()), invalid, "{token}");
        }
        // Another listing's token: another state machine's executions, or another list.
        let other = json!({"stateMachineArn": format!("{arn}b"), "maxResults": 2});
        let theirs = ok(page(&other, &SFN_PAGING, "executions", numbers(10)))["nextToken"].clone();
        assert_eq!(refusal(theirs), invalid);
        let machines = ok(page(
            &json!({"maxResults": 2}),
            &SFN_PAGING,
            "stateMachines",
            numbers(10),
        ));
        assert_eq!(refusal(machines["nextToken"].clone()), invalid);
        // The issued one still works, with another page size too.
        let again = json!({"stateMachineArn": arn, "maxResults": 3, "nextToken": issued});
        assert_eq!(
            ok(page(&again, &SFN_PAGING, "executions", numbers(10)))["executions"][0],
            json!(2)
        );
    }

    // The API models' length constraints on the token (Step Functions
    // nextToken 1..=1024, EventBridge NextToken 1..=2048, on the same pages)
    // come first: breaking them is a ValidationException, as for any member.
    #[test]
    fn a_token_outside_the_models_length_is_a_validation_error() {
        let validation = ("ValidationException", StatusCode::BAD_REQUEST);
        assert_eq!(refusal(json!("")), validation);
        assert_eq!(refusal(json!("A".repeat(1025))), validation);
        assert_eq!(refusal(json!("A".repeat(1024))).0, "InvalidToken");
        let eb = page(
            &json!({"NextToken": "A".repeat(2049)}),
            &EVENTS_PAGING,
            "Rules",
            numbers(3),
        );
        assert_eq!(eb.map_err(|e| e.kind).err(), Some("ValidationException"));
        let eb = page(
            &json!({"NextToken": "A".repeat(2048)}),
            &EVENTS_PAGING,
            "Rules",
            numbers(3),
        );
        assert_eq!(eb.map_err(|e| e.kind).err(), Some("InvalidToken"));
        assert_eq!(refusal(json!(7)).0, "SerializationException");
    }

    #[test]
    fn an_invalid_token_renders_like_every_other_error() {
        let err = page(&json!({"NextToken": "x"}), &EVENTS_PAGING, "Rules", numbers(3));
        let resp = respond("1.1", err.map(|_| json!({})));
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            resp.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()),
            Some("InvalidToken")
        );
    }
}
