//! IAM, enforced on every AWS call made inside the local cloud: the functions' calls to the AWS
//! endpoint and to DynamoDB (through [`crate::dynamodb_proxy`]), the state machines' Lambda
//! invocations, and EventBridge's deliveries to rule targets.
//!
//! Who calls is known from the SigV4 access key: the Lambda host mints one per function instance
//! (the role's session credentials, as Lambda gives each execution environment), so a key maps to
//! a function and its role (template.yaml, see [`crate::template::iam`]). A state machine calls
//! with its own role, a rule with its target's role or through the function's resource policy.
//! Keys the host did not mint belong to the operator (the CLI, the tests' own clients, the AWS
//! CLI): they are not evaluated, as an administrator's would pass.
//!
//! What is not evaluated (README, "IAM"): service control policies, permission boundaries,
//! session policies, resource policies other than Lambda's, and roles the template does not
//! declare (a state machine created through the API with a role of its own).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use zb_iam::actions::ActionError;
use zb_iam::eval::{Decision, Principal};
use zb_iam::ledger::Ledger;
use zb_iam::{Check, Role};
use zb_lambda_host::{LambdaHost, LogLine, LogStream};

use crate::template::iam::IamModel;

/// How IAM is applied (`--iam`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IamMode {
    /// A call the policies do not allow fails with AccessDeniedException.
    #[default]
    Enforce,
    /// Evaluated and reported, but allowed: the denial is only logged.
    Soft,
    /// Not evaluated.
    Off,
}

impl std::str::FromStr for IamMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enforce" => Ok(Self::Enforce),
            "soft" => Ok(Self::Soft),
            "off" => Ok(Self::Off),
            other => Err(format!("{other:?}: expected enforce, soft or off")),
        }
    }
}

impl std::fmt::Display for IamMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Enforce => "enforce",
            Self::Soft => "soft",
            Self::Off => "off",
        })
    }
}

/// A refused call: AWS's AccessDeniedException message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
}

/// Where a call came from, once its key is known.
struct Caller<'a> {
    role: &'a Role,
    principal: String,
    /// The function instance and the request it was running, for its log.
    function: Option<zb_lambda_host::Caller>,
}

/// The IAM service of one running local cloud.
pub struct Iam {
    mode: IamMode,
    model: IamModel,
    account: String,
    /// Set once the host exists (it needs the DynamoDB proxy's URL, which needs this service).
    host: std::sync::OnceLock<LambdaHost>,
    logs: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<LogLine>>,
    ledger: Mutex<Ledger>,
    file: PathBuf,
    dirty: AtomicBool,
}

/// Where the ledger of a state folder is kept (read by `zb iam report`).
pub fn ledger_path(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("iam").join("ledger.json")
}

