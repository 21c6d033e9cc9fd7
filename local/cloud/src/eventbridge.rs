//! EventBridge: PutEvents with per-entry validation, custom buses, rules from
//! the template and from the API (see `rules_api`), pattern matching, and
//! delivery to Lambda (async) and Step Functions targets with the target's
//! retry policy and a dead-letter log for what could not be delivered. The
//! last accepted events stay readable ([`EventBridge::accepted`]), with the
//! access key that sent each, for tests that observe what was published.

mod rules_api;

use crate::awsjson::ApiError;
use crate::origin::Origin;
use crate::template::{Rule, Target, TargetKind, ACCOUNT, REGION};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use zb_event_pattern::{input_path, InputTransformer, Pattern, TransformContext};

pub use rules_api::RuleSwap;

/// PutEvents limits, as AWS documents them.
const MAX_ENTRIES: usize = 10;
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// How many accepted events the journal keeps (the oldest go first).
const JOURNAL_LEN: usize = 1000;

/// One event PutEvents accepted, as the bus received it: what CloudTrail
/// and an archive would show on AWS, readable here through
/// [`EventBridge::accepted`].
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The access key id that signed the request (SigV4 `Credential=`),
    /// when it was signed.
    pub caller: Option<String>,
    pub bus: String,
    /// The event as EventBridge delivers it to targets.
    pub event: Value,
}

/// Where matched events go. The cloud implements it with its Lambda host
/// and Step Functions engine.
pub trait Deliver: Send + Sync + 'static {
    /// Hands an event to a function's asynchronous invocation queue.
    fn invoke_async(&self, function: &str, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>>;
    /// Starts an execution.
    fn start_execution(&self, state_machine_arn: &str, input: String) -> BoxFuture<'_, Result<(), String>>;
    /// Whether EventBridge may deliver to `target` for `rule` (IAM: the function's resource
    /// policy, or the target's role). A refusal is not retried.
    fn authorize(&self, _rule: &Rule, _target: &Target) -> Result<(), String> {
        Ok(())
    }
}

/// A rule ready to route: replaced as a whole when it changes, so a
/// delivery in flight keeps the version that matched.
struct CompiledRule {
    rule: Rule,
    pattern: Pattern,
    /// The pattern as given, which DescribeRule and ListRules return.
    pattern_text: String,
    description: Option<String>,
    origin: Origin,
}

impl CompiledRule {
    fn from_template(rule: &Rule) -> Result<Self, RuleError> {
        let pattern = Pattern::parse(&rule.pattern).map_err(|e| RuleError::Pattern {
            rule: rule.logical_id.clone(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            rule: rule.clone(),
            pattern,
            pattern_text: rule.pattern.to_string(),
            description: None,
            origin: Origin::Template,
        })
    }
}

pub struct EventBridge {
    buses: HashSet<String>,
    rules: RwLock<Vec<Arc<CompiledRule>>>,
    deliver: Arc<dyn Deliver>,
    dead_letters: PathBuf,
    time_scale: f64,
    /// The last [`JOURNAL_LEN`] accepted events, oldest first.
    journal: Mutex<VecDeque<Accepted>>,
    /// Rules (by ARN) whose every target delivery fails, with the reason:
    /// fault injection of "a target that exhausts its retries".
    target_faults: Mutex<HashMap<String, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule {rule}: invalid EventPattern: {detail}")]
    Pattern { rule: String, detail: String },
    #[error("rule {rule}: bus {bus} is not one the local cloud started with (a new bus needs a restart)")]
    Bus { rule: String, bus: String },
}

impl EventBridge {
    pub fn new(
        buses: &[String],
        rules: &[Rule],
        deliver: Arc<dyn Deliver>,
        dead_letters: PathBuf,
        time_scale: f64,
    ) -> Result<Self, RuleError> {
        let mut bus_set: HashSet<String> = buses.iter().cloned().collect();
        bus_set.insert("default".into());
        let compiled = compile_template(&bus_set, rules)?;
        Ok(Self {
            buses: bus_set,
            rules: RwLock::new(compiled),
            deliver,
            dead_letters,
            time_scale,
            journal: Mutex::new(VecDeque::new()),
            target_faults: Mutex::new(HashMap::new()),
        })
    }

    /// Makes every delivery to `rule_arn`'s targets fail with `reason`, so
    /// each event is retried as the target's RetryPolicy says and then
    /// dead-lettered.
    pub fn inject_target_fault(&self, rule_arn: &str, reason: &str) {
        let mut faults = self.target_faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.insert(rule_arn.to_string(), reason.to_string());
    }

    /// The events PutEvents accepted lately (at most the last 1,000), oldest first.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn record(&self, caller: Option<&str>, event: &Value) {
        let mut event = event.clone();
        let bus = event
            .as_object_mut()
            .and_then(|o| o.remove("__bus"))
            .and_then(|b| b.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.len() == JOURNAL_LEN {
            journal.pop_front();
        }
        journal.push_back(Accepted {
            caller: caller.map(str::to_string),
            bus,
            event,
        });
    }

