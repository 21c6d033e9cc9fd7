//! Policy evaluation: does a role's identity policy set, a resource policy or a trust policy allow
//! a [`Check`]? AWS's rules, from "Policy evaluation logic"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>):
//! an explicit `Deny` in any applicable statement wins; otherwise any applicable `Allow` allows;
//! otherwise the request is implicitly denied.
//!
//! Statement matching (actions, ARN wildcards, NotAction/NotResource, condition operators) is the
//! `iam-rs` crate's, used only here so that a swap stays local. Around it this module:
//! - evaluates statement by statement, to tell which allow statement(s) granted a call and which of
//!   their action and resource patterns matched ([`Grant`], for the "granted but never used" report);
//! - inserts the `Version` iam-rs requires and SAM's inline documents lack, and, in resource-based
//!   and trust policies, the implicit `Resource` they may leave out;
//! - treats `ArnEquals` as `ArnLike` (AWS: both check each ARN component and both take wildcards,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN>;
//!   iam-rs compares `ArnEquals` as plain strings);
//! - adds the global condition keys AWS puts in every request context (`aws:PrincipalArn` is the
//!   role ARN for a role session, `aws:PrincipalAccount`, `aws:RequestedRegion`,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>);
//! - evaluates a check whose resource is `*` (an action without resource type) against a
//!   placeholder ARN no pattern but `*` matches, since iam-rs wants an ARN.
//!
//! A statement iam-rs cannot read (an unresolved intrinsic, an unknown condition operator) fails
//! closed: a broken `Allow` grants nothing, a broken `Deny` denies everything. AWS would not have
//! accepted the policy at all; [`validate`] lets the template loader refuse it up front.

use std::collections::BTreeMap;

use iam_rs::{
    Arn, Context, ContextValue, IAMAction, IAMPolicy, IAMRequest, IAMResource, IAMStatement, PrincipalId, Validate,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::{Check, Role};

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision")]
pub enum Decision {
    /// Allowed, by these allow grants (every matching one).
    Allowed { grants: Vec<Grant> },
    /// No statement allows it.
    ImplicitDeny,
    /// A `Deny` statement of this policy applies.
    ExplicitDeny { policy: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// One permission an allow statement gives: an action pattern on a resource pattern, as written
/// (`NotAction`/`NotResource` lists count as one pattern, `NotAction:[a, b]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// The policy's name (`PersistFunctionRolePolicy0`, a managed policy ARN, a resource policy's Id).
    pub policy: String,
    /// The statement's index in the policy's `Statement` list.
    pub statement: usize,
    pub action: String,
    pub resource: String,
}

/// Who calls, for a resource-based policy: an AWS service (`events.amazonaws.com`) or an IAM
/// principal ARN (a role session `arn:aws:sts::<a>:assumed-role/<role>/<session>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Service(String),
    Arn(String),
}

/// A policy document iam-rs cannot evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// No `Statement` object or list.
    #[error("the policy document has no Statement")]
    NoStatement,
    /// A statement iam-rs cannot read.
    #[error("statement {index} of the policy is not valid IAM: {reason}")]
    Statement { index: usize, reason: String },
}

/// Checks that every statement of `document` can be evaluated (identity-based documents; see
/// [`validate_resource_policy`] for documents whose statements may omit `Resource`).
pub fn validate(document: &Value) -> Result<(), EvalError> {
    validate_with(document, Kind::Identity)
}

/// [`validate`] for resource-based and trust policies.
pub fn validate_resource_policy(document: &Value) -> Result<(), EvalError> {
    validate_with(document, Kind::Resource)
}

fn validate_with(document: &Value, kind: Kind) -> Result<(), EvalError> {
    let statements = statements(document).ok_or(EvalError::NoStatement)?;
    for (index, statement) in statements.iter().enumerate() {
        parse(document, statement, kind).map_err(|reason| EvalError::Statement { index, reason })?;
    }
    Ok(())
}

