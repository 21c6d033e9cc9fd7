//! IAM in template.yaml, read the way SAM transforms it and CloudFormation
//! deploys it: every role with its trust policy and identity policies, which
//! role each function and state machine runs with, and the resource policies
//! of functions (`AWS::Lambda::Permission`, SAM's implicit permissions) and
//! queues (`AWS::SQS::QueuePolicy`). Every intrinsic is resolved to the local
//! names and ARNs the rest of the template gets.
//!
//! SAM's implicit role of a function or state machine without `Role`
//! (aws-sam-translator, `construct_role_for_resource`): logical id
//! `<LogicalId>Role`, here named `<stack>-<LogicalId>Role` (CloudFormation
//! adds a random suffix on AWS); inline policies `<LogicalId>RolePolicy<i>`,
//! `i` the entry's index in `Policies`; SAM's own policies (event invoke
//! destinations) before them; managed policies by ARN, de-duplicated.
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-policies>

use super::checks::{self, At, Notes};
use super::{Model, Resolver, TemplateError, ACCOUNT, REGION};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use zb_iam::managed::{LAMBDA_BASIC_EXECUTION, XRAY_WRITE_ONLY};
use zb_iam::{NamedPolicy, Role};

/// The IAM of a template, every intrinsic resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IamModel {
    /// Every role, by ARN: SAM's implicit roles and `AWS::IAM::Role` resources.
    pub roles: BTreeMap<String, Role>,
    /// The role ARN of each function, by its physical name (as the Lambda host names it).
    pub function_roles: BTreeMap<String, String>,
    /// The role ARN of each state machine, by the state machine's ARN.
    pub machine_roles: BTreeMap<String, String>,
    /// Each function's resource-based policy, by the function's physical name, in the shape
    /// Lambda's GetPolicy returns: `{"Version", "Id": "default", "Statement": [...]}`.
    pub lambda_permissions: BTreeMap<String, Json>,
    /// Each queue's policy (`AWS::SQS::QueuePolicy`), by the queue's ARN.
    pub queue_policies: BTreeMap<String, Json>,
}

impl IamModel {
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }

    /// The execution role of a function, by its physical name.
    pub fn role_for_function(&self, function: &str) -> Option<&Role> {
        self.roles.get(self.function_roles.get(function)?)
    }

    /// The execution role of a state machine, by its ARN.
    pub fn role_for_machine(&self, state_machine_arn: &str) -> Option<&Role> {
        self.roles.get(self.machine_roles.get(state_machine_arn)?)
    }

    /// A function's resource-based policy, by its physical name.
    pub fn function_policy(&self, function: &str) -> Option<&Json> {
        self.lambda_permissions.get(function)
    }
}

/// What [`build`] reads, collected while the template is parsed: resolved
/// Properties (functions merged with Globals).
#[derive(Debug, Default)]
pub(super) struct Sources {
    pub(super) functions: Vec<(String, Json)>,
    pub(super) state_machines: Vec<(String, Json)>,
    pub(super) http_apis: Vec<(String, Json)>,
    /// `AWS::IAM::Role`, `AWS::IAM::Policy`, `AWS::Lambda::Permission`,
    /// `AWS::SQS::QueuePolicy`: (logical id, type, Properties).
    pub(super) resources: Vec<(String, String, Json)>,
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// The name and ARN of SAM's implicit role of `id`.
fn implicit_role(r: &Resolver, id: &str) -> (String, String) {
    let name = format!("{}-{id}Role", r.stack);
    let arn = role_arn(&name);
    (name, arn)
}

/// The trust policy SAM gives the roles it creates
/// (`IAMRolePolicies.lambda_assume_role_policy` / `stepfunctions_assume_role_policy`).
fn service_trust(service: &str) -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Action": ["sts:AssumeRole"],
            "Effect": "Allow",
            "Principal": {"Service": [service]},
        }],
    })
}