    /// The PutEvents operation, for the request signed by `caller` (an
    /// access key id) if it was signed.
    pub async fn put_events(&self, caller: Option<&str>, body: &Value) -> Result<Value, ApiError> {
        let entries = body
            .get("Entries")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::validation("Entries is required"))?;
        if entries.is_empty() || entries.len() > MAX_ENTRIES {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and {MAX_ENTRIES}"
            )));
        }
        let total: usize = entries.iter().map(entry_size).sum();
        if total > MAX_REQUEST_BYTES {
            return Err(ApiError::validation(
                "Total size of the entries in the request is over the limit.",
            ));
        }
        let mut results = Vec::new();
        let mut failed = 0;
        for entry in entries {
            match self.accept(entry) {
                Ok(event) => {
                    results.push(json!({"EventId": event["id"]}));
                    self.record(caller, &event);
                    self.route(event);
                }
                Err((code, message)) => {
                    failed += 1;
                    results.push(json!({"ErrorCode": code, "ErrorMessage": message}));
                }
            }
        }
        Ok(json!({"FailedEntryCount": failed, "Entries": results}))
    }

    /// Validates one entry and builds the event EventBridge would deliver.
    fn accept(&self, entry: &Value) -> Result<Value, (&'static str, String)> {
        let text = |name: &str| entry.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
        let source = text("Source").ok_or((
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.".to_string(),
        ))?;
        let detail_type = text("DetailType").ok_or((
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.".to_string(),
        ))?;
        let detail_text = text("Detail").ok_or((
            "InvalidArgument",
            "Parameter Detail is not valid. Reason: Detail is a required argument.".to_string(),
        ))?;
        let detail: Value =
            serde_json::from_str(detail_text).map_err(|_| ("MalformedDetail", "Detail is malformed.".to_string()))?;
        if !detail.is_object() {
            return Err(("MalformedDetail", "Detail is malformed.".to_string()));
        }
        let bus = text("EventBusName").unwrap_or("default");
        let bus = bus.rsplit('/').next().unwrap_or(bus);
        if !self.buses.contains(bus) {
            return Err(("InvalidArgument", format!("Event bus {bus} does not exist.")));
        }
        let time = match text("Time") {
            Some(t) => t.to_string(),
            None => chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        };
        Ok(json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": time,
            "region": REGION,
            "resources": entry.get("Resources").cloned().unwrap_or(json!([])),
            "detail": detail,
            "__bus": bus,
        }))
    }

    /// Matches an event against its bus's rules and delivers it in the background.
    fn route(&self, mut event: Value) {
        let bus = event
            .as_object_mut()
            .and_then(|o| o.remove("__bus"))
            .and_then(|b| b.as_str().map(str::to_string))
            .unwrap_or_default();
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner()).clone();
        for c in &rules {
            if !c.rule.enabled || c.rule.bus != bus || !c.pattern.matches(&event) {
                continue;
            }
            for target in &c.rule.targets {
                let payload = match target_input(target, &event, &c.rule) {
                    Ok(p) => p,
                    Err(e) => {
                        self.dead_letter(&c.rule, target, &event, &format!("input transformation failed: {e}"));
                        continue;
                    }
                };
                let deliver = self.deliver.clone();
                let target = target.clone();
                let rule = c.rule.clone();
                let event = event.clone();
                let dead_letters = self.dead_letters.clone();
                let scale = self.time_scale;
                let fault = self
                    .target_faults
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&rule.arn)
                    .cloned();
                tokio::spawn(async move {
                    let delivery = Delivery {
                        deliver,
                        rule: &rule,
                        target: &target,
                        fault,
                    };
                    delivery.with_retry(payload, &event, dead_letters, scale).await;
                });
            }
        }
    }

    fn dead_letter(&self, rule: &Rule, target: &Target, event: &Value, reason: &str) {
        write_dead_letter(&self.dead_letters, rule, target, event, reason);
    }

    /// Which rules of a bus an event would match (TestEventPattern's cousin).
    pub fn matching_rules(&self, event: &Value) -> Vec<String> {
        self.rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|c| c.pattern.matches(event))
            .map(|c| c.rule.name.clone())
            .collect()
    }
}

/// Compiles the template's rules, all or none.
fn compile_template(buses: &HashSet<String>, rules: &[Rule]) -> Result<Vec<Arc<CompiledRule>>, RuleError> {
    rules
        .iter()
        .map(|rule| {
            if !buses.contains(&rule.bus) {
                return Err(RuleError::Bus {
                    rule: rule.logical_id.clone(),
                    bus: rule.bus.clone(),
                });
            }
            CompiledRule::from_template(rule).map(Arc::new)
        })
        .collect()
}

/// The size PutEvents counts for an entry.
fn entry_size(entry: &Value) -> usize {
    let len = |n: &str| entry.get(n).and_then(Value::as_str).map_or(0, str::len);
    len("Source") + len("DetailType") + len("Detail") + if entry.get("Time").is_some() { 14 } else { 0 }
}