/// The ledger a previous run left in `state_dir`, or an empty one.
pub fn read_ledger(state_dir: &std::path::Path) -> Ledger {
    std::fs::read(ledger_path(state_dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

impl Iam {
    /// The ledger continues the state folder's: a report covers every run since `zb reset`.
    pub fn new(mode: IamMode, model: IamModel, state_dir: &std::path::Path) -> Self {
        Self {
            mode,
            model,
            account: crate::template::ACCOUNT.to_owned(),
            host: std::sync::OnceLock::new(),
            logs: std::sync::OnceLock::new(),
            ledger: Mutex::new(read_ledger(state_dir)),
            file: ledger_path(state_dir),
            dirty: AtomicBool::new(false),
        }
    }

    /// The Lambda host whose minted keys identify functions, and the sink of their logs.
    pub fn attach(&self, host: LambdaHost, logs: tokio::sync::mpsc::UnboundedSender<LogLine>) {
        let _ = self.host.set(host);
        let _ = self.logs.set(logs);
    }

    pub fn mode(&self) -> IamMode {
        self.mode
    }

    pub fn model(&self) -> &IamModel {
        &self.model
    }

    fn scope() -> zb_iam::actions::Scope {
        zb_iam::actions::Scope {
            region: crate::template::REGION.to_owned(),
            account: crate::template::ACCOUNT.to_owned(),
        }
    }

    /// The function a key was minted for, with its role; None for the operator's keys.
    fn function_caller(&self, access_key: Option<&str>) -> Option<Caller<'_>> {
        let caller = self.host.get()?.identify(access_key?)?;
        let role = self.model.role_for_function(&caller.function)?;
        let principal = zb_iam::message::assumed_role_principal(&self.account, &role.name, &caller.function);
        Some(Caller {
            role,
            principal,
            function: Some(caller),
        })
    }

    /// A call to the AWS endpoint or DynamoDB, signed with `access_key`, needing `checks`.
    pub fn authorize_key(
        &self,
        access_key: Option<&str>,
        checks: Result<Vec<Check>, ActionError>,
    ) -> Result<(), Denied> {
        if self.mode == IamMode::Off {
            return Ok(());
        }
        let Some(caller) = self.function_caller(access_key) else {
            return Ok(());
        };
        let checks = match checks {
            Ok(checks) => checks,
            // A function calling an operation the local IAM cannot map is refused: allowing it
            // would be more lenient than AWS, which evaluates every operation.
            Err(e) => {
                let message = format!(
                    "User: {} is not authorized to perform this call: {e} (the local cloud's IAM does not map it)",
                    caller.principal
                );
                return self.refuse(&caller, message);
            }
        };
        self.evaluate(&caller, &checks)
    }

    /// A call made with `role_arn` (a state machine's role), as session `session`. A role the
    /// template does not declare is not evaluated.
    pub fn authorize_role(&self, role_arn: &str, session: &str, checks: &[Check]) -> Result<(), Denied> {
        if self.mode == IamMode::Off {
            return Ok(());
        }
        let Some(role) = self.model.roles.get(role_arn) else {
            return Ok(());
        };
        let caller = Caller {
            role,
            principal: zb_iam::message::assumed_role_principal(&self.account, &role.name, session),
            function: None,
        };
        self.evaluate(&caller, checks)
    }

    /// EventBridge invoking `function` for `rule_arn`: the function's resource policy must allow
    /// events.amazonaws.com (AWS, "Using resource-based policies for Amazon EventBridge").
    pub fn authorize_rule_invoke(&self, rule_arn: &str, function: &str, function_arn: &str) -> Result<(), Denied> {
        if self.mode == IamMode::Off {
            return Ok(());
        }
        let check = self.service_check(zb_iam::actions::lambda_invoke(function_arn), rule_arn);
        let principal = Principal::Service("events.amazonaws.com".to_owned());
        let decision = match self.model.lambda_permissions.get(function) {
            Some(policy) => zb_iam::eval::evaluate_resource_policy(policy, &principal, &check),
            None => Decision::ImplicitDeny,
        };
        let message = || {
            format!(
                "EventBridge (rule {rule_arn}) is not authorized to perform: lambda:InvokeFunction on resource: {function_arn} because no resource-based policy allows the lambda:InvokeFunction action"
            )
        };
        self.settle_service(rule_arn, &check, decision, message)
    }

    /// EventBridge starting an execution of `machine_arn` for `rule_arn` with the target's role:
    /// events.amazonaws.com must be able to assume it, and it must allow states:StartExecution.
    pub fn authorize_rule_start(
        &self,
        rule_arn: &str,
        role_arn: Option<&str>,
        machine_arn: &str,
    ) -> Result<(), Denied> {
        if self.mode == IamMode::Off {
            return Ok(());
        }
        let check = self.service_check(
            Check {
                action: "states:StartExecution".to_owned(),
                resource: machine_arn.to_owned(),
                context: Default::default(),
            },
            rule_arn,
        );
        let role = role_arn.and_then(|arn| self.model.roles.get(arn));
        let Some(role) = role else {
            let message =
                || format!("EventBridge (rule {rule_arn}) has no role from template.yaml to start {machine_arn} with");
            return self.settle_service(rule_arn, &check, Decision::ImplicitDeny, message);
        };
        let assumable = role
            .trust
            .as_ref()
            .is_some_and(|trust| zb_iam::eval::can_assume(trust, "events.amazonaws.com", &check.context));
        if !assumable {
            let message = || {
                format!(
                    "EventBridge (rule {rule_arn}) is not authorized to perform: sts:AssumeRole on resource: {}",
                    role.arn
                )
            };
            return self.settle_service(rule_arn, &check, Decision::ImplicitDeny, message);
        }
        let caller = Caller {
            role,
            principal: zb_iam::message::assumed_role_principal(&self.account, &role.name, "events"),
            function: None,
        };
        self.evaluate(&caller, std::slice::from_ref(&check))
    }

    /// A service principal's call for `rule_arn`: its condition keys (aws:SourceArn,
    /// aws:SourceAccount), and aws:SecureTransport true, as AWS's own calls are.
    fn service_check(&self, mut check: Check, rule_arn: &str) -> Check {
        check.context.insert("aws:SourceArn".to_owned(), Value::from(rule_arn));
        check
            .context
            .insert("aws:SourceAccount".to_owned(), Value::from(self.account.clone()));
        check
            .context
            .insert("aws:SecureTransport".to_owned(), Value::Bool(true));
        check
    }

    fn settle_service(
        &self,
        who: &str,
        check: &Check,
        decision: Decision,
        message: impl FnOnce() -> String,
    ) -> Result<(), Denied> {
        let allowed = matches!(decision, Decision::Allowed { .. });
        self.note(who, who, check, &decision);
        if allowed {
            return Ok(());
        }
        let message = message();
        tracing::warn!(mode = %self.mode, "{message}");
        match self.mode {
            IamMode::Enforce => Err(Denied { message }),
            IamMode::Soft | IamMode::Off => Ok(()),
        }
    }

    /// Evaluates every check; the first denied one refuses the call.
    fn evaluate(&self, caller: &Caller<'_>, checks: &[Check]) -> Result<(), Denied> {
        for check in checks {
            let decision = zb_iam::eval::evaluate(caller.role, &caller.principal, check);
            self.note(&caller.role.arn, &caller.principal, check, &decision);
            if !matches!(decision, Decision::Allowed { .. }) {
                let message = zb_iam::message::denied(&caller.principal, check, &decision);
                self.refuse(caller, message)?;
            }
        }
        Ok(())
    }

    /// Logs a denial (to the function's own log too), and refuses it unless soft.
    fn refuse(&self, caller: &Caller<'_>, message: String) -> Result<(), Denied> {
        tracing::warn!(mode = %self.mode, "{message}");
        if let (Some(logs), Some(function)) = (self.logs.get(), &caller.function) {
            let line = match self.mode {
                IamMode::Soft => format!("IAM (soft, allowed): AccessDeniedException: {message}"),
                _ => format!("AccessDeniedException: {message}"),
            };
            let _ = logs.send(LogLine {
                function: function.function.clone(),
                instance: function.instance,
                line,
                stream: LogStream::Platform,
                request_id: function.request_id.clone(),
                time: chrono::Utc::now(),
            });
        }
        match self.mode {
            IamMode::Enforce => Err(Denied { message }),
            IamMode::Soft | IamMode::Off => Ok(()),
        }
    }

    fn note(&self, role_arn: &str, principal: &str, check: &Check, decision: &Decision) {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.record(role_arn, principal, check, decision, self.mode != IamMode::Enforce);
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Writes the ledger when it changed since the last write.
    pub fn flush(&self) {
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return;
        }
        let text = {
            let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
            serde_json::to_vec_pretty(&*ledger)
        };
        let Ok(text) = text else { return };
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Written aside, then renamed: a report read meanwhile never sees half a file.
        let partial = self.file.with_extension("json.partial");
        if std::fs::write(&partial, text).is_ok() {
            let _ = std::fs::rename(&partial, &self.file);
        }
    }
}

/// The DynamoDB proxy's gate: DynamoDB calls evaluated like any other.
impl crate::dynamodb_proxy::Gate for Iam {
    fn check(
        &self,
        access_key: Option<&str>,
        operation: &str,
        body: &Value,
    ) -> Result<(), crate::dynamodb_proxy::Denied> {
        self.authorize_key(access_key, zb_iam::actions::dynamodb(&Self::scope(), operation, body))
            .map_err(|d| crate::dynamodb_proxy::Denied { message: d.message })
    }
}

impl Iam {
    /// The checks of a call to the AWS endpoint (`X-Amz-Target` `<prefix>.<operation>`).
    pub fn endpoint_checks(prefix: &str, operation: &str, body: &Value) -> Result<Vec<Check>, ActionError> {
        let scope = Self::scope();
        match prefix {
            "AWSStepFunctions" => zb_iam::actions::step_functions(&scope, operation, body),
            "AWSEvents" => zb_iam::actions::events(&scope, operation, body),
            "Logs_20140328" => zb_iam::actions::logs(&scope, operation, body),
            _ => Ok(Vec::new()),
        }
    }
}

/// `zb iam report`: per function, state machine and other role of the template, the calls denied
/// and the grants no call used, from the ledger of a state folder.
pub fn report(model: &crate::template::Model, ledger: &Ledger) -> zb_iam::Report {
    let iam = &model.iam;
    let mut roles: Vec<(String, Role)> = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    let mut add = |who: String, arn: &str| {
        if let Some(role) = iam.roles.get(arn) {
            if listed.insert(arn.to_owned()) {
                roles.push((who, role.clone()));
            }
        }
    };
    for (function, arn) in &iam.function_roles {
        add(format!("function {function}"), arn);
    }
    for (machine, arn) in &iam.machine_roles {
        let name = machine.rsplit(':').next().unwrap_or(machine);
        add(format!("state machine {name}"), arn);
    }
    for arn in iam.roles.keys() {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        add(format!("role {name}"), arn);
    }
    zb_iam::report(&roles, ledger)
}

/// The ledgers of several runs, each of its own stack (`stack<TAB>state folder` lines, as `make
/// test` lists them), merged as if each had run as `stack`: every `<run stack>-` prefix of a
/// resource or role name is renamed. Lines naming a folder without a ledger are skipped.
pub fn merge_runs(list: &str, stack: &str) -> Ledger {
    let mut merged = Ledger::default();
    for line in list.lines() {
        let Some((run_stack, state_dir)) = line.split_once('\t') else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(ledger_path(std::path::Path::new(state_dir))) else {
            continue;
        };
        // Stack names prefix every physical name (`<stack>-OrdersTable`, `<stack>-persist`);
        // the tests' are unique (`e2e<random>`), so the rename touches nothing else.
        let renamed = text.replace(&format!("{run_stack}-"), &format!("{stack}-"));
        if let Ok(ledger) = serde_json::from_str::<Ledger>(&renamed) {
            merged.merge(&ledger);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use zb_iam::{Check, NamedPolicy};

    fn role(stack: &str) -> Role {
        Role {
            name: format!("{stack}-PersistFunctionRole"),
            arn: format!("arn:aws:iam::000000000000:role/{stack}-PersistFunctionRole"),
            trust: None,
            policies: vec![NamedPolicy {
                name: "PersistFunctionRolePolicy0".into(),
                document: serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                    "Resource": format!("arn:aws:dynamodb:us-east-1:000000000000:table/{stack}-OrdersTable")}]}),
                platform: false,
            }],
        }
    }

    fn ledger_of(stack: &str, action: &str) -> Ledger {
        let role = role(stack);
        let check = Check {
            action: action.into(),
            resource: format!("arn:aws:dynamodb:us-east-1:000000000000:table/{stack}-OrdersTable"),
            context: BTreeMap::new(),
        };
        let principal = format!("arn:aws:sts::000000000000:assumed-role/{}/{stack}-persist", role.name);
        let decision = zb_iam::eval::evaluate(&role, &principal, &check);
        let mut ledger = Ledger::default();
        ledger.record(&role.arn, &principal, &check, &decision, false);
        ledger
    }

    // Two runs of the suite, each on its own stack: one used the grant, one was denied PutItem.
    // Merged under the stack `zb`, the report sees both on the same role.
    #[test]
    fn runs_on_their_own_stacks_merge_into_one_ledger() {
        let base = std::env::temp_dir().join(format!("zb-iam-runs-{}", uuid::Uuid::new_v4().simple()));
        let mut list = String::new();
        for (stack, action) in [("e2eaaaa", "dynamodb:GetItem"), ("e2ebbbb", "dynamodb:PutItem")] {
            let dir = base.join(stack);
            std::fs::create_dir_all(dir.join("iam")).expect("dir");
            let text = serde_json::to_vec(&ledger_of(stack, action)).expect("ledger JSON");
            std::fs::write(ledger_path(&dir), text).expect("ledger");
            list.push_str(&format!("{stack}\t{}\n", dir.display()));
        }
        list.push_str("e2ecccc\t/nonexistent\n");
        let merged = merge_runs(&list, "zb");
        let _ = std::fs::remove_dir_all(&base);
        let report = zb_iam::report(&[("function zb-persist".to_owned(), role("zb"))], &merged);
        assert_eq!(report.roles.len(), 1, "{report}");
        assert_eq!((report.totals.used, report.totals.unused), (1, 0), "{report}");
        assert_eq!(report.totals.denied_calls, 1, "{report}");
        assert!(
            report.roles[0].denied[0].resource.ends_with("table/zb-OrdersTable"),
            "{report}"
        );
    }
}