/// A state machine's role: its `Role`, else SAM's implicit role. SAM refuses
/// both `Role` and `Policies` on a state machine (aws-sam-translator,
/// `SFN_INVALID_PROPERTY_BOTH_ROLE_POLICY`).
pub(super) fn state_machine_role_arn(r: &Resolver, id: &str, p: &Json) -> Result<String, String> {
    match p.get("Role") {
        Some(_) if p.get("Policies").is_some() => {
            Err("Specify either 'Role' or 'Policies' (but not both at the same time) or neither of them".into())
        }
        Some(Json::String(arn)) => Ok(arn.clone()),
        Some(other) => Err(format!("Role must be a role ARN, got {other}")),
        None => Ok(implicit_role(r, id).1),
    }
}

/// Reads the template's IAM. `model` holds the functions, APIs, rules and
/// schedules already read.
pub(super) fn build(
    r: &Resolver,
    sources: Sources,
    model: &Model,
    notes: &mut Notes,
) -> Result<IamModel, TemplateError> {
    let mut iam = IamModel::default();
    let mut policies = Vec::new();
    let mut permissions = Vec::new();
    let mut queue_policies = Vec::new();
    for (id, kind, p) in &sources.resources {
        match kind.as_str() {
            "AWS::IAM::Role" => {
                let role = iam_role(r, id, p, notes)?;
                iam.roles.insert(role.arn.clone(), role);
            }
            "AWS::IAM::Policy" => policies.push((id, p)),
            "AWS::Lambda::Permission" => permissions.push((id, p)),
            _ => queue_policies.push((id, p)),
        }
    }

    for (id, p) in &sources.functions {
        let at = At::props(id);
        let name = r.physical_name(id, 0)?;
        let arn = match p.get("Role") {
            // "If this property is set, [Policies] is ignored" (AWS::Serverless::Function, Policies).
            Some(role) => template_role(&iam, &at.key("Role"), role)?,
            None => {
                let role = function_role(r, id, p, &at)?;
                let arn = role.arn.clone();
                iam.roles.insert(arn.clone(), role);
                arn
            }
        };
        iam.function_roles.insert(name, arn);
    }
    for (id, p) in &sources.state_machines {
        let at = At::props(id);
        let arn = r.arn(id, 0)?;
        let role = match p.get("Role") {
            Some(role) => template_role(&iam, &at.key("Role"), role)?,
            None => {
                let role = state_machine_role(r, id, p, &at)?;
                let role_arn = role.arn.clone();
                iam.roles.insert(role_arn.clone(), role);
                role_arn
            }
        };
        iam.machine_roles.insert(arn, role);
    }
    for rule in &model.rules {
        let at = At::props(&rule.logical_id).key("Targets");
        for (i, target) in rule.targets.iter().enumerate() {
            if let Some(arn) = &target.role_arn {
                template_role(&iam, &at.index(i).key("RoleArn"), &Json::String(arn.clone()))?;
            }
        }
    }
    for (id, p) in policies {
        iam_policy(&mut iam, id, p, notes)?;
    }

    let mut statements: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for (id, p) in permissions {
        let (function, statement) = lambda_permission(r, model, id, p, notes)?;
        statements.entry(function).or_default().push(statement);
    }
    for (function, statement) in implicit_permissions(r, &sources, model)? {
        statements.entry(function).or_default().push(statement);
    }
    for (function, statement) in statements {
        iam.lambda_permissions.insert(
            function,
            json!({"Version": "2012-10-17", "Id": "default", "Statement": statement}),
        );
    }

    for (id, p) in queue_policies {
        let at = At::props(id);
        checks::keys(&at, p, &["Queues", "PolicyDocument"], &[], notes)?;
        let document = document(&at.key("PolicyDocument"), p.get("PolicyDocument"))?;
        let queues = checks::string_list(&at.key("Queues"), p.get("Queues"))?;
        if queues.is_empty() {
            return Err(at.key("Queues").err("is required: the URLs of the queues"));
        }
        for (i, url) in queues.iter().enumerate() {
            let arn =
                queue_arn(url).ok_or_else(|| at.key("Queues").index(i).err(format!("{url:?} is not a queue URL")))?;
            // SetQueueAttributes replaces a queue's policy: two would race.
            if iam.queue_policies.insert(arn.clone(), document.clone()).is_some() {
                return Err(at
                    .key("Queues")
                    .index(i)
                    .err(format!("queue {arn} already has a policy in this template")));
            }
        }
    }
    Ok(iam)
}

