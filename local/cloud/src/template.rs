//! template.yaml, read the way CloudFormation + SAM read it, into the model
//! the local cloud runs: functions, HTTP routes, tables, buses, rules and
//! state machines with every Ref, GetAtt and Sub resolved to local names and
//! ARNs, and the IAM roles and resource policies SAM and CloudFormation would
//! create ([`iam`]). Every resource type and property the template uses is
//! either emulated, announced as not emulated (alarms, log groups...), or
//! refused with an error naming the resource and the property.

use serde_json::{json, Map, Value as Json};
use serde_yaml::Value;
use sha2::Digest;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

mod checks;
pub mod iam;
use checks::{At, Notes};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("resource {resource} ({kind}): {detail}")]
    Unsupported {
        resource: String,
        kind: String,
        detail: String,
    },
    /// A nested property, by its full path (`Resources.<Id>.Properties.<...>`).
    #[error("{path}: {detail}")]
    Property { path: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

fn unsupported(resource: &str, kind: &str, detail: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported {
        resource: resource.into(),
        kind: kind.into(),
        detail: detail.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    /// The crate/binary cargo-lambda builds (Metadata.BuildProperties.Binary).
    pub binary: String,
    pub env: BTreeMap<String, String>,
    pub timeout_secs: u64,
    pub memory_mb: u32,
    /// From ReservedConcurrentExecutions, if set.
    pub reserved_concurrency: Option<usize>,
    /// Async invocations (EventBridge targets): retries after the first try.
    pub async_max_retries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    /// e.g. `/v1/feeds/{feedId}`
    pub path: String,
    pub function: String,
    /// The authorizer's name, or None for an open route.
    pub authorizer: Option<String>,
    /// For a JWT authorizer: the scopes the token must hold one of (the
    /// event's `Auth.AuthorizationScopes`, else the authorizer's); empty for
    /// none (and for Lambda authorizers, which have no scopes).
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Authorizer {
    pub name: String,
    pub function: String,
    /// Lower-case header names of the identity source.
    pub identity_headers: Vec<String>,
    pub ttl_secs: u64,
}

/// A JWT authorizer (SAM's OAuth2Authorizer,
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-oauth2authorizer.html).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuthorizer {
    pub name: String,
    /// The lower-case header of the identity source (`$request.header.Authorization`).
    pub identity_header: String,
    /// JwtConfiguration.issuer, resolved.
    pub issuer: String,
    /// JwtConfiguration.audience, resolved.
    pub audience: Vec<String>,
    /// AuthorizationScopes: the scopes of the routes that name none.
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct HttpApi {
    pub logical_id: String,
    pub routes: Vec<Route>,
    /// Lambda authorizers.
    pub authorizers: Vec<Authorizer>,
    pub jwt_authorizers: Vec<JwtAuthorizer>,
    /// SAM's CorsConfiguration, resolved (None: no CORS).
    pub cors: Option<crate::apigw::cors::Cors>,
}

/// A user pool (AWS::Cognito::UserPool) with its groups and clients, as the
/// local Cognito serves it (`config`: its `pool_id` is what the pool's Ref
/// resolves to, `cognito::pool_id_for(region, stack, logical id)`, and each
/// client's `client_id` its client's Ref, `cognito::client_id_for`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPool {
    pub config: crate::cognito::PoolConfig,
    /// The AWS::Cognito::UserPoolDomain's Domain, if any.
    pub domain: Option<String>,
}

/// The issuer of a Cognito user pool's tokens.
pub fn cognito_issuer(pool_id: &str) -> String {
    format!("https://cognito-idp.{REGION}.amazonaws.com/{pool_id}")
}

#[derive(Debug, Clone)]
pub struct Table {
    pub logical_id: String,
    pub name: String,
    /// The resolved Properties, in CloudFormation's shape.
    pub properties: Json,
}

#[derive(Debug, Clone)]
pub enum TargetKind {
    Lambda { function: String },
    StateMachine { arn: String },
}

#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub kind: TargetKind,
    pub input_path: Option<String>,
    pub input: Option<String>,
    pub input_transformer: Option<(BTreeMap<String, String>, String)>,
    pub max_retries: u32,
    pub max_event_age_secs: u64,
    pub dead_letter_arn: Option<String>,
    /// The role EventBridge assumes to deliver to this target (`RoleArn`),
    /// resolved; a role of the template ([`iam::IamModel::roles`]).
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub bus: String,
    pub enabled: bool,
    pub pattern: Json,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone)]
pub struct StateMachineDef {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    /// STANDARD or EXPRESS.
    pub kind: String,
    /// The ASL text with DefinitionSubstitutions applied.
    pub definition: String,
    pub definition_path: Option<PathBuf>,
    /// The `Logging` property: what its executions log, and where.
    pub logging: Logging,
    /// The execution role: SAM's `<LogicalId>Role` or the `Role` property,
    /// resolved ([`iam::IamModel::machine_roles`]).
    pub role_arn: String,
}

/// A state machine's LoggingConfiguration: level OFF unless the template
/// says otherwise, as on AWS
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-stepfunctions-statemachine-loggingconfiguration.html).
#[derive(Debug, Clone, PartialEq)]
pub struct Logging {
    pub level: zb_cost::sfn_log::LogLevel,
    pub include_execution_data: bool,
    /// The destination log group's name and ARN (required unless the level is OFF).
    pub log_group: Option<(String, String)>,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: zb_cost::sfn_log::LogLevel::Off,
            include_execution_data: false,
            log_group: None,
        }
    }
}

/// Reads a resolved `Logging` property.
fn logging_of(p: &Json) -> Result<Logging, String> {
    let level = match p.get("Level") {
        None => zb_cost::sfn_log::LogLevel::Off,
        Some(Json::String(l)) => zb_cost::sfn_log::LogLevel::parse(l).map_err(|e| format!("Logging.Level: {e}"))?,
        Some(other) => return Err(format!("Logging.Level must be a string, not {other}")),
    };
    let include_execution_data = match p.get("IncludeExecutionData") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) if s == "true" || s == "false" => s == "true",
        Some(other) => {
            return Err(format!(
                "Logging.IncludeExecutionData must be true or false, not {other}"
            ))
        }
    };
    let destinations = p
        .get("Destinations")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if destinations.len() > 1 {
        return Err("Logging.Destinations is limited to one destination".into());
    }
    let log_group = match destinations.first() {
        None => None,
        Some(d) => {
            let arn = d
                .pointer("/CloudWatchLogsLogGroup/LogGroupArn")
                .and_then(Json::as_str)
                .ok_or("Logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn is required")?;
            let name = arn
                .split_once(":log-group:")
                .map(|(_, rest)| rest.strip_suffix(":*").unwrap_or(rest))
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("Logging: {arn} is not a log group ARN"))?;
            Some((name.to_string(), arn.to_string()))
        }
    };
    if level != zb_cost::sfn_log::LogLevel::Off && log_group.is_none() {
        return Err("Logging.Destinations is required when the level is not OFF".into());
    }
    Ok(Logging {
        level,
        include_execution_data,
        log_group,
    })
}

/// A function's `Schedule` event: SAM makes it an EventBridge rule on the
/// default bus with a ScheduleExpression, targeting the function.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// `<function logical id><event id>`, as SAM names the rule.
    pub rule: String,
    pub function: String,
    /// The period of `rate(N unit)`.
    pub every: std::time::Duration,
    pub expression: String,
}

impl Schedule {
    /// The ARN of the rule SAM creates for the schedule: the `resources` of
    /// its events and the `aws:SourceArn` of its Lambda permission.
    pub fn rule_arn(&self) -> String {
        schedule_rule_arn(&self.rule)
    }
}

/// The local ARN of a schedule's rule (on the default bus): `rule/<name>`.
pub fn schedule_rule_arn(rule: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}")
}

/// `rate(value unit)` as EventBridge documents it: a positive whole value,
/// the singular unit for 1 and the plural otherwise
/// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-rate-expressions).
/// Cron expressions are refused by name: the local cloud runs rates only.
pub fn parse_rate(expression: &str) -> Result<std::time::Duration, String> {
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            if expression.starts_with("cron(") {
                format!("{expression}: cron expressions are not emulated (rate(...) is)")
            } else {
                format!("{expression}: not a rate(value unit) expression")
            }
        })?;
    let (value, unit) = inner
        .split_once(' ')
        .ok_or_else(|| format!("{expression}: a rate needs a value and a unit"))?;
    let value: u64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{expression}: the value must be a positive whole number"))?;
    let seconds = match (value, unit) {
        (1, "minute") | (2.., "minutes") => 60,
        (1, "hour") | (2.., "hours") => 3600,
        (1, "day") | (2.., "days") => 86_400,
        _ => {
            return Err(format!(
                "{expression}: the unit must be minute(s), hour(s) or day(s), singular for 1"
            ))
        }
    };
    value
        .checked_mul(seconds)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{expression}: the period is too long"))
}

