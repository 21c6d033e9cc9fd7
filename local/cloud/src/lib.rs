//! ZeroBeta's local cloud: the whole pipeline on one machine, from the same
//! template.yaml and ASL files that deploy to AWS.

pub mod apigw;
pub mod aws_api;
pub mod awsjson;
pub mod cloud;
pub mod cloudfront;
pub mod cognito;
pub mod demo;
pub mod dynamodb_local;
pub mod dynamodb_proxy;
pub mod dynamodb_ttl;
pub mod eventbridge;
pub mod express_logs;
pub mod iam;
pub mod kms;
pub mod load;
pub mod logs;
pub mod logs_api;
pub mod origin;
pub mod reload;
pub mod sfn;
pub mod tables;
pub mod template;

pub use cloud::{start, Config, Running};