/// `Role` of a function or state machine, or `RoleArn` of a rule target: the
/// ARN of an `AWS::IAM::Role` of the template (the local cloud evaluates the
/// roles it has the policies of).
fn template_role(iam: &IamModel, at: &At, role: &Json) -> Result<String, TemplateError> {
    let arn = role
        .as_str()
        .ok_or_else(|| at.err(format!("must be a role ARN, got {role}")))?;
    if iam.roles.contains_key(arn) {
        Ok(arn.to_string())
    } else {
        Err(at.err(format!(
            "{arn} is not a role of this template: the local cloud enforces IAM with the roles the template declares (AWS::IAM::Role)"
        )))
    }
}

/// A policy document: an object with `Statement`.
fn document(at: &At, v: Option<&Json>) -> Result<Json, TemplateError> {
    match v {
        None => Err(at.err("is required")),
        Some(d) if d.get("Statement").is_some() => Ok(d.clone()),
        Some(d) => Err(at.err(format!("must be a policy document with a Statement, got {d}"))),
    }
}

/// An AWS managed policy by name or ARN, with its document: SAM turns a
/// name into its ARN (`arn:aws:iam::aws:policy/[path/]<name>`).
fn managed(at: &At, name: &str, platform: bool) -> Result<NamedPolicy, TemplateError> {
    let candidates = if name.starts_with("arn:") {
        vec![name.to_string()]
    } else {
        vec![
            format!("arn:aws:iam::aws:policy/{name}"),
            format!("arn:aws:iam::aws:policy/service-role/{name}"),
        ]
    };
    candidates
        .into_iter()
        .find_map(|arn| zb_iam::managed::document(&arn).map(|document| (arn, document)))
        .map(|(arn, document)| NamedPolicy {
            name: arn,
            document,
            platform,
        })
        .ok_or_else(|| {
            at.err(format!(
                "managed policy {name:?}: the local cloud does not have its document; write its statements inline (- Statement: ...)"
            ))
        })
}

/// Adds a managed policy unless the role has it already (SAM de-duplicates).
fn add_managed(policies: &mut Vec<NamedPolicy>, policy: NamedPolicy) {
    if !policies.iter().any(|p| p.name == policy.name) {
        policies.push(policy);
    }
}

/// The entries of a SAM `Policies` property with their paths: a single
/// entry (string or map) counts as a list of one.
fn entries(at: &At, policies: Option<&Json>) -> Vec<(At, Json)> {
    match policies {
        None => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (at.index(i), v.clone()))
            .collect(),
        Some(one) => vec![(at.clone(), one.clone())],
    }
}

