//! The roles and calls IAM is evaluated on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An IAM role as template.yaml gives it (SAM's implicit function and state machine roles, or an
/// `AWS::IAM::Role` resource), with every intrinsic already resolved to local ARNs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The role name (`zb-PersistFunctionRole`).
    pub name: String,
    /// `arn:aws:iam::<account>:role/<name>`.
    pub arn: String,
    /// The trust policy (AssumeRolePolicyDocument), when the template gives one.
    pub trust: Option<Value>,
    /// Its identity policies, inline and managed.
    pub policies: Vec<NamedPolicy>,
}

/// One identity policy of a role: an IAM policy document (`{"Version"?, "Statement": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedPolicy {
    /// SAM's name for an inline policy (`PersistFunctionRolePolicy0`), or the managed policy's ARN.
    pub name: String,
    /// The resolved document.
    pub document: Value,
    /// An AWS managed policy SAM attaches on its own (AWSLambdaBasicExecutionRole,
    /// AWSXrayWriteOnlyAccess): reported apart, since the template author did not write it.
    pub platform: bool,
}

/// What one AWS call needs: an IAM action on a resource, with the request's condition keys.
/// A call may need several (a BatchWriteItem over two tables, a TransactWriteItems' items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// `dynamodb:PutItem`.
    pub action: String,
    /// The resource ARN (`arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable`), or `*`
    /// for actions without a resource.
    pub resource: String,
    /// Condition keys of the request (`aws:SourceArn`, `dynamodb:EnclosingOperation`, ...).
    pub context: BTreeMap<String, Value>,
}
