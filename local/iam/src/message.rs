//! AWS's wording of an AccessDeniedException, from "Troubleshoot access denied error messages"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>):
//! `User: <principal> is not authorized to perform: <action> on resource: <resource> because no
//! <type> policy allows the <action> action` for an implicit deny, `... with an explicit deny in a(n)
//! <type> policy` for an explicit one. The ` on resource: ...` part is absent for actions without a
//! resource type (the guide's `codecommit:ListRepositories` examples).
//!
//! And the principal a role session has: `arn:aws:sts::<account>:assumed-role/<role>/<session>`
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>).

use crate::eval::Decision;
use crate::model::Check;

/// Which kind of policy denied: the phrase AWS puts in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// The caller's role policies.
    Identity,
    /// The resource's own policy (a Lambda function's permissions, an SQS queue policy).
    Resource,
}

impl PolicyType {
    fn phrase(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based",
            PolicyType::Resource => "resource-based",
        }
    }
}

/// The message of a call denied by the caller's identity-based policies.
pub fn denied(principal_arn: &str, check: &Check, decision: &Decision) -> String {
    denied_by(principal_arn, check, decision, PolicyType::Identity)
}

/// The message of a call denied by a policy of `kind`. An `Allowed` decision gets the implicit
/// wording (callers only ask for denials).
pub fn denied_by(principal_arn: &str, check: &Check, decision: &Decision, kind: PolicyType) -> String {
    let action = &check.action;
    let on = if check.resource == "*" {
        String::new()
    } else {
        format!(" on resource: {}", check.resource)
    };
    let why = match decision {
        Decision::ExplicitDeny { .. } => {
            format!("with an explicit deny in a{} {} policy", article(kind), kind.phrase())
        }
        Decision::ImplicitDeny | Decision::Allowed { .. } => {
            format!("because no {} policy allows the {action} action", kind.phrase())
        }
    };
    format!("User: {principal_arn} is not authorized to perform: {action}{on} {why}")
}

/// "an identity-based", "a resource-based".
fn article(kind: PolicyType) -> &'static str {
    match kind {
        PolicyType::Identity => "n",
        PolicyType::Resource => "",
    }
}

/// The ARN of a role session: `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
pub fn assumed_role_principal(account: &str, role_name: &str, session: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}")
}

#[cfg(test)]
mod tests {
    //! Expected texts follow the examples of "Troubleshoot access denied error messages" (URL in
    //! the module doc), with our principals and resources.
    use std::collections::BTreeMap;

    use super::*;

    fn check(action: &str, resource: &str) -> Check {
        Check {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    const PERSIST: &str = "arn:aws:sts::000000000000:assumed-role/zb-PersistFunctionRole/zb-persist";

    #[test]
    fn an_implicit_deny_says_no_identity_based_policy_allows_it() {
        let c = check(
            "dynamodb:PutItem",
            "arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable",
        );
        assert_eq!(
            denied(PERSIST, &c, &Decision::ImplicitDeny),
            "User: arn:aws:sts::000000000000:assumed-role/zb-PersistFunctionRole/zb-persist is not authorized to \
             perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable \
             because no identity-based policy allows the dynamodb:PutItem action"
        );
    }

    #[test]
    fn an_explicit_deny_says_so() {
        let c = check(
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:000000000000:zb-EventsDeadLetterQueue",
        );
        let d = Decision::ExplicitDeny { policy: "P".into() };
        assert_eq!(
            denied(PERSIST, &c, &d),
            format!(
                "User: {PERSIST} is not authorized to perform: sqs:SendMessage on resource: \
                 arn:aws:sqs:us-east-1:000000000000:zb-EventsDeadLetterQueue with an explicit deny in an identity-based policy"
            )
        );
        assert!(denied_by(PERSIST, &c, &d, PolicyType::Resource)
            .ends_with("with an explicit deny in a resource-based policy"));
    }

    #[test]
    fn an_action_without_resource_has_no_resource_part() {
        let c = check("dynamodb:ListTables", "*");
        assert_eq!(
            denied(PERSIST, &c, &Decision::ImplicitDeny),
            format!("User: {PERSIST} is not authorized to perform: dynamodb:ListTables because no identity-based policy allows the dynamodb:ListTables action")
        );
        assert!(denied_by(PERSIST, &c, &Decision::ImplicitDeny, PolicyType::Resource)
            .ends_with("because no resource-based policy allows the dynamodb:ListTables action"));
    }

    #[test]
    fn a_role_session_principal() {
        assert_eq!(
            assumed_role_principal("000000000000", "zb-PersistFunctionRole", "zb-persist"),
            PERSIST
        );
    }
}