/// SAM's `Policies`, added to a role's `inline` and `managed` policies as SAM
/// adds them: a `{Statement}` map inline as `<role>Policy<i>`, a policy
/// template expanded and resolved, a string a managed policy.
/// <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-templates.html>
fn sam_policies(
    r: &Resolver,
    role_logical_id: &str,
    list: Vec<(At, Json)>,
    inline: &mut Vec<NamedPolicy>,
    managed_policies: &mut Vec<NamedPolicy>,
) -> Result<(), TemplateError> {
    for (i, (at_i, entry)) in list.into_iter().enumerate() {
        let name = format!("{role_logical_id}Policy{i}");
        match entry {
            Json::String(s) => add_managed(managed_policies, managed(&at_i, &s, false)?),
            Json::Object(m) if m.contains_key("Statement") => inline.push(NamedPolicy {
                name,
                document: Json::Object(m),
                platform: false,
            }),
            Json::Object(m) if m.len() == 1 => {
                let Some((template, params)) = m.iter().next() else {
                    continue;
                };
                if !zb_iam::sam::is_template(template) {
                    return Err(at_i.err(format!(
                        "{template} is not a SAM policy template (nor a policy document with a Statement, nor a managed policy)"
                    )));
                }
                let empty = Map::new();
                let params = match params {
                    Json::Object(p) => p,
                    Json::Null => &empty,
                    other => {
                        return Err(at_i
                            .key(template)
                            .err(format!("must be a map of the template's parameters, got {other}")))
                    }
                };
                let definition = zb_iam::sam::expand(template, params).map_err(|e| at_i.key(template).err(e.to_string()))?;
                // The definition holds Fn::Sub with pseudo parameters, as CloudFormation gets it.
                let yaml = serde_yaml::to_value(&definition).map_err(|e| at_i.key(template).err(e.to_string()))?;
                let document = r
                    .resolve(&yaml, 0)
                    .map_err(|e| at_i.key(template).err(e.to_string()))?;
                inline.push(NamedPolicy {
                    name,
                    document,
                    platform: false,
                });
            }
            other => {
                return Err(at_i.err(format!(
                    "must be a policy document ({{Statement: ...}}), a SAM policy template or a managed policy name or ARN, got {other}"
                )))
            }
        }
    }
    Ok(())
}

