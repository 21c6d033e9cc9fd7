//! The state machines: CreateStateMachine, UpdateStateMachine,
//! DeleteStateMachine, DescribeStateMachine, ListStateMachines and
//! ValidateStateMachineDefinition, and the swap a template reload makes. A
//! machine is replaced, never edited in place: a running execution keeps the
//! `Arc` of the version it started with.

use super::{parse_template, Machine, SfnError, StepFunctions};
use crate::awsjson::{epoch, page, required, ApiError, SFN_PAGING};
use crate::origin::Origin;
use crate::template::{StateMachineDef, ACCOUNT, REGION};
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// What a template reload changed (logical ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateSwap {
    pub updated: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl TemplateSwap {
    pub fn is_empty(&self) -> bool {
        self.updated.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// A definition as CreateStateMachine validates it.
fn parse_definition(text: &str) -> Result<zb_asl::StateMachine, ApiError> {
    zb_asl::StateMachine::parse(text).map_err(|e| ApiError::new("InvalidDefinition", e.aws_message()))
}

/// AWS's naming rule for state machines (and executions): 1 to 80
/// characters, none of whitespace, brackets, wildcards, the listed
/// punctuation or control characters.
fn check_name(name: &str) -> Result<(), ApiError> {
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    let valid = !name.is_empty()
        && name.chars().count() <= 80
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c));
    if valid {
        Ok(())
    } else {
        Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")))
    }
}

/// CreateStateMachine's / UpdateStateMachine's `loggingConfiguration`
/// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_LoggingConfiguration.html):
/// level OFF when absent; a destination is required unless the level is OFF.
pub(super) fn logging_configuration(body: &Value) -> Result<crate::template::Logging, ApiError> {
    use zb_cost::sfn_log::LogLevel;
    let Some(c) = body.get("loggingConfiguration") else {
        return Ok(crate::template::Logging::default());
    };
    let level = match c.get("level").and_then(Value::as_str) {
        None => LogLevel::Off,
        Some(l) => LogLevel::parse(l).map_err(|_| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{l}' at 'loggingConfiguration.level' failed to satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]"
            ))
        })?,
    };
    let arns: Vec<&str> = c
        .get("destinations")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|x| x.pointer("/cloudWatchLogsLogGroup/logGroupArn").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let invalid = |m: &str| ApiError::new("InvalidLoggingConfiguration", m.to_string());
    if arns.len() > 1 {
        return Err(invalid(
            "Invalid Logging Configuration: Must have at most one destination.",
        ));
    }
    let log_group =
        match arns.first() {
            Some(arn) => {
                let name = arn
                    .split_once(":log-group:")
                    .map(|(_, r)| r.strip_suffix(":*").unwrap_or(r))
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| invalid("Invalid Logging Configuration: the log group ARN is not valid."))?;
                Some((name.to_string(), arn.to_string()))
            }
            None if level != LogLevel::Off => return Err(invalid(
                "Invalid Logging Configuration: Must specify exactly one Log Destination if logging level is not OFF.",
            )),
            None => None,
        };
    Ok(crate::template::Logging {
        level,
        include_execution_data: c.get("includeExecutionData").and_then(Value::as_bool).unwrap_or(false),
        log_group,
    })
}

/// DescribeStateMachine's `loggingConfiguration`.
fn describe_logging(l: &crate::template::Logging) -> Value {
    let destinations: Vec<Value> = l
        .log_group
        .iter()
        .map(|(_, arn)| json!({"cloudWatchLogsLogGroup": {"logGroupArn": arn}}))
        .collect();
    json!({"level": l.level.as_str(), "includeExecutionData": l.include_execution_data, "destinations": destinations})
}

fn check_arn(arn: &str) -> Result<(), ApiError> {
    if arn.starts_with("arn:") && arn.split(':').count() >= 6 {
        Ok(())
    } else {
        Err(ApiError::new("InvalidArn", format!("Invalid Arn: '{arn}'")))
    }
}

