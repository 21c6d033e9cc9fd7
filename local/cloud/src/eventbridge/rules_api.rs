//! EventBridge's rule operations (PutRule, PutTargets, DeleteRule,
//! RemoveTargets, ListRules, DescribeRule, ListTargetsByRule), TestEventPattern
//! with the matcher that routes events, and the swap a template reload makes.
//! A rule created here routes events exactly like a template rule.

use super::{compile_template, CompiledRule, EventBridge, RuleError};
use crate::awsjson::{page, required, ApiError, EVENTS_PAGING};
use crate::origin::Origin;
use crate::template::{Rule, Target, TargetKind, ACCOUNT, REGION};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use zb_event_pattern::Pattern;

/// EventBridge's defaults for a target without a RetryPolicy.
const DEFAULT_MAX_RETRIES: u32 = 185;
const DEFAULT_MAX_EVENT_AGE_SECS: u64 = 86_400;
/// The fields EventBridge sets on every event; TestEventPattern wants them all.
const EVENT_FIELDS: [&str; 7] = ["id", "account", "source", "time", "region", "resources", "detail-type"];

/// What a template reload changed (logical ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSwap {
    pub updated: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl RuleSwap {
    pub fn is_empty(&self) -> bool {
        self.updated.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

fn not_found(rule: &str, bus: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        format!("Rule {rule} does not exist on EventBus {bus}."),
    )
}

fn invalid_pattern(reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        "InvalidEventPatternException",
        format!("Event pattern is not valid. Reason: {reason}"),
    )
}

/// Rule names and target ids: 1 to 64 of `[.\-_A-Za-z0-9]`.
fn check_id(what: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "1 validation error detected: Value '{value}' at '{what}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ and have length between 1 and 64"
        ))
    }
}

fn rule_arn(bus: &str, name: &str) -> String {
    if bus == "default" {
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")
    } else {
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}")
    }
}