/// Identity-based evaluation of every policy of `role` for `principal_arn` (the role session).
pub fn evaluate(role: &Role, principal_arn: &str, check: &Check) -> Decision {
    let mut context = BTreeMap::new();
    context.insert("aws:PrincipalArn".to_owned(), Value::String(role.arn.clone()));
    if let Some(account) = account_of(principal_arn).or_else(|| account_of(&role.arn)) {
        context.insert("aws:PrincipalAccount".to_owned(), Value::String(account));
    }
    // iam-rs wants a valid principal even though identity statements name none.
    let principal = [principal_arn, role.arn.as_str()]
        .into_iter()
        .find(|p| valid_arn(p))
        .unwrap_or(ANY_PRINCIPAL);
    let principal = iam_rs::Principal::Aws(PrincipalId::String(principal.to_owned()));
    let policies = role.policies.iter().map(|p| (p.name.as_str(), &p.document));
    decide(policies, &principal, check, &context, Kind::Identity)
}

/// Evaluation of a resource-based policy (a Lambda function's permissions, an SQS queue policy)
/// for `principal`. Its statements may leave `Resource` out (the resource is the policy's own).
pub fn evaluate_resource_policy(document: &Value, principal: &Principal, check: &Check) -> Decision {
    let name = document
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or("resource-based policy");
    let mut context = BTreeMap::new();
    let identities: Vec<iam_rs::Principal> = match principal {
        Principal::Service(service) => {
            context.insert("aws:PrincipalServiceName".to_owned(), Value::String(service.clone()));
            vec![iam_rs::Principal::Service(PrincipalId::String(service.clone()))]
        }
        // A policy naming the role, the session or the account applies to the session: evaluate
        // under each name it may be given by, and combine.
        Principal::Arn(arn) => {
            let mut names = vec![arn.clone()];
            if let Some(role) = role_of_session(arn) {
                context.insert("aws:PrincipalArn".to_owned(), Value::String(role.clone()));
                names.push(role);
            } else {
                context.insert("aws:PrincipalArn".to_owned(), Value::String(arn.clone()));
            }
            if let Some(account) = account_of(arn) {
                context.insert("aws:PrincipalAccount".to_owned(), Value::String(account.clone()));
                names.push(account);
            }
            names
                .into_iter()
                .map(|n| iam_rs::Principal::Aws(PrincipalId::String(n)))
                .collect()
        }
    };
    // A principal iam-rs rejects (not an ARN, not a service domain) would make every statement
    // error, and Deny statements fail closed: no valid name means no statement applies.
    let identities: Vec<iam_rs::Principal> = identities.into_iter().filter(Validate::is_valid).collect();
    let mut grants = Vec::new();
    for identity in &identities {
        match decide(
            std::iter::once((name, document)),
            identity,
            check,
            &context,
            Kind::Resource,
        ) {
            Decision::Allowed { grants: more } => {
                for g in more {
                    if !grants.contains(&g) {
                        grants.push(g);
                    }
                }
            }
            Decision::ImplicitDeny => {}
            deny @ Decision::ExplicitDeny { .. } => return deny,
        }
    }
    if grants.is_empty() {
        Decision::ImplicitDeny
    } else {
        Decision::Allowed { grants }
    }
}

/// Whether the trust policy `trust` lets the AWS service `service` (`events.amazonaws.com`) assume
/// the role (`sts:AssumeRole`), with the request's condition keys (`aws:SourceAccount`,
/// `aws:SourceArn`, ...).
pub fn can_assume(trust: &Value, service: &str, context: &BTreeMap<String, Value>) -> bool {
    let check = Check {
        action: "sts:AssumeRole".to_owned(),
        resource: "*".to_owned(),
        context: context.clone(),
    };
    evaluate_resource_policy(trust, &Principal::Service(service.to_owned()), &check).is_allowed()
}

/// Every grant of the role's allow statements: one per action pattern × resource pattern.
pub fn grants(role: &Role) -> Vec<Grant> {
    let mut all = Vec::new();
    for policy in &role.policies {
        for (index, statement) in statements(&policy.document).unwrap_or_default().iter().enumerate() {
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            for action in actions_of(statement) {
                for resource in resources_of(statement) {
                    all.push(Grant {
                        policy: policy.name.clone(),
                        statement: index,
                        action: action.label.clone(),
                        resource: resource.label.clone(),
                    });
                }
            }
        }
    }
    all
}

// ---------------------------------------------------------------------------------------------

/// Whether statements may omit `Resource` (resource-based and trust policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identity,
    Resource,
}

/// A stand-in principal for identity evaluation when the caller's is not an ARN.
const ANY_PRINCIPAL: &str = "arn:aws:iam::000000000000:root";

