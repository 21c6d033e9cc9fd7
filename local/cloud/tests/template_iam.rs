//! IAM read from template.yaml: the roles SAM creates for functions and state
//! machines, `AWS::IAM::Role` resources, the functions' resource-based
//! policies and the queues' policies, every intrinsic resolved to local ARNs.
//! SAM's transform (aws-sam-translator, in .venv) is the oracle for the role
//! and permission names; each test cites the AWS page it follows.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use zb_iam::{NamedPolicy, Role};
use zb_local::template::{load, parse, Model};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn repo_model() -> Model {
    load(&repo().join("template.yaml"), "zb", &BTreeMap::new()).unwrap()
}

fn try_parse(template: &str) -> Result<Model, String> {
    parse(template, repo(), "zb", &BTreeMap::new()).map_err(|e| e.to_string())
}

fn refused(template: &str) -> String {
    match try_parse(template) {
        Err(e) => e,
        Ok(_) => panic!("accepted a template the local cloud must refuse:\n{template}"),
    }
}

fn policy<'a>(role: &'a Role, name: &str) -> &'a NamedPolicy {
    role.policies
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{} has no policy {name}: {:?}", role.name, role.policies))
}

fn function_role<'a>(model: &'a Model, logical_id: &str) -> &'a Role {
    let f = model.function(logical_id).unwrap();
    model
        .iam
        .role_for_function(&f.name)
        .unwrap_or_else(|| panic!("{logical_id} has no role"))
}

/// A statement's Action as a list.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        other => panic!("Action {other}"),
    }
}

/// SAM: a function without Role gets `<LogicalId>Role`, trusting Lambda, with
/// AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess when traced (Globals:
/// Tracing Active) and one inline policy `<LogicalId>RolePolicy<i>` per entry.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-policies
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-role
#[test]
fn every_function_runs_with_the_role_sam_creates_for_it() {
    let model = repo_model();
    assert_eq!(model.iam.function_roles.len(), model.functions.len());
    for f in &model.functions {
        let role = model.iam.role_for_function(&f.name).unwrap();
        assert_eq!(role.name, format!("zb-{}Role", f.logical_id));
        assert_eq!(
            role.arn,
            format!("arn:aws:iam::000000000000:role/zb-{}Role", f.logical_id)
        );
        assert_eq!(
            role.trust.as_ref().unwrap()["Statement"][0]["Principal"]["Service"],
            json!(["lambda.amazonaws.com"])
        );
        let platform: Vec<&str> = role
            .policies
            .iter()
            .filter(|p| p.platform && p.name.starts_with("arn:"))
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            platform,
            [
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
            ],
            "{}",
            f.logical_id
        );
        assert!(policy(role, &format!("{}RolePolicy0", f.logical_id)).document["Statement"].is_array());
    }
}