/// A target as PutTargets takes it (the same shape as in the template).
fn parse_target(t: &Value) -> Result<Target, String> {
    let id = t.get("Id").and_then(Value::as_str).ok_or("Id is required")?;
    check_id("Id", id)?;
    let arn = t.get("Arn").and_then(Value::as_str).ok_or("Arn is required")?;
    let kind = if arn.starts_with("arn:aws:lambda:") && arn.contains(":function:") {
        TargetKind::Lambda {
            function: arn.rsplit(':').next().unwrap_or_default().to_string(),
        }
    } else if arn.starts_with("arn:aws:states:") && arn.contains(":stateMachine:") {
        TargetKind::StateMachine { arn: arn.to_string() }
    } else {
        return Err(format!(
            "target {arn}: the local cloud delivers to Lambda functions and Step Functions state machines only"
        ));
    };
    let text = |key: &str| t.get(key).and_then(Value::as_str).map(str::to_string);
    let given = ["Input", "InputPath", "InputTransformer"]
        .iter()
        .filter(|k| t.get(**k).is_some())
        .count();
    if given > 1 {
        return Err("only one of Input, InputPath and InputTransformer may be given".into());
    }
    let input_transformer = match t.get("InputTransformer") {
        None => None,
        Some(it) => {
            let template = it
                .get("InputTemplate")
                .and_then(Value::as_str)
                .ok_or("InputTransformer.InputTemplate is required")?
                .to_string();
            let mut map = BTreeMap::new();
            for (k, v) in it.get("InputPathsMap").and_then(Value::as_object).into_iter().flatten() {
                let path = v
                    .as_str()
                    .ok_or_else(|| format!("InputTransformer.InputPathsMap.{k} must be a string"))?;
                map.insert(k.clone(), path.to_string());
            }
            Some((map, template))
        }
    };
    let retry = t.get("RetryPolicy");
    let number = |key: &str| retry.and_then(|r| r.get(key)).and_then(Value::as_u64);
    Ok(Target {
        id: id.to_string(),
        kind,
        input_path: text("InputPath"),
        input: text("Input"),
        input_transformer,
        role_arn: text("RoleArn"),
        max_retries: number("MaximumRetryAttempts").map_or(DEFAULT_MAX_RETRIES, |n| n.min(185) as u32),
        max_event_age_secs: number("MaximumEventAgeInSeconds").unwrap_or(DEFAULT_MAX_EVENT_AGE_SECS),
        dead_letter_arn: t
            .pointer("/DeadLetterConfig/Arn")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// A target as ListTargetsByRule returns it.
fn target_json(t: &Target) -> Value {
    let arn = match &t.kind {
        TargetKind::Lambda { function } => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"),
        TargetKind::StateMachine { arn } => arn.clone(),
    };
    let mut v = json!({
        "Id": t.id,
        "Arn": arn,
        "RetryPolicy": {"MaximumRetryAttempts": t.max_retries, "MaximumEventAgeInSeconds": t.max_event_age_secs},
    });
    if let Some(input) = &t.input {
        v["Input"] = json!(input);
    }
    if let Some(path) = &t.input_path {
        v["InputPath"] = json!(path);
    }
    if let Some((map, template)) = &t.input_transformer {
        v["InputTransformer"] = json!({"InputPathsMap": map, "InputTemplate": template});
    }
    if let Some(dlq) = &t.dead_letter_arn {
        v["DeadLetterConfig"] = json!({"Arn": dlq});
    }
    v
}

fn rule_json(c: &CompiledRule) -> Value {
    let mut v = json!({
        "Name": c.rule.name,
        "Arn": c.rule.arn,
        "EventPattern": c.pattern_text,
        "State": if c.rule.enabled { "ENABLED" } else { "DISABLED" },
        "EventBusName": c.rule.bus,
    });
    if let Some(d) = &c.description {
        v["Description"] = json!(d);
    }
    v
}

impl EventBridge {
    /// The bus a request names (`EventBusName`, a name or an ARN; `default` when absent).
    fn bus_of(&self, body: &Value) -> Result<String, ApiError> {
        let given = body.get("EventBusName").and_then(Value::as_str).unwrap_or("default");
        let bus = given.rsplit('/').next().unwrap_or(given).to_string();
        if self.buses.contains(&bus) {
            Ok(bus)
        } else {
            Err(ApiError::new(
                "ResourceNotFoundException",
                format!("Event bus {bus} does not exist."),
            ))
        }
    }

    fn find(&self, bus: &str, name: &str) -> Option<Arc<CompiledRule>> {
        self.rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| c.rule.bus == bus && c.rule.name == name)
            .cloned()
    }

    /// Replaces (or adds) a rule as a whole.
    fn store(&self, rule: CompiledRule) {
        let mut rules = self.rules.write().unwrap_or_else(|e| e.into_inner());
        let (bus, name) = (rule.rule.bus.clone(), rule.rule.name.clone());
        match rules.iter().position(|c| c.rule.bus == bus && c.rule.name == name) {
            Some(i) => rules[i] = Arc::new(rule),
            None => rules.push(Arc::new(rule)),
        }
    }

    /// Stores `current` again with `rule` in place of its rule (its targets changed); the pattern,
    /// description and origin stay as they were.
    fn store_rule(&self, current: &CompiledRule, rule: Rule) {
        self.store(CompiledRule {
            rule,
            pattern: current.pattern.clone(),
            pattern_text: current.pattern_text.clone(),
            description: current.description.clone(),
            origin: current.origin,
        });
    }

    /// Serves one EventBridge operation other than PutEvents.
    pub fn call(&self, op: &str, body: &Value) -> Result<Value, ApiError> {
        match op {
            "PutRule" => self.put_rule(body),
            "PutTargets" => self.put_targets(body),
            "RemoveTargets" => self.remove_targets(body),
            "DeleteRule" => self.delete_rule(body),
            "ListRules" => self.list_rules(body),
            "DescribeRule" => {
                let bus = self.bus_of(body)?;
                let name = required(body, "Name")?;
                let c = self.find(&bus, name).ok_or_else(|| not_found(name, &bus))?;
                let mut v = rule_json(&c);
                v["CreatedBy"] = json!(ACCOUNT);
                Ok(v)
            }
            "ListTargetsByRule" => {
                let bus = self.bus_of(body)?;
                let name = required(body, "Rule")?;
                let c = self.find(&bus, name).ok_or_else(|| not_found(name, &bus))?;
                Ok(json!({"Targets": c.rule.targets.iter().map(target_json).collect::<Vec<_>>()}))
            }
            "TestEventPattern" => test_event_pattern(body),
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("the local cloud does not serve EventBridge {other}"),
            )),
        }
    }

    fn put_rule(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "Name")?;
        check_id("name", name).map_err(ApiError::validation)?;
        let bus = self.bus_of(body)?;
        if body.get("ScheduleExpression").is_some() {
            return Err(ApiError::validation(
                "ScheduleExpression is not supported by the local cloud: it runs no scheduler; use an EventPattern",
            ));
        }
        let text = body.get("EventPattern").and_then(Value::as_str).ok_or_else(|| {
            ApiError::validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        })?;
        let value: Value = serde_json::from_str(text).map_err(|e| invalid_pattern(format!("not JSON: {e}")))?;
        let pattern = Pattern::parse(&value).map_err(invalid_pattern)?;
        let enabled = match body.get("State").and_then(Value::as_str).unwrap_or("ENABLED") {
            "ENABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => true,
            "DISABLED" => false,
            other => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
                )))
            }
        };
        let existing = self.find(&bus, name);
        let arn = rule_arn(&bus, name);
        let rule = Rule {
            logical_id: existing
                .as_ref()
                .map_or_else(|| name.to_string(), |c| c.rule.logical_id.clone()),
            name: name.to_string(),
            arn: existing.as_ref().map_or(arn, |c| c.rule.arn.clone()),
            bus,
            enabled,
            pattern: value,
            targets: existing.as_ref().map(|c| c.rule.targets.clone()).unwrap_or_default(),
        };
        let rule_arn = rule.arn.clone();
        self.store(CompiledRule {
            rule,
            pattern,
            pattern_text: text.to_string(),
            description: body.get("Description").and_then(Value::as_str).map(str::to_string),
            origin: existing.map_or(Origin::Api, |c| c.origin),
        });
        tracing::info!(rule = %name, "rule put");
        Ok(json!({"RuleArn": rule_arn}))
    }

    fn put_targets(&self, body: &Value) -> Result<Value, ApiError> {
        let bus = self.bus_of(body)?;
        let name = required(body, "Rule")?;
        let entries = body
            .get("Targets")
            .and_then(Value::as_array)
            .filter(|t| !t.is_empty() && t.len() <= 10)
            .ok_or_else(|| {
                ApiError::validation(
                    "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10",
                )
            })?;
        let current = self.find(&bus, name).ok_or_else(|| not_found(name, &bus))?;
        let mut rule = current.rule.clone();
        let mut failed = Vec::new();
        for entry in entries {
            match parse_target(entry) {
                Ok(target) => match rule.targets.iter().position(|t| t.id == target.id) {
                    Some(i) => rule.targets[i] = target,
                    None => rule.targets.push(target),
                },
                Err(message) => failed.push(json!({
                    "TargetId": entry.get("Id").and_then(Value::as_str).unwrap_or_default(),
                    "ErrorCode": "ValidationException",
                    "ErrorMessage": message,
                })),
            }
        }
        // EventBridge allows five targets per rule.
        if rule.targets.len() > 5 {
            return Err(ApiError::new(
                "LimitExceededException",
                format!("The requested resource exceeds the maximum number allowed (5 targets on rule {name})."),
            ));
        }
        self.store_rule(&current, rule);
        Ok(json!({"FailedEntryCount": failed.len(), "FailedEntries": failed}))
    }

    fn remove_targets(&self, body: &Value) -> Result<Value, ApiError> {
        let bus = self.bus_of(body)?;
        let name = required(body, "Rule")?;
        let ids: Vec<&str> = body
            .get("Ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        let current = self.find(&bus, name).ok_or_else(|| not_found(name, &bus))?;
        let mut rule = current.rule.clone();
        rule.targets.retain(|t| !ids.contains(&t.id.as_str()));
        self.store_rule(&current, rule);
        Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
    }

    /// As on AWS: a rule with targets is deleted only with Force, and
    /// deleting a rule that does not exist succeeds.
    fn delete_rule(&self, body: &Value) -> Result<Value, ApiError> {
        let bus = self.bus_of(body)?;
        let name = required(body, "Name")?;
        let force = body.get("Force").and_then(Value::as_bool).unwrap_or(false);
        let mut rules = self.rules.write().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = rules.iter().position(|c| c.rule.bus == bus && c.rule.name == name) {
            if !rules[i].rule.targets.is_empty() && !force {
                return Err(ApiError::validation("Rule can't be deleted since it has targets."));
            }
            rules.remove(i);
            tracing::info!(rule = %name, "rule deleted");
        }
        Ok(json!({}))
    }

    fn list_rules(&self, body: &Value) -> Result<Value, ApiError> {
        let bus = self.bus_of(body)?;
        let prefix = body.get("NamePrefix").and_then(Value::as_str).unwrap_or_default();
        let mut rules: Vec<Value> = self
            .rules
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|c| c.rule.bus == bus && c.rule.name.starts_with(prefix))
            .map(|c| rule_json(c))
            .collect();
        rules.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
        page(body, &EVENTS_PAGING, "Rules", rules)
    }

    /// Checks the template's rules without installing them.
    pub fn check_template(&self, rules: &[Rule]) -> Result<(), RuleError> {
        compile_template(&self.buses, rules).map(|_| ())
    }

    /// Installs a reloaded template's rules, all or none. Rules created
    /// through the API are left alone; a template rule changed through the
    /// API is reset to the template.
    pub fn swap_template(&self, rules: &[Rule]) -> Result<RuleSwap, RuleError> {
        let fresh = compile_template(&self.buses, rules)?;
        let mut swap = RuleSwap::default();
        let mut current = self.rules.write().unwrap_or_else(|e| e.into_inner());
        let key = |c: &CompiledRule| (c.rule.bus.clone(), c.rule.name.clone());
        let fresh_keys: Vec<_> = fresh.iter().map(|c| key(c)).collect();
        current.retain(|c| {
            let keep = c.origin != Origin::Template || fresh_keys.contains(&key(c));
            if !keep {
                swap.removed.push(c.rule.logical_id.clone());
            }
            keep
        });
        for rule in fresh {
            match current.iter().position(|c| key(c) == key(&rule)) {
                Some(i) => {
                    if current[i].pattern_text != rule.pattern_text || !same_rule(&current[i].rule, &rule.rule) {
                        swap.updated.push(rule.rule.logical_id.clone());
                        current[i] = rule;
                    }
                }
                None => {
                    swap.added.push(rule.rule.logical_id.clone());
                    current.push(rule);
                }
            }
        }
        Ok(swap)
    }
}