/// What one statement does with a request.
enum Outcome {
    Allow(Box<IAMStatement>),
    Deny,
    NotApplicable,
}

/// Evaluates `policies` in order: the first applicable Deny decides, else the allow grants.
fn decide<'a>(
    policies: impl Iterator<Item = (&'a str, &'a Value)>,
    principal: &iam_rs::Principal,
    check: &Check,
    global: &BTreeMap<String, Value>,
    kind: Kind,
) -> Decision {
    let request = request(principal, check, global);
    let mut grants = Vec::new();
    for (name, document) in policies {
        let statements = statements(document).unwrap_or_default();
        for (index, statement) in statements.iter().enumerate() {
            match outcome(document, statement, kind, &request) {
                Outcome::Deny => {
                    return Decision::ExplicitDeny {
                        policy: name.to_owned(),
                    }
                }
                Outcome::Allow(parsed) => grants.extend(matched_grants(name, index, statement, &parsed, &request)),
                Outcome::NotApplicable => {}
            }
        }
    }
    if grants.is_empty() {
        Decision::ImplicitDeny
    } else {
        Decision::Allowed { grants }
    }
}

/// One statement against the request, failing closed on what iam-rs cannot read or evaluate.
fn outcome(document: &Value, statement: &Value, kind: Kind, request: &IAMRequest) -> Outcome {
    let denies = statement.get("Effect").and_then(Value::as_str) == Some("Deny");
    let Ok(parsed) = parse(document, statement, kind) else {
        return if denies { Outcome::Deny } else { Outcome::NotApplicable };
    };
    match run(&parsed, request) {
        Some(iam_rs::Decision::Allow) => Outcome::Allow(Box::new(parsed)),
        Some(iam_rs::Decision::Deny) => Outcome::Deny,
        Some(iam_rs::Decision::NotApplicable) => Outcome::NotApplicable,
        None if denies => Outcome::Deny,
        None => Outcome::NotApplicable,
    }
}

/// iam-rs on a single statement; `None` when it reports an error.
fn run(statement: &IAMStatement, request: &IAMRequest) -> Option<iam_rs::Decision> {
    let policy = IAMPolicy::new().add_statement(statement.clone());
    iam_rs::evaluate_policy(&policy, request).ok()
}

/// The grants of an allow statement that applied: which of its action patterns and which of its
/// resource patterns match (each tested alone, the rest of the statement unchanged).
fn matched_grants(
    policy: &str,
    index: usize,
    statement: &Value,
    parsed: &IAMStatement,
    request: &IAMRequest,
) -> Vec<Grant> {
    // Whether the statement, narrowed to one pattern by `narrow`, still allows the request.
    let applies = |pattern: &Option<String>, narrow: &dyn Fn(&mut IAMStatement, String)| match pattern {
        None => true,
        Some(pattern) => {
            let mut one = parsed.clone();
            narrow(&mut one, pattern.clone());
            run(&one, request) == Some(iam_rs::Decision::Allow)
        }
    };
    let actions: Vec<String> = actions_of(statement)
        .into_iter()
        .filter(|a| {
            applies(&a.pattern, &|one, pattern| {
                one.action = Some(IAMAction::Single(pattern));
                one.not_action = None;
            })
        })
        .map(|a| a.label)
        .collect();
    let resources: Vec<String> = resources_of(statement)
        .into_iter()
        .filter(|r| {
            applies(&r.pattern, &|one, pattern| {
                one.resource = Some(IAMResource::Single(pattern));
                one.not_resource = None;
            })
        })
        .map(|r| r.label)
        .collect();
    let mut grants = Vec::new();
    for action in &actions {
        for resource in &resources {
            grants.push(Grant {
                policy: policy.to_owned(),
                statement: index,
                action: action.clone(),
                resource: resource.clone(),
            });
        }
    }
    grants
}

/// One element of a statement's action or resource dimension: how a [`Grant`] names it, and the
/// single pattern to test it with (`None` for a Not- list, which applies as a whole).
struct Element {
    label: String,
    pattern: Option<String>,
}

fn actions_of(statement: &Value) -> Vec<Element> {
    elements(statement, "Action", "NotAction")
}

fn resources_of(statement: &Value) -> Vec<Element> {
    let found = elements(statement, "Resource", "NotResource");
    if found.is_empty() && statement.get("Resource").is_none() && statement.get("NotResource").is_none() {
        // A resource-based or trust policy statement: its own resource.
        return vec![Element {
            label: "*".to_owned(),
            pattern: None,
        }];
    }
    found
}