/// The target's input: InputPath, Input or InputTransformer, else the event.
fn target_input(target: &Target, event: &Value, rule: &Rule) -> Result<String, String> {
    if let Some(input) = &target.input {
        return Ok(input.clone());
    }
    if let Some(path) = &target.input_path {
        return input_path(event, path)
            .map(|v| v.to_string())
            .map_err(|e| e.to_string());
    }
    if let Some((map, template)) = &target.input_transformer {
        let t = InputTransformer {
            input_paths_map: map.clone(),
            input_template: template.clone(),
        };
        // <aws.events.rule-name> and <aws.events.rule-arn> come from the rule, not the event.
        let ctx = TransformContext {
            rule_name: Some(rule.name.clone()),
            rule_arn: Some(rule.arn.clone()),
            ingestion_time: None,
        };
        return t.apply_with(event, &ctx).map_err(|e| e.to_string());
    }
    Ok(event.to_string())
}

/// One event's delivery to one target.
struct Delivery<'a> {
    deliver: Arc<dyn Deliver>,
    rule: &'a Rule,
    target: &'a Target,
    /// An injected fault: every attempt fails with it.
    fault: Option<String>,
}

impl Delivery<'_> {
    /// EventBridge retries failed deliveries with exponential backoff until
    /// the retry count or the event age runs out, then dead-letters the event.
    async fn with_retry(&self, payload: String, event: &Value, dead_letters: PathBuf, time_scale: f64) {
        let (rule, target) = (self.rule, self.target);
        // "For errors that result from missing permissions to a target ... no retry attempts will
        // happen": the event goes straight to the dead-letter queue (AWS, "Using dead-letter
        // queues to process undelivered events in EventBridge").
        if self.fault.is_none() {
            if let Err(denied) = self.deliver.authorize(rule, target) {
                write_dead_letter(&dead_letters, rule, target, event, &format!("NO_PERMISSIONS: {denied}"));
                return;
            }
        }
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            let result = match (&self.fault, &target.kind) {
                (Some(fault), _) => Err(fault.clone()),
                (None, TargetKind::Lambda { function }) => {
                    self.deliver.invoke_async(function, payload.clone().into_bytes()).await
                }
                (None, TargetKind::StateMachine { arn }) => self.deliver.start_execution(arn, payload.clone()).await,
            };
            let error = match result {
                Ok(()) => return,
                Err(e) => e,
            };
            let age = started.elapsed().as_secs_f64() / time_scale.max(1e-6);
            if attempt >= target.max_retries || age >= target.max_event_age_secs as f64 {
                write_dead_letter(&dead_letters, rule, target, event, &error);
                return;
            }
            attempt += 1;
            let backoff = (2f64.powi(attempt as i32 - 1)).min(60.0) * time_scale;
            tokio::time::sleep(Duration::from_secs_f64(backoff)).await;
        }
    }
}

fn write_dead_letter(path: &PathBuf, rule: &Rule, target: &Target, event: &Value, reason: &str) {
    use std::io::Write;
    let line = json!({
        "time": chrono::Utc::now().to_rfc3339(),
        "rule": rule.name,
        "target": target.id,
        "reason": reason,
        "event": event,
    });
    tracing::warn!(rule = %rule.name, target = %target.id, %reason, "event dead-lettered");
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn rule(target: Target) -> Rule {
        Rule {
            logical_id: "R".into(),
            name: "zb-R".into(),
            arn: "arn:aws:events:us-east-1:000000000000:rule/zb-R".into(),
            bus: "zb-orders".into(),
            enabled: true,
            pattern: json!({"source": ["x"]}),
            targets: vec![target],
        }
    }

    fn target() -> Target {
        Target {
            id: "T".into(),
            kind: TargetKind::Lambda { function: "f".into() },
            input_path: None,
            input: None,
            input_transformer: None,
            role_arn: None,
            max_retries: 0,
            max_event_age_secs: 60,
            dead_letter_arn: None,
        }
    }

    #[test]
    fn target_input_follows_input_path_input_and_transformer() {
        let event = json!({"source": "x", "detail-type": "D", "detail": {"feedId": "f-1"}});
        let mut t = target();
        assert_eq!(target_input(&t, &event, &rule(t.clone())).unwrap(), event.to_string());
        t.input_path = Some("$.detail".into());
        assert_eq!(
            target_input(&t, &event, &rule(t.clone())).unwrap(),
            r#"{"feedId":"f-1"}"#
        );
        t.input_path = None;
        let mut map = BTreeMap::new();
        map.insert("feed".to_string(), "$.detail.feedId".to_string());
        t.input_transformer = Some((map, r#"{"feed": <feed>, "rule": <aws.events.rule-name>}"#.to_string()));
        let out: Value = serde_json::from_str(&target_input(&t, &event, &rule(t.clone())).unwrap()).unwrap();
        assert_eq!(out, json!({"feed": "f-1", "rule": "zb-R"}));
        t.input = Some("constant".into());
        assert_eq!(target_input(&t, &event, &rule(t.clone())).unwrap(), "constant");
    }
}
