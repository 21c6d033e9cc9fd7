//! AWS SAM policy templates (`Policies: - EventBridgePutEventsPolicy: {EventBusName: ...}`).
//!
//! SAM expands these itself, before CloudFormation sees the template, from a JSON file it ships:
//! `sam/policy_templates.json` is that file, vendored unchanged (see `sam/SOURCE.md` for the version,
//! licence and how to refresh it). [`expand`] follows `Template.to_statement` of
//! `samtranslator/policy_template_processor/template.py`: every `{"Ref": "<Parameter>"}` in the
//! template's `Definition` becomes the given value; other intrinsics (the `Fn::Sub` with
//! `${AWS::Region}` the templates use) are left for the caller's resolver, as SAM leaves them to
//! CloudFormation.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The vendored templates, as SAM ships them.
const TEMPLATES_JSON: &str = include_str!("../sam/policy_templates.json");

/// SAM renames every `Ref` of a definition with this prefix before resolving, so that a parameter
/// value that itself holds a `Ref` to a template parameter of the same name is not resolved again
/// (`POLICY_PARAMETER_DISAMBIGUATE_PREFIX` in template.py). Kept so we resolve exactly the same Refs.
const DISAMBIGUATE_PREFIX: &str = "___SAM_POLICY_PARAMETER_";

/// Why a policy template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamError {
    /// No SAM policy template has this name (samtranslator's TemplateNotFoundException text).
    #[error("Template with name '{0}' is not found")]
    Unknown(String),
    /// Some parameters have no value (samtranslator's InsufficientParameterValues text; SAM lists
    /// them in set order, we sort them so the message is stable).
    #[error("Following required parameters of template '{name}' don't have values: [{}]", quoted(.missing))]
    MissingParameters { name: String, missing: Vec<String> },
    /// The vendored file does not have the shape SAM's schema gives it (a broken refresh).
    #[error("the vendored SAM policy templates are malformed: {0}")]
    Vendored(String),
}

/// Python's `str(list_of_str)`: `['A', 'B']` without the brackets.
fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

/// The `Templates` map of the vendored file, parsed once.
fn templates() -> Result<&'static Map<String, Value>, SamError> {
    static PARSED: OnceLock<Result<Map<String, Value>, String>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        let mut file: Value = serde_json::from_str(TEMPLATES_JSON).map_err(|e| e.to_string())?;
        match file.get_mut("Templates").map(Value::take) {
            Some(Value::Object(templates)) => Ok(templates),
            _ => Err("no \"Templates\" object".to_owned()),
        }
    });
    parsed.as_ref().map_err(|e| SamError::Vendored(e.clone()))
}

/// Whether `name` is a SAM policy template (SAM treats a one-key map in `Policies` as a template
/// use only when the key is one of these).
pub fn is_template(name: &str) -> bool {
    templates().is_ok_and(|t| t.contains_key(name))
}

/// The names of every vendored template, sorted.
pub fn names() -> Vec<&'static str> {
    templates()
        .map(|t| t.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Expands the template `name` with `parameters` into its policy document (`{"Statement": [...]}`,
/// no `Version`, as SAM emits it). Parameters the template does not declare are ignored, as SAM
/// ignores them.
pub fn expand(name: &str, parameters: &Map<String, Value>) -> Result<Value, SamError> {
    let template = templates()?
        .get(name)
        .ok_or_else(|| SamError::Unknown(name.to_owned()))?;
    let declared: BTreeSet<&str> = match template.get("Parameters") {
        Some(Value::Object(p)) => p.keys().map(String::as_str).collect(),
        None => BTreeSet::new(),
        Some(_) => return Err(SamError::Vendored(format!("{name}: Parameters is not an object"))),
    };
    let missing: Vec<String> = declared
        .iter()
        .filter(|p| !parameters.contains_key(**p))
        .map(|p| (*p).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(SamError::MissingParameters {
            name: name.to_owned(),
            missing,
        });
    }
    let definition = template
        .get("Definition")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let values: Map<String, Value> = parameters
        .iter()
        .filter(|(k, _)| declared.contains(k.as_str()))
        .map(|(k, v)| (format!("{DISAMBIGUATE_PREFIX}{k}"), v.clone()))
        .collect();
    let definition = disambiguate(definition);
    // IntrinsicsResolver._traverse returns its input untouched when there is nothing to resolve.
    if values.is_empty() {
        return Ok(definition);
    }
    Ok(resolve(definition, &values))
}

/// `Template._disambiguate_policy_parameter`: prefix the name of every `Ref` (in any map that has a
/// string `Ref` key, whatever its other keys).
fn disambiguate(node: Value) -> Value {
    match node {
        Value::Object(map) => {
            let mut copy: Map<String, Value> = map.into_iter().map(|(k, v)| (k, disambiguate(v))).collect();
            if let Some(Value::String(name)) = copy.get_mut("Ref") {
                *name = format!("{DISAMBIGUATE_PREFIX}{name}");
            }
            Value::Object(copy)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(disambiguate).collect()),
        other => other,
    }
}

/// `IntrinsicsResolver.resolve_parameter_refs` with only `Ref` supported: pre-order, so a `Ref`
/// node is replaced first and the value put in its place is then traversed too.
fn resolve(node: Value, values: &Map<String, Value>) -> Value {
    let node = resolve_ref(node, values);
    match node {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, resolve(v, values))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| resolve(v, values)).collect()),
        other => other,
    }
}

