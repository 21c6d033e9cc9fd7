//! Strict reading of nested properties and of the Parameters section.
//!
//! Every nested property the local cloud reads is either supported, refused
//! with its full path (`Resources.<Id>.Properties.<...>`), or announced at
//! start-up as accepted but not emulated ([`Notes`]). Values are checked
//! where AWS constrains them, with AWS's bounds.

use super::TemplateError;
use serde_json::Value as Json;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// Where a nested property sits: `Resources.<resource>.<rel>`.
#[derive(Debug, Clone)]
pub(super) struct At {
    resource: String,
    rel: String,
}

impl At {
    /// `Resources.<resource>.Properties`.
    pub(super) fn props(resource: &str) -> Self {
        Self {
            resource: resource.to_string(),
            rel: "Properties".into(),
        }
    }
    pub(super) fn key(&self, key: &str) -> Self {
        Self {
            resource: self.resource.clone(),
            rel: format!("{}.{key}", self.rel),
        }
    }
    pub(super) fn index(&self, i: usize) -> Self {
        Self {
            resource: self.resource.clone(),
            rel: format!("{}[{i}]", self.rel),
        }
    }
    pub(super) fn path(&self) -> String {
        format!("Resources.{}.{}", self.resource, self.rel)
    }
    pub(super) fn err(&self, detail: impl Into<String>) -> TemplateError {
        TemplateError::Property {
            path: self.path(),
            detail: detail.into(),
        }
    }
}

/// Properties read but not emulated, announced at start-up, grouped so a
/// property every function sets (from Globals) is one line.
#[derive(Debug, Default)]
pub(super) struct Notes(BTreeMap<(String, String), Vec<String>>);

impl Notes {
    pub(super) fn add(&mut self, at: &At, why: &str) {
        let resources = self.0.entry((at.rel.clone(), why.to_string())).or_default();
        if !resources.contains(&at.resource) {
            resources.push(at.resource.clone());
        }
    }

    pub(super) fn render(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|((rel, why), resources)| match resources.as_slice() {
                [one] => format!("Resources.{one}.{rel}: accepted, not emulated; {why}"),
                many => format!("{rel} of {}: accepted, not emulated; {why}", many.join(", ")),
            })
            .collect()
    }
}

/// Checks an object's keys: each is `supported`, `inert` (announced with
/// why) or refused by its full path. A non-object is refused too.
pub(super) fn keys(
    at: &At,
    v: &Json,
    supported: &[&str],
    inert: &[(&str, &str)],
    notes: &mut Notes,
) -> Result<(), TemplateError> {
    let Some(o) = v.as_object() else {
        return Err(at.err(format!("must be an object, got {v}")));
    };
    for key in o.keys() {
        if supported.contains(&key.as_str()) {
            continue;
        }
        match inert.iter().find(|(k, _)| k == key) {
            Some((_, why)) => notes.add(&at.key(key), why),
            None => return Err(at.key(key).err("property is not supported by the local cloud")),
        }
    }
    Ok(())
}

/// An integer property in `min..=max` (CloudFormation also passes numbers
/// as strings, e.g. from a `!Ref` to a Number parameter).
pub(super) fn int(at: &At, v: Option<&Json>, min: i64, max: i64) -> Result<Option<i64>, TemplateError> {
    let Some(v) = v else { return Ok(None) };
    let n = match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| at.err(format!("must be an integer, got {v}")))?;
    if n < min || n > max {
        return Err(at.err(format!("must be between {min} and {max}, got {n}")));
    }
    Ok(Some(n))
}

pub(super) fn string<'a>(at: &At, v: Option<&'a Json>) -> Result<Option<&'a str>, TemplateError> {
    match v {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(at.err(format!("must be a string, got {other}"))),
    }
}

pub(super) fn boolean(at: &At, v: Option<&Json>) -> Result<Option<bool>, TemplateError> {
    match v {
        None => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(Json::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(other) => Err(at.err(format!("must be true or false, got {other}"))),
    }
}

pub(super) fn one_of<'a>(at: &At, v: Option<&'a Json>, allowed: &[&str]) -> Result<Option<&'a str>, TemplateError> {
    match string(at, v)? {
        Some(s) if !allowed.contains(&s) => Err(at.err(format!("must be one of {}, got {s:?}", allowed.join(", ")))),
        other => Ok(other),
    }
}

pub(super) fn string_list(at: &At, v: Option<&Json>) -> Result<Vec<String>, TemplateError> {
    match v {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| at.index(i).err(format!("must be a string, got {item}")))
            })
            .collect(),
        Some(other) => Err(at.err(format!("must be a list of strings, got {other}"))),
    }
}