/// SAM's role for a function without `Role`.
fn function_role(r: &Resolver, id: &str, p: &Json, at: &At) -> Result<Role, TemplateError> {
    let (name, arn) = implicit_role(r, id);
    let role_id = format!("{id}Role");
    let mut inline = Vec::new();
    // SAM's policy for the event invoke config's destination (the only type the
    // local cloud accepts is SQS, see checks::function), before the Policies.
    if let Some(dest) = p.pointer("/EventInvokeConfig/DestinationConfig/OnFailure") {
        if dest.get("Type").and_then(Json::as_str) == Some("SQS") {
            let queue = match dest.get("Destination").and_then(Json::as_str) {
                Some(arn) => arn.to_string(),
                // SAM creates the queue `<Id>EventInvokeConfigOnFailureQueue`.
                None => format!(
                    "arn:aws:sqs:{REGION}:{ACCOUNT}:{}-{id}EventInvokeConfigOnFailureQueue",
                    r.stack
                ),
            };
            // Used by Lambda to send failed invocations, not by the function's code.
            inline.push(NamedPolicy {
                name: format!("{id}EventInvokeConfigOnFailureSQSPolicy"),
                document: json!({"Statement": [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": queue}]}),
                platform: true,
            });
        }
    }
    let mut managed_policies = vec![managed(at, LAMBDA_BASIC_EXECUTION, true)?];
    // SAM adds X-Ray's policy for any Tracing but Disabled.
    if p.get("Tracing").is_some_and(|t| t.as_str() != Some("Disabled")) {
        managed_policies.push(managed(&at.key("Tracing"), XRAY_WRITE_ONLY, true)?);
    }
    let policies_at = at.key("Policies");
    let list = entries(&policies_at, p.get("Policies"));
    sam_policies(r, &role_id, list, &mut inline, &mut managed_policies)?;
    inline.extend(managed_policies);
    Ok(Role {
        name,
        arn,
        trust: Some(service_trust("lambda.amazonaws.com")),
        policies: inline,
    })
}

/// SAM's role for a state machine without `Role`.
fn state_machine_role(r: &Resolver, id: &str, p: &Json, at: &At) -> Result<Role, TemplateError> {
    let (name, arn) = implicit_role(r, id);
    let role_id = format!("{id}Role");
    let policies_at = at.key("Policies");
    let mut list = entries(&policies_at, p.get("Policies"));
    // SAM appends X-Ray's policy to the Policies when Tracing.Enabled is true.
    let traced = p.pointer("/Tracing/Enabled") == Some(&Json::Bool(true));
    if traced {
        list.push((at.key("Tracing"), Json::String(XRAY_WRITE_ONLY.into())));
    }
    let (mut inline, mut managed_policies) = (Vec::new(), Vec::new());
    sam_policies(r, &role_id, list, &mut inline, &mut managed_policies)?;
    for m in &mut managed_policies {
        if traced && m.name == XRAY_WRITE_ONLY {
            m.platform = true;
        }
    }
    inline.extend(managed_policies);
    Ok(Role {
        name,
        arn,
        trust: Some(service_trust("states.amazonaws.com")),
        policies: inline,
    })
}

/// An `AWS::IAM::Role`
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html>).
fn iam_role(r: &Resolver, id: &str, p: &Json, notes: &mut Notes) -> Result<Role, TemplateError> {
    let at = At::props(id);
    checks::keys(
        &at,
        p,
        &[
            "AssumeRolePolicyDocument",
            "Policies",
            "ManagedPolicyArns",
            "Description",
            "RoleName",
            "Path",
            "Tags",
        ],
        &[
            ("MaxSessionDuration", "local credentials do not expire"),
            (
                "PermissionsBoundary",
                "permissions boundaries are not evaluated: the role's policies alone decide",
            ),
        ],
        notes,
    )?;
    checks::int(&at.key("MaxSessionDuration"), p.get("MaxSessionDuration"), 3600, 43_200)?;
    checks::string(&at.key("Description"), p.get("Description"))?;
    if let Some(path) = checks::string(&at.key("Path"), p.get("Path"))? {
        if path != "/" {
            return Err(at
                .key("Path")
                .err("role paths are not emulated (local role ARNs are role/<name>)"));
        }
    }
    let trust = document(&at.key("AssumeRolePolicyDocument"), p.get("AssumeRolePolicyDocument"))?;
    let mut policies = Vec::new();
    if let Some(list) = p.get("Policies") {
        let at = at.key("Policies");
        let list = list
            .as_array()
            .ok_or_else(|| at.err(format!("must be a list of policies, got {list}")))?;
        for (i, policy) in list.iter().enumerate() {
            let at = at.index(i);
            checks::keys(&at, policy, &["PolicyName", "PolicyDocument"], &[], notes)?;
            let name = checks::string(&at.key("PolicyName"), policy.get("PolicyName"))?
                .ok_or_else(|| at.key("PolicyName").err("is required"))?;
            policies.push(NamedPolicy {
                name: name.to_string(),
                document: document(&at.key("PolicyDocument"), policy.get("PolicyDocument"))?,
                platform: false,
            });
        }
    }
    let at_managed = at.key("ManagedPolicyArns");
    for (i, arn) in checks::string_list(&at_managed, p.get("ManagedPolicyArns"))?
        .iter()
        .enumerate()
    {
        add_managed(&mut policies, managed(&at_managed.index(i), arn, false)?);
    }
    Ok(Role {
        name: r.physical_name(id, 0)?,
        arn: r.arn(id, 0)?,
        trust: Some(trust),
        policies,
    })
}

/// An `AWS::IAM::Policy` attached to roles of the template
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-policy.html>).
fn iam_policy(iam: &mut IamModel, id: &str, p: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    let at = At::props(id);
    // Users and Groups are refused: the local cloud has roles only.
    checks::keys(&at, p, &["PolicyName", "PolicyDocument", "Roles"], &[], notes)?;
    let name = checks::string(&at.key("PolicyName"), p.get("PolicyName"))?
        .ok_or_else(|| at.key("PolicyName").err("is required"))?
        .to_string();
    let document = document(&at.key("PolicyDocument"), p.get("PolicyDocument"))?;
    let roles = checks::string_list(&at.key("Roles"), p.get("Roles"))?;
    if roles.is_empty() {
        return Err(at
            .key("Roles")
            .err("is required: the names of the roles it is attached to"));
    }
    for (i, role_name) in roles.iter().enumerate() {
        let role = iam.roles.values_mut().find(|r| &r.name == role_name).ok_or_else(|| {
            at.key("Roles")
                .index(i)
                .err(format!("{role_name} is not a role of this template"))
        })?;
        role.policies.push(NamedPolicy {
            name: name.clone(),
            document: document.clone(),
            platform: false,
        });
    }
    Ok(())
}

/// The function a FunctionName names (name, ARN or partial ARN, optionally
/// qualified): its physical name and the ARN the statement's Resource is.
fn permission_target(model: &Model, function_name: &str) -> Option<(String, String)> {
    let rest = function_name
        .split_once(":function:")
        .map_or(function_name, |(_, after)| after);
    let (name, qualifier) = match rest.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (rest, None),
    };
    let f = model.functions.iter().find(|f| f.name == name)?;
    let resource = match qualifier {
        Some(q) => format!("{}:{q}", f.arn),
        None => f.arn.clone(),
    };
    Some((f.name.clone(), resource))
}