/// The patterns of `key` (one element each), or the `not_key` list as one element.
fn elements(statement: &Value, key: &str, not_key: &str) -> Vec<Element> {
    if let Some(value) = statement.get(key) {
        return strings(value)
            .into_iter()
            .map(|s| Element {
                label: s.clone(),
                pattern: Some(s),
            })
            .collect();
    }
    match statement.get(not_key) {
        Some(value) => vec![Element {
            label: format!("{not_key}:[{}]", strings(value).join(", ")),
            pattern: None,
        }],
        None => Vec::new(),
    }
}

/// A string or a list of strings (other values are shown as JSON).
fn strings(value: &Value) -> Vec<String> {
    let one = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

/// The statements of a document: its `Statement` list, or its single `Statement` object.
fn statements(document: &Value) -> Option<Vec<Value>> {
    match document.get("Statement")? {
        Value::Array(items) => Some(items.clone()),
        single @ Value::Object(_) => Some(vec![single.clone()]),
        _ => None,
    }
}

/// One statement as an iam-rs statement, after the adjustments in the module doc.
fn parse(document: &Value, statement: &Value, kind: Kind) -> Result<IAMStatement, String> {
    let mut statement = statement.clone();
    let Some(map) = statement.as_object_mut() else {
        return Err("a statement is not an object".to_owned());
    };
    if kind == Kind::Resource && !map.contains_key("Resource") && !map.contains_key("NotResource") {
        map.insert("Resource".to_owned(), json!("*"));
    }
    if let Some(Value::Object(condition)) = map.get_mut("Condition") {
        arn_equals_as_like(condition);
    }
    let version = document
        .get("Version")
        .and_then(Value::as_str)
        .filter(|v| matches!(*v, "2012-10-17" | "2008-10-17"))
        .unwrap_or("2012-10-17");
    let policy: IAMPolicy =
        serde_json::from_value(json!({"Version": version, "Statement": [statement]})).map_err(|e| e.to_string())?;
    policy
        .statement
        .into_iter()
        .next()
        .ok_or_else(|| "empty statement".to_owned())
}

/// Renames `ArnEquals` operators (with their set and IfExists forms) to the `ArnLike` ones, which
/// AWS evaluates identically. Left as written when the block already spells the `ArnLike` form.
fn arn_equals_as_like(condition: &mut Map<String, Value>) {
    let renames: Vec<(String, String)> = condition
        .keys()
        .filter(|k| k.contains("ArnEquals") || k.contains("ArnNotEquals"))
        .map(|k| {
            (
                k.clone(),
                k.replace("ArnNotEquals", "ArnNotLike").replace("ArnEquals", "ArnLike"),
            )
        })
        .filter(|(_, to)| !condition.contains_key(to))
        .collect();
    for (from, to) in renames {
        if let Some(v) = condition.remove(&from) {
            condition.insert(to, v);
        }
    }
}

/// The iam-rs request: the check's resource (or the placeholder) and its context over `global`.
fn request(principal: &iam_rs::Principal, check: &Check, global: &BTreeMap<String, Value>) -> IAMRequest {
    let resource = Arn::parse(&check.resource).ok().filter(Arn::is_valid);
    let mut context = Context::new();
    for (key, value) in global {
        insert(&mut context, key, value);
    }
    if let Some(region) = resource.as_ref().map(|a| a.region.clone()).filter(|r| !r.is_empty()) {
        context.insert("aws:RequestedRegion".to_owned(), ContextValue::String(region));
    }
    for (key, value) in &check.context {
        insert(&mut context, key, value);
    }
    let resource = resource.unwrap_or_else(no_resource);
    IAMRequest::new_with_context(principal.clone(), check.action.clone(), resource, context)
}

/// The stand-in for `*`: its service cannot appear in a pattern (iam-rs forbids service
/// wildcards), so only a `*` resource matches it.
fn no_resource() -> Arn {
    Arn {
        partition: "aws".to_owned(),
        service: "zb-no-resource-type".to_owned(),
        region: String::new(),
        account_id: String::new(),
        resource: "*".to_owned(),
    }
}

/// A JSON context value as iam-rs's: strings, booleans (pass `aws:SecureTransport` as a JSON
/// boolean for `Bool` conditions), numbers, and lists of them. Nulls are left out (absent key).
fn insert(context: &mut Context, key: &str, value: &Value) {
    let scalar = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let converted = match value {
        Value::Null => return,
        Value::String(s) => ContextValue::String(s.clone()),
        Value::Bool(b) => ContextValue::Boolean(*b),
        Value::Number(n) => n
            .as_f64()
            .map_or_else(|| ContextValue::String(n.to_string()), ContextValue::Number),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_boolean) => {
            ContextValue::BooleanList(items.iter().filter_map(Value::as_bool).collect())
        }
        Value::Array(items) => ContextValue::StringList(items.iter().map(scalar).collect()),
        Value::Object(_) => ContextValue::String(value.to_string()),
    };
    context.insert(key.to_owned(), converted);
}