fn machine_type(body: &Value) -> Result<String, ApiError> {
    match body.get("type").and_then(Value::as_str).unwrap_or("STANDARD") {
        t @ ("STANDARD" | "EXPRESS") => Ok(t.to_string()),
        other => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        ))),
    }
}

impl StepFunctions {
    pub(super) fn create_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "name")?;
        check_name(name)?;
        let definition = required(body, "definition")?;
        let role_arn = required(body, "roleArn")?;
        check_arn(role_arn)?;
        let kind = machine_type(body)?;
        let parsed = parse_definition(definition)?;
        let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}");
        let mut machines = self.machines.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = machines.get(&arn) {
            // CreateStateMachine is idempotent for an identical request.
            let same =
                existing.def.definition == definition && existing.role_arn == role_arn && existing.def.kind == kind;
            return if same {
                Ok(json!({"stateMachineArn": arn, "creationDate": epoch(existing.created)}))
            } else {
                Err(ApiError::new(
                    "StateMachineAlreadyExists",
                    format!("State Machine Already Exists: '{arn}'"),
                ))
            };
        }
        let created = Utc::now();
        let machine = Machine {
            def: StateMachineDef {
                logical_id: name.to_string(),
                name: name.to_string(),
                arn: arn.clone(),
                kind,
                definition: definition.to_string(),
                definition_path: None,
                logging: logging_configuration(body)?,
                role_arn: role_arn.to_string(),
            },
            parsed,
            created,
            role_arn: role_arn.to_string(),
            origin: Origin::Api,
        };
        machines.insert(arn.clone(), Arc::new(machine));
        tracing::info!(state_machine = %name, "state machine created");
        Ok(json!({"stateMachineArn": arn, "creationDate": epoch(created)}))
    }

    pub(super) fn update_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = required(body, "stateMachineArn")?;
        let definition = body.get("definition").and_then(Value::as_str);
        let role_arn = body.get("roleArn").and_then(Value::as_str);
        let other_settings = ["loggingConfiguration", "tracingConfiguration"]
            .iter()
            .any(|k| body.get(k).is_some());
        if definition.is_none() && role_arn.is_none() && !other_settings {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if let Some(role) = role_arn {
            check_arn(role)?;
        }
        let parsed = definition.map(parse_definition).transpose()?;
        let current = self.machine(arn)?;
        let mut def = current.def.clone();
        if let Some(text) = definition {
            def.definition = text.to_string();
        }
        if body.get("loggingConfiguration").is_some() {
            def.logging = logging_configuration(body)?;
        }
        let updated = Machine {
            def,
            parsed: parsed.unwrap_or_else(|| current.parsed.clone()),
            created: current.created,
            role_arn: role_arn.map_or_else(|| current.role_arn.clone(), str::to_string),
            origin: current.origin,
        };
        let key = updated.def.arn.clone();
        self.machines
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, Arc::new(updated));
        tracing::info!(state_machine = %current.def.name, "state machine updated");
        Ok(json!({"updateDate": epoch(Utc::now()), "revisionId": uuid::Uuid::new_v4().to_string()}))
    }

    /// Deleting a machine that does not exist succeeds, as on AWS; running
    /// executions finish with the definition they started with.
    pub(super) fn delete_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = required(body, "stateMachineArn")?;
        check_arn(arn)?;
        if self
            .machines
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(arn)
            .is_some()
        {
            tracing::info!(state_machine = %arn, "state machine deleted");
        }
        Ok(json!({}))
    }

    pub(super) fn describe_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let m = self.machine(required(body, "stateMachineArn")?)?;
        Ok(json!({
            "stateMachineArn": m.def.arn,
            "name": m.def.name,
            "status": "ACTIVE",
            "definition": m.def.definition,
            "roleArn": m.role_arn,
            "type": m.def.kind,
            "creationDate": epoch(m.created),
            "loggingConfiguration": describe_logging(&m.def.logging),
        }))
    }

    pub(super) fn list_machines(&self, body: &Value) -> Result<Value, ApiError> {
        let machines = self.machines.read().unwrap_or_else(|e| e.into_inner());
        let mut sorted: Vec<&Arc<Machine>> = machines.values().collect();
        sorted.sort_by(|a, b| a.def.name.cmp(&b.def.name));
        let list = sorted
            .into_iter()
            .map(|m| {
                json!({"stateMachineArn": m.def.arn, "name": m.def.name, "type": m.def.kind, "creationDate": epoch(m.created)})
            })
            .collect();
        page(body, &SFN_PAGING, "stateMachines", list)
    }

    /// Checks the template's machines without installing them.
    pub fn check_template(defs: &[StateMachineDef]) -> Result<(), SfnError> {
        parse_template(defs).map(|_| ())
    }

    /// Installs a reloaded template's machines, all or none: a changed one
    /// replaces its old version (new executions use it, running ones keep
    /// theirs), a new one is added, one gone from the template is removed.
    /// Machines created through the API are left alone.
    pub fn swap_template(&self, defs: &[StateMachineDef]) -> Result<TemplateSwap, SfnError> {
        let fresh = parse_template(defs)?;
        let mut swap = TemplateSwap::default();
        let mut machines = self.machines.write().unwrap_or_else(|e| e.into_inner());
        let arns: HashSet<String> = fresh.iter().map(|m| m.def.arn.clone()).collect();
        machines.retain(|arn, m| {
            let keep = m.origin != Origin::Template || arns.contains(arn);
            if !keep {
                swap.removed.push(m.def.logical_id.clone());
            }
            keep
        });
        for mut machine in fresh {
            match machines.get(&machine.def.arn) {
                Some(old) if old.def.definition == machine.def.definition && old.def.kind == machine.def.kind => {}
                Some(old) => {
                    machine.created = old.created;
                    swap.updated.push(machine.def.logical_id.clone());
                    machines.insert(machine.def.arn.clone(), Arc::new(machine));
                }
                None => {
                    swap.added.push(machine.def.logical_id.clone());
                    machines.insert(machine.def.arn.clone(), Arc::new(machine));
                }
            }
        }
        Ok(swap)
    }
}

