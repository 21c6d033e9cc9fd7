//! The IAM action and resource ARN(s) each AWS API call needs ("request context" of the IAM
//! evaluation), per service, from the operation name and the JSON request body.
//!
//! Sources (the Service Authorization Reference lists, per action, the resource types it is
//! authorized on):
//! - DynamoDB: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html>
//!   and, for transactions, "Using IAM with DynamoDB transactions"
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html>
//! - Step Functions: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html>
//! - EventBridge: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html>
//! - Lambda: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html>
//! - CloudWatch Logs: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/iam-access-control-overview-cwl.html>
//! - KMS: <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html>
//!
//! A resource of `*` means the action has no resource type (ListTables, ListStateMachines): only a
//! statement whose `Resource` is `*` grants it, as on AWS.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::Check;

/// The region and account local ARNs are built in (us-east-1 / 000000000000 in the local cloud).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub region: String,
    pub account: String,
}

impl Scope {
    /// `arn:aws:<service>:<region>:<account>:<resource>`.
    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.region, self.account)
    }
}

/// Why a call could not be mapped to checks. The caller denies it (enforce) or lets it through
/// with a note (soft/off): the request is malformed, or beyond what the local IAM knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// An operation the local IAM has no mapping for (PartiQL ExecuteStatement, ...).
    #[error("{0} is not mapped to IAM actions and resources by the local cloud")]
    Unmapped(String),
    /// A field the resource ARN is built from is absent or not a string.
    #[error("{operation} request has no {field}")]
    MissingField { operation: String, field: String },
}

/// `resource` with no condition keys.
fn check(action: String, resource: String) -> Check {
    Check {
        action,
        resource,
        context: BTreeMap::new(),
    }
}

/// Adds `c` unless an equal check is already there (a TransactWriteItems with three writes to one
/// table needs the permission once).
fn push_unique(checks: &mut Vec<Check>, c: Check) {
    if !checks.contains(&c) {
        checks.push(c);
    }
}

/// The string at `body[field]`, or the error naming it.
fn field<'a>(operation: &str, body: &'a Value, field: &str) -> Result<&'a str, ActionError> {
    body.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(operation, field))
}