// --- Parameters -------------------------------------------------------------
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html

const PARAMETER_KEYS: &[&str] = &[
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "ConstraintDescription",
    "Description",
    "MaxLength",
    "MaxValue",
    "MinLength",
    "MinValue",
    "NoEcho",
];

/// A parameter's scalar as CloudFormation reads it: YAML numbers and
/// booleans become their text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Checks one parameter's declaration and the value it gets (its Default or
/// an override), as CloudFormation does at CreateStack. Errors name the
/// parameter, the constraint and the ConstraintDescription if any.
pub(super) fn parameter(name: &str, decl: &Value, value: &str) -> Result<(), TemplateError> {
    let invalid = |detail: String| TemplateError::Invalid(format!("Parameters.{name}: {detail}"));
    let Some(m) = decl.as_mapping() else {
        return Err(invalid("a parameter is declared as a mapping".into()));
    };
    for k in m.keys() {
        let k = k.as_str().unwrap_or_default();
        if !PARAMETER_KEYS.contains(&k) {
            return Err(invalid(format!("Invalid template parameter property '{k}'")));
        }
    }
    let text = |key: &str| -> Result<Option<String>, TemplateError> {
        match decl.get(key) {
            None => Ok(None),
            Some(v) => scalar(v)
                .map(Some)
                .ok_or_else(|| invalid(format!("{key} must be a scalar"))),
        }
    };
    let kind = text("Type")?.ok_or_else(|| invalid("Every Parameters object must contain a Type member".into()))?;
    let is_number = match kind.as_str() {
        "String" => false,
        "Number" => true,
        other => {
            return Err(invalid(format!(
                "Type {other} is not supported by the local cloud (String and Number are)"
            )))
        }
    };
    let described = |message: String| -> TemplateError {
        let why = decl
            .get("ConstraintDescription")
            .and_then(scalar)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        TemplateError::Invalid(format!("Parameter '{name}' {message}{why}; got {value:?}"))
    };
    let bound = |key: &str| -> Result<Option<f64>, TemplateError> {
        match text(key)? {
            None => Ok(None),
            Some(t) => number(&t)
                .map(Some)
                .ok_or_else(|| invalid(format!("{key} must be a number, got {t:?}"))),
        }
    };
    let for_strings = ["AllowedPattern", "MinLength", "MaxLength"];
    let for_numbers = ["MinValue", "MaxValue"];
    let misplaced = if is_number { &for_strings[..] } else { &for_numbers[..] };
    if let Some(k) = misplaced.iter().find(|k| decl.get(**k).is_some()) {
        return Err(invalid(format!("{k} does not apply to a {kind} parameter")));
    }
    let numeric = if is_number {
        Some(number(value).ok_or_else(|| described("must be a number".into()))?)
    } else {
        None
    };
    if let Some(allowed) = decl.get("AllowedValues") {
        let list: Vec<String> = allowed
            .as_sequence()
            .ok_or_else(|| invalid("AllowedValues must be a list".into()))?
            .iter()
            .map(|v| scalar(v).ok_or_else(|| invalid("AllowedValues must hold scalars".into())))
            .collect::<Result<_, _>>()?;
        let found = list
            .iter()
            .any(|a| a == value || matches!((numeric, number(a)), (Some(v), Some(a)) if v == a));
        if !found {
            return Err(described(format!("must be one of AllowedValues [{}]", list.join(", "))));
        }
    }
    if let Some(pattern) = text("AllowedPattern")? {
        // The pattern must match the entire value.
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| invalid(format!("AllowedPattern {pattern:?} is not a regular expression: {e}")))?;
        if !re.is_match(value) {
            return Err(described(format!("must match pattern {pattern}")));
        }
    }
    let chars = value.chars().count() as f64;
    if let Some(min) = bound("MinLength")? {
        if chars < min {
            return Err(described(format!("must contain at least {min} characters")));
        }
    }
    if let Some(max) = bound("MaxLength")? {
        if chars > max {
            return Err(described(format!("must contain at most {max} characters")));
        }
    }
    if let Some(v) = numeric {
        if let Some(min) = bound("MinValue")? {
            if v < min {
                return Err(described(format!("must be a number not less than {min}")));
            }
        }
        if let Some(max) = bound("MaxValue")? {
            if v > max {
                return Err(described(format!("must be a number not greater than {max}")));
            }
        }
    }
    Ok(())
}

/// A parameter's Default as text.
pub(super) fn default_of(decl: &Value) -> Option<String> {
    decl.get("Default")
        .and_then(|d| scalar(d).or_else(|| serde_yaml::to_string(d).ok().map(|s| s.trim().to_string())))
}

