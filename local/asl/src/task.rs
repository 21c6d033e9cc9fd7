//! Task resources the local cloud can run (Lambda only), the port through which it invokes them,
//! and the response envelope of the `lambda:invoke` integration.

use std::future::Future;

use chrono::Utc;
use serde_json::{json, Value};

/// Invokes Lambda functions for Task states. The local cloud implements it on top of its Lambda
/// host; tests use scripted doubles.
pub trait TaskInvoker: Send + Sync {
    /// Invokes a Lambda function (name or ARN) with a JSON payload. Returns the function's output, or
    /// `TaskFailure { error, cause }` where `error` is the function's `errorType` (e.g.
    /// "TransientDependencyError", "Sandbox.Timedout") or a `Lambda.*` service error name.
    fn invoke_lambda(&self, function: &str, payload: Value) -> impl Future<Output = Result<Value, TaskFailure>> + Send;
}

/// A failed invocation, as Step Functions reports it (`Error`/`Cause`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

pub(crate) const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// What a Task state's `Resource` resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]`: the effective input is the
    /// payload and the function output is the result.
    LambdaArn(String),
    /// `arn:aws:states:::lambda:invoke`: Parameters carry FunctionName and Payload; the result is the
    /// Invoke response envelope.
    LambdaInvoke,
}

/// Classifies a Resource; the error is the reason it is refused, phrased to follow
/// "Resource X is not supported by the local cloud".
pub(crate) fn parse_resource(resource: &str) -> Result<Resource, String> {
    let only_lambda = "only Lambda function ARNs and arn:aws:states:::lambda:invoke are";
    if resource == LAMBDA_INVOKE {
        return Ok(Resource::LambdaInvoke);
    }
    let parts: Vec<&str> = resource.split(':').collect();
    let is_aws_arn = parts.first() == Some(&"arn") && parts.get(1).is_some_and(|p| p.starts_with("aws"));
    if is_aws_arn && parts.get(2) == Some(&"lambda") && parts.get(5) == Some(&"function") {
        let non_empty = |i: usize| parts.get(i).is_some_and(|p| !p.is_empty());
        if non_empty(3) && non_empty(4) && non_empty(6) && parts.len() <= 8 {
            return Ok(Resource::LambdaArn(resource.to_owned()));
        }
        return Err("it is not a well-formed Lambda function ARN".to_owned());
    }
    if resource.ends_with(".waitForTaskToken") {
        return Err("callback tasks (.waitForTaskToken) need SendTaskSuccess/SendTaskFailure".to_owned());
    }
    if resource.ends_with(".sync") || resource.contains(".sync:") {
        return Err(format!(".sync integrations are not; {only_lambda}"));
    }
    if is_aws_arn && parts.get(2) == Some(&"states") && parts.get(5) == Some(&"activity") {
        return Err(format!("activities are not; {only_lambda}"));
    }
    Err(only_lambda.to_owned())
}

/// The result of a `lambda:invoke` Task, shaped like the Lambda Invoke response AWS returns.
pub(crate) fn invoke_envelope(payload: Value) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let length = payload.to_string().len().to_string();
    let trace = {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let (epoch, id) = hex.split_at(8);
        format!("root=1-{epoch}-{id};sampled=0")
    };
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace
            },
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_resources() {
        assert_eq!(parse_resource(LAMBDA_INVOKE), Ok(Resource::LambdaInvoke));
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:HelloWorld";
        assert_eq!(parse_resource(arn), Ok(Resource::LambdaArn(arn.to_owned())));
        let aliased = "arn:aws:lambda:us-east-1:123456789012:function:HelloWorld:live";
        assert_eq!(parse_resource(aliased), Ok(Resource::LambdaArn(aliased.to_owned())));
        for refused in [
            "arn:aws:states:::sqs:sendMessage",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:us-east-1:123456789012:activity:Review",
            "arn:aws:states:::aws-sdk:s3:getObject",
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "HelloWorld",
        ] {
            assert!(parse_resource(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn envelope_has_the_invoke_response_shape() {
        let envelope = invoke_envelope(json!({"ok": true}));
        assert_eq!(envelope["Payload"], json!({"ok": true}));
        assert_eq!(envelope["StatusCode"], 200);
        assert_eq!(envelope["ExecutedVersion"], "$LATEST");
        assert_eq!(envelope["SdkHttpMetadata"]["HttpStatusCode"], 200);
        assert!(envelope["SdkResponseMetadata"]["RequestId"].is_string());
    }
}