/// ValidateStateMachineDefinition: OK, or FAIL with the diagnostic. A
/// definition that is valid ASL but uses what the local cloud cannot run
/// fails too, with code UNSUPPORTED_BY_LOCAL_CLOUD: it could not be created here.
pub(super) fn validate_definition(body: &Value) -> Result<Value, ApiError> {
    let definition = required(body, "definition")?;
    Ok(match zb_asl::StateMachine::parse(definition) {
        Ok(_) => json!({"result": "OK", "diagnostics": [], "truncated": false}),
        Err(e) => {
            let d = e.diagnostic();
            json!({
                "result": "FAIL",
                "diagnostics": [{"severity": "ERROR", "code": d.code, "message": d.message, "location": d.location}],
                "truncated": false
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        for ok in ["orders", "Order-Pipeline_2", "a.b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "a/b", "x:y", "{x}", &"n".repeat(81)] {
            let err = check_name(bad).unwrap_err();
            assert_eq!(err.kind, "InvalidName", "{bad}");
        }
    }

    #[test]
    fn validate_reports_the_first_problem_where_it_is() {
        let body = json!({"definition": r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}"#});
        let out = validate_definition(&body).unwrap();
        assert_eq!(out["result"], "FAIL");
        assert_eq!(out["diagnostics"][0]["code"], "MISSING_TRANSITION_TARGET");
        assert_eq!(out["diagnostics"][0]["location"], "/States/A/Next");
        let ok = json!({"definition": r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#});
        assert_eq!(validate_definition(&ok).unwrap()["result"], "OK");
    }
}