fn missing(operation: &str, field: &str) -> ActionError {
    ActionError::MissingField {
        operation: operation.to_owned(),
        field: field.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB (X-Amz-Target: DynamoDB_20120810.<operation>)

/// The table ARN for a `TableName`, which DynamoDB also accepts as an ARN.
fn table_arn(scope: &Scope, table: &str) -> String {
    if table.starts_with("arn:") {
        table.to_owned()
    } else {
        scope.arn("dynamodb", &format!("table/{table}"))
    }
}

/// The checks of a DynamoDB call.
pub fn dynamodb(scope: &Scope, operation: &str, body: &Value) -> Result<Vec<Check>, ActionError> {
    let action = format!("dynamodb:{operation}");
    match operation {
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" | "DescribeTable" | "DescribeTimeToLive"
        | "UpdateTimeToLive" | "CreateTable" | "DeleteTable" | "UpdateTable" => Ok(vec![check(
            action,
            table_arn(scope, field(operation, body, "TableName")?),
        )]),
        // A query or scan of an index is authorized on the index, not on its table.
        "Query" | "Scan" => {
            let table = table_arn(scope, field(operation, body, "TableName")?);
            let resource = match body.get("IndexName").and_then(Value::as_str) {
                Some(index) => format!("{table}/index/{index}"),
                None => table,
            };
            Ok(vec![check(action, resource)])
        }
        // Every table of the batch must be allowed.
        "BatchGetItem" | "BatchWriteItem" => {
            let items = body
                .get("RequestItems")
                .and_then(Value::as_object)
                .ok_or_else(|| missing(operation, "RequestItems"))?;
            let mut checks = Vec::new();
            for table in items.keys() {
                push_unique(&mut checks, check(action.clone(), table_arn(scope, table)));
            }
            Ok(checks)
        }
        // No TransactWriteItems action: each item needs the permission of its underlying
        // operation, with dynamodb:EnclosingOperation telling them apart.
        "TransactWriteItems" => transact(
            scope,
            operation,
            body,
            &[
                ("Put", "PutItem"),
                ("Update", "UpdateItem"),
                ("Delete", "DeleteItem"),
                ("ConditionCheck", "ConditionCheckItem"),
            ],
        ),
        "TransactGetItems" => transact(scope, operation, body, &[("Get", "GetItem")]),
        "ListTables" | "DescribeLimits" | "DescribeEndpoints" => Ok(vec![check(action, "*".to_owned())]),
        _ => Err(ActionError::Unmapped(format!("DynamoDB {operation}"))),
    }
}

/// The checks of a TransactWriteItems / TransactGetItems: `kinds` maps each item kind to its action.
fn transact(scope: &Scope, operation: &str, body: &Value, kinds: &[(&str, &str)]) -> Result<Vec<Check>, ActionError> {
    let items = body
        .get("TransactItems")
        .and_then(Value::as_array)
        .ok_or_else(|| missing(operation, "TransactItems"))?;
    let mut checks = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let found = kinds
            .iter()
            .find_map(|(kind, action)| item.get(*kind).map(|inner| (*kind, *action, inner)));
        let Some((kind, action, inner)) = found else {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            return Err(missing(operation, &format!("TransactItems[{i}].({})", names.join("|"))));
        };
        let table = inner
            .get("TableName")
            .and_then(Value::as_str)
            .ok_or_else(|| missing(operation, &format!("TransactItems[{i}].{kind}.TableName")))?;
        let mut c = check(format!("dynamodb:{action}"), table_arn(scope, table));
        c.context.insert(
            "dynamodb:EnclosingOperation".to_owned(),
            Value::String(operation.to_owned()),
        );
        push_unique(&mut checks, c);
    }
    Ok(checks)
}

// ---------------------------------------------------------------------------------------------
// Step Functions (X-Amz-Target: AWSStepFunctions.<operation>)

/// The checks of a Step Functions call.
pub fn step_functions(scope: &Scope, operation: &str, body: &Value) -> Result<Vec<Check>, ActionError> {
    let action = format!("states:{operation}");
    let resource = match operation {
        "StartExecution"
        | "StartSyncExecution"
        | "DescribeStateMachine"
        | "UpdateStateMachine"
        | "DeleteStateMachine" => field(operation, body, "stateMachineArn")?.to_owned(),
        // A Map Run's child executions are listed by mapRunArn instead.
        "ListExecutions" => match body.get("stateMachineArn").and_then(Value::as_str) {
            Some(arn) => arn.to_owned(),
            None => field(operation, body, "mapRunArn")?.to_owned(),
        },
        "DescribeExecution"
        | "StopExecution"
        | "GetExecutionHistory"
        | "RedriveExecution"
        | "DescribeStateMachineForExecution"
        | "ListMapRuns" => field(operation, body, "executionArn")?.to_owned(),
        "DescribeMapRun" | "UpdateMapRun" => field(operation, body, "mapRunArn")?.to_owned(),
        "TagResource" | "UntagResource" | "ListTagsForResource" => field(operation, body, "resourceArn")?.to_owned(),
        "CreateStateMachine" => scope.arn("states", &format!("stateMachine:{}", field(operation, body, "name")?)),
        // ListStateMachines, TestState, ValidateStateMachineDefinition, ...: no resource type.
        _ => "*".to_owned(),
    };
    Ok(vec![check(action, resource)])
}

// ---------------------------------------------------------------------------------------------
// EventBridge (X-Amz-Target: AWSEvents.<operation>)

/// The ARN of an event bus given by name or ARN.
fn bus_arn(scope: &Scope, bus: &str) -> String {
    if bus.starts_with("arn:") {
        bus.to_owned()
    } else {
        scope.arn("events", &format!("event-bus/{bus}"))
    }
}

/// The checks of an EventBridge call. Rule ARNs are `rule/<name>`, the form the local template
/// gives every rule (AWS writes `rule/<bus>/<name>` for a rule on a custom bus; one scheme is kept
/// throughout the local cloud so policies and requests agree).
pub fn events(scope: &Scope, operation: &str, body: &Value) -> Result<Vec<Check>, ActionError> {
    let action = format!("events:{operation}");
    match operation {
        // Authorized per entry on its bus; one denied entry fails the call.
        "PutEvents" => {
            let entries = body
                .get("Entries")
                .and_then(Value::as_array)
                .ok_or_else(|| missing(operation, "Entries"))?;
            let mut checks = Vec::new();
            for entry in entries {
                let bus = entry.get("EventBusName").and_then(Value::as_str).unwrap_or("default");
                push_unique(&mut checks, check(action.clone(), bus_arn(scope, bus)));
            }
            Ok(checks)
        }
        "PutRule" | "DescribeRule" | "DeleteRule" | "EnableRule" | "DisableRule" => {
            Ok(vec![check(action, rule_arn(scope, field(operation, body, "Name")?))])
        }
        "PutTargets" | "RemoveTargets" | "ListTargetsByRule" => {
            Ok(vec![check(action, rule_arn(scope, field(operation, body, "Rule")?))])
        }
        _ => Ok(vec![check(action, "*".to_owned())]),
    }
}

/// The ARN of a rule given by name (or already by ARN).
fn rule_arn(scope: &Scope, rule: &str) -> String {
    if rule.starts_with("arn:") {
        rule.to_owned()
    } else {
        scope.arn("events", &format!("rule/{rule}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Lambda

/// The check of an Invoke: `lambda:InvokeFunction` on the function ARN as called (a qualified ARN
/// `function:F:1` is matched by `function:F:*`, an unqualified one only by `function:F`).
pub fn lambda_invoke(function_arn: &str) -> Check {
    check("lambda:InvokeFunction".to_owned(), function_arn.to_owned())
}

// ---------------------------------------------------------------------------------------------
// KMS (X-Amz-Target: TrentService.<operation>)

/// The check of a KMS cryptographic call on the key `key_arn` (the caller resolves a key id,
/// alias, or, for Decrypt, the key named inside the ciphertext blob, to the key ARN: the
/// resource of kms:Encrypt and kms:Decrypt is the key, never the alias). Its condition keys are
/// the encryption context: `kms:EncryptionContext:<key>` per pair and `kms:EncryptionContextKeys`
/// (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html>,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context>),
/// and `kms:EncryptionAlgorithm` (SYMMETRIC_DEFAULT, the only one a symmetric key uses).
pub fn kms(
    operation: &str,
    key_arn: &str,
    encryption_context: &BTreeMap<String, String>,
) -> Result<Vec<Check>, ActionError> {
    match operation {
        "Encrypt" | "Decrypt" | "ReEncrypt" | "GenerateDataKey" | "DescribeKey" => {}
        _ => return Err(ActionError::Unmapped(format!("KMS {operation}"))),
    }
    let mut c = check(format!("kms:{operation}"), key_arn.to_owned());
    for (k, v) in encryption_context {
        c.context
            .insert(format!("kms:EncryptionContext:{k}"), Value::String(v.clone()));
    }
    if !encryption_context.is_empty() {
        let keys = encryption_context.keys().cloned().map(Value::String).collect();
        c.context
            .insert("kms:EncryptionContextKeys".to_owned(), Value::Array(keys));
    }
    if operation != "DescribeKey" {
        c.context.insert(
            "kms:EncryptionAlgorithm".to_owned(),
            Value::String("SYMMETRIC_DEFAULT".to_owned()),
        );
    }
    Ok(vec![c])
}

// ---------------------------------------------------------------------------------------------
// CloudWatch Logs (X-Amz-Target: Logs_20140328.<operation>)

/// The checks of a CloudWatch Logs call.
///
/// Group-level reads are authorized on `log-group:<name>:log-stream:` (an empty stream name): that
/// is the resource AWS names in their AccessDeniedException (e.g. "logs:DescribeLogGroups on
/// resource: arn:aws:logs:us-east-1:…:log-group::log-stream:", hashicorp/terraform-provider-aws#8804,
/// prowler-cloud/prowler#37), and why the CloudWatch Logs guide says to grant these actions on the
/// `log-group:<name>:*` form (which is also what `!GetAtt LogGroup.Arn` gives).
pub fn logs(scope: &Scope, operation: &str, body: &Value) -> Result<Vec<Check>, ActionError> {
    let action = format!("logs:{operation}");
    let resource = match operation {
        "FilterLogEvents" | "DescribeLogStreams" => format!("{}:log-stream:", log_group_arn(scope, operation, body)?),
        "GetLogEvents" => {
            let group = log_group_arn(scope, operation, body)?;
            format!("{group}:log-stream:{}", field(operation, body, "logStreamName")?)
        }
        _ => "*".to_owned(),
    };
    Ok(vec![check(action, resource)])
}

/// `arn:aws:logs:<r>:<a>:log-group:<name>` from `logGroupName`, or from `logGroupIdentifier` (a
/// name, or an ARN with or without the trailing `:*`).
fn log_group_arn(scope: &Scope, operation: &str, body: &Value) -> Result<String, ActionError> {
    if let Some(name) = body.get("logGroupName").and_then(Value::as_str) {
        return Ok(scope.arn("logs", &format!("log-group:{name}")));
    }
    let id = field(operation, body, "logGroupIdentifier").map_err(|_| missing(operation, "logGroupName"))?;
    if id.starts_with("arn:") {
        Ok(id.strip_suffix(":*").unwrap_or(id).to_owned())
    } else {
        Ok(scope.arn("logs", &format!("log-group:{id}")))
    }
}

#[cfg(test)]
mod tests {
    //! Expected actions and resources follow the Service Authorization Reference pages and the
    //! DynamoDB transactions page cited in the module doc; request shapes are the ones our
    //! functions send (shared/src/store/*, events.rs, workflow.rs).
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        Scope {
            region: "us-east-1".into(),
            account: "000000000000".into(),
        }
    }

    fn pairs(checks: &[Check]) -> Vec<(&str, &str)> {
        checks
            .iter()
            .map(|c| (c.action.as_str(), c.resource.as_str()))
            .collect()
    }

    const ORDERS: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable";

    #[test]
    fn item_operations_are_authorized_on_the_table() {
        for op in ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"] {
            let checks = dynamodb(&scope(), op, &json!({"TableName": "zb-OrdersTable", "Key": {}})).unwrap();
            let action = format!("dynamodb:{op}");
            assert_eq!(pairs(&checks), vec![(action.as_str(), ORDERS)]);
            assert!(checks[0].context.is_empty());
        }
    }

    #[test]
    fn a_table_given_by_arn_is_used_as_is() {
        let other = "arn:aws:dynamodb:eu-west-1:111111111111:table/Other";
        let checks = dynamodb(&scope(), "GetItem", &json!({"TableName": other})).unwrap();
        assert_eq!(checks[0].resource, other);
    }

    #[test]
    fn a_query_on_an_index_is_authorized_on_the_index() {
        let q = json!({"TableName": "zb-FeedsTable", "IndexName": "byPending", "KeyConditionExpression": "x = :x"});
        let checks = dynamodb(&scope(), "Query", &q).unwrap();
        assert_eq!(
            pairs(&checks),
            vec![(
                "dynamodb:Query",
                "arn:aws:dynamodb:us-east-1:000000000000:table/zb-FeedsTable/index/byPending"
            )]
        );
        let checks = dynamodb(&scope(), "Query", &json!({"TableName": "zb-OrdersTable"})).unwrap();
        assert_eq!(pairs(&checks), vec![("dynamodb:Query", ORDERS)]);
    }

    #[test]
    fn a_batch_needs_every_table() {
        let b = json!({"RequestItems": {
            "zb-FeedsTable": [{"PutRequest": {"Item": {}}}],
            "zb-ErrorsTable": [{"DeleteRequest": {"Key": {}}}]
        }});
        let checks = dynamodb(&scope(), "BatchWriteItem", &b).unwrap();
        assert_eq!(
            pairs(&checks),
            vec![
                (
                    "dynamodb:BatchWriteItem",
                    "arn:aws:dynamodb:us-east-1:000000000000:table/zb-FeedsTable"
                ),
                (
                    "dynamodb:BatchWriteItem",
                    "arn:aws:dynamodb:us-east-1:000000000000:table/zb-ErrorsTable"
                ),
            ]
        );
    }

    #[test]
    fn transact_write_items_needs_each_underlying_permission_once() {
        // OutboxStore::append: Update the meta item, Put two entries, all on the Outbox table.
        let outbox = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-OutboxTable";
        let b = json!({"TransactItems": [
            {"Update": {"TableName": "zb-OutboxTable", "Key": {}, "UpdateExpression": "SET n = :n"}},
            {"Put": {"TableName": "zb-OutboxTable", "Item": {}}},
            {"Put": {"TableName": "zb-OutboxTable", "Item": {}}},
            {"ConditionCheck": {"TableName": "zb-PartnersTable", "Key": {}, "ConditionExpression": "x"}}
        ]});
        let checks = dynamodb(&scope(), "TransactWriteItems", &b).unwrap();
        assert_eq!(
            pairs(&checks),
            vec![
                ("dynamodb:UpdateItem", outbox),
                ("dynamodb:PutItem", outbox),
                (
                    "dynamodb:ConditionCheckItem",
                    "arn:aws:dynamodb:us-east-1:000000000000:table/zb-PartnersTable"
                ),
            ]
        );
        for c in &checks {
            assert_eq!(
                c.context.get("dynamodb:EnclosingOperation"),
                Some(&json!("TransactWriteItems"))
            );
        }
    }

    #[test]
    fn transact_get_items_needs_get_item() {
        let b = json!({"TransactItems": [{"Get": {"TableName": "zb-OrdersTable", "Key": {}}}]});
        let checks = dynamodb(&scope(), "TransactGetItems", &b).unwrap();
        assert_eq!(pairs(&checks), vec![("dynamodb:GetItem", ORDERS)]);
        assert_eq!(
            checks[0].context.get("dynamodb:EnclosingOperation"),
            Some(&json!("TransactGetItems"))
        );
    }

    #[test]
    fn a_transact_item_without_a_table_names_its_path() {
        let b = json!({"TransactItems": [{"Put": {"TableName": "T"}}, {"Delete": {"Key": {}}}]});
        assert_eq!(
            dynamodb(&scope(), "TransactWriteItems", &b),
            Err(ActionError::MissingField {
                operation: "TransactWriteItems".into(),
                field: "TransactItems[1].Delete.TableName".into()
            })
        );
        let b = json!({"TransactItems": [{"Get": {"TableName": "T"}}]});
        assert!(dynamodb(&scope(), "TransactWriteItems", &b).is_err());
    }

    #[test]
    fn account_level_operations_have_no_resource() {
        for op in ["ListTables", "DescribeLimits", "DescribeEndpoints"] {
            assert_eq!(dynamodb(&scope(), op, &json!({})).unwrap()[0].resource, "*");
        }
    }

    #[test]
    fn partiql_and_unknown_operations_are_unmapped() {
        assert_eq!(
            dynamodb(&scope(), "ExecuteStatement", &json!({"Statement": "SELECT * FROM t"})),
            Err(ActionError::Unmapped("DynamoDB ExecuteStatement".into()))
        );
    }

    #[test]
    fn a_missing_table_name_is_named() {
        let err = dynamodb(&scope(), "PutItem", &json!({"Item": {}})).unwrap_err();
        assert_eq!(err.to_string(), "PutItem request has no TableName");
    }

    const PIPELINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:zb-order-pipeline";

    #[test]
    fn start_execution_is_authorized_on_the_machine() {
        let checks = step_functions(
            &scope(),
            "StartExecution",
            &json!({"stateMachineArn": PIPELINE, "input": "{}"}),
        )
        .unwrap();
        assert_eq!(pairs(&checks), vec![("states:StartExecution", PIPELINE)]);
    }

    #[test]
    fn execution_operations_are_authorized_on_the_execution() {
        let exec = "arn:aws:states:us-east-1:000000000000:execution:zb-order-pipeline:abc";
        for op in [
            "DescribeExecution",
            "StopExecution",
            "GetExecutionHistory",
            "RedriveExecution",
        ] {
            let checks = step_functions(&scope(), op, &json!({"executionArn": exec})).unwrap();
            assert_eq!(checks[0].resource, exec, "{op}");
        }
        assert!(step_functions(&scope(), "DescribeExecution", &json!({})).is_err());
    }

    #[test]
    fn create_state_machine_is_authorized_on_the_arn_it_will_have() {
        let checks = step_functions(
            &scope(),
            "CreateStateMachine",
            &json!({"name": "bench", "definition": "{}"}),
        )
        .unwrap();
        assert_eq!(
            checks[0].resource,
            "arn:aws:states:us-east-1:000000000000:stateMachine:bench"
        );
        for op in ["ListStateMachines", "TestState", "ValidateStateMachineDefinition"] {
            assert_eq!(
                step_functions(&scope(), op, &json!({})).unwrap()[0].resource,
                "*",
                "{op}"
            );
        }
    }

    #[test]
    fn put_events_needs_each_bus_once() {
        let b = json!({"Entries": [
            {"EventBusName": "zb-orders", "Source": "zb.ingest", "DetailType": "FeedReceived", "Detail": "{}"},
            {"EventBusName": "zb-orders", "Source": "zb.ingest", "DetailType": "FeedReceived", "Detail": "{}"},
            {"EventBusName": "arn:aws:events:us-east-1:000000000000:event-bus/other"},
            {"Source": "x"}
        ]});
        let checks = events(&scope(), "PutEvents", &b).unwrap();
        assert_eq!(
            pairs(&checks),
            vec![
                (
                    "events:PutEvents",
                    "arn:aws:events:us-east-1:000000000000:event-bus/zb-orders"
                ),
                (
                    "events:PutEvents",
                    "arn:aws:events:us-east-1:000000000000:event-bus/other"
                ),
                (
                    "events:PutEvents",
                    "arn:aws:events:us-east-1:000000000000:event-bus/default"
                ),
            ]
        );
    }

    #[test]
    fn rule_operations_are_authorized_on_the_rule() {
        let rule = "arn:aws:events:us-east-1:000000000000:rule/zb-notify";
        assert_eq!(
            events(&scope(), "DescribeRule", &json!({"Name": "zb-notify"})).unwrap()[0].resource,
            rule
        );
        assert_eq!(
            events(&scope(), "PutTargets", &json!({"Rule": "zb-notify", "Targets": []})).unwrap()[0].resource,
            rule
        );
        assert!(events(&scope(), "PutTargets", &json!({"Name": "zb-notify"})).is_err());
        assert_eq!(events(&scope(), "ListRules", &json!({})).unwrap()[0].resource, "*");
    }

    #[test]
    fn lambda_invoke_uses_the_arn_as_called() {
        let c = lambda_invoke("arn:aws:lambda:us-east-1:000000000000:function:zb-persist:$LATEST");
        assert_eq!(c.action, "lambda:InvokeFunction");
        assert_eq!(
            c.resource,
            "arn:aws:lambda:us-east-1:000000000000:function:zb-persist:$LATEST"
        );
    }

    #[test]
    fn kms_calls_are_authorized_on_the_key_with_the_context() {
        let key = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let ctx = BTreeMap::from([("partnerId".to_owned(), "p1".to_owned())]);
        let checks = kms("Decrypt", key, &ctx).unwrap();
        assert_eq!(pairs(&checks), vec![("kms:Decrypt", key)]);
        assert_eq!(
            checks[0].context.get("kms:EncryptionContext:partnerId"),
            Some(&json!("p1"))
        );
        assert_eq!(
            checks[0].context.get("kms:EncryptionContextKeys"),
            Some(&json!(["partnerId"]))
        );
        let plain = kms("Encrypt", key, &BTreeMap::new()).unwrap();
        assert_eq!(plain[0].action, "kms:Encrypt");
        assert!(!plain[0].context.contains_key("kms:EncryptionContextKeys"));
        assert!(kms("CreateKey", key, &BTreeMap::new()).is_err());
    }

    #[test]
    fn log_reads_are_authorized_on_the_group_or_the_stream() {
        let group = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/vendedlogs/states/zb-order-pipeline";
        let checks = logs(
            &scope(),
            "FilterLogEvents",
            &json!({"logGroupName": "/aws/vendedlogs/states/zb-order-pipeline"}),
        )
        .unwrap();
        assert_eq!(
            pairs(&checks),
            vec![("logs:FilterLogEvents", format!("{group}:log-stream:").as_str())]
        );
        let by_arn = json!({"logGroupIdentifier": format!("{group}:*")});
        assert_eq!(
            logs(&scope(), "DescribeLogStreams", &by_arn).unwrap()[0].resource,
            format!("{group}:log-stream:")
        );
        let get = json!({"logGroupName": "/aws/vendedlogs/states/zb-order-pipeline", "logStreamName": "s1"});
        assert_eq!(
            logs(&scope(), "GetLogEvents", &get).unwrap()[0].resource,
            format!("{group}:log-stream:s1")
        );
        assert_eq!(
            logs(&scope(), "DescribeLogGroups", &json!({})).unwrap()[0].resource,
            "*"
        );
        assert!(logs(&scope(), "GetLogEvents", &json!({"logGroupName": "g"})).is_err());
    }
}
