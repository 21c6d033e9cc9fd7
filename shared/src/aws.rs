//! SDK configuration, built once per cold start. aws-config honours
//! AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, so the same binary talks
//! to AWS or to the local cloud without a code path of its own.

use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}