/// Rule has no PartialEq (template.rs); what a reload can change is compared here.
fn same_rule(a: &Rule, b: &Rule) -> bool {
    a.enabled == b.enabled
        && a.targets.len() == b.targets.len()
        && a.targets
            .iter()
            .zip(&b.targets)
            .all(|(x, y)| target_json(x) == target_json(y))
}

/// TestEventPattern: the pattern parsed and matched exactly as routing does.
fn test_event_pattern(body: &Value) -> Result<Value, ApiError> {
    let text = required(body, "EventPattern")?;
    let value: Value = serde_json::from_str(text).map_err(|e| invalid_pattern(format!("not JSON: {e}")))?;
    let pattern = Pattern::parse(&value).map_err(invalid_pattern)?;
    let event_text = required(body, "Event")?;
    let event: Value = serde_json::from_str(event_text)
        .map_err(|e| ApiError::validation(format!("Parameter Event is not valid. Reason: not JSON: {e}")))?;
    let missing: Vec<&str> = EVENT_FIELDS
        .iter()
        .copied()
        .filter(|f| event.get(f).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(format!(
            "Parameter Event is not valid. Reason: the event lacks field(s) EventBridge always sets: {}",
            missing.join(", ")
        )));
    }
    Ok(json!({"Result": pattern.matches(&event)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventbridge::Deliver;
    use futures::future::BoxFuture;
    use std::sync::Mutex;

    /// Records deliveries instead of making them (the port EventBridge delivers through).
    #[derive(Default)]
    struct Recorded(Mutex<Vec<(String, String)>>);

    impl Deliver for Recorded {
        fn invoke_async(&self, function: &str, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
            let entry = (function.to_string(), String::from_utf8_lossy(&payload).into_owned());
            Box::pin(async move {
                self.0.lock().unwrap().push(entry);
                Ok(())
            })
        }
        fn start_execution(&self, arn: &str, input: String) -> BoxFuture<'_, Result<(), String>> {
            let entry = (arn.to_string(), input);
            Box::pin(async move {
                self.0.lock().unwrap().push(entry);
                Ok(())
            })
        }
    }

    fn bridge(deliver: Arc<Recorded>) -> EventBridge {
        let dir = std::env::temp_dir().join(format!("zb-eb-test-{}", uuid::Uuid::new_v4()));
        EventBridge::new(&["orders".to_string()], &[], deliver, dir.join("dead.jsonl"), 0.01).unwrap()
    }

    fn event(detail_type: &str) -> Value {
        json!({
            "id": "1", "account": ACCOUNT, "source": "zerobeta.orders", "time": "2026-01-01T00:00:00Z",
            "region": REGION, "resources": [], "detail-type": detail_type, "detail": {"feedId": "f-1"}
        })
    }

    #[tokio::test]
    async fn a_rule_put_through_the_api_routes_like_a_template_rule() {
        let deliver = Arc::new(Recorded::default());
        let eb = bridge(deliver.clone());
        let pattern = json!({"source": ["zerobeta.orders"], "detail-type": ["OrdersPersisted"]}).to_string();
        let put = eb
            .call(
                "PutRule",
                &json!({"Name": "persisted", "EventBusName": "orders", "EventPattern": pattern, "Description": "d"}),
            )
            .unwrap();
        assert_eq!(
            put["RuleArn"],
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/orders/persisted")
        );
        let targets = eb
            .call(
                "PutTargets",
                &json!({"Rule": "persisted", "EventBusName": "orders", "Targets": [
                    {"Id": "notify", "Arn": format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:zb-Notify"), "InputPath": "$.detail"},
                    {"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}
                ]}),
            )
            .unwrap();
        assert_eq!(targets["FailedEntryCount"], 1);
        assert_eq!(targets["FailedEntries"][0]["TargetId"], "queue");

        let sent = eb
            .put_events(Some("AKIDLOCAL"), &json!({"Entries": [
                {"Source": "zerobeta.orders", "DetailType": "OrdersPersisted", "Detail": "{\"feedId\":\"f-9\"}", "EventBusName": "orders"},
                {"Source": "zerobeta.orders", "DetailType": "OrdersRejected", "Detail": "{}", "EventBusName": "orders"}
            ]}))
            .await
            .unwrap();
        assert_eq!(sent["FailedEntryCount"], 0);
        // The journal keeps both, with who sent them and on which bus.
        let accepted = eb.accepted();
        assert_eq!(accepted.len(), 2);
        assert_eq!(accepted[0].caller.as_deref(), Some("AKIDLOCAL"));
        assert_eq!(accepted[0].bus, "orders");
        assert_eq!(accepted[0].event["detail-type"], "OrdersPersisted");
        assert_eq!(accepted[0].event["detail"], json!({"feedId": "f-9"}));
        assert_eq!(accepted[1].event["detail-type"], "OrdersRejected");
        assert!(accepted[1].event.get("__bus").is_none());
        // Delivery runs in the background; a bounded wait for the one matching event.
        for _ in 0..200 {
            if !deliver.0.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(
            *deliver.0.lock().unwrap(),
            vec![("zb-Notify".to_string(), r#"{"feedId":"f-9"}"#.to_string())]
        );

        let listed = eb.call("ListRules", &json!({"EventBusName": "orders"})).unwrap();
        assert_eq!(listed["Rules"][0]["Name"], "persisted");
        assert_eq!(listed["Rules"][0]["EventPattern"], pattern);
        let described = eb
            .call("DescribeRule", &json!({"Name": "persisted", "EventBusName": "orders"}))
            .unwrap();
        assert_eq!(described["Description"], "d");
        let by_rule = eb
            .call(
                "ListTargetsByRule",
                &json!({"Rule": "persisted", "EventBusName": "orders"}),
            )
            .unwrap();
        assert_eq!(by_rule["Targets"][0]["InputPath"], "$.detail");

        let refused = eb
            .call("DeleteRule", &json!({"Name": "persisted", "EventBusName": "orders"}))
            .unwrap_err();
        assert!(refused.message.contains("has targets"), "{}", refused.message);
        eb.call(
            "RemoveTargets",
            &json!({"Rule": "persisted", "EventBusName": "orders", "Ids": ["notify"]}),
        )
        .unwrap();
        eb.call("DeleteRule", &json!({"Name": "persisted", "EventBusName": "orders"}))
            .unwrap();
        assert_eq!(
            eb.call("ListRules", &json!({"EventBusName": "orders"})).unwrap()["Rules"],
            json!([])
        );
        let gone = eb
            .call("DescribeRule", &json!({"Name": "persisted", "EventBusName": "orders"}))
            .unwrap_err();
        assert_eq!(gone.kind, "ResourceNotFoundException");
    }

    #[test]
    fn bad_rules_and_buses_are_refused_naming_the_problem() {
        let eb = bridge(Arc::new(Recorded::default()));
        let bad = eb
            .call("PutRule", &json!({"Name": "r", "EventPattern": "{\"source\": \"x\"}"}))
            .unwrap_err();
        assert_eq!(bad.kind, "InvalidEventPatternException");
        assert!(
            bad.message.starts_with("Event pattern is not valid. Reason: "),
            "{}",
            bad.message
        );
        let bus = eb
            .call(
                "PutRule",
                &json!({"Name": "r", "EventBusName": "nope", "EventPattern": "{}"}),
            )
            .unwrap_err();
        assert_eq!(
            (bus.kind, bus.message.as_str()),
            ("ResourceNotFoundException", "Event bus nope does not exist.")
        );
        let name = eb
            .call("PutRule", &json!({"Name": "a b", "EventPattern": "{}"}))
            .unwrap_err();
        assert_eq!(name.kind, "ValidationException");
        let missing = eb
            .call(
                "PutTargets",
                &json!({"Rule": "ghost", "Targets": [{"Id": "t", "Arn": "arn:aws:states:us-east-1:0:stateMachine:s"}]}),
            )
            .unwrap_err();
        assert_eq!(missing.message, "Rule ghost does not exist on EventBus default.");
    }

    #[test]
    fn test_event_pattern_answers_with_the_routing_matcher() {
        let pattern = json!({"detail-type": ["OrdersPersisted"], "detail": {"feedId": [{"prefix": "f-"}]}}).to_string();
        let yes = test_event_pattern(&json!({"EventPattern": pattern, "Event": event("OrdersPersisted").to_string()}));
        assert_eq!(yes.unwrap(), json!({"Result": true}));
        let no = test_event_pattern(&json!({"EventPattern": pattern, "Event": event("OrdersRejected").to_string()}));
        assert_eq!(no.unwrap(), json!({"Result": false}));
        let partial =
            test_event_pattern(&json!({"EventPattern": pattern, "Event": "{\"detail-type\": \"x\"}"})).unwrap_err();
        assert!(
            partial.message.contains("id, account, source, time, region, resources"),
            "{}",
            partial.message
        );
        let invalid = test_event_pattern(
            &json!({"EventPattern": "{\"a\": [{\"numeric\": [\">\"]}]}", "Event": event("x").to_string()}),
        )
        .unwrap_err();
        assert_eq!(invalid.kind, "InvalidEventPatternException");
    }
}