/// What the local cloud runs.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub stack_name: String,
    pub functions: Vec<Function>,
    pub http_apis: Vec<HttpApi>,
    pub tables: Vec<Table>,
    pub buses: Vec<String>,
    pub rules: Vec<Rule>,
    pub state_machines: Vec<StateMachineDef>,
    pub schedules: Vec<Schedule>,
    /// Roles, the functions' and state machines' roles, and resource policies.
    pub iam: iam::IamModel,
    /// The template's Cognito user pools (those whose Condition holds).
    pub user_pools: Vec<UserPool>,
    /// Every parameter's value (its Default or the override).
    pub parameters: BTreeMap<String, String>,
    /// The template's Conditions, evaluated.
    pub conditions: BTreeMap<String, bool>,
    /// Resources read but not emulated, with why: printed at start-up.
    pub not_emulated: Vec<String>,
    /// The CloudFront response headers policies (AWS::CloudFront::ResponseHeadersPolicy):
    /// logical id → its resolved ResponseHeadersPolicyConfig. The local
    /// console hosting ([`crate::cloudfront`]) sends ConsoleSecurityHeaders'.
    pub response_headers_policies: BTreeMap<String, Json>,
    /// The KMS keys (AWS::KMS::Key, with their AWS::KMS::Alias names): each a
    /// real local key of [`crate::kms`].
    pub kms_keys: Vec<KmsKey>,
}

/// A symmetric encryption KMS key of the template, and the aliases naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKey {
    pub logical_id: String,
    /// The key id (a UUID), what `Ref` gives.
    pub key_id: String,
    /// `arn:aws:kms:<region>:<account>:key/<key id>`.
    pub arn: String,
    /// `alias/<name>` of every AWS::KMS::Alias whose TargetKeyId is this key.
    pub aliases: Vec<String>,
}

/// The properties of AWS::KMS::Key
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html).
const KMS_KEY_PROPS: &[&str] = &[
    "Description",
    "Enabled",
    "EnableKeyRotation",
    "KeyPolicy",
    "KeySpec",
    "KeyUsage",
    "MultiRegion",
    "Origin",
    "PendingWindowInDays",
    "RotationPeriodInDays",
    "BypassPolicyLockoutSafetyCheck",
    "Tags",
];
const KMS_ALIAS_PROPS: &[&str] = &["AliasName", "TargetKeyId"];

impl Model {
    pub fn function(&self, name_or_arn_or_id: &str) -> Option<&Function> {
        let name = name_or_arn_or_id.rsplit(':').next().unwrap_or(name_or_arn_or_id);
        self.functions
            .iter()
            .find(|f| f.name == name || f.logical_id == name || f.arn == name_or_arn_or_id)
    }
}

/// Types that are read and deliberately not emulated, and why.
const INERT: &[(&str, &str)] = &[
    ("AWS::Logs::LogGroup", "function logs print in the terminal"),
    (
        "AWS::SQS::Queue",
        "used as a dead-letter target: undeliverable events are written to .state/dead-letters.jsonl",
    ),
    ("AWS::SNS::Topic", "alarms are not emulated, so nothing publishes to it"),
    (
        "AWS::CloudWatch::Alarm",
        "CloudWatch metrics and alarms are not emulated",
    ),
];

/// The console's hosting and the operators' dashboard: read (their
/// properties resolved, so a wrong reference fails as in CloudFormation) and
/// not emulated; `crate::cloudfront` serves console/site/ in their place.
const CONSOLE_INERT: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::Function",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudWatch::Dashboard",
];

/// The domain name of every distribution locally: the example of the
/// CloudFront documentation (AWS::CloudFront::Distribution return values,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-distribution.html).
pub const DISTRIBUTION_DOMAIN: &str = "d111111abcdef8.cloudfront.net";
/// A distribution's Id locally (Ref, GetAtt Id), the same documentation's example.
pub const DISTRIBUTION_ID: &str = "EDFDVBD6EXAMPLE";

const FUNCTION_PROPS: &[&str] = &[
    "FunctionName",
    "Description",
    "Timeout",
    "MemorySize",
    "Runtime",
    "Handler",
    "CodeUri",
    "Architectures",
    "Tracing",
    "LoggingConfig",
    "Environment",
    "Policies",
    "Events",
    "EventInvokeConfig",
    "Role",
    "ReservedConcurrentExecutions",
    "Tags",
];
const TABLE_PROPS: &[&str] = &[
    "TableName",
    "BillingMode",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "TimeToLiveSpecification",
    "SSESpecification",
    "PointInTimeRecoverySpecification",
    "Tags",
    "DeletionProtectionEnabled",
];
const HTTPAPI_PROPS: &[&str] = &[
    "Description",
    "CorsConfiguration",
    "FailOnWarnings",
    "AccessLogSettings",
    "DefaultRouteSettings",
    "Auth",
    "StageName",
    "Tags",
];
const BUS_PROPS: &[&str] = &["Name", "Description", "Tags"];
const RULE_PROPS: &[&str] = &[
    "Name",
    "Description",
    "EventBusName",
    "State",
    "EventPattern",
    "Targets",
];
const SM_PROPS: &[&str] = &[
    "Name",
    "Type",
    "DefinitionUri",
    "Definition",
    "DefinitionSubstitutions",
    "Logging",
    "Tracing",
    "Policies",
    "Role",
    "Tags",
];

/// Resolves intrinsic functions against the template's resources.
struct Resolver<'a> {
    stack: String,
    params: BTreeMap<String, String>,
    resources: &'a serde_yaml::Mapping,
    /// The Conditions section, evaluated (see [`Resolver::evaluate_conditions`]).
    conditions: BTreeMap<String, bool>,
    /// Resources whose Condition is false: not created, so not referable.
    skipped: BTreeMap<String, String>,
}