// --- Functions (AWS::Serverless::Function) ----------------------------------

/// What the local IAM does not evaluate (see template/iam.rs for what it models).
const APIGW_IAM: &str = "API Gateway's role to invoke the authorizer is not evaluated by the local IAM";

/// A function's nested properties, resolved and merged with Globals.
/// Lambda's bounds: Timeout 1..=900, MemorySize 128..=10240
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html);
/// EventInvokeConfig as SAM passes it to AWS::Lambda::EventInvokeConfig
/// (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventinvokeconfiguration.html,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventinvokeconfig.html:
/// MaximumRetryAttempts 0..=2, MaximumEventAgeInSeconds 60..=21600).
pub(super) fn function(at: &At, p: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    int(&at.key("Timeout"), p.get("Timeout"), 1, 900)?;
    int(&at.key("MemorySize"), p.get("MemorySize"), 128, 10_240)?;
    int(
        &at.key("ReservedConcurrentExecutions"),
        p.get("ReservedConcurrentExecutions"),
        0,
        i64::from(u32::MAX),
    )?;
    if let Some(t) = p.get("Tracing") {
        one_of(&at.key("Tracing"), Some(t), &["Active", "PassThrough", "Disabled"])?;
        notes.add(&at.key("Tracing"), "X-Ray is not emulated");
    }
    if let Some(env) = p.get("Environment") {
        let at = at.key("Environment");
        keys(&at, env, &["Variables"], &[], notes)?;
        if let Some(vars) = env.get("Variables") {
            let at = at.key("Variables");
            let o = vars
                .as_object()
                .ok_or_else(|| at.err(format!("must be a map of names to strings, got {vars}")))?;
            for (k, v) in o {
                if v.is_object() || v.is_array() || v.is_null() {
                    return Err(at.key(k).err(format!("must be a string, got {v}")));
                }
            }
        }
    }
    if let Some(lc) = p.get("LoggingConfig") {
        let at = at.key("LoggingConfig");
        keys(
            &at,
            lc,
            &["LogFormat"],
            &[
                ("LogGroup", "function logs go to the terminal and .state/logs/"),
                ("ApplicationLogLevel", "every log line is kept, whatever its level"),
                ("SystemLogLevel", "every platform line is kept, whatever its level"),
            ],
            notes,
        )?;
        one_of(&at.key("LogFormat"), lc.get("LogFormat"), &["JSON", "Text"])?;
        for level in ["ApplicationLogLevel", "SystemLogLevel"] {
            string(&at.key(level), lc.get(level))?;
        }
        string(&at.key("LogGroup"), lc.get("LogGroup"))?;
    }
    if let Some(c) = p.get("EventInvokeConfig") {
        let at = at.key("EventInvokeConfig");
        keys(
            &at,
            c,
            &["MaximumRetryAttempts", "DestinationConfig"],
            &[(
                "MaximumEventAgeInSeconds",
                "failed async invocations are retried per MaximumRetryAttempts whatever their age",
            )],
            notes,
        )?;
        int(&at.key("MaximumRetryAttempts"), c.get("MaximumRetryAttempts"), 0, 2)?;
        int(
            &at.key("MaximumEventAgeInSeconds"),
            c.get("MaximumEventAgeInSeconds"),
            60,
            21_600,
        )?;
        if let Some(d) = c.get("DestinationConfig") {
            let at = at.key("DestinationConfig");
            keys(&at, d, &["OnSuccess", "OnFailure"], &[], notes)?;
            for side in ["OnSuccess", "OnFailure"] {
                if let Some(dest) = d.get(side) {
                    let at = at.key(side);
                    keys(&at, dest, &["Type", "Destination"], &[], notes)?;
                    // SAM's destination types (sam-property-function-onfailure / onsuccess).
                    one_of(
                        &at.key("Type"),
                        dest.get("Type"),
                        &["SQS", "SNS", "Lambda", "EventBridge", "S3Bucket"],
                    )?;
                    string(&at.key("Destination"), dest.get("Destination"))?;
                }
            }
            // An SQS OnFailure destination is what the local cloud does with
            // a failed async invocation: .state/dead-letters.jsonl.
            if d.get("OnSuccess").is_some() {
                return Err(at
                    .key("OnSuccess")
                    .err("on-success destinations are not emulated by the local cloud"));
            }
            if let Some(dest) = d.get("OnFailure") {
                if dest.get("Type").and_then(Json::as_str) != Some("SQS") {
                    return Err(at
                        .key("OnFailure")
                        .key("Type")
                        .err("only SQS is emulated (failed async invocations go to .state/dead-letters.jsonl)"));
                }
            }
        }
    }
    Ok(())
}