fn valid_arn(s: &str) -> bool {
    Arn::parse(s).is_ok_and(|a| a.is_valid())
}

/// The account field of an ARN, when it has one.
fn account_of(arn: &str) -> Option<String> {
    Arn::parse(arn).ok().map(|a| a.account_id).filter(|a| !a.is_empty())
}

/// `arn:aws:iam::<a>:role/<role>` for a session `arn:aws:sts::<a>:assumed-role/<role>/<session>`.
fn role_of_session(arn: &str) -> Option<String> {
    let parsed = Arn::parse(arn).ok()?;
    let rest = parsed.resource.strip_prefix("assumed-role/")?;
    let (role, _session) = rest.rsplit_once('/')?;
    (parsed.service == "sts").then(|| format!("arn:{}:iam::{}:role/{role}", parsed.partition, parsed.account_id))
}

#[cfg(test)]
mod tests {
    //! Cases follow "Policy evaluation logic" and the policy element references:
    //! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    //! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    //! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    //! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    //! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    use serde_json::json;

    use super::*;
    use crate::model::NamedPolicy;

    const SESSION: &str = "arn:aws:sts::000000000000:assumed-role/zb-PersistFunctionRole/zb-persist";
    const ORDERS: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable";

    fn role(policies: Vec<(&str, Value)>) -> Role {
        Role {
            name: "zb-PersistFunctionRole".into(),
            arn: "arn:aws:iam::000000000000:role/zb-PersistFunctionRole".into(),
            trust: None,
            policies: policies
                .into_iter()
                .map(|(name, document)| NamedPolicy {
                    name: name.into(),
                    document,
                    platform: false,
                })
                .collect(),
        }
    }