/// A permission's Principal as Lambda's policy states it: a service, an
/// account (its root), an ARN, or everyone.
fn principal(p: &str) -> Json {
    if p == "*" {
        json!("*")
    } else if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
        json!({"AWS": format!("arn:aws:iam::{p}:root")})
    } else if p.starts_with("arn:") {
        json!({"AWS": p})
    } else {
        json!({"Service": p})
    }
}

/// One statement of a function's resource-based policy, as GetPolicy shows
/// it: SourceAccount as `StringEquals AWS:SourceAccount`, SourceArn as
/// `ArnLike AWS:SourceArn`
/// (<https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html>).
/// `Sid` is the permission's statement id: CloudFormation's physical id of
/// the permission, here `<stack>-<LogicalId>` (AWS adds a random suffix).
fn statement(
    sid: &str,
    principal_: &str,
    action: &str,
    resource: &str,
    source_arn: Option<&str>,
    source_account: Option<&str>,
) -> Json {
    let mut s = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal(principal_),
        "Action": action,
        "Resource": resource,
    });
    let mut condition = Map::new();
    if let Some(account) = source_account {
        condition.insert("StringEquals".into(), json!({"AWS:SourceAccount": account}));
    }
    if let Some(arn) = source_arn {
        condition.insert("ArnLike".into(), json!({"AWS:SourceArn": arn}));
    }
    if !condition.is_empty() {
        s["Condition"] = Json::Object(condition);
    }
    s
}

/// An `AWS::Lambda::Permission`
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html>).
fn lambda_permission(
    r: &Resolver,
    model: &Model,
    id: &str,
    p: &Json,
    notes: &mut Notes,
) -> Result<(String, Json), TemplateError> {
    let at = At::props(id);
    // EventSourceToken, PrincipalOrgID and FunctionUrlAuthType are refused:
    // Alexa, Organizations and function URLs are not emulated.
    checks::keys(
        &at,
        p,
        &["Action", "FunctionName", "Principal", "SourceArn", "SourceAccount"],
        &[],
        notes,
    )?;
    let required = |key: &str| -> Result<String, TemplateError> {
        checks::string(&at.key(key), p.get(key))?
            .map(str::to_string)
            .ok_or_else(|| at.key(key).err("is required"))
    };
    let action = required("Action")?;
    let function_name = required("FunctionName")?;
    let principal_ = required("Principal")?;
    let source_arn = checks::string(&at.key("SourceArn"), p.get("SourceArn"))?;
    let source_account = checks::string(&at.key("SourceAccount"), p.get("SourceAccount"))?;
    let (function, resource) = permission_target(model, &function_name).ok_or_else(|| {
        at.key("FunctionName")
            .err(format!("{function_name} is not a function of this template"))
    })?;
    let sid = format!("{}-{id}", r.stack);
    Ok((
        function,
        statement(&sid, &principal_, &action, &resource, source_arn, source_account),
    ))
}