/// An HttpApi event's Properties
/// (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html).
/// TimeoutInMillis is 50..=30000 (API Gateway's integration timeout for HTTP APIs,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-integration.html).
pub(super) fn http_api_event(at: &At, ep: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    keys(
        at,
        ep,
        &["ApiId", "Method", "Path", "PayloadFormatVersion", "Auth"],
        &[(
            "TimeoutInMillis",
            "the local API Gateway waits as long as the function's own Timeout",
        )],
        notes,
    )?;
    int(&at.key("TimeoutInMillis"), ep.get("TimeoutInMillis"), 50, 30_000)?;
    string(&at.key("ApiId"), ep.get("ApiId"))?;
    if let Some(m) = string(&at.key("Method"), ep.get("Method"))? {
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];
        if !methods.contains(&m.to_ascii_uppercase().as_str()) {
            return Err(at
                .key("Method")
                .err(format!("must be one of {} (any case), got {m:?}", methods.join(", "))));
        }
    }
    if let Some(path) = string(&at.key("Path"), ep.get("Path"))? {
        if !path.starts_with('/') {
            return Err(at.key("Path").err(format!("must start with /, got {path:?}")));
        }
    }
    if one_of(
        &at.key("PayloadFormatVersion"),
        ep.get("PayloadFormatVersion"),
        &["1.0", "2.0"],
    )? == Some("1.0")
    {
        return Err(at
            .key("PayloadFormatVersion")
            .err("only payload format 2.0 is emulated by the local cloud"));
    }
    if let Some(auth) = ep.get("Auth") {
        let at = at.key("Auth");
        // AuthorizationScopes: for a JWT authorizer, the route's own scopes
        // (sam-property-function-httpapifunctionauth.html).
        keys(&at, auth, &["Authorizer", "AuthorizationScopes"], &[], notes)?;
        string(&at.key("Authorizer"), auth.get("Authorizer"))?;
        string_list(&at.key("AuthorizationScopes"), auth.get("AuthorizationScopes"))?;
    }
    Ok(())
}

/// What the local API Gateway needs of a Lambda authorizer.
pub(super) struct LambdaAuthorizer {
    pub function_arn: String,
    pub identity_headers: Vec<String>,
    pub ttl_secs: u64,
}

/// An HttpApi's Auth block
/// (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-httpapiauth.html).
pub(super) fn http_api_auth(at: &At, auth: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    // EnableIamAuthorizer is refused: callers of the API are not IAM principals locally.
    keys(at, auth, &["DefaultAuthorizer", "Authorizers"], &[], notes)?;
    string(&at.key("DefaultAuthorizer"), auth.get("DefaultAuthorizer"))?;
    if let Some(list) = auth.get("Authorizers") {
        if !list.is_object() {
            return Err(at
                .key("Authorizers")
                .err(format!("must be a map of authorizers, got {list}")));
        }
    }
    Ok(())
}

/// One Lambda authorizer of an HttpApi
/// (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-lambdaauthorizer.html,
/// Identity: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-lambdaauthorizationidentity.html,
/// ReauthorizeEvery at most 3600 s, default 300).
pub(super) fn lambda_authorizer(at: &At, a: &Json, notes: &mut Notes) -> Result<LambdaAuthorizer, TemplateError> {
    keys(
        at,
        a,
        &[
            "FunctionArn",
            "AuthorizerPayloadFormatVersion",
            "EnableSimpleResponses",
            "EnableFunctionDefaultPermissions",
            "Identity",
        ],
        &[("FunctionInvokeRole", APIGW_IAM)],
        notes,
    )?;
    boolean(
        &at.key("EnableFunctionDefaultPermissions"),
        a.get("EnableFunctionDefaultPermissions"),
    )?;
    string(&at.key("FunctionInvokeRole"), a.get("FunctionInvokeRole"))?;
    let function_arn = string(&at.key("FunctionArn"), a.get("FunctionArn"))?
        .ok_or_else(|| {
            at.key("FunctionArn")
                .err("is required: only Lambda authorizers are emulated")
        })?
        .to_string();
    match one_of(
        &at.key("AuthorizerPayloadFormatVersion"),
        a.get("AuthorizerPayloadFormatVersion"),
        &["1.0", "2.0"],
    )? {
        Some("2.0") => {}
        Some(_) => {
            return Err(at
                .key("AuthorizerPayloadFormatVersion")
                .err("only payload format 2.0 is emulated by the local cloud"))
        }
        None => {
            return Err(at
                .key("AuthorizerPayloadFormatVersion")
                .err("is required for HTTP API Lambda authorizers"))
        }
    }
    if boolean(&at.key("EnableSimpleResponses"), a.get("EnableSimpleResponses"))? != Some(true) {
        return Err(at
            .key("EnableSimpleResponses")
            .err("only simple responses (true) are emulated by the local cloud"));
    }
    let (identity_headers, ttl_secs) = match a.get("Identity") {
        None => (Vec::new(), 300),
        Some(identity) => {
            let at = at.key("Identity");
            // QueryStrings, Context and StageVariables are refused: the local
            // API Gateway reads identity from headers only.
            keys(&at, identity, &["Headers", "ReauthorizeEvery"], &[], notes)?;
            let headers = string_list(&at.key("Headers"), identity.get("Headers"))?
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect();
            let ttl = int(&at.key("ReauthorizeEvery"), identity.get("ReauthorizeEvery"), 0, 3600)?.unwrap_or(300);
            (headers, ttl as u64)
        }
    };
    Ok(LambdaAuthorizer {
        function_arn,
        identity_headers,
        ttl_secs,
    })
}

