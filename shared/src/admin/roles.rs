//! Who may call which admin route, and who the caller is.
//!
//! The admin API's JWT authorizer has already checked the token (signature,
//! issuer, audience, expiry, scope) when the function runs; what it hands on
//! is `requestContext.authorizer.jwt.claims`, where API Gateway renders
//! EVERY claim as a string: an array claim such as `cognito:groups` arrives
//! as `"[admin ops]"` (space separated, in brackets), never as JSON. That
//! rendering is AWS's, measured, so it is what we parse first; a JSON array
//! text is accepted too, for callers that pass claims through unchanged.

use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// An operator role: one Cognito group each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Ops,
    Finance,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Ops => "ops",
            Self::Finance => "finance",
        }
    }

    /// The role a Cognito group name stands for (exact, lower case: group
    /// names are case-sensitive in Cognito).
    pub fn of_group(group: &str) -> Option<Self> {
        match group {
            "admin" => Some(Self::Admin),
            "ops" => Some(Self::Ops),
            "finance" => Some(Self::Finance),
            _ => None,
        }
    }
}

use Role::{Admin, Finance, Ops};

const ADMIN: &[Role] = &[Admin];
const ADMIN_OPS: &[Role] = &[Admin, Ops];
const EVERYONE: &[Role] = &[Admin, Ops, Finance];

/// One admin route and the roles that may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub method: &'static str,
    /// The route's path template as API Gateway's routeKey spells it.
    pub path: &'static str,
    pub roles: &'static [Role],
}

impl RouteRule {
    /// `GET /v1/admin/me`: the routeKey of a payload 2.0 event.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// A caller holding any one of the route's roles may call it.
    pub fn allows(&self, roles: &BTreeSet<Role>) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }

    /// "admin or ops": for the 403's detail.
    pub fn roles_text(&self) -> String {
        let names: Vec<_> = self.roles.iter().map(|r| r.as_str()).collect();
        match names.split_last() {
            None => String::new(),
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

const fn rule(method: &'static str, path: &'static str, roles: &'static [Role]) -> RouteRule {
    RouteRule { method, path, roles }
}

/// The contract's table (issues 14, 15 and 16), one line per route.
pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/v1/admin/me", EVERYONE),
    rule("GET", "/v1/admin/partners", ADMIN_OPS),
    rule("POST", "/v1/admin/partners", ADMIN),
    rule("GET", "/v1/admin/partners/{partnerId}", ADMIN_OPS),
    rule("PATCH", "/v1/admin/partners/{partnerId}", ADMIN),
    rule("POST", "/v1/admin/partners/{partnerId}/disable", ADMIN),
    rule("POST", "/v1/admin/partners/{partnerId}/rotate-key", ADMIN),
    rule("POST", "/v1/admin/partners/{partnerId}/rotate-secret", ADMIN),
    rule("GET", "/v1/admin/formats", ADMIN_OPS),
    rule("POST", "/v1/admin/formats", ADMIN),
    rule("GET", "/v1/admin/formats/{formatId}", ADMIN_OPS),
    rule("GET", "/v1/admin/feeds", ADMIN_OPS),
    rule("GET", "/v1/admin/feeds/{feedId}", ADMIN_OPS),
    rule("POST", "/v1/admin/feeds/{feedId}/redrive", ADMIN_OPS),
    // Issue 15 (the ops console): executions and their state machines.
    rule("GET", "/v1/admin/feeds/{feedId}/executions", ADMIN_OPS),
    rule("GET", "/v1/admin/executions/{executionArn}", ADMIN_OPS),
    rule("GET", "/v1/admin/state-machines", ADMIN_OPS),
    rule("GET", "/v1/admin/orders", ADMIN_OPS),
    rule("GET", "/v1/admin/errors", ADMIN_OPS),
    rule("GET", "/v1/admin/deliveries", ADMIN_OPS),
    rule(
        "POST",
        "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay",
        ADMIN_OPS,
    ),
    rule("GET", "/v1/admin/volume", EVERYONE),
    rule("GET", "/v1/admin/cost", EVERYONE),
    rule("GET", "/v1/admin/cost/feeds/{feedId}", EVERYONE),
    rule("GET", "/v1/admin/audit", ADMIN),
    // Issue 16 (GDPR): erasure and export of one data subject, admin only.
    rule("POST", "/v1/admin/privacy/erasures", ADMIN),
    rule("GET", "/v1/admin/privacy/erasures/{erasureId}", ADMIN),
    rule("POST", "/v1/admin/privacy/exports", ADMIN),
];

/// The rule of a routeKey (`"GET /v1/admin/me"`), if it is an admin route.
pub fn route(route_key: &str) -> Option<&'static RouteRule> {
    let (method, path) = route_key.split_once(' ')?;
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// The caller, from the token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub sub: String,
    pub username: String,
    /// Every group in the token, known to us or not (for the audit log).
    pub groups: Vec<String>,
    /// The union of the roles of its known groups.
    pub roles: BTreeSet<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// The route was reached without the JWT authorizer's claims: treated
    /// as nobody, never as an operator.
    #[error("the request carries no token claims")]
    Missing,
    /// An ID token (or anything else) instead of an access token: ID tokens
    /// say who someone is, not what a client may do on their behalf.
    #[error("the token is not an access token (token_use {0:?})")]
    NotAccessToken(String),
}