/// The permissions SAM adds on its own: a function's Schedule and HttpApi
/// events, and HttpApi Lambda authorizers with EnableFunctionDefaultPermissions
/// (aws-sam-translator: `PushEventSource._construct_permission`,
/// `HttpApi._get_permission`, `HttpApiGenerator._get_authorizer_permission`).
fn implicit_permissions(r: &Resolver, sources: &Sources, model: &Model) -> Result<Vec<(String, Json)>, TemplateError> {
    let mut out = Vec::new();
    let execute_api = |resource: &str| format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{resource}");
    for (id, p) in &sources.functions {
        let name = r.physical_name(id, 0)?;
        let arn = r.arn(id, 0)?;
        let Some(Json::Object(events)) = p.get("Events") else {
            continue;
        };
        for (event_id, event) in events {
            let ep = event.get("Properties");
            let text = |key: &str| ep.and_then(|e| e.get(key)).and_then(Json::as_str);
            let source_arn = match event.get("Type").and_then(Json::as_str) {
                Some("Schedule") => {
                    let rule = text("Name").map_or_else(|| format!("{id}{event_id}"), str::to_string);
                    (super::schedule_rule_arn(&rule), "events.amazonaws.com")
                }
                Some("HttpApi") => {
                    let api = text("ApiId").unwrap_or("ServerlessHttpApi");
                    let method = text("Method").unwrap_or("ANY");
                    let path = text("Path").unwrap_or("/");
                    (
                        execute_api(&http_api_route(api, method, path)),
                        "apigateway.amazonaws.com",
                    )
                }
                _ => continue,
            };
            let sid = format!("{}-{id}{event_id}Permission", r.stack);
            out.push((
                name.clone(),
                statement(
                    &sid,
                    source_arn.1,
                    "lambda:InvokeFunction",
                    &arn,
                    Some(&source_arn.0),
                    None,
                ),
            ));
        }
    }
    for (api, p) in &sources.http_apis {
        let Some(Json::Object(authorizers)) = p.pointer("/Auth/Authorizers") else {
            continue;
        };
        for (auth, a) in authorizers {
            let enabled = matches!(a.get("EnableFunctionDefaultPermissions"), Some(Json::Bool(true)))
                || a.get("EnableFunctionDefaultPermissions").and_then(Json::as_str) == Some("true");
            let Some(function_arn) = a.get("FunctionArn").and_then(Json::as_str).filter(|_| enabled) else {
                continue;
            };
            let Some((function, resource)) = permission_target(model, function_arn) else {
                return Err(At::props(api)
                    .key("Auth")
                    .key("Authorizers")
                    .key(auth)
                    .key("FunctionArn")
                    .err(format!("{function_arn} is not a function of this template")));
            };
            let sid = format!("{}-{api}{auth}AuthorizerPermission", r.stack);
            let source_arn = execute_api(&format!("{api}/authorizers/*"));
            out.push((
                function,
                statement(
                    &sid,
                    "apigateway.amazonaws.com",
                    "lambda:InvokeFunction",
                    &resource,
                    Some(&source_arn),
                    None,
                ),
            ));
        }
    }
    Ok(out)
}

/// `<api>/<stage>/<METHOD><path>` of an HttpApi route's permission: every
/// stage, ANY as `*`, no trailing slash, `{param}` and `{proxy+}` as `*`.
fn http_api_route(api: &str, method: &str, path: &str) -> String {
    let any = method.eq_ignore_ascii_case("ANY");
    if any && path == "/$default" {
        return format!("{api}/*/$default");
    }
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push('*');
                rest = &rest[start + end + 1..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    let method = if any {
        "*".to_string()
    } else {
        method.to_ascii_uppercase()
    };
    format!("{api}/*/{method}{out}")
}

/// A queue's ARN from its URL (`Ref` of a queue is its URL).
fn queue_arn(url: &str) -> Option<String> {
    let name = url.trim_end_matches('/').rsplit('/').next()?;
    if name.is_empty() || !url.contains('/') {
        return None;
    }
    Some(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
}