/// An intrinsic function's name (without `Fn::`) and argument, in short
/// (`!Equals`) or long (`Fn::Equals:`, `Ref:`, `Condition:`) form.
fn function_of(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        Value::Mapping(m) if m.len() == 1 => match m.iter().next() {
            Some((Value::String(k), arg)) if k == "Ref" || k == "Condition" || k.starts_with("Fn::") => {
                Some((k.trim_start_matches("Fn::").to_string(), arg))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `Ref: AWS::NoValue`: the property (or list item) is removed.
fn is_no_value(v: &Value) -> bool {
    matches!(function_of(v), Some((name, Value::String(target))) if name == "Ref" && target == "AWS::NoValue")
}

impl Resolver<'_> {
    fn kind(&self, id: &str) -> Option<&str> {
        if self.skipped.contains_key(id) {
            return None;
        }
        self.resources.get(id)?.get("Type")?.as_str()
    }

    /// A reference to a resource whose Condition is false fails the stack,
    /// as CloudFormation does: nothing of that name is created.
    fn check_created(&self, id: &str) -> Result<(), TemplateError> {
        match self.skipped.get(id) {
            Some(condition) => Err(TemplateError::Invalid(format!(
                "Template format error: Unresolved resource dependencies [{id}] in the Resources block of the template \
                 ({id} is not created: its Condition {condition} is false; use Fn::If on the same condition)"
            ))),
            None => Ok(()),
        }
    }

    /// Evaluates every condition of the Conditions section from the
    /// parameters, as CloudFormation does at CreateStack
    /// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html,
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html):
    /// Fn::Equals, Fn::Not, Fn::And and Fn::Or (2 to 10 conditions), and
    /// `Condition` references to other conditions; Ref only to parameters and
    /// pseudo parameters ("you can only reference other conditions and values
    /// from the Parameters and Mappings sections").
    fn evaluate_conditions(&self, decls: Option<&Value>) -> Result<BTreeMap<String, bool>, TemplateError> {
        let Some(decls) = decls else {
            return Ok(BTreeMap::new());
        };
        let decls = decls
            .as_mapping()
            .ok_or_else(|| TemplateError::Invalid("Conditions must be a mapping of condition names".into()))?;
        let mut memo = BTreeMap::new();
        for k in decls.keys() {
            let name = k
                .as_str()
                .ok_or_else(|| TemplateError::Invalid(format!("Conditions: {k:?} is not a condition name")))?;
            self.named_condition(name, decls, &mut memo, &mut Vec::new())?;
        }
        Ok(memo)
    }

    fn named_condition(
        &self,
        name: &str,
        decls: &serde_yaml::Mapping,
        memo: &mut BTreeMap<String, bool>,
        stack: &mut Vec<String>,
    ) -> Result<bool, TemplateError> {
        if let Some(v) = memo.get(name) {
            return Ok(*v);
        }
        if stack.iter().any(|s| s == name) {
            return Err(TemplateError::Invalid(format!(
                "Template format error: Conditions {} form a circular dependency",
                stack.join(" -> ")
            )));
        }
        let decl = decls.get(name).ok_or_else(|| {
            TemplateError::Invalid(format!(
                "Template format error: Unresolved dependencies [{name}]. Cannot find condition {name} in the Conditions block"
            ))
        })?;
        stack.push(name.to_string());
        let value = self.condition(decl, decls, memo, stack);
        stack.pop();
        let value = value.map_err(|e| match e {
            TemplateError::Invalid(m) if !m.starts_with("Conditions.") => {
                TemplateError::Invalid(format!("Conditions.{name}: {m}"))
            }
            other => other,
        })?;
        memo.insert(name.to_string(), value);
        Ok(value)
    }

    fn condition(
        &self,
        v: &Value,
        decls: &serde_yaml::Mapping,
        memo: &mut BTreeMap<String, bool>,
        stack: &mut Vec<String>,
    ) -> Result<bool, TemplateError> {
        let invalid = |m: String| TemplateError::Invalid(m);
        let Some((name, arg)) = function_of(v) else {
            return Err(invalid(format!(
                "a condition is Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition, got {}",
                serde_yaml::to_string(v).unwrap_or_default().trim()
            )));
        };
        let list = |n: std::ops::RangeInclusive<usize>| -> Result<&Vec<Value>, TemplateError> {
            match arg {
                Value::Sequence(items) if n.contains(&items.len()) => Ok(items),
                _ => Err(invalid(format!(
                    "Fn::{name} takes a list of {} to {} items",
                    n.start(),
                    n.end()
                ))),
            }
        };
        match name.as_str() {
            "Equals" => {
                let items = list(2..=2)?;
                Ok(self.condition_operand(&items[0])? == self.condition_operand(&items[1])?)
            }
            "Not" => {
                let items = list(1..=1)?;
                Ok(!self.condition(&items[0], decls, memo, stack)?)
            }
            "And" | "Or" => {
                let mut values = Vec::new();
                for item in list(2..=10)? {
                    values.push(self.condition(item, decls, memo, stack)?);
                }
                Ok(if name == "And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Condition" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| invalid("Condition takes a condition name".into()))?;
                self.named_condition(target, decls, memo, stack)
            }
            other => Err(invalid(format!(
                "Fn::{other} is not a condition function (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)"
            ))),
        }
    }

    /// A value Fn::Equals compares, as text.
    fn condition_operand(&self, v: &Value) -> Result<String, TemplateError> {
        if let Some((name, Value::String(target))) = function_of(v) {
            if name == "Ref" && !target.starts_with("AWS::") && !self.params.contains_key(target) {
                return Err(TemplateError::Invalid(format!(
                    "Template format error: Unresolved dependencies [{target}]. Cannot reference resources in the Conditions block of the template"
                )));
            }
        }
        match v {
            Value::Null => Ok(String::new()),
            Value::Sequence(_) | Value::Mapping(_) if function_of(v).is_none() => Err(TemplateError::Invalid(
                "Fn::Equals compares two values (strings or references to parameters)".into(),
            )),
            _ => self.string(v, 1),
        }
    }

    /// Fn::If's branches: Some((condition, the branch taken)).
    fn if_branch<'v>(&self, v: &'v Value) -> Result<Option<&'v Value>, TemplateError> {
        let Some((name, arg)) = function_of(v) else {
            return Ok(None);
        };
        if name != "If" {
            return Ok(None);
        }
        let items = match arg {
            Value::Sequence(items) if items.len() == 3 => items,
            _ => {
                return Err(TemplateError::Invalid(
                    "Fn::If takes [condition name, value if true, value if false]".into(),
                ))
            }
        };
        let condition = items[0]
            .as_str()
            .ok_or_else(|| TemplateError::Invalid("Fn::If's first item is a condition name".into()))?;
        let holds = self.conditions.get(condition).copied().ok_or_else(|| {
            TemplateError::Invalid(format!(
                "Template format error: Unresolved dependencies [{condition}]. Cannot find condition {condition} in the Conditions block (Fn::If)"
            ))
        })?;
        Ok(Some(if holds { &items[1] } else { &items[2] }))
    }

    fn props(&self, id: &str) -> Option<&Value> {
        self.resources.get(id)?.get("Properties")
    }

    /// The physical name of a resource: its explicit name property, else
    /// `<stack>-<LogicalId>` as CloudFormation would generate.
    fn physical_name(&self, id: &str, depth: u32) -> Result<String, TemplateError> {
        let key = match self.kind(id) {
            Some("AWS::Serverless::Function") | Some("AWS::Lambda::Function") => "FunctionName",
            Some("AWS::DynamoDB::Table") => "TableName",
            Some("AWS::Logs::LogGroup") => "LogGroupName",
            Some("AWS::SQS::Queue") => "QueueName",
            Some("AWS::SNS::Topic") => "TopicName",
            Some("AWS::IAM::Role") => "RoleName",
            Some("AWS::Cognito::UserPool") => "UserPoolName",
            Some("AWS::Cognito::UserPoolGroup") => "GroupName",
            Some("AWS::Cognito::UserPoolClient") => "ClientName",
            Some("AWS::Cognito::UserPoolDomain") => "Domain",
            Some("AWS::S3::Bucket") => "BucketName",
            Some("AWS::CloudWatch::Dashboard") => "DashboardName",
            Some("AWS::CloudWatch::Alarm") => "AlarmName",
            Some("AWS::KMS::Alias") => "AliasName",
            _ => "Name",
        };
        // A name that resolves to AWS::NoValue is no name: CloudFormation generates one.
        let given = match self.props(id).and_then(|p| p.get(key)) {
            Some(v) => self.resolve_opt(v, depth + 1)?,
            None => None,
        };
        match given {
            Some(Json::String(s)) => Ok(s),
            Some(Json::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(TemplateError::Invalid(format!(
                "{id}.{key}: expected a string, got {other}"
            ))),
            // CloudFormation generates lower-case bucket names (S3 refuses capitals).
            None if self.kind(id) == Some("AWS::S3::Bucket") => Ok(format!("{}-{id}", self.stack).to_ascii_lowercase()),
            None => Ok(format!("{}-{id}", self.stack)),
        }
    }

    /// A CloudFront resource's Id (what its Ref gives): a fixed, documented
    /// example for the distribution, a stable made-up one for the rest.
    fn cloudfront_id(&self, id: &str) -> String {
        match self.kind(id) {
            Some("AWS::CloudFront::Distribution") => DISTRIBUTION_ID.to_string(),
            _ => {
                let digest = sha2::Sha256::digest(format!("{}/{id}", self.stack).as_bytes());
                let hex: String = digest.iter().take(6).map(|b| format!("{b:02X}")).collect();
                format!("E{hex}LOCAL")
            }
        }
    }

    /// A template user pool's id (what its Ref gives).
    fn pool_id(&self, id: &str) -> String {
        crate::cognito::pool_id_for(REGION, &self.stack, id)
    }

    fn arn(&self, id: &str, depth: u32) -> Result<String, TemplateError> {
        self.check_created(id)?;
        let name = self.physical_name(id, depth)?;
        let (r, a) = (REGION, ACCOUNT);
        Ok(match self.kind(id).unwrap_or_default() {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => format!("arn:aws:lambda:{r}:{a}:function:{name}"),
            "AWS::DynamoDB::Table" => format!("arn:aws:dynamodb:{r}:{a}:table/{name}"),
            "AWS::Events::EventBus" => format!("arn:aws:events:{r}:{a}:event-bus/{name}"),
            "AWS::Events::Rule" => format!("arn:aws:events:{r}:{a}:rule/{name}"),
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => {
                format!("arn:aws:states:{r}:{a}:stateMachine:{name}")
            }
            "AWS::SQS::Queue" => format!("arn:aws:sqs:{r}:{a}:{name}"),
            "AWS::SNS::Topic" => format!("arn:aws:sns:{r}:{a}:{name}"),
            "AWS::Logs::LogGroup" => format!("arn:aws:logs:{r}:{a}:log-group:{name}:*"),
            "AWS::IAM::Role" => format!("arn:aws:iam::{a}:role/{name}"),
            "AWS::Cognito::UserPool" => format!("arn:aws:cognito-idp:{r}:{a}:userpool/{}", self.pool_id(id)),
            // S3 ARNs have no region or account.
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{name}"),
            "AWS::CloudWatch::Alarm" => format!("arn:aws:cloudwatch:{r}:{a}:alarm:{name}"),
            "AWS::CloudFront::Function" => format!("arn:aws:cloudfront::{a}:function/{name}"),
            "AWS::KMS::Key" => format!("arn:aws:kms:{r}:{a}:key/{}", kms_key_id(&self.stack, id)),
            other => {
                return Err(TemplateError::Invalid(format!(
                    "GetAtt {id}.Arn: no local ARN for {other}"
                )))
            }
        })
    }

    fn reference(&self, name: &str, depth: u32) -> Result<String, TemplateError> {
        match name {
            "AWS::StackName" => return Ok(self.stack.clone()),
            "AWS::Region" => return Ok(REGION.into()),
            "AWS::AccountId" => return Ok(ACCOUNT.into()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::NoValue" => return Ok(String::new()),
            _ => {}
        }
        if let Some(p) = self.params.get(name) {
            return Ok(p.clone());
        }
        self.check_created(name)?;
        match self.kind(name) {
            // Ref of a user pool is its id, of an app client the client id
            // (AWS::Cognito::UserPool / UserPoolClient return values).
            Some("AWS::Cognito::UserPool") => Ok(self.pool_id(name)),
            Some("AWS::Cognito::UserPoolClient") => Ok(crate::cognito::client_id_for(&self.stack, name)),
            Some("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" | "AWS::SNS::Topic") => {
                self.arn(name, depth)
            }
            Some("AWS::SQS::Queue") => Ok(format!(
                "http://127.0.0.1/{ACCOUNT}/{}",
                self.physical_name(name, depth)?
            )),
            // The local API id is the logical id.
            Some("AWS::Serverless::HttpApi") => Ok(name.to_string()),
            // Ref of a distribution, origin access control or policy is its Id;
            // of a CloudFront function its ARN (their return values pages).
            Some(
                "AWS::CloudFront::Distribution"
                | "AWS::CloudFront::OriginAccessControl"
                | "AWS::CloudFront::ResponseHeadersPolicy"
                | "AWS::CloudFront::CachePolicy"
                | "AWS::CloudFront::OriginRequestPolicy",
            ) => Ok(self.cloudfront_id(name)),
            Some("AWS::CloudFront::Function") => self.arn(name, depth),
            // Ref of a bucket policy is a generated id; of a bucket, dashboard or alarm the name.
            Some("AWS::S3::BucketPolicy") => Ok(format!("{}-{name}", self.stack)),
            // Ref of a KMS key is its key id; of an alias, its AliasName (their return values pages).
            Some("AWS::KMS::Key") => Ok(kms_key_id(&self.stack, name)),
            Some("AWS::KMS::Alias") => self.physical_name(name, depth),
            Some(_) => self.physical_name(name, depth),
            None => Err(TemplateError::Invalid(format!(
                "Ref to unknown resource or parameter {name:?}"
            ))),
        }
    }

    fn get_att(&self, id: &str, attr: &str, depth: u32) -> Result<String, TemplateError> {
        self.check_created(id)?;
        let is = |kind: &str| self.kind(id) == Some(kind);
        match attr {
            "ProviderName" if is("AWS::Cognito::UserPool") => {
                Ok(format!("cognito-idp.{REGION}.amazonaws.com/{}", self.pool_id(id)))
            }
            "ProviderURL" if is("AWS::Cognito::UserPool") => Ok(cognito_issuer(&self.pool_id(id))),
            "UserPoolId" if is("AWS::Cognito::UserPool") => Ok(self.pool_id(id)),
            "ClientId" if is("AWS::Cognito::UserPoolClient") => self.reference(id, depth),
            // AWS::SNS::Topic's return values.
            "TopicName" if is("AWS::SNS::Topic") => self.physical_name(id, depth),
            "QueueName" if is("AWS::SQS::Queue") => self.physical_name(id, depth),
            "TopicArn" if is("AWS::SNS::Topic") => self.arn(id, depth),
            // AWS::CloudFront::Distribution: DomainName, Id.
            "DomainName" if is("AWS::CloudFront::Distribution") => Ok(DISTRIBUTION_DOMAIN.to_string()),
            "Id" if self.kind(id).is_some_and(|k| k.starts_with("AWS::CloudFront::")) => Ok(self.cloudfront_id(id)),
            "FunctionARN" | "FunctionMetadata.FunctionARN" if is("AWS::CloudFront::Function") => self.arn(id, depth),
            "Stage" if is("AWS::CloudFront::Function") => Ok("LIVE".to_string()),
            // AWS::S3::Bucket's return values, in us-east-1's forms.
            "DomainName" if is("AWS::S3::Bucket") => Ok(format!("{}.s3.amazonaws.com", self.physical_name(id, depth)?)),
            "RegionalDomainName" if is("AWS::S3::Bucket") => {
                Ok(format!("{}.s3.{REGION}.amazonaws.com", self.physical_name(id, depth)?))
            }
            "WebsiteURL" if is("AWS::S3::Bucket") => Ok(format!(
                "http://{}.s3-website-{REGION}.amazonaws.com",
                self.physical_name(id, depth)?
            )),
            "KeyId" if is("AWS::KMS::Key") => Ok(kms_key_id(&self.stack, id)),
            "Arn" => self.arn(id, depth),
            "Name" => self.physical_name(id, depth),
            "QueueUrl" => self.reference(id, depth),
            other => Err(TemplateError::Invalid(format!(
                "GetAtt {id}.{other} is not supported by the local cloud"
            ))),
        }
    }

    fn sub(&self, text: &str, vars: &BTreeMap<String, String>, depth: u32) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Invalid(format!("unclosed ${{ in Sub {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(v);
            } else if let Some((id, attr)) = name.split_once('.') {
                out.push_str(&self.get_att(id, attr, depth)?);
            } else {
                out.push_str(&self.reference(name, depth)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Resolves a value into JSON with every intrinsic replaced (a value
    /// that is `AWS::NoValue` is null).
    fn resolve(&self, v: &Value, depth: u32) -> Result<Json, TemplateError> {
        Ok(self.resolve_opt(v, depth)?.unwrap_or(Json::Null))
    }

    /// Resolves a value; None for `AWS::NoValue`, which removes the property
    /// or list item it is the value of
    /// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html#intrinsic-function-reference-conditions-if).
    fn resolve_opt(&self, v: &Value, depth: u32) -> Result<Option<Json>, TemplateError> {
        if depth > 32 {
            return Err(TemplateError::Invalid(
                "intrinsic functions nest too deep (a cycle?)".into(),
            ));
        }
        if is_no_value(v) {
            return Ok(None);
        }
        if let Some(branch) = self.if_branch(v)? {
            return self.resolve_opt(branch, depth + 1);
        }
        if let Some(s) = self.intrinsic(v, depth)? {
            return Ok(Some(Json::String(s)));
        }
        Ok(Some(match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => serde_json::to_value(n).unwrap_or(Json::Null),
            Value::String(s) => Json::String(s.clone()),
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.resolve_opt(i, depth + 1)?);
                }
                Json::Array(out)
            }
            Value::Mapping(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    let key = k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"));
                    if let Some(v) = self.resolve_opt(v, depth + 1)? {
                        out.insert(key, v);
                    }
                }
                Json::Object(out)
            }
            Value::Tagged(t) => {
                return Err(TemplateError::Invalid(format!(
                    "intrinsic !{} is not supported by the local cloud",
                    t.tag
                )))
            }
        }))
    }

    fn string(&self, v: &Value, depth: u32) -> Result<String, TemplateError> {
        match self.resolve(v, depth)? {
            Json::String(s) => Ok(s),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(b.to_string()),
            other => Err(TemplateError::Invalid(format!("expected a string, got {other}"))),
        }
    }

    /// Ref / GetAtt / Sub in short (`!Ref`) or long (`Ref:`) form.
    fn intrinsic(&self, v: &Value, depth: u32) -> Result<Option<String>, TemplateError> {
        let (name, arg) = match v {
            Value::Tagged(t) => (t.tag.to_string().trim_start_matches('!').to_string(), &t.value),
            Value::Mapping(m) if m.len() == 1 => match m.iter().next() {
                Some((Value::String(k), arg)) if k == "Ref" || k.starts_with("Fn::") => {
                    (k.trim_start_matches("Fn::").to_string(), arg)
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let text = |a: &Value| a.as_str().map(str::to_string);
        match name.as_str() {
            "Ref" => {
                let target = text(arg).ok_or_else(|| TemplateError::Invalid("Ref takes a name".into()))?;
                Ok(Some(self.reference(&target, depth + 1)?))
            }
            "GetAtt" => {
                let (id, attr) = match arg {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .ok_or_else(|| TemplateError::Invalid(format!("GetAtt {s:?} needs Resource.Attribute")))?,
                    Value::Sequence(parts) if parts.len() == 2 => {
                        (text(&parts[0]).unwrap_or_default(), text(&parts[1]).unwrap_or_default())
                    }
                    _ => return Err(TemplateError::Invalid("GetAtt takes Resource.Attribute".into())),
                };
                Ok(Some(self.get_att(&id, &attr, depth + 1)?))
            }
            "Sub" => match arg {
                Value::String(s) => Ok(Some(self.sub(s, &BTreeMap::new(), depth + 1)?)),
                Value::Sequence(parts) if parts.len() == 2 => {
                    let s = text(&parts[0]).ok_or_else(|| TemplateError::Invalid("Sub needs a string".into()))?;
                    let mut vars = BTreeMap::new();
                    if let Value::Mapping(m) = &parts[1] {
                        for (k, v) in m {
                            vars.insert(k.as_str().unwrap_or_default().to_string(), self.string(v, depth + 1)?);
                        }
                    }
                    Ok(Some(self.sub(&s, &vars, depth + 1)?))
                }
                _ => Err(TemplateError::Invalid(
                    "Sub takes a string or [string, variables]".into(),
                )),
            },
            "Equals" | "Not" | "And" | "Or" | "Condition" => Err(TemplateError::Invalid(format!(
                "Fn::{name} belongs in the Conditions section (or as Fn::If's condition, by name), not in a property value"
            ))),
            other => Err(TemplateError::Invalid(format!(
                "intrinsic function {other} is not supported by the local cloud (Ref, GetAtt, Sub and Fn::If are)"
            ))),
        }
    }
}

/// The Cognito resources, gathered in template order and assembled once
/// every pool is known: groups, clients and domains name their pool by id.
#[derive(Default)]
struct CognitoSources {
    pools: Vec<UserPool>,
    /// (logical id, UserPoolId, GroupName)
    groups: Vec<(String, String, String)>,
    /// (logical id, UserPoolId, client)
    clients: Vec<(String, String, crate::cognito::ClientConfig)>,
    /// (logical id, UserPoolId, Domain)
    domains: Vec<(String, String, String)>,
}

impl CognitoSources {
    fn assemble(mut self) -> Result<Vec<UserPool>, TemplateError> {
        fn pool<'a>(pools: &'a mut [UserPool], id: &str, pool_id: &str) -> Result<&'a mut UserPool, TemplateError> {
            pools.iter_mut().find(|p| p.config.pool_id == pool_id).ok_or_else(|| {
                At::props(id).key("UserPoolId").err(format!(
                    "{pool_id} is not a user pool of this template (the local Cognito serves only those)"
                ))
            })
        }
        for (id, pool_id, group) in self.groups {
            let p = pool(&mut self.pools, &id, &pool_id)?;
            if p.config.groups.contains(&group) {
                return Err(At::props(&id)
                    .key("GroupName")
                    .err(format!("the pool already has a group {group}")));
            }
            p.config.groups.push(group);
        }
        for (id, pool_id, client) in self.clients {
            pool(&mut self.pools, &id, &pool_id)?.config.clients.push(client);
        }
        for (id, pool_id, domain) in self.domains {
            let p = pool(&mut self.pools, &id, &pool_id)?;
            if p.domain.is_some() {
                return Err(At::props(&id).err("the pool already has a domain"));
            }
            p.domain = Some(domain);
        }
        Ok(self.pools)
    }
}

fn check_props(id: &str, kind: &str, props: Option<&Value>, allowed: &[&str]) -> Result<(), TemplateError> {
    if let Some(Value::Mapping(m)) = props {
        for k in m.keys() {
            let k = k.as_str().unwrap_or_default();
            if !allowed.contains(&k) {
                return Err(unsupported(
                    id,
                    kind,
                    format!("property {k} is not supported by the local cloud"),
                ));
            }
        }
    }
    Ok(())
}

/// SAM's Globals rules: scalars from the resource win, maps merge key by
/// key (recursively), lists are appended after the global entries.
/// A function's Schedule event (SAM's AWS::Serverless::Function
/// EventSource Schedule: Schedule, Description, Enabled, State, Name, Input).
fn schedule_event(at: &At, ev: &Json, function: &str, notes: &mut Notes) -> Result<Schedule, TemplateError> {
    let ep = ev.get("Properties").cloned().unwrap_or(json!({}));
    // Input, RetryPolicy and DeadLetterConfig are refused by name.
    checks::keys(
        at,
        &ep,
        &["Schedule", "Description", "Enabled", "State", "Name"],
        &[],
        notes,
    )?;
    let expression = checks::string(&at.key("Schedule"), ep.get("Schedule"))?
        .ok_or_else(|| at.key("Schedule").err("is required"))?
        .to_string();
    let every = parse_rate(&expression).map_err(|e| at.key("Schedule").err(e))?;
    checks::string(&at.key("Description"), ep.get("Description"))?;
    let enabled = checks::boolean(&at.key("Enabled"), ep.get("Enabled"))?;
    let state = checks::one_of(
        &at.key("State"),
        ep.get("State"),
        &["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"],
    )?;
    if enabled.is_some() && state.is_some() {
        return Err(at.err("specify Enabled or State, not both"));
    }
    if enabled == Some(false) || state == Some("DISABLED") {
        return Err(at.err("a disabled schedule is not supported; remove the event instead"));
    }
    // SAM names the rule Name if given, else <function logical id><event id>.
    let default_name =
        at.path().split('.').nth(1).unwrap_or_default().to_string() + at.path().rsplit('.').nth(1).unwrap_or_default();
    let rule = checks::string(&at.key("Name"), ep.get("Name"))?
        .map(str::to_string)
        .unwrap_or(default_name);
    Ok(Schedule {
        rule,
        function: function.to_string(),
        every,
        expression,
    })
}

fn merge_globals(globals: Option<&Value>, own: Option<&Value>) -> Value {
    fn merge(global: &Value, own: &Value) -> Value {
        match (global, own) {
            (Value::Mapping(g), Value::Mapping(o)) => {
                let mut out = g.clone();
                for (k, v) in o {
                    let merged = match out.get(k) {
                        Some(gv) => merge(gv, v),
                        None => v.clone(),
                    };
                    out.insert(k.clone(), merged);
                }
                Value::Mapping(out)
            }
            (Value::Sequence(g), Value::Sequence(o)) => Value::Sequence(g.iter().chain(o).cloned().collect()),
            (_, o) => o.clone(),
        }
    }
    match (globals, own) {
        (Some(g), Some(o)) => merge(g, o),
        (Some(g), None) => g.clone(),
        (None, Some(o)) => o.clone(),
        (None, None) => Value::Mapping(serde_yaml::Mapping::new()),
    }
}

fn num(v: Option<&Json>) -> Option<u64> {
    match v? {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Reads a template. `root` is where DefinitionUri paths are relative to.
/// A template key's id: a UUID (the form KMS gives), stable per stack and logical id.
pub fn kms_key_id(stack: &str, logical_id: &str) -> String {
    let d = sha2::Sha256::digest(format!("kms/{stack}/{logical_id}").as_bytes());
    let h = hex_of(&d[..16]);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn load(path: &Path, stack: &str, overrides: &BTreeMap<String, String>) -> Result<Model, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let root = path.parent().unwrap_or(Path::new("."));
    parse(&text, root, stack, overrides)
}

/// The names the template's Parameters section declares (for a caller that
/// sets a parameter only when the template has it, as `LocalConsoleOrigin`).
pub fn parameter_names(path: &Path) -> Result<Vec<String>, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let doc: Value = serde_yaml::from_str(&text)?;
    Ok(doc
        .get("Parameters")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default())
}

pub fn parse(
    text: &str,
    root: &Path,
    stack: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<Model, TemplateError> {
    let doc: Value = serde_yaml::from_str(text)?;
    let empty = serde_yaml::Mapping::new();
    let resources = doc.get("Resources").and_then(Value::as_mapping).unwrap_or(&empty);
    let mut params = BTreeMap::new();
    let declared = doc.get("Parameters").and_then(Value::as_mapping);
    // CloudFormation refuses a value for a parameter the template does not declare.
    let unknown: Vec<&str> = overrides
        .keys()
        .filter(|k| !declared.is_some_and(|d| d.contains_key(k.as_str())))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(TemplateError::Invalid(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    if let Some(ps) = declared {
        for (k, p) in ps {
            let name = k.as_str().unwrap_or_default().to_string();
            // Constraints hold for the Default and for an override alike.
            if let Some(d) = checks::default_of(p) {
                checks::parameter(&name, p, &d)?;
            }
            match overrides.get(&name).cloned().or_else(|| checks::default_of(p)) {
                Some(v) => {
                    checks::parameter(&name, p, &v)?;
                    params.insert(name, v);
                }
                None => {
                    return Err(TemplateError::Invalid(format!(
                        "parameter {name} has no Default; pass a value"
                    )))
                }
            }
        }
    }
    if let Some(g) = doc.get("Globals").and_then(Value::as_mapping) {
        for k in g.keys() {
            if k.as_str() != Some("Function") {
                return Err(TemplateError::Invalid(format!(
                    "Globals.{} is not supported by the local cloud (Globals.Function is)",
                    k.as_str().unwrap_or_default()
                )));
            }
        }
    }
    let mut r = Resolver {
        stack: stack.to_string(),
        params,
        resources,
        conditions: BTreeMap::new(),
        skipped: BTreeMap::new(),
    };
    r.conditions = r.evaluate_conditions(doc.get("Conditions"))?;
    // A resource with a Condition is created only if it holds
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html).
    for (k, res) in resources {
        let id = k.as_str().unwrap_or_default();
        let Some(c) = res.get("Condition") else { continue };
        let name = c.as_str().ok_or_else(|| {
            TemplateError::Invalid(format!("Resources.{id}.Condition: must be the name of a condition"))
        })?;
        match r.conditions.get(name) {
            Some(true) => {}
            Some(false) => {
                r.skipped.insert(id.to_string(), name.to_string());
            }
            None => {
                return Err(TemplateError::Invalid(format!(
                    "Template format error: Unresolved dependencies [{name}]. Cannot find condition {name} \
                     in the Conditions block (Resources.{id}.Condition)"
                )))
            }
        }
    }
    let globals = doc.get("Globals").and_then(|g| g.get("Function"));
    let mut model = Model {
        stack_name: stack.to_string(),
        parameters: r.params.clone(),
        conditions: r.conditions.clone(),
        ..Model::default()
    };
    let mut cognito = CognitoSources::default();
    // Where each route's own AuthorizationScopes are, for errors found once the API is known.
    let mut scoped_events: BTreeMap<(String, String, String), At> = BTreeMap::new();
    let mut routes_by_api: BTreeMap<String, Vec<Route>> = BTreeMap::new();
    let mut notes = Notes::default();
    let mut iam_sources = iam::Sources::default();
    let mut console_inert: Vec<String> = Vec::new();
    let mut kms_aliases: Vec<(String, String, String)> = Vec::new();

    for (k, res) in resources {
        let id = k.as_str().unwrap_or_default();
        let kind = res.get("Type").and_then(Value::as_str).unwrap_or_default();
        if let Some(condition) = r.skipped.get(id) {
            model.not_emulated.push(format!(
                "{id} ({kind}): not created, its Condition {condition} is false"
            ));
            continue;
        }
        let props = res.get("Properties");
        match kind {
            "AWS::Serverless::Function" => {
                check_props(id, kind, props, FUNCTION_PROPS)?;
                let merged = merge_globals(globals, props);
                check_props(id, kind, Some(&merged), FUNCTION_PROPS)?;
                let meta = res.get("Metadata");
                if meta.and_then(|m| m.get("BuildMethod")).and_then(Value::as_str) != Some("rust-cargolambda") {
                    return Err(unsupported(id, kind, "Metadata.BuildMethod must be rust-cargolambda"));
                }
                let binary = meta
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| unsupported(id, kind, "Metadata.BuildProperties.Binary is required"))?
                    .to_string();
                let p = r.resolve(&merged, 0)?;
                checks::function(&At::props(id), &p, &mut notes)?;
                if let Some(rt) = p.get("Runtime").and_then(Json::as_str) {
                    if !rt.starts_with("provided") {
                        return Err(unsupported(
                            id,
                            kind,
                            format!("Runtime {rt}: only provided.* (custom runtime) runs locally"),
                        ));
                    }
                }
                let mut env = BTreeMap::new();
                if let Some(Json::Object(vars)) = p.get("Environment").and_then(|e| e.get("Variables")) {
                    for (k, v) in vars {
                        let v = match v {
                            Json::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        env.insert(k.clone(), v);
                    }
                }
                if let Some(lc) = p.get("LoggingConfig") {
                    if let Some(f) = lc.get("LogFormat").and_then(Json::as_str) {
                        env.insert("AWS_LAMBDA_LOG_FORMAT".into(), f.to_ascii_uppercase());
                    }
                }
                let name = r.physical_name(id, 0)?;
                let arn = r.arn(id, 0)?;
                if let Some(Json::Object(events)) = p.get("Events") {
                    for (ev_id, ev) in events {
                        let ev_at = At::props(id).key("Events").key(ev_id);
                        checks::keys(&ev_at, ev, &["Type", "Properties"], &[], &mut notes)?;
                        let ty = ev.get("Type").and_then(Json::as_str).unwrap_or_default();
                        if ty == "Schedule" {
                            model
                                .schedules
                                .push(schedule_event(&ev_at.key("Properties"), ev, &name, &mut notes)?);
                            continue;
                        }
                        if ty != "HttpApi" {
                            return Err(unsupported(
                                id,
                                kind,
                                format!("event {ev_id}: type {ty} is not supported (HttpApi and Schedule are)"),
                            ));
                        }
                        let ep = ev.get("Properties").cloned().unwrap_or(json!({}));
                        checks::http_api_event(&ev_at.key("Properties"), &ep, &mut notes)?;
                        let api_id = ep
                            .get("ApiId")
                            .and_then(Json::as_str)
                            .unwrap_or("ServerlessHttpApi")
                            .to_string();
                        let authorizer = match ep.get("Auth").and_then(|a| a.get("Authorizer")).and_then(Json::as_str) {
                            Some("NONE") => Some("NONE".to_string()),
                            other => other.map(str::to_string),
                        };
                        let scopes_at = ev_at.key("Properties").key("Auth").key("AuthorizationScopes");
                        let scopes =
                            checks::string_list(&scopes_at, ep.get("Auth").and_then(|a| a.get("AuthorizationScopes")))?;
                        let method = ep
                            .get("Method")
                            .and_then(Json::as_str)
                            .unwrap_or("ANY")
                            .to_ascii_uppercase();
                        let path = ep.get("Path").and_then(Json::as_str).unwrap_or("/").to_string();
                        if !scopes.is_empty() {
                            scoped_events.insert((api_id.clone(), method.clone(), path.clone()), scopes_at);
                        }
                        routes_by_api.entry(api_id).or_default().push(Route {
                            method,
                            path,
                            function: name.clone(),
                            authorizer,
                            scopes,
                        });
                    }
                }
                let async_max_retries = p
                    .get("EventInvokeConfig")
                    .and_then(|c| num(c.get("MaximumRetryAttempts")))
                    .unwrap_or(2) as u32;
                iam_sources.functions.push((id.to_string(), p.clone()));
                model.functions.push(Function {
                    logical_id: id.to_string(),
                    name,
                    arn,
                    binary,
                    env,
                    timeout_secs: num(p.get("Timeout")).unwrap_or(3),
                    memory_mb: num(p.get("MemorySize")).unwrap_or(128) as u32,
                    reserved_concurrency: num(p.get("ReservedConcurrentExecutions")).map(|n| n as usize),
                    async_max_retries,
                });
            }
            "AWS::DynamoDB::Table" => {
                check_props(id, kind, props, TABLE_PROPS)?;
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                if p.get("BillingMode").and_then(Json::as_str) != Some("PAY_PER_REQUEST") {
                    return Err(unsupported(id, kind, "only BillingMode PAY_PER_REQUEST is supported"));
                }
                model.tables.push(Table {
                    logical_id: id.to_string(),
                    name: r.physical_name(id, 0)?,
                    properties: p,
                });
            }
            "AWS::Serverless::HttpApi" => {
                check_props(id, kind, props, HTTPAPI_PROPS)?;
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let at = At::props(id);
                checks::http_api(&at, &p, &mut notes)?;
                let mut authorizers = Vec::new();
                let mut jwt_authorizers = Vec::new();
                if let Some(auth) = p.get("Auth") {
                    checks::http_api_auth(&at.key("Auth"), auth, &mut notes)?;
                    if let Some(Json::Object(list)) = auth.get("Authorizers") {
                        for (name, a) in list {
                            let a_at = at.key("Auth").key("Authorizers").key(name);
                            // SAM tells the two kinds apart by their properties: a
                            // Lambda authorizer has FunctionArn, an OAuth2 (JWT) one
                            // JwtConfiguration.
                            if a.get("FunctionArn").is_none() && a.get("JwtConfiguration").is_some() {
                                let j = checks::jwt_authorizer(&a_at, a, &mut notes)?;
                                jwt_authorizers.push(JwtAuthorizer {
                                    name: name.clone(),
                                    identity_header: j.identity_header,
                                    issuer: j.issuer,
                                    audience: j.audience,
                                    scopes: j.scopes,
                                });
                                continue;
                            }
                            let a = checks::lambda_authorizer(&a_at, a, &mut notes)?;
                            let fn_arn = a.function_arn.as_str();
                            authorizers.push(Authorizer {
                                name: name.clone(),
                                function: fn_arn.rsplit(':').next().unwrap_or(fn_arn).to_string(),
                                identity_headers: a.identity_headers,
                                ttl_secs: a.ttl_secs,
                            });
                        }
                    }
                }
                let default_auth = p
                    .get("Auth")
                    .and_then(|a| a.get("DefaultAuthorizer"))
                    .and_then(Json::as_str)
                    .map(str::to_string);
                iam_sources.http_apis.push((id.to_string(), p.clone()));
                let cors = match p.get("CorsConfiguration") {
                    None => None,
                    Some(c) => crate::apigw::cors::Cors::from_sam(c).map_err(|e| {
                        let at = at.key("CorsConfiguration");
                        let at = if e.key.is_empty() { at } else { at.key(&e.key) };
                        at.err(e.detail)
                    })?,
                };
                model.http_apis.push(HttpApi {
                    logical_id: id.to_string(),
                    routes: Vec::new(),
                    authorizers,
                    jwt_authorizers,
                    cors,
                });
                // Remember the default authorizer on a pseudo route entry: applied below.
                if let Some(d) = default_auth {
                    routes_by_api.entry(format!("{id}#default")).or_default().push(Route {
                        method: String::new(),
                        path: String::new(),
                        function: String::new(),
                        authorizer: Some(d),
                        scopes: Vec::new(),
                    });
                }
            }
            "AWS::Events::EventBus" => {
                check_props(id, kind, props, BUS_PROPS)?;
                model.buses.push(r.physical_name(id, 0)?);
            }
            "AWS::Events::Rule" => {
                check_props(id, kind, props, RULE_PROPS)?;
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let pattern = p.get("EventPattern").cloned().ok_or_else(|| {
                    unsupported(
                        id,
                        kind,
                        "only rules with an EventPattern are supported (no ScheduleExpression)",
                    )
                })?;
                let mut targets = Vec::new();
                let targets_at = At::props(id).key("Targets");
                for (i, t) in p
                    .get("Targets")
                    .and_then(Json::as_array)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                {
                    checks::target(&targets_at.index(i), &t, &mut notes)?;
                    let arn = t.get("Arn").and_then(Json::as_str).unwrap_or_default().to_string();
                    let tkind = if arn.starts_with("arn:aws:lambda:") {
                        TargetKind::Lambda {
                            function: arn.rsplit(':').next().unwrap_or_default().to_string(),
                        }
                    } else if arn.starts_with("arn:aws:states:") {
                        TargetKind::StateMachine { arn: arn.clone() }
                    } else {
                        return Err(unsupported(
                            id,
                            kind,
                            format!("target {arn}: only Lambda and Step Functions targets are supported"),
                        ));
                    };
                    let transformer = match t.get("InputTransformer") {
                        Some(it) => {
                            let map = it
                                .get("InputPathsMap")
                                .and_then(Json::as_object)
                                .map(|m| {
                                    m.iter()
                                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                                        .collect()
                                })
                                .unwrap_or_default();
                            let template = it
                                .get("InputTemplate")
                                .and_then(Json::as_str)
                                .unwrap_or_default()
                                .to_string();
                            Some((map, template))
                        }
                        None => None,
                    };
                    let retry = t.get("RetryPolicy");
                    targets.push(Target {
                        id: t.get("Id").and_then(Json::as_str).unwrap_or_default().to_string(),
                        kind: tkind,
                        input_path: t.get("InputPath").and_then(Json::as_str).map(str::to_string),
                        input: t.get("Input").and_then(Json::as_str).map(str::to_string),
                        input_transformer: transformer,
                        max_retries: retry.and_then(|r| num(r.get("MaximumRetryAttempts"))).unwrap_or(185) as u32,
                        max_event_age_secs: retry
                            .and_then(|r| num(r.get("MaximumEventAgeInSeconds")))
                            .unwrap_or(86400),
                        dead_letter_arn: t
                            .get("DeadLetterConfig")
                            .and_then(|d| d.get("Arn"))
                            .and_then(Json::as_str)
                            .map(str::to_string),
                        role_arn: t.get("RoleArn").and_then(Json::as_str).map(str::to_string),
                    });
                }
                let bus = p.get("EventBusName").and_then(Json::as_str).unwrap_or("default");
                let bus = bus.rsplit('/').next().unwrap_or(bus).to_string();
                model.rules.push(Rule {
                    logical_id: id.to_string(),
                    name: r.physical_name(id, 0)?,
                    arn: r.arn(id, 0)?,
                    bus,
                    enabled: p.get("State").and_then(Json::as_str).unwrap_or("ENABLED") == "ENABLED",
                    pattern,
                    targets,
                });
            }
            "AWS::Serverless::StateMachine" => {
                check_props(id, kind, props, SM_PROPS)?;
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let (mut definition, definition_path) = match (p.get("DefinitionUri"), p.get("Definition")) {
                    (Some(Json::String(uri)), _) => {
                        let path = root.join(uri);
                        let text = std::fs::read_to_string(&path).map_err(|source| TemplateError::Io {
                            path: path.display().to_string(),
                            source,
                        })?;
                        (text, Some(path))
                    }
                    (None, Some(def)) => (def.to_string(), None),
                    _ => {
                        return Err(unsupported(
                            id,
                            kind,
                            "DefinitionUri must be a local file path (or use Definition)",
                        ))
                    }
                };
                let role_arn = iam::state_machine_role_arn(&r, id, &p).map_err(|e| unsupported(id, kind, e))?;
                if let Some(Json::Object(subs)) = p.get("DefinitionSubstitutions") {
                    for (k, v) in subs {
                        let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                        definition = definition.replace(&format!("${{{k}}}"), &v);
                    }
                }
                model.state_machines.push(StateMachineDef {
                    logical_id: id.to_string(),
                    name: r.physical_name(id, 0)?,
                    arn: r.arn(id, 0)?,
                    kind: p
                        .get("Type")
                        .and_then(Json::as_str)
                        .unwrap_or("STANDARD")
                        .to_ascii_uppercase(),
                    definition,
                    definition_path,
                    logging: p
                        .get("Logging")
                        .map(logging_of)
                        .transpose()
                        .map_err(|e| unsupported(id, kind, e))?
                        .unwrap_or_default(),
                    role_arn,
                });
                iam_sources.state_machines.push((id.to_string(), p));
            }
            "AWS::Cognito::UserPool" => {
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                checks::user_pool(&At::props(id), &p, &mut notes)?;
                let pool_id = r.pool_id(id);
                cognito.pools.push(UserPool {
                    config: crate::cognito::PoolConfig {
                        logical_id: id.to_string(),
                        issuer: cognito_issuer(&pool_id),
                        pool_id,
                        groups: Vec::new(),
                        clients: Vec::new(),
                    },
                    domain: None,
                });
            }
            "AWS::Cognito::UserPoolGroup" => {
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let at = At::props(id);
                let group = checks::user_pool_group(&at, &p, &mut notes)?;
                cognito.groups.push((id.to_string(), group.user_pool_id, group.name));
            }
            "AWS::Cognito::UserPoolClient" => {
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let (user_pool_id, client) =
                    checks::user_pool_client(&At::props(id), &p, r.reference(id, 0)?, &mut notes)?;
                cognito.clients.push((id.to_string(), user_pool_id, client));
            }
            "AWS::Cognito::UserPoolDomain" => {
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let d = checks::user_pool_domain(&At::props(id), &p, &mut notes)?;
                cognito.domains.push((id.to_string(), d.user_pool_id, d.domain));
            }
            "AWS::IAM::Role" | "AWS::IAM::Policy" | "AWS::Lambda::Permission" | "AWS::SQS::QueuePolicy" => {
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                iam_sources.resources.push((id.to_string(), kind.to_string(), p));
            }
            "AWS::KMS::Key" => {
                check_props(id, kind, props, KMS_KEY_PROPS)?;
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                // Only symmetric encryption keys are emulated (what the local KMS serves).
                if p.get("KeySpec").is_some_and(|v| v != "SYMMETRIC_DEFAULT") {
                    return Err(unsupported(id, kind, "KeySpec must be SYMMETRIC_DEFAULT"));
                }
                if p.get("KeyUsage").is_some_and(|v| v != "ENCRYPT_DECRYPT") {
                    return Err(unsupported(id, kind, "KeyUsage must be ENCRYPT_DECRYPT"));
                }
                if !p.get("KeyPolicy").is_some_and(Json::is_object) {
                    return Err(At::props(id).key("KeyPolicy").err("is required: a key policy document"));
                }
                model.kms_keys.push(KmsKey {
                    logical_id: id.to_string(),
                    key_id: kms_key_id(&r.stack, id),
                    arn: r.arn(id, 0)?,
                    aliases: Vec::new(),
                });
                model.not_emulated.push(format!(
                    "{id} ({kind}): a local AES-256-GCM key (.state/kms/keys.json); its KeyPolicy is not \
                     evaluated, the callers' role policies are (as the default key policy delegates to IAM)"
                ));
            }
            "AWS::KMS::Alias" => {
                check_props(id, kind, props, KMS_ALIAS_PROPS)?;
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                let name = p.get("AliasName").and_then(Json::as_str).unwrap_or_default();
                // "The alias must begin with alias/ followed by a name ... cannot begin with alias/aws/"
                // (AWS::KMS::Alias AliasName).
                if !name.starts_with("alias/") || name.starts_with("alias/aws/") || name.len() <= 6 {
                    return Err(At::props(id)
                        .key("AliasName")
                        .err("must be alias/<name>, not alias/aws/..."));
                }
                let target = p.get("TargetKeyId").and_then(Json::as_str).unwrap_or_default();
                kms_aliases.push((id.to_string(), name.to_string(), target.to_string()));
            }
            other if CONSOLE_INERT.contains(&other) => {
                // Resolved as CloudFormation would (a bad reference fails the stack).
                let p = props.map(|p| r.resolve(p, 0)).transpose()?.unwrap_or(json!({}));
                if other == "AWS::CloudFront::ResponseHeadersPolicy" {
                    let config = p
                        .get("ResponseHeadersPolicyConfig")
                        .cloned()
                        .ok_or_else(|| At::props(id).key("ResponseHeadersPolicyConfig").err("is required"))?;
                    model.response_headers_policies.insert(id.to_string(), config);
                }
                console_inert.push(format!("{id} ({other})"));
            }
            other => match INERT.iter().find(|(t, _)| *t == other) {
                Some((_, why)) => model.not_emulated.push(format!("{id} ({other}): not emulated; {why}")),
                None => {
                    return Err(unsupported(
                        id,
                        other,
                        "this resource type is not supported by the local cloud",
                    ));
                }
            },
        }
    }

    model.user_pools = cognito.assemble()?;
    // An alias names a key of the template, by id or ARN.
    for (id, name, target) in kms_aliases {
        let key = model
            .kms_keys
            .iter_mut()
            .find(|k| k.key_id == target || k.arn == target)
            .ok_or_else(|| {
                At::props(&id)
                    .key("TargetKeyId")
                    .err("must name an AWS::KMS::Key of the template")
            })?;
        key.aliases.push(name);
    }
    // Attach routes to their APIs, applying each API's default authorizer.
    for api in &mut model.http_apis {
        let mut seen = HashSet::new();
        let default = routes_by_api
            .get(&format!("{}#default", api.logical_id))
            .and_then(|r| r.first())
            .and_then(|r| r.authorizer.clone());
        for mut route in routes_by_api.remove(&api.logical_id).unwrap_or_default() {
            route.authorizer = match route.authorizer.as_deref() {
                Some("NONE") => None,
                Some(a) => Some(a.to_string()),
                None => default.clone(),
            };
            let jwt = route
                .authorizer
                .as_ref()
                .and_then(|a| api.jwt_authorizers.iter().find(|x| &x.name == a));
            if let Some(a) = &route.authorizer {
                if jwt.is_none() && !api.authorizers.iter().any(|x| &x.name == a) {
                    return Err(TemplateError::Invalid(format!(
                        "route {} {}: unknown authorizer {a}",
                        route.method, route.path
                    )));
                }
            }
            // Authorization scopes are for JWT authorizers only
            // (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-routes.html:
            // "Authorization scopes are supported only for JWT authorizers").
            match jwt {
                Some(j) if route.scopes.is_empty() => route.scopes = j.scopes.clone(),
                Some(_) => {}
                None if !route.scopes.is_empty() => {
                    let detail = "authorization scopes need a JWT authorizer on the route";
                    let key = (api.logical_id.clone(), route.method.clone(), route.path.clone());
                    return Err(match scoped_events.get(&key) {
                        Some(at) => at.err(detail),
                        None => TemplateError::Invalid(format!("route {} {}: {detail}", route.method, route.path)),
                    });
                }
                None => {}
            }
            if !seen.insert((route.method.clone(), route.path.clone())) {
                return Err(TemplateError::Invalid(format!(
                    "route {} {} is defined twice",
                    route.method, route.path
                )));
            }
            api.routes.push(route);
        }
    }
    if !console_inert.is_empty() {
        model.not_emulated.push(format!(
            "{}: inert locally (CloudWatch dashboards, CloudFront and S3 are not emulated); the partner API's \
             port serves console/site/ at /console/ in their place, and the console's Overview shows the \
             dashboard's figures from the admin API",
            console_inert.join(", ")
        ));
    }
    model.iam = iam::build(&r, iam_sources, &model, &mut notes)?;
    model.not_emulated.extend(notes.render());
    if let Some(orphan) = routes_by_api.keys().find(|k| !k.contains('#')) {
        return Err(TemplateError::Invalid(format!(
            "HttpApi events name an API that is not in the template: {orphan}"
        )));
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    //! Conditions and Fn::If as CloudFormation evaluates them
    //! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html,
    //! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html).

    use super::*;

    const HEAD: &str = "Parameters:
  Env:
    Type: String
    Default: prod
  Pool:
    Type: String
    Default: ''
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsTest: !Not [!Condition IsProd]
  NoPool: !Equals ['', !Ref Pool]
  ProdAndNoPool: !And [!Condition IsProd, !Condition NoPool]
  Either:
    Fn::Or:
      - Condition: IsTest
      - Fn::Equals: [!Ref 'AWS::Region', us-east-1]
";

    fn model(body: &str, params: &[(&str, &str)]) -> Result<Model, TemplateError> {
        let over = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&format!("{HEAD}{body}"), Path::new("."), "zb", &over)
    }

    fn buses(body: &str, params: &[(&str, &str)]) -> Vec<String> {
        model(body, params).unwrap().buses
    }

    #[test]
    fn conditions_are_evaluated_from_the_parameters() {
        let m = model("Resources: {}\n", &[]).unwrap();
        let c = |n: &str| m.conditions[n];
        assert!(c("IsProd") && !c("IsTest") && c("NoPool") && c("ProdAndNoPool") && c("Either"));
        let m = model("Resources: {}\n", &[("Env", "test"), ("Pool", "p")]).unwrap();
        let c = |n: &str| m.conditions[n];
        assert!(!c("IsProd") && c("IsTest") && !c("NoPool") && !c("ProdAndNoPool") && c("Either"));
    }

    #[test]
    fn a_resource_whose_condition_is_false_is_not_created() {
        let body = "Resources:
  ProdBus:
    Type: AWS::Events::EventBus
    Condition: IsProd
    Properties:
      Name: prod-bus
  TestBus:
    Type: AWS::Events::EventBus
    Condition: IsTest
    Properties:
      Name: test-bus
";
        assert_eq!(buses(body, &[]), vec!["prod-bus"]);
        assert_eq!(buses(body, &[("Env", "test")]), vec!["test-bus"]);
        let m = model(body, &[]).unwrap();
        assert!(m
            .not_emulated
            .iter()
            .any(|n| n.contains("TestBus") && n.contains("IsTest is false")));
    }

    #[test]
    fn a_reference_to_a_resource_not_created_fails_as_in_cloudformation() {
        let body = "Resources:
  ProdBus:
    Type: AWS::Events::EventBus
    Condition: IsProd
  Other:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub '${ProdBus}-copy'
";
        assert!(model(body, &[]).is_ok());
        let e = model(body, &[("Env", "test")]).unwrap_err().to_string();
        assert!(e.contains("Unresolved resource dependencies [ProdBus]"), "{e}");
        // The same reference inside Fn::If on the same condition is fine.
        let guarded = body.replace("!Sub '${ProdBus}-copy'", "!If [IsProd, !Sub '${ProdBus}-copy', plain]");
        assert_eq!(buses(&guarded, &[("Env", "test")]), vec!["plain"]);
    }

    #[test]
    fn fn_if_picks_a_branch_and_no_value_removes_the_property() {
        let body = "Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      TableName: !If [IsProd, prod-table, !Ref 'AWS::NoValue']
      Tags:
        - Key: a
          Value: !If [IsTest, test, prod]
        - !If [IsTest, {Key: b, Value: c}, !Ref 'AWS::NoValue']
";
        let m = model(body, &[]).unwrap();
        assert_eq!(m.tables[0].name, "prod-table");
        assert_eq!(m.tables[0].properties["Tags"], json!([{"Key": "a", "Value": "prod"}]));
        let m = model(body, &[("Env", "test")]).unwrap();
        assert!(
            m.tables[0].properties.get("TableName").is_none(),
            "the property is removed"
        );
        assert_eq!(m.tables[0].name, "zb-T");
        assert_eq!(
            m.tables[0].properties["Tags"],
            json!([{"Key": "a", "Value": "test"}, {"Key": "b", "Value": "c"}])
        );
    }

    #[test]
    fn bad_conditions_are_refused_by_name() {
        let e = |conditions: &str, body: &str| {
            parse(
                &format!("Parameters:\n  P:\n    Type: String\n    Default: x\nConditions:\n{conditions}{body}"),
                Path::new("."),
                "zb",
                &BTreeMap::new(),
            )
            .unwrap_err()
            .to_string()
        };
        let none = "Resources: {}\n";
        let msg = e("  A: !Condition B\n  B: !Condition A\n", none);
        assert!(msg.contains("circular"), "{msg}");
        let msg = e("  A: !Condition Missing\n", none);
        assert!(msg.contains("Missing"), "{msg}");
        let msg = e(
            "  A: !Equals [!Ref Bus, x]\n",
            "Resources:\n  Bus:\n    Type: AWS::Events::EventBus\n",
        );
        assert!(
            msg.contains("Cannot reference resources in the Conditions block"),
            "{msg}"
        );
        let msg = e("  A: !And [!Equals [a, a]]\n", none);
        assert!(msg.contains("Conditions.A") && msg.contains("2 to 10"), "{msg}");
        let msg = e(
            "  A: !Equals [a, a]\n",
            "Resources:\n  Bus:\n    Type: AWS::Events::EventBus\n    Condition: Nope\n",
        );
        assert!(msg.contains("Nope"), "{msg}");
        let msg = e(
            "  A: !Equals [a, a]\n",
            "Resources:\n  Bus:\n    Type: AWS::Events::EventBus\n    Properties:\n      Name: !If [Nope, a, b]\n",
        );
        assert!(msg.contains("Nope"), "{msg}");
    }
}