/// `RefAction.resolve_parameter_refs`: a map with the single key `Ref` naming a parameter that has
/// a value becomes that value; anything else is returned as is. A value that is a CloudFormation
/// placeholder (`{{IntrinsicFunction:...`) is not substituted (`_get_parameter_value`).
fn resolve_ref(node: Value, values: &Map<String, Value>) -> Value {
    let Value::Object(map) = &node else { return node };
    if map.len() != 1 {
        return node;
    }
    let Some(Value::String(name)) = map.get("Ref") else {
        return node;
    };
    match values.get(name) {
        Some(Value::String(s)) if s.starts_with("{{IntrinsicFunction:") => node,
        Some(value) => value.clone(),
        None => node,
    }
}

#[cfg(test)]
mod tests {
    //! Expected documents are SAM's own output for these templates (samtranslator 1.115.0's
    //! policy_templates.json and template.py), which is what AWS deploys:
    //! https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html
    use serde_json::json;

    use super::*;

    fn params(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn the_vendored_file_parses_and_holds_every_template() {
        let names = names();
        assert!(names.len() >= 80, "{} templates", names.len());
        for name in [
            "EventBridgePutEventsPolicy",
            "DynamoDBCrudPolicy",
            "StepFunctionsExecutionPolicy",
        ] {
            assert!(is_template(name), "{name}");
        }
        assert!(!is_template("NoSuchPolicy"));
    }

    #[test]
    fn event_bridge_put_events_policy_substitutes_the_bus_name_into_its_sub() {
        let doc = expand(
            "EventBridgePutEventsPolicy",
            &params(json!({"EventBusName": {"Ref": "OrdersEventBus"}})),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"Statement": [{
                "Action": "events:PutEvents",
                "Effect": "Allow",
                "Resource": {"Fn::Sub": [
                    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${eventBusName}",
                    {"eventBusName": {"Ref": "OrdersEventBus"}}
                ]}
            }]})
        );
    }

    #[test]
    fn dynamodb_crud_policy_covers_the_table_and_its_indexes() {
        let doc = expand("DynamoDBCrudPolicy", &params(json!({"TableName": "zb-OrdersTable"}))).unwrap();
        let statement = &doc["Statement"][0];
        assert_eq!(
            statement["Action"],
            json!([
                "dynamodb:GetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:ConditionCheckItem"
            ])
        );
        assert_eq!(
            statement["Resource"],
            json!([
                {"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}",
                    {"tableName": "zb-OrdersTable"}]},
                {"Fn::Sub": ["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${tableName}/index/*",
                    {"tableName": "zb-OrdersTable"}]}
            ])
        );
    }

    #[test]
    fn step_functions_execution_policy_names_the_machine_and_ignores_extra_parameters() {
        let doc = expand(
            "StepFunctionsExecutionPolicy",
            &params(json!({"StateMachineName": "zb-order-pipeline", "Unused": "x"})),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"Statement": [{
                "Action": ["states:StartExecution"],
                "Effect": "Allow",
                "Resource": {"Fn::Sub": [
                    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${stateMachineName}",
                    {"stateMachineName": "zb-order-pipeline"}
                ]}
            }]})
        );
    }

    #[test]
    fn a_missing_parameter_is_named_as_sam_names_it() {
        let err = expand("DynamoDBCrudPolicy", &Map::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Following required parameters of template 'DynamoDBCrudPolicy' don't have values: ['TableName']"
        );
    }

    #[test]
    fn an_unknown_template_is_refused() {
        assert_eq!(
            expand("NoSuchPolicy", &Map::new()),
            Err(SamError::Unknown("NoSuchPolicy".into()))
        );
    }

    #[test]
    fn a_parameterless_template_expands_as_is() {
        let doc = expand("CloudWatchPutMetricPolicy", &Map::new()).unwrap();
        assert_eq!(doc["Statement"][0]["Action"], json!(["cloudwatch:PutMetricData"]));
    }
}