/// The HttpApi properties the local API Gateway reads but does not act on.
/// RouteSettings' members: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigatewayv2-stage-routesettings.html
pub(super) fn http_api(at: &At, p: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    if let Some(log) = p.get("AccessLogSettings") {
        let at = at.key("AccessLogSettings");
        keys(&at, log, &["DestinationArn", "Format"], &[], notes)?;
        string(&at.key("DestinationArn"), log.get("DestinationArn"))?;
        string(&at.key("Format"), log.get("Format"))?;
        notes.add(&at, "API Gateway access logs are not emulated");
    }
    if let Some(rs) = p.get("DefaultRouteSettings") {
        let at = at.key("DefaultRouteSettings");
        keys(
            &at,
            rs,
            &[
                "ThrottlingBurstLimit",
                "ThrottlingRateLimit",
                "DetailedMetricsEnabled",
                "DataTraceEnabled",
                "LoggingLevel",
            ],
            &[],
            notes,
        )?;
        int(
            &at.key("ThrottlingBurstLimit"),
            rs.get("ThrottlingBurstLimit"),
            0,
            i64::from(i32::MAX),
        )?;
        if let Some(rate) = rs.get("ThrottlingRateLimit") {
            if !rate.as_f64().is_some_and(|r| r >= 0.0) {
                return Err(at
                    .key("ThrottlingRateLimit")
                    .err(format!("must be a number ≥ 0, got {rate}")));
            }
        }
        notes.add(&at, "API Gateway throttling and metrics are not emulated");
    }
    boolean(&at.key("FailOnWarnings"), p.get("FailOnWarnings"))?;
    Ok(())
}

// --- EventBridge rule targets ------------------------------------------------

/// A rule target's nested properties
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-events-rule-target.html;
/// RetryPolicy: MaximumRetryAttempts 0..=185, MaximumEventAgeInSeconds 60..=86400,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-events-rule-retrypolicy.html).
pub(super) fn target(at: &At, t: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    keys(
        at,
        t,
        &[
            "Id",
            "Arn",
            "InputPath",
            "Input",
            "InputTransformer",
            "RetryPolicy",
            "DeadLetterConfig",
            "RoleArn",
        ],
        &[],
        notes,
    )?;
    for k in ["Id", "Arn", "InputPath", "Input", "RoleArn"] {
        string(&at.key(k), t.get(k))?;
    }
    if let Some(r) = t.get("RetryPolicy") {
        let at = at.key("RetryPolicy");
        keys(
            &at,
            r,
            &["MaximumRetryAttempts", "MaximumEventAgeInSeconds"],
            &[],
            notes,
        )?;
        int(&at.key("MaximumRetryAttempts"), r.get("MaximumRetryAttempts"), 0, 185)?;
        int(
            &at.key("MaximumEventAgeInSeconds"),
            r.get("MaximumEventAgeInSeconds"),
            60,
            86_400,
        )?;
    }
    if let Some(d) = t.get("DeadLetterConfig") {
        let at = at.key("DeadLetterConfig");
        keys(&at, d, &["Arn"], &[], notes)?;
        string(&at.key("Arn"), d.get("Arn"))?;
    }
    if let Some(it) = t.get("InputTransformer") {
        let at = at.key("InputTransformer");
        keys(&at, it, &["InputPathsMap", "InputTemplate"], &[], notes)?;
        string(&at.key("InputTemplate"), it.get("InputTemplate"))?
            .ok_or_else(|| at.key("InputTemplate").err("is required"))?;
        if let Some(m) = it.get("InputPathsMap") {
            let at = at.key("InputPathsMap");
            let o = m.as_object().ok_or_else(|| at.err(format!("must be a map, got {m}")))?;
            for (k, v) in o {
                string(&at.key(k), Some(v))?;
            }
        }
    }
    Ok(())
}

