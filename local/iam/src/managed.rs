//! The AWS managed policies SAM attaches to the roles it creates on its own: every function role
//! gets `AWSLambdaBasicExecutionRole` (CloudWatch Logs), and with `Tracing: Active` (functions) or
//! `Tracing.Enabled` (state machines) `AWSXrayWriteOnlyAccess`.
//!
//! AWS owns these documents; they are copied from the AWS Managed Policy Reference (default
//! versions at the time of writing):
//! - <https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html> (v1)
//! - <https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSXrayWriteOnlyAccess.html> (v2)
//!
//! A managed policy not listed here has no document locally: [`document`] returns `None` and the
//! template loader decides (refuse, or note that the role grants less than on AWS).

use serde_json::{json, Value};

/// `arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`.
pub const LAMBDA_BASIC_EXECUTION: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// `arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess`.
pub const XRAY_WRITE_ONLY: &str = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess";

/// The policy document of the AWS managed policy `arn`, when we know it.
pub fn document(arn: &str) -> Option<Value> {
    match arn {
        LAMBDA_BASIC_EXECUTION => Some(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*"
            }]
        })),
        XRAY_WRITE_ONLY => Some(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries"
                ],
                "Resource": ["*"]
            }]
        })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    //! Follows the AWS Managed Policy Reference pages cited in the module doc.
    use super::*;

    #[test]
    fn lambda_basic_execution_writes_logs_anywhere() {
        let doc = document(LAMBDA_BASIC_EXECUTION).unwrap();
        assert_eq!(doc["Statement"][0]["Action"].as_array().map(Vec::len), Some(3));
        assert_eq!(doc["Statement"][0]["Action"][2], "logs:PutLogEvents");
        assert_eq!(doc["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn xray_write_only_has_the_five_write_and_sampling_actions() {
        let doc = document(XRAY_WRITE_ONLY).unwrap();
        assert_eq!(doc["Statement"][0]["Action"].as_array().map(Vec::len), Some(5));
        assert_eq!(doc["Statement"][0]["Action"][4], "xray:GetSamplingStatisticSummaries");
    }

    #[test]
    fn other_managed_policies_are_unknown() {
        assert_eq!(document("arn:aws:iam::aws:policy/AdministratorAccess"), None);
        // The name alone is not the ARN.
        assert_eq!(document("AWSXrayWriteOnlyAccess"), None);
    }
}
