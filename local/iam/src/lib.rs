//! IAM for the local cloud: the roles template.yaml gives (inline statements, SAM policy
//! templates, managed policies), the IAM action and resource ARN each AWS call needs, the
//! evaluation of a role's policies on a call, AWS's AccessDeniedException wording, and the ledger of
//! what was denied and what was granted but never used (`zb iam report`).
//!
//! Pure: no I/O, no clock. The local cloud (zb-local) calls it from its AWS endpoint, its
//! DynamoDB proxy, its Step Functions Lambda invoker and its EventBridge targets.
//!
//! - [`sam`]: SAM's policy templates (vendored) and their expansion.
//! - [`managed`]: the AWS managed policies SAM attaches on its own.
//! - [`actions`]: operation + request body → the [`Check`]s it needs.
//! - [`eval`]: a role's (or a resource's, or a trust) policy on a check → [`Decision`].
//! - [`message`]: AWS's AccessDeniedException text; role session ARNs.
//! - [`ledger`]: usage and denials over time, and the report.

pub mod actions;
pub mod eval;
pub mod ledger;
pub mod managed;
pub mod message;
pub mod model;
pub mod sam;

pub use actions::{ActionError, Scope};
pub use eval::{can_assume, evaluate, evaluate_resource_policy, grants, Decision, EvalError, Grant, Principal};
pub use ledger::{report, Ledger, Report};
pub use message::{assumed_role_principal, denied};
pub use model::{Check, NamedPolicy, Role};
pub use sam::SamError;