// --- JWT authorizers (SAM's OAuth2Authorizer) ---------------------------------

/// What the local API Gateway needs of a JWT authorizer.
pub(super) struct JwtAuthorizerSpec {
    pub identity_header: String,
    pub issuer: String,
    pub audience: Vec<String>,
    pub scopes: Vec<String>,
}

/// One OAuth2 (JWT) authorizer of an HttpApi
/// (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-oauth2authorizer.html;
/// JwtConfiguration: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigatewayv2-authorizer-jwtconfiguration.html).
/// The identity source is one header (SAM's default `$request.header.Authorization`);
/// API Gateway needs an issuer and at least one audience entry for a JWT authorizer.
pub(super) fn jwt_authorizer(at: &At, a: &Json, notes: &mut Notes) -> Result<JwtAuthorizerSpec, TemplateError> {
    keys(
        at,
        a,
        &["AuthorizationScopes", "IdentitySource", "JwtConfiguration"],
        &[],
        notes,
    )?;
    let scopes = string_list(&at.key("AuthorizationScopes"), a.get("AuthorizationScopes"))?;
    let source = string(&at.key("IdentitySource"), a.get("IdentitySource"))?.unwrap_or("$request.header.Authorization");
    let identity_header = source
        .strip_prefix("$request.header.")
        .filter(|h| !h.is_empty() && !h.contains(','))
        .ok_or_else(|| {
            at.key("IdentitySource").err(format!(
                "{source:?}: the local API Gateway reads a JWT from one header ($request.header.<name>)"
            ))
        })?
        .to_ascii_lowercase();
    let config_at = at.key("JwtConfiguration");
    let config = a.get("JwtConfiguration").ok_or_else(|| config_at.err("is required"))?;
    keys(&config_at, config, &["issuer", "audience"], &[], notes)?;
    let issuer = string(&config_at.key("issuer"), config.get("issuer"))?
        .filter(|i| !i.is_empty())
        .ok_or_else(|| config_at.key("issuer").err("is required"))?
        .to_string();
    if !issuer.starts_with("https://") {
        return Err(config_at.key("issuer").err(format!("{issuer:?} must be an https URL")));
    }
    let audience = string_list(&config_at.key("audience"), config.get("audience"))?;
    if audience.is_empty() || audience.iter().any(String::is_empty) {
        return Err(config_at
            .key("audience")
            .err(format!("needs at least one non-empty entry, got {audience:?}")));
    }
    Ok(JwtAuthorizerSpec {
        identity_header,
        issuer,
        audience,
        scopes,
    })
}

// --- Cognito ------------------------------------------------------------------

/// What the local Cognito does not do, for the notes.
const LOCAL_USERS: &str = "the local pool's users are the seeded ones (local/seed/operators.json)";

/// AWS::Cognito::UserPool
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpool.html).
/// Only its name and id matter to the tokens; what governs sign-up, MFA and
/// messages is announced as not emulated. Triggers (LambdaConfig), custom
/// attributes (Schema) and sign-in by email (UsernameAttributes) would change
/// what a token holds or who signs in, so they are refused.
pub(super) fn user_pool(at: &At, p: &Json, notes: &mut Notes) -> Result<(), TemplateError> {
    keys(
        at,
        p,
        &["UserPoolName", "MfaConfiguration"],
        &[
            ("AdminCreateUserConfig", LOCAL_USERS),
            ("AutoVerifiedAttributes", LOCAL_USERS),
            (
                "EnabledMfas",
                "MFA is not emulated: seeded users sign in with their password",
            ),
            (
                "Policies",
                "the password policy is not enforced: seeded users have fixed passwords",
            ),
            ("AccountRecoverySetting", "account recovery is not emulated"),
            ("DeletionProtection", "the local pool lives as long as the state folder"),
            ("UserPoolTags", "tags are not emulated"),
            ("EmailConfiguration", "the local Cognito sends no email"),
            ("VerificationMessageTemplate", "the local Cognito sends no message"),
            ("UserAttributeUpdateSettings", "attribute updates are not emulated"),
            ("UsernameConfiguration", "seeded user names are compared as written"),
        ],
        notes,
    )?;
    string(&at.key("UserPoolName"), p.get("UserPoolName"))?;
    // MFA required of every user cannot be met by a password-only sign-in.
    if one_of(
        &at.key("MfaConfiguration"),
        p.get("MfaConfiguration"),
        &["OFF", "ON", "OPTIONAL"],
    )? == Some("ON")
    {
        return Err(at
            .key("MfaConfiguration")
            .err("ON is not emulated (the local Cognito signs in with a password only); use OPTIONAL or OFF"));
    }
    Ok(())
}