/// The groups of a `cognito:groups` claim as API Gateway renders it
/// (`"[admin ops]"`), or as a JSON array text (`["admin","ops"]`).
pub fn parse_groups(text: &str) -> Vec<String> {
    let text = text.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return list.into_iter().filter(|g| !g.is_empty()).collect();
    }
    let inner = text.strip_prefix('[').unwrap_or(text);
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    inner
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|g| g.trim_matches('"'))
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

/// The operator the claims describe. `token_use` must be `access`.
pub fn operator(claims: &HashMap<String, String>) -> Result<Operator, ClaimsError> {
    if claims.is_empty() {
        return Err(ClaimsError::Missing);
    }
    match claims.get("token_use").map(String::as_str) {
        Some("access") => {}
        other => return Err(ClaimsError::NotAccessToken(other.unwrap_or_default().to_string())),
    }
    let groups = claims
        .get("cognito:groups")
        .map(|g| parse_groups(g))
        .unwrap_or_default();
    let roles = groups.iter().filter_map(|g| Role::of_group(g)).collect();
    let claim = |name: &str| claims.get(name).cloned().unwrap_or_default();
    let username = claims
        .get("username")
        .or_else(|| claims.get("cognito:username"))
        .cloned()
        .unwrap_or_default();
    Ok(Operator {
        sub: claim("sub"),
        username,
        groups,
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn groups_as_api_gateway_renders_them_and_as_json() {
        assert_eq!(parse_groups("[admin ops]"), ["admin", "ops"]);
        assert_eq!(parse_groups("[finance]"), ["finance"]);
        assert_eq!(parse_groups("[]"), Vec::<String>::new());
        assert_eq!(parse_groups(r#"["admin","ops"]"#), ["admin", "ops"]);
        assert_eq!(parse_groups("[admin, ops]"), ["admin", "ops"]);
        assert_eq!(parse_groups("admin"), ["admin"]);
    }

    #[test]
    fn an_access_token_with_groups_is_an_operator_with_their_union() {
        let op = operator(&claims(&[
            ("sub", "s-1"),
            ("username", "alice"),
            ("token_use", "access"),
            ("cognito:groups", "[ops finance auditors]"),
        ]))
        .unwrap();
        assert_eq!(op.username, "alice");
        assert_eq!(op.groups, ["ops", "finance", "auditors"]);
        assert_eq!(op.roles, BTreeSet::from([Ops, Finance]));
    }

    #[test]
    fn id_tokens_and_missing_claims_are_refused() {
        let id = claims(&[("token_use", "id"), ("cognito:groups", "[admin]")]);
        assert_eq!(operator(&id), Err(ClaimsError::NotAccessToken("id".into())));
        assert_eq!(operator(&HashMap::new()), Err(ClaimsError::Missing));
        let no_use = claims(&[("cognito:groups", "[admin]")]);
        assert!(matches!(operator(&no_use), Err(ClaimsError::NotAccessToken(_))));
    }

    #[test]
    fn every_route_is_listed_once_and_found_by_its_route_key() {
        assert_eq!(ROUTES.len(), 28);
        for r in ROUTES {
            assert_eq!(route(&r.route_key()), Some(r));
        }
        assert_eq!(route("DELETE /v1/admin/me"), None);
        let audit = route("GET /v1/admin/audit").unwrap();
        assert!(!audit.allows(&BTreeSet::from([Ops, Finance])));
        assert_eq!(route("GET /v1/admin/feeds").unwrap().roles_text(), "admin or ops");
        assert_eq!(
            route("GET /v1/admin/cost").unwrap().roles_text(),
            "admin, ops or finance"
        );
    }
}
