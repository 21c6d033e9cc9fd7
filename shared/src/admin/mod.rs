//! The admin plane's domain: operator roles and the route table
//! ([`roles`]), and the audit log's entries ([`audit`]). No I/O.

pub mod audit;
pub mod roles;

pub use audit::{AuditAction, AuditEntry, Change, Origin, REDACTED};
pub use roles::{ClaimsError, Operator, Role, RouteRule, ROUTES};

use crate::problem::{Problem, ProblemKind};

/// The 403 of a route the caller's roles do not cover, naming the roles
/// that may call it (never the caller's, which the caller knows).
pub fn forbidden(rule: &RouteRule, why: &str) -> Problem {
    Problem::new(
        ProblemKind::Forbidden,
        format!(
            "{why}; {} {} is for the role{} {}",
            rule.method,
            rule.path,
            if rule.roles.len() == 1 { "" } else { "s" },
            rule.roles_text()
        ),
    )
}