pub(super) struct GroupSpec {
    pub user_pool_id: String,
    pub name: String,
}

/// AWS::Cognito::UserPoolGroup: its GroupName lands in `cognito:groups`.
pub(super) fn user_pool_group(at: &At, p: &Json, notes: &mut Notes) -> Result<GroupSpec, TemplateError> {
    keys(
        at,
        p,
        &["GroupName", "UserPoolId", "Description", "Precedence"],
        &[("RoleArn", "identity pools are not emulated")],
        notes,
    )?;
    string(&at.key("Description"), p.get("Description"))?;
    int(&at.key("Precedence"), p.get("Precedence"), 0, i64::from(i32::MAX))?;
    let name = string(&at.key("GroupName"), p.get("GroupName"))?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| at.key("GroupName").err("is required (the name users' tokens carry)"))?;
    let user_pool_id =
        string(&at.key("UserPoolId"), p.get("UserPoolId"))?.ok_or_else(|| at.key("UserPoolId").err("is required"))?;
    Ok(GroupSpec {
        user_pool_id: user_pool_id.to_string(),
        name: name.to_string(),
    })
}

/// Cognito's ExplicitAuthFlows values.
const AUTH_FLOWS: &[&str] = &[
    "ADMIN_NO_SRP_AUTH",
    "CUSTOM_AUTH_FLOW_ONLY",
    "USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH",
];

/// One token validity in seconds: the value in its unit
/// (TokenValidityUnits, default hours for access and ID tokens, days for
/// refresh tokens), within Cognito's bounds: access and ID tokens 5 minutes
/// to 1 day, refresh tokens 60 minutes to 10 years; defaults 1 hour, 1 hour
/// and 30 days
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpoolclient.html).
fn validity(
    at: &At,
    p: &Json,
    (property, unit_key, default_unit): (&str, &str, &str),
    (min, max, default): (u64, u64, u64),
) -> Result<u64, TemplateError> {
    let units_at = at.key("TokenValidityUnits").key(unit_key);
    let unit = one_of(
        &units_at,
        p.get("TokenValidityUnits").and_then(|u| u.get(unit_key)),
        &["seconds", "minutes", "hours", "days"],
    )?
    .unwrap_or(default_unit);
    let per = match unit {
        "seconds" => 1,
        "minutes" => 60,
        "hours" => 3600,
        _ => 86_400,
    };
    let Some(value) = int(&at.key(property), p.get(property), 1, i64::from(u32::MAX))? else {
        return Ok(default);
    };
    let secs = (value as u64).saturating_mul(per);
    if secs < min || secs > max {
        return Err(at.key(property).err(format!(
            "{value} {unit} is outside Cognito's bounds ({min} to {max} seconds)"
        )));
    }
    Ok(secs)
}