    fn check(action: &str, resource: &str) -> Check {
        Check {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    /// An inline SAM document: no Version.
    fn allow(actions: Value, resources: Value) -> Value {
        json!({"Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]})
    }

    #[test]
    fn an_allow_statement_allows_and_names_its_grant() {
        let r = role(vec![(
            "P0",
            allow(json!(["dynamodb:PutItem", "dynamodb:GetItem"]), json!(ORDERS)),
        )]);
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:PutItem", ORDERS)),
            Decision::Allowed {
                grants: vec![Grant {
                    policy: "P0".into(),
                    statement: 0,
                    action: "dynamodb:PutItem".into(),
                    resource: ORDERS.into()
                }]
            }
        );
        let other = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-FeedsTable";
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:PutItem", other)),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:DeleteItem", ORDERS)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn an_explicit_deny_wins_over_an_allow() {
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "dynamodb:*", "Resource": ORDERS}]});
        let r = role(vec![
            ("P0", allow(json!("dynamodb:PutItem"), json!("*"))),
            ("NoOrders", deny),
        ]);
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:PutItem", ORDERS)),
            Decision::ExplicitDeny {
                policy: "NoOrders".into()
            }
        );
        let feeds = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-FeedsTable";
        assert!(evaluate(&r, SESSION, &check("dynamodb:PutItem", feeds)).is_allowed());
    }

    #[test]
    fn action_wildcards_match_by_prefix_and_ignore_case() {
        let r = role(vec![("P0", allow(json!("dynamodb:Get*"), json!(ORDERS)))]);
        assert!(evaluate(&r, SESSION, &check("dynamodb:GetItem", ORDERS)).is_allowed());
        assert!(evaluate(&r, SESSION, &check("DynamoDB:getitem", ORDERS)).is_allowed());
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:PutItem", ORDERS)),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:BatchGetItem", ORDERS)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn resource_wildcards_match_within_the_arn() {
        let r = role(vec![(
            "P0",
            allow(json!("dynamodb:GetItem"), json!("arn:aws:dynamodb:*:*:table/zb-*")),
        )]);
        assert!(evaluate(&r, SESSION, &check("dynamodb:GetItem", ORDERS)).is_allowed());
        let other = "arn:aws:dynamodb:us-east-1:000000000000:table/other";
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:GetItem", other)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn index_patterns_cover_indexes_but_not_their_table() {
        let r = role(vec![(
            "P0",
            allow(json!("dynamodb:Query"), json!(format!("{ORDERS}/index/*"))),
        )]);
        assert!(evaluate(
            &r,
            SESSION,
            &check("dynamodb:Query", &format!("{ORDERS}/index/byEventTime"))
        )
        .is_allowed());
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:Query", ORDERS)),
            Decision::ImplicitDeny
        );
        // And a table ARN does not cover its indexes.
        let r = role(vec![("P0", allow(json!("dynamodb:Query"), json!(ORDERS)))]);
        assert_eq!(
            evaluate(
                &r,
                SESSION,
                &check("dynamodb:Query", &format!("{ORDERS}/index/byEventTime"))
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn a_qualified_function_pattern_does_not_cover_the_unqualified_arn() {
        let f = "arn:aws:lambda:us-east-1:000000000000:function:zb-persist";
        let r = role(vec![(
            "P0",
            allow(json!("lambda:InvokeFunction"), json!(format!("{f}:*"))),
        )]);
        assert!(evaluate(&r, SESSION, &check("lambda:InvokeFunction", &format!("{f}:$LATEST"))).is_allowed());
        assert_eq!(
            evaluate(&r, SESSION, &check("lambda:InvokeFunction", f)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_allows_everything_else_as_one_grant() {
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}]});
        let r = role(vec![("P0", doc)]);
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:PutItem", ORDERS)),
            Decision::Allowed {
                grants: vec![Grant {
                    policy: "P0".into(),
                    statement: 0,
                    action: "NotAction:[iam:*, sts:*]".into(),
                    resource: "*".into()
                }]
            }
        );
        assert_eq!(
            evaluate(&r, SESSION, &check("iam:PassRole", "*")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            grants(&r),
            vec![Grant {
                policy: "P0".into(),
                statement: 0,
                action: "NotAction:[iam:*, sts:*]".into(),
                resource: "*".into()
            }]
        );
    }

    #[test]
    fn an_action_without_resource_type_needs_a_star_resource() {
        let scoped = role(vec![(
            "P0",
            allow(json!("dynamodb:ListTables"), json!("arn:aws:dynamodb:*:*:*")),
        )]);
        assert_eq!(
            evaluate(&scoped, SESSION, &check("dynamodb:ListTables", "*")),
            Decision::ImplicitDeny
        );
        let star = role(vec![("P0", allow(json!("dynamodb:ListTables"), json!("*")))]);
        assert!(evaluate(&star, SESSION, &check("dynamodb:ListTables", "*")).is_allowed());
    }

    #[test]
    fn grants_list_every_action_resource_pair_of_allow_statements() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": [ORDERS, format!("{ORDERS}/index/*")]},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}
        ]});
        let r = role(vec![("P0", doc)]);
        let all = grants(&r);
        assert_eq!(all.len(), 4);
        assert!(all.iter().all(|g| g.statement == 0));
        // A call is attributed to the matching pairs only.
        let d = evaluate(
            &r,
            SESSION,
            &check("dynamodb:Query", &format!("{ORDERS}/index/byEventTime")),
        );
        assert_eq!(
            d,
            Decision::Allowed {
                grants: vec![Grant {
                    policy: "P0".into(),
                    statement: 0,
                    action: "dynamodb:Query".into(),
                    resource: format!("{ORDERS}/index/*")
                }]
            }
        );
    }

    #[test]
    fn overlapping_patterns_are_all_credited() {
        let r = role(vec![(
            "P0",
            allow(json!(["dynamodb:Get*", "dynamodb:GetItem"]), json!(ORDERS)),
        )]);
        let Decision::Allowed { grants } = evaluate(&r, SESSION, &check("dynamodb:GetItem", ORDERS)) else {
            panic!("denied")
        };
        let actions: Vec<&str> = grants.iter().map(|g| g.action.as_str()).collect();
        assert_eq!(actions, vec!["dynamodb:Get*", "dynamodb:GetItem"]);
    }

    #[test]
    fn principal_keys_are_in_the_request_context() {
        // aws:PrincipalArn is the role's ARN for a role session (global condition keys page).
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::000000000000:role/zb-PersistFunctionRole"},
                          "StringEquals": {"aws:PrincipalAccount": "000000000000", "aws:RequestedRegion": "us-east-1"}}}]});
        let r = role(vec![("P0", doc)]);
        assert!(evaluate(&r, SESSION, &check("dynamodb:GetItem", ORDERS)).is_allowed());
        let elsewhere = "arn:aws:dynamodb:eu-west-1:000000000000:table/zb-OrdersTable";
        assert_eq!(
            evaluate(&r, SESSION, &check("dynamodb:GetItem", elsewhere)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn transaction_only_statements_use_the_enclosing_operation() {
        // Example 2 of "Using IAM with DynamoDB transactions".
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": ORDERS,
            "Condition": {"ForAnyValue:StringEquals": {"dynamodb:EnclosingOperation": ["TransactWriteItems", "TransactGetItems"]}}}]});
        let r = role(vec![("P0", doc)]);
        let mut c = check("dynamodb:PutItem", ORDERS);
        assert_eq!(evaluate(&r, SESSION, &c), Decision::ImplicitDeny);
        c.context
            .insert("dynamodb:EnclosingOperation".into(), json!("TransactWriteItems"));
        assert!(evaluate(&r, SESSION, &c).is_allowed());
    }

    /// The trust policy of template.yaml's OrderFeedReceivedRuleRole.
    fn events_trust() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "000000000000"}}}]})
    }

    #[test]
    fn a_trust_policy_lets_its_service_assume_the_role_from_its_account() {
        let ctx = |account: &str| BTreeMap::from([("aws:SourceAccount".to_owned(), json!(account))]);
        assert!(can_assume(
            &events_trust(),
            "events.amazonaws.com",
            &ctx("000000000000")
        ));
        assert!(!can_assume(
            &events_trust(),
            "events.amazonaws.com",
            &ctx("111111111111")
        ));
        assert!(!can_assume(&events_trust(), "events.amazonaws.com", &BTreeMap::new()));
        assert!(!can_assume(
            &events_trust(),
            "states.amazonaws.com",
            &ctx("000000000000")
        ));
    }

    const NOTIFY_RULE: &str = "arn:aws:events:us-east-1:000000000000:rule/zb-NotifyRule";
    const SWEEP_RULE: &str = "arn:aws:events:us-east-1:000000000000:rule/zb-SweepRule";
    const DLQ: &str = "arn:aws:sqs:us-east-1:000000000000:zb-EventsDeadLetterQueue";

    /// template.yaml's EventsDeadLetterQueuePolicy.
    fn queue_policy() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
             "Resource": DLQ, "Condition": {"ArnEquals": {"aws:SourceArn": [NOTIFY_RULE, SWEEP_RULE]}}},
            {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": DLQ,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]})
    }

    fn send(source: &str, secure: bool) -> Check {
        let mut c = check("sqs:SendMessage", DLQ);
        c.context.insert("aws:SourceArn".into(), json!(source));
        c.context.insert("aws:SecureTransport".into(), json!(secure));
        c
    }

    #[test]
    fn a_queue_policy_allows_the_listed_rules_only() {
        let events = Principal::Service("events.amazonaws.com".into());
        assert!(evaluate_resource_policy(&queue_policy(), &events, &send(NOTIFY_RULE, true)).is_allowed());
        let other = "arn:aws:events:us-east-1:000000000000:rule/other";
        assert_eq!(
            evaluate_resource_policy(&queue_policy(), &events, &send(other, true)),
            Decision::ImplicitDeny
        );
        // The Deny on insecure transport applies to everyone.
        assert_eq!(
            evaluate_resource_policy(&queue_policy(), &events, &send(NOTIFY_RULE, false)),
            Decision::ExplicitDeny {
                policy: "resource-based policy".into()
            }
        );
    }

    #[test]
    fn arn_equals_takes_wildcards_as_aws_does() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:zb-notify",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:000000000000:rule/zb-*"}}}]});
        let mut c = check(
            "lambda:InvokeFunction",
            "arn:aws:lambda:us-east-1:000000000000:function:zb-notify",
        );
        c.context.insert("aws:SourceArn".into(), json!(NOTIFY_RULE));
        let events = Principal::Service("events.amazonaws.com".into());
        assert!(evaluate_resource_policy(&doc, &events, &c).is_allowed());
    }

    #[test]
    fn a_lambda_permission_names_its_principal() {
        // What AWS::Lambda::Permission (NotifyRulePermission) puts in the function's policy.
        let f = "arn:aws:lambda:us-east-1:000000000000:function:zb-notify";
        let doc = json!({"Version": "2012-10-17", "Id": "default", "Statement": [{"Sid": "NotifyRulePermission",
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "lambda:InvokeFunction",
            "Resource": f, "Condition": {"ArnLike": {"AWS:SourceArn": NOTIFY_RULE}}}]});
        let mut c = check("lambda:InvokeFunction", f);
        c.context.insert("aws:SourceArn".into(), json!(NOTIFY_RULE));
        assert_eq!(
            evaluate_resource_policy(&doc, &Principal::Service("events.amazonaws.com".into()), &c),
            Decision::Allowed {
                grants: vec![Grant {
                    policy: "default".into(),
                    statement: 0,
                    action: "lambda:InvokeFunction".into(),
                    resource: f.into()
                }]
            }
        );
        assert_eq!(
            evaluate_resource_policy(&doc, &Principal::Service("apigateway.amazonaws.com".into()), &c),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate_resource_policy(&doc, &Principal::Arn(SESSION.into()), &c),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn a_resource_policy_naming_a_role_applies_to_its_sessions() {
        let doc = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::000000000000:role/zb-PersistFunctionRole"},
            "Action": "sqs:SendMessage", "Resource": DLQ}]});
        assert!(
            evaluate_resource_policy(&doc, &Principal::Arn(SESSION.into()), &check("sqs:SendMessage", DLQ))
                .is_allowed()
        );
        let account = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "000000000000"},
            "Action": "sqs:SendMessage", "Resource": DLQ}]});
        assert!(evaluate_resource_policy(
            &account,
            &Principal::Arn(SESSION.into()),
            &check("sqs:SendMessage", DLQ)
        )
        .is_allowed());
        let other = "arn:aws:sts::000000000000:assumed-role/zb-OtherRole/x";
        assert_eq!(
            evaluate_resource_policy(&doc, &Principal::Arn(other.into()), &check("sqs:SendMessage", DLQ)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn a_principal_that_is_no_arn_matches_no_statement() {
        let doc = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": DLQ}]});
        assert_eq!(
            evaluate_resource_policy(&doc, &Principal::Arn("local".into()), &check("sqs:SendMessage", DLQ)),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate_resource_policy(&doc, &Principal::Arn(SESSION.into()), &check("sqs:SendMessage", DLQ)),
            Decision::ExplicitDeny {
                policy: "resource-based policy".into()
            }
        );
        let r = role(vec![("P0", allow(json!("sqs:SendMessage"), json!(DLQ)))]);
        assert!(evaluate(&r, "local", &check("sqs:SendMessage", DLQ)).is_allowed());
    }

    #[test]
    fn unreadable_statements_fail_closed_and_are_reported() {
        let unresolved = json!({"Statement": [{"Effect": "Allow", "Action": "events:PutEvents",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/x"}}]});
        let r = role(vec![("P0", unresolved.clone())]);
        assert_eq!(
            evaluate(&r, SESSION, &check("events:PutEvents", "*")),
            Decision::ImplicitDeny
        );
        assert!(matches!(
            validate(&unresolved),
            Err(EvalError::Statement { index: 0, .. })
        ));
        let broken_deny = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"NoSuchOperator": {"aws:SourceArn": "x"}}}]});
        let r = role(vec![("P0", allow(json!("*"), json!("*"))), ("Broken", broken_deny)]);
        assert_eq!(
            evaluate(&r, SESSION, &check("s3:GetObject", "*")),
            Decision::ExplicitDeny {
                policy: "Broken".into()
            }
        );
        assert!(validate(&allow(json!("dynamodb:GetItem"), json!(ORDERS))).is_ok());
        assert_eq!(validate(&json!({})), Err(EvalError::NoStatement));
        assert!(validate_resource_policy(&events_trust()).is_ok());
    }
}