/// Inline statements keep their actions; `!GetAtt OrdersTable.Arn` is the
/// local table ARN (the table has no TableName: `<stack>-<LogicalId>`).
#[test]
fn persist_may_put_items_in_the_orders_table() {
    let model = repo_model();
    let role = function_role(&model, "PersistFunction");
    let statements = policy(role, "PersistFunctionRolePolicy0").document["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let orders = statements
        .iter()
        .find(|s| s["Resource"] == "arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable")
        .unwrap();
    assert_eq!(orders["Effect"], "Allow");
    assert!(actions(orders).contains(&"dynamodb:PutItem".to_string()));
    assert!(!policy(role, "PersistFunctionRolePolicy0").platform);
}

/// SAM's EventBridgePutEventsPolicy: events:PutEvents on
/// `arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${eventBusName}`,
/// here resolved with the bus's local name.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html#eventbridge-put-events-policy
#[test]
fn the_eventbridge_policy_template_is_expanded_and_resolved() {
    let model = repo_model();
    assert_eq!(model.buses, ["zb-orders"]);
    for id in [
        "IngestFunction",
        "PersistFunction",
        "RecordErrorFunction",
        "SweeperFunction",
        "DeliverFunction",
    ] {
        let role = function_role(&model, id);
        assert_eq!(
            policy(role, &format!("{id}RolePolicy1")).document,
            json!({"Statement": [{
                "Action": "events:PutEvents",
                "Effect": "Allow",
                "Resource": "arn:aws:events:us-east-1:000000000000:event-bus/zb-orders",
            }]}),
            "{id}"
        );
    }
}

/// SAM's policy for an SQS on-failure destination, before the Policies.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-onfailure.html
#[test]
fn notify_may_send_failed_invocations_to_its_destination() {
    let model = repo_model();
    let role = function_role(&model, "NotifyFunction");
    assert_eq!(
        role.policies[0].name,
        "NotifyFunctionEventInvokeConfigOnFailureSQSPolicy"
    );
    assert_eq!(
        role.policies[0].document,
        json!({"Statement": [{
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": "arn:aws:sqs:us-east-1:000000000000:zb-EventsDeadLetterQueue",
        }]})
    );
}

/// SAM's state machine role: trusts Step Functions; AWSXrayWriteOnlyAccess with
/// Tracing.Enabled; the definition's role is that role.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html#sam-statemachine-policies
#[test]
fn state_machines_run_with_their_sam_roles() {
    let model = repo_model();
    // order-pipeline, webhook-delivery, privacy-erasure.
    assert_eq!(model.iam.machine_roles.len(), 3);
    for sm in &model.state_machines {
        let role = model.iam.role_for_machine(&sm.arn).unwrap();
        assert_eq!(role.arn, sm.role_arn);
        assert_eq!(role.name, format!("zb-{}Role", sm.logical_id));
        assert_eq!(
            role.trust.as_ref().unwrap()["Statement"][0]["Principal"]["Service"],
            json!(["states.amazonaws.com"])
        );
        assert!(policy(role, "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess").platform);
    }
    let pipeline = model.iam.role_for_machine(&model.state_machines[0].arn).unwrap();
    let invoke = &policy(pipeline, "OrderPipelineStateMachineRolePolicy0").document["Statement"][0];
    assert_eq!(
        invoke["Resource"][0],
        "arn:aws:lambda:us-east-1:000000000000:function:zb-validate"
    );
    assert_eq!(
        invoke["Resource"][1],
        "arn:aws:lambda:us-east-1:000000000000:function:zb-validate:*"
    );
}

/// An AWS::IAM::Role keeps its trust policy's conditions, and a rule target's
/// RoleArn names it.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-events-rule-target.html#cfn-events-rule-target-rolearn
#[test]
fn the_rule_role_keeps_its_trust_condition() {
    let model = repo_model();
    let arn = "arn:aws:iam::000000000000:role/zb-OrderFeedReceivedRuleRole";
    let role = model.iam.role(arn).unwrap();
    let trust = &role.trust.as_ref().unwrap()["Statement"][0];
    assert_eq!(trust["Principal"], json!({"Service": "events.amazonaws.com"}));
    assert_eq!(
        trust["Condition"],
        json!({"StringEquals": {"aws:SourceAccount": "000000000000"}})
    );
    let start = &policy(role, "StartOrderPipeline").document["Statement"][0];
    assert_eq!(
        start["Resource"],
        "arn:aws:states:us-east-1:000000000000:stateMachine:zb-order-pipeline"
    );
    let rule = model
        .rules
        .iter()
        .find(|r| r.logical_id == "OrderFeedReceivedRule")
        .unwrap();
    assert_eq!(rule.targets[0].role_arn.as_deref(), Some(arn));
    let notify = model.rules.iter().find(|r| r.logical_id == "NotifyRule").unwrap();
    assert_eq!(notify.targets[0].role_arn, None);
}

/// A function's resource-based policy, in GetPolicy's shape.
/// https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html
#[test]
fn notify_rule_permission_is_in_notifys_resource_policy() {
    let model = repo_model();
    let policy = model.iam.function_policy("zb-notify").unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(policy["Id"], "default");
    let rule = model.rules.iter().find(|r| r.logical_id == "NotifyRule").unwrap();
    assert_eq!(
        policy["Statement"],
        json!([{
            "Sid": "zb-NotifyRulePermission",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:zb-notify",
            "Condition": {"ArnLike": {"AWS:SourceArn": rule.arn}},
        }])
    );
}

/// SAM's permissions for a Schedule event (on the rule the local cloud fires
/// the schedule from), HttpApi routes (every stage, `{param}` as `*`) and an
/// authorizer with EnableFunctionDefaultPermissions.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedule.html
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-lambdaauthorizer.html#sam-httpapi-lambdaauthorizer-enablefunctiondefaultpermissions
#[test]
fn sam_adds_the_permissions_of_events_and_authorizers() {
    let model = repo_model();
    let sweeper = &model.iam.function_policy("zb-sweeper").unwrap()["Statement"];
    assert_eq!(sweeper[0]["Sid"], "zb-SweeperFunctionSweepPermission");
    assert_eq!(sweeper[0]["Principal"], json!({"Service": "events.amazonaws.com"}));
    assert_eq!(model.schedules[0].function, "zb-sweeper");
    assert_eq!(
        sweeper[0]["Condition"]["ArnLike"]["AWS:SourceArn"],
        json!(model.schedules[0].rule_arn())
    );
    let query = model.iam.function_policy("zb-query").unwrap()["Statement"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(query.len(), 7);
    let get_feed = query
        .iter()
        .find(|s| s["Sid"] == "zb-QueryFunctionGetFeedPermission")
        .unwrap();
    assert_eq!(get_feed["Principal"], json!({"Service": "apigateway.amazonaws.com"}));
    assert_eq!(
        get_feed["Condition"]["ArnLike"]["AWS:SourceArn"],
        "arn:aws:execute-api:us-east-1:000000000000:PartnerApi/*/GET/v1/feeds/*"
    );
    let authorizer = &model.iam.function_policy("zb-authorizer").unwrap()["Statement"][0];
    assert_eq!(authorizer["Sid"], "zb-PartnerApiApiKeyAuthorizerAuthorizerPermission");
    assert_eq!(
        authorizer["Condition"]["ArnLike"]["AWS:SourceArn"],
        "arn:aws:execute-api:us-east-1:000000000000:PartnerApi/authorizers/*"
    );
    // Functions only the state machines invoke have no resource policy.
    assert!(model.iam.function_policy("zb-persist").is_none());
}

/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queuepolicy.html
#[test]
fn the_dead_letter_queue_policy_is_kept_with_its_deny() {
    let model = repo_model();
    let queue = "arn:aws:sqs:us-east-1:000000000000:zb-EventsDeadLetterQueue";
    let policy = &model.iam.queue_policies[queue];
    let allow = &policy["Statement"][0];
    assert_eq!(allow["Resource"], queue);
    let rules: Vec<&str> = model.rules.iter().map(|r| r.arn.as_str()).collect();
    assert_eq!(allow["Condition"]["ArnEquals"]["aws:SourceArn"], json!(rules));
    assert_eq!(policy["Statement"][1]["Effect"], "Deny");
    assert_eq!(
        policy["Statement"][1]["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}})
    );
}

/// What used to be announced as "IAM is not enforced locally" is modelled now.
#[test]
fn the_repo_templates_iam_is_no_longer_announced_as_not_emulated() {
    let model = repo_model();
    let all = model.not_emulated.join("\n");
    for modelled in [
        "AWS::IAM::Role",
        "AWS::Lambda::Permission",
        "AWS::SQS::QueuePolicy",
        "RoleArn",
        "EnableFunctionDefaultPermissions",
    ] {
        assert!(!all.contains(modelled), "{modelled} still announced:\n{all}");
    }
}

// --- Small templates ----------------------------------------------------------

fn function(props: &str) -> String {
    format!(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: ingest\n    Properties:\n      Runtime: provided.al2023\n{props}"
    )
}

const TABLE: &str = "  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n";

/// Policies entries in SAM's three forms; the index counts every entry.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-templates.html
#[test]
fn policies_entries_are_read_in_sams_three_forms() {
    let model = try_parse(&format!(
        "{}{TABLE}",
        function(
            "      Policies:\n        - AWSXrayWriteOnlyAccess\n        - DynamoDBReadPolicy:\n            TableName: !Ref Table\n        - Statement:\n            - Effect: Allow\n              Action: sqs:SendMessage\n              Resource: !Sub arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q\n"
        )
    ))
    .unwrap();
    let role = function_role(&model, "Fn");
    let names: Vec<&str> = role.policies.iter().map(|p| p.name.as_str()).collect();
    // No Tracing: X-Ray comes from Policies only, and is the author's.
    assert_eq!(
        names,
        [
            "FnRolePolicy1",
            "FnRolePolicy2",
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
        ]
    );
    assert!(!policy(role, "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess").platform);
    let read = &policy(role, "FnRolePolicy1").document["Statement"][0];
    assert_eq!(
        read["Resource"],
        json!([
            "arn:aws:dynamodb:us-east-1:000000000000:table/zb-Table",
            "arn:aws:dynamodb:us-east-1:000000000000:table/zb-Table/index/*"
        ])
    );
    assert_eq!(
        policy(role, "FnRolePolicy2").document["Statement"][0]["Resource"],
        "arn:aws:sqs:us-east-1:000000000000:q"
    );
}

#[test]
fn policies_the_local_cloud_cannot_read_are_refused_by_path() {
    let e = refused(&function(
        "      Policies:\n        - NoSuchPolicyTemplate:\n            A: b\n",
    ));
    assert!(
        e.starts_with("Resources.Fn.Properties.Policies[0]: NoSuchPolicyTemplate is not a SAM policy template"),
        "{e}"
    );
    // SAM's own message for a missing template parameter.
    let e = refused(&function("      Policies:\n        - DynamoDBReadPolicy: {}\n"));
    assert_eq!(
        e,
        "Resources.Fn.Properties.Policies[0].DynamoDBReadPolicy: Following required parameters of template 'DynamoDBReadPolicy' don't have values: ['TableName']"
    );
    let e = refused(&function("      Policies:\n        - AmazonS3FullAccess\n"));
    assert!(
        e.starts_with("Resources.Fn.Properties.Policies[0]: managed policy \"AmazonS3FullAccess\""),
        "{e}"
    );
    let e = refused(&function("      Policies: 3\n"));
    assert!(e.starts_with("Resources.Fn.Properties.Policies: must be"), "{e}");
}

const ROLE: &str = "  Custom:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n            Action: sts:AssumeRole\n      ManagedPolicyArns:\n        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n";

/// `Role` names the function's role; SAM then creates none ("If this property
/// is set, [Policies] is ignored"). AWS::IAM::Policy attaches to it.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-policy.html
#[test]
fn an_explicit_role_of_the_template_is_the_functions_role() {
    let model = try_parse(&format!(
        "{}{ROLE}  Extra:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: extra\n      Roles: [!Ref Custom]\n      PolicyDocument:\n        Statement:\n          - Effect: Allow\n            Action: sqs:SendMessage\n            Resource: '*'\n",
        function("      Role: !GetAtt Custom.Arn\n")
    ))
    .unwrap();
    let role = function_role(&model, "Fn");
    assert_eq!(role.arn, "arn:aws:iam::000000000000:role/zb-Custom");
    assert_eq!(model.iam.roles.len(), 1);
    assert!(!policy(role, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole").platform);
    assert_eq!(
        policy(role, "extra").document["Statement"][0]["Action"],
        "sqs:SendMessage"
    );
}

#[test]
fn roles_the_template_does_not_declare_are_refused() {
    let e = refused(&function("      Role: arn:aws:iam::000000000000:role/elsewhere\n"));
    assert!(
        e.starts_with(
            "Resources.Fn.Properties.Role: arn:aws:iam::000000000000:role/elsewhere is not a role of this template"
        ),
        "{e}"
    );
    let e = refused(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: [x]\n      Targets:\n        - Id: t\n          Arn: arn:aws:states:us-east-1:000000000000:stateMachine:m\n          RoleArn: arn:aws:iam::000000000000:role/r\n",
    );
    assert!(e.starts_with("Resources.R.Properties.Targets[0].RoleArn: "), "{e}");
    let e = refused(&format!("{}{ROLE}      Path: /service/\n", function("")));
    assert!(e.starts_with("Resources.Custom.Properties.Path:"), "{e}");
}

/// SAM refuses a state machine with both Role and Policies, in these words.
#[test]
fn a_state_machine_takes_a_role_or_policies() {
    let e = refused(&format!(
        "Resources:\n  Sm:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Definition: {{StartAt: P, States: {{P: {{Type: Pass, End: true}}}}}}\n      Role: !GetAtt Custom.Arn\n      Policies:\n        - Statement: []\n{ROLE}"
    ));
    assert!(
        e.contains("Specify either 'Role' or 'Policies' (but not both at the same time) or neither of them"),
        "{e}"
    );
}

/// AWS::Lambda::Permission: FunctionName in any form, a qualifier kept in the
/// Resource, SourceAccount as StringEquals; Alexa and Organizations refused.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html
#[test]
fn lambda_permissions_become_resource_policy_statements() {
    let perm = |extra: &str| {
        format!(
            "{}  P:\n    Type: AWS::Lambda::Permission\n    Properties:\n      Action: lambda:InvokeFunction\n      Principal: s3.amazonaws.com\n{extra}",
            function("")
        )
    };
    let model = try_parse(&perm(
        "      FunctionName: !Sub '${Fn.Arn}:live'\n      SourceAccount: !Ref AWS::AccountId\n",
    ))
    .unwrap();
    let statement = &model.iam.function_policy("zb-Fn").unwrap()["Statement"][0];
    assert_eq!(
        statement["Resource"],
        "arn:aws:lambda:us-east-1:000000000000:function:zb-Fn:live"
    );
    assert_eq!(
        statement["Condition"],
        json!({"StringEquals": {"AWS:SourceAccount": "000000000000"}})
    );
    let e = refused(&perm("      FunctionName: other\n"));
    assert!(
        e.starts_with("Resources.P.Properties.FunctionName: other is not a function"),
        "{e}"
    );
    let e = refused(&perm("      FunctionName: !Ref Fn\n      PrincipalOrgID: o-123\n"));
    assert!(e.starts_with("Resources.P.Properties.PrincipalOrgID:"), "{e}");
}

// --- SAM's transform as the oracle ------------------------------------------

/// Transforms template.yaml offline with aws-sam-translator and prints, per
/// generated role, its managed policy ARNs and inline policies (name → the
/// actions of each statement), and per permission its function and principal.
const SAM_TRANSFORM: &str = r#"
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class Loader:
    def load(self):
        return {"AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}

tpl = yaml_parse(open(sys.argv[1]).read())
# S3 locations instead of local paths: the transform only checks their form.
tpl["Globals"]["Function"]["CodeUri"] = "s3://bucket/key"
for r in tpl["Resources"].values():
    if r["Type"] == "AWS::Serverless::StateMachine":
        r["Properties"]["DefinitionUri"] = "s3://bucket/key"
out = transform(tpl, {}, Loader())

def actions(s):
    a = s.get("Action", [])
    return [a] if isinstance(a, str) else a

def statements(doc):
    st = doc["Statement"]
    return [st] if isinstance(st, dict) else st

def ref(v):
    if isinstance(v, dict):
        return v.get("Ref") or v.get("Fn::GetAtt", [None])[0]
    return v

roles, permissions = {}, {}
for id, r in out["Resources"].items():
    p = r.get("Properties", {})
    if r["Type"] == "AWS::IAM::Role":
        roles[id] = {
            "managed": p.get("ManagedPolicyArns", []),
            "inline": {x["PolicyName"]: [actions(s) for s in statements(x["PolicyDocument"])] for x in p.get("Policies", [])},
        }
    elif r["Type"] == "AWS::Lambda::Permission":
        permissions[id] = {"function": ref(p["FunctionName"]), "principal": p["Principal"], "action": p["Action"]}
json.dump({"roles": roles, "permissions": permissions}, sys.stdout)
"#;

/// Our roles and permissions have the names, managed policies and actions
/// SAM's own transform gives the repository's template.
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources-function.html
#[test]
fn roles_and_permissions_match_sams_transform() {
    let python = repo().join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .args(["-c", SAM_TRANSFORM])
        .arg(repo().join("template.yaml"))
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `make tools` (aws-sam-cli is pinned in tools/requirements.txt)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "SAM's transform failed (`make tools`?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sam: Value = serde_json::from_slice(&out.stdout).unwrap();
    let model = repo_model();

    let sam_roles = sam["roles"].as_object().unwrap();
    let ours: BTreeSet<String> = model.iam.roles.values().map(|r| r.name.clone()).collect();
    let theirs: BTreeSet<String> = sam_roles.keys().map(|id| format!("zb-{id}")).collect();
    assert_eq!(ours, theirs);
    for (id, sam_role) in sam_roles {
        let role = &model.iam.roles[&format!("arn:aws:iam::000000000000:role/zb-{id}")];
        let managed: Vec<&str> = role
            .policies
            .iter()
            .filter(|p| p.name.starts_with("arn:aws:iam::aws:policy/"))
            .map(|p| p.name.as_str())
            .collect();
        let sam_managed: Vec<&str> = sam_role["managed"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(managed, sam_managed, "{id}: managed policies");
        let inline: BTreeMap<String, Vec<Vec<String>>> = role
            .policies
            .iter()
            .filter(|p| !p.name.starts_with("arn:aws:iam::aws:policy/"))
            .map(|p| {
                let statements = match &p.document["Statement"] {
                    Value::Array(list) => list.iter().map(actions).collect(),
                    one => vec![actions(one)],
                };
                (p.name.clone(), statements)
            })
            .collect();
        let sam_inline: BTreeMap<String, Vec<Vec<String>>> =
            serde_json::from_value(sam_role["inline"].clone()).unwrap();
        assert_eq!(inline, sam_inline, "{id}: inline policies");
    }

    let sam_permissions = sam["permissions"].as_object().unwrap();
    let mut ours = 0;
    for policy in model.iam.lambda_permissions.values() {
        ours += policy["Statement"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(ours, sam_permissions.len());
    for (id, p) in sam_permissions {
        let function = model.function(p["function"].as_str().unwrap()).unwrap();
        let statements = &model.iam.function_policy(&function.name).unwrap()["Statement"];
        let statement = statements
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == format!("zb-{id}"))
            .unwrap_or_else(|| panic!("{id} missing from {}'s policy: {statements}", function.name));
        assert_eq!(statement["Principal"]["Service"], p["principal"], "{id}");
        assert_eq!(statement["Action"], p["action"], "{id}");
    }
}