/// AWS::Cognito::UserPoolClient: its id is the tokens' `client_id` (the
/// JWT authorizer's audience), its flows and validities what InitiateAuth
/// allows and issues; its OAuth settings (CallbackURLs, AllowedOAuthFlows,
/// AllowedOAuthScopes, LogoutURLs) what the local hosted UI
/// (cognito/hosted.rs) checks. A client secret is refused: the local Cognito
/// has no SECRET_HASH.
/// Answers the client's pool (its UserPoolId) and the client, under `client_id`.
pub(super) fn user_pool_client(
    at: &At,
    p: &Json,
    client_id: String,
    notes: &mut Notes,
) -> Result<(String, crate::cognito::ClientConfig), TemplateError> {
    const HOSTED_UI: &str = "the local hosted UI signs in seeded users with a password only";
    keys(
        at,
        p,
        &[
            "UserPoolId",
            "ClientName",
            "GenerateSecret",
            "ExplicitAuthFlows",
            "AccessTokenValidity",
            "IdTokenValidity",
            "RefreshTokenValidity",
            "TokenValidityUnits",
            "AllowedOAuthFlowsUserPoolClient",
            "AllowedOAuthFlows",
            "AllowedOAuthScopes",
            "CallbackURLs",
            "LogoutURLs",
        ],
        &[
            ("DefaultRedirectURI", HOSTED_UI),
            ("SupportedIdentityProviders", HOSTED_UI),
            (
                "PreventUserExistenceErrors",
                "the local Cognito answers an unknown user as a wrong password",
            ),
            ("EnableTokenRevocation", "tokens are not revoked locally"),
            ("ReadAttributes", "seeded users' attributes are all readable"),
            ("WriteAttributes", "user attributes are not written locally"),
            (
                "AuthSessionValidity",
                "no challenge flows: there is no session to expire",
            ),
        ],
        notes,
    )?;
    string(&at.key("ClientName"), p.get("ClientName"))?;
    if boolean(&at.key("GenerateSecret"), p.get("GenerateSecret"))? == Some(true) {
        return Err(at
            .key("GenerateSecret")
            .err("a client secret is not emulated by the local Cognito; use a public client (false)"));
    }
    let user_pool_id = string(&at.key("UserPoolId"), p.get("UserPoolId"))?
        .ok_or_else(|| at.key("UserPoolId").err("is required"))?
        .to_string();
    let flows_at = at.key("ExplicitAuthFlows");
    let explicit_auth_flows = match p.get("ExplicitAuthFlows") {
        // Cognito's default: ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH and ALLOW_CUSTOM_AUTH.
        None => vec![
            "ALLOW_REFRESH_TOKEN_AUTH".to_string(),
            "ALLOW_USER_SRP_AUTH".to_string(),
            "ALLOW_CUSTOM_AUTH".to_string(),
        ],
        Some(v) => {
            let flows = string_list(&flows_at, Some(v))?;
            for (i, f) in flows.iter().enumerate() {
                if !AUTH_FLOWS.contains(&f.as_str()) {
                    return Err(flows_at
                        .index(i)
                        .err(format!("must be one of {}, got {f:?}", AUTH_FLOWS.join(", "))));
                }
            }
            flows
        }
    };
    if let Some(units) = p.get("TokenValidityUnits") {
        keys(
            &at.key("TokenValidityUnits"),
            units,
            &["AccessToken", "IdToken", "RefreshToken"],
            &[],
            notes,
        )?;
    }
    let access_token_validity_secs = validity(
        at,
        p,
        ("AccessTokenValidity", "AccessToken", "hours"),
        (300, 86_400, 3600),
    )?;
    let id_token_validity_secs = validity(at, p, ("IdTokenValidity", "IdToken", "hours"), (300, 86_400, 3600))?;
    let refresh_token_validity_secs = validity(
        at,
        p,
        ("RefreshTokenValidity", "RefreshToken", "days"),
        (3600, 3650 * 86_400, 30 * 86_400),
    )?;
    let oauth = boolean(
        &at.key("AllowedOAuthFlowsUserPoolClient"),
        p.get("AllowedOAuthFlowsUserPoolClient"),
    )? == Some(true);
    let list = |key: &str| -> Result<Vec<String>, TemplateError> {
        let v = string_list(&at.key(key), p.get(key))?;
        Ok(if oauth { v } else { Vec::new() })
    };
    let client = crate::cognito::ClientConfig {
        client_id,
        explicit_auth_flows,
        access_token_validity_secs,
        id_token_validity_secs,
        refresh_token_validity_secs,
        callback_urls: list("CallbackURLs")?,
        logout_urls: list("LogoutURLs")?,
        allowed_oauth_flows: list("AllowedOAuthFlows")?,
        allowed_oauth_scopes: list("AllowedOAuthScopes")?,
    };
    Ok((user_pool_id, client))
}

pub(super) struct DomainSpec {
    pub user_pool_id: String,
    pub domain: String,
}

/// AWS::Cognito::UserPoolDomain: a prefix domain of the pool's hosted UI,
/// read for the model; a custom domain (CustomDomainConfig) is refused.
pub(super) fn user_pool_domain(at: &At, p: &Json, notes: &mut Notes) -> Result<DomainSpec, TemplateError> {
    keys(
        at,
        p,
        &["Domain", "UserPoolId"],
        &[("ManagedLoginVersion", "the hosted UI is not emulated")],
        notes,
    )?;
    let domain = string(&at.key("Domain"), p.get("Domain"))?
        .filter(|d| !d.is_empty())
        .ok_or_else(|| at.key("Domain").err("is required"))?;
    let user_pool_id =
        string(&at.key("UserPoolId"), p.get("UserPoolId"))?.ok_or_else(|| at.key("UserPoolId").err("is required"))?;
    Ok(DomainSpec {
        user_pool_id: user_pool_id.to_string(),
        domain: domain.to_string(),
    })
}
