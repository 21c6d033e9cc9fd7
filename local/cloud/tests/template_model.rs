//! The repo's template.yaml read into the local cloud's model, and templates
//! with features the local cloud does not have refused by name.

use std::collections::BTreeMap;
use std::path::Path;
use zb_local::template::{load, parse, TargetKind, TemplateError};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn the_repo_template_resolves_to_local_names_and_arns() {
    let model = load(&repo().join("template.yaml"), "zb", &BTreeMap::new()).unwrap();
    let ingest = model.function("IngestFunction").unwrap();
    assert_eq!(ingest.name, "zb-ingest");
    assert_eq!(ingest.binary, "ingest");
    assert_eq!(ingest.arn, "arn:aws:lambda:us-east-1:000000000000:function:zb-ingest");
    assert_eq!(ingest.env["FEEDS_TABLE"], "zb-FeedsTable");
    assert_eq!(ingest.env["EVENT_BUS_NAME"], "zb-orders");
    assert_eq!(ingest.env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    assert_eq!(ingest.memory_mb, 128);
    // partners, feeds, orders, errors, idempotency, rate limits, deliveries, outbox.
    assert_eq!(model.tables.len(), 8);
    let api = &model.http_apis[0];
    let post = api.routes.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!((post.path.as_str(), post.function.as_str()), ("/v1/feeds", "zb-ingest"));
    assert_eq!(post.authorizer.as_deref(), Some("ApiKeyAuthorizer"));
    // POST /v1/feeds; GET feeds/{id}, orders, orders/{seq}, errors, deliveries, outbox; POST outbox/ack.
    assert_eq!(api.routes.len(), 8);
    assert_eq!(api.authorizers[0].identity_headers, vec!["x-api-key"]);
    assert_eq!(api.authorizers[0].function, "zb-authorizer");
    let sm = &model.state_machines[0];
    assert_eq!(sm.kind, "EXPRESS");
    assert!(sm
        .definition
        .contains("arn:aws:lambda:us-east-1:000000000000:function:zb-validate"));
    assert!(!sm.definition.contains("${"), "every substitution applied");
    let rule = model
        .rules
        .iter()
        .find(|r| r.logical_id == "OrderFeedReceivedRule")
        .unwrap();
    assert_eq!(rule.bus, "zb-orders");
    assert!(matches!(&rule.targets[0].kind, TargetKind::StateMachine { arn } if *arn == sm.arn));
    assert_eq!(rule.targets[0].input_path.as_deref(), Some("$.detail"));
    assert!(model.not_emulated.iter().any(|n| n.contains("AWS::CloudWatch::Alarm")));
}

#[test]
fn parameters_can_be_overridden() {
    let mut over = BTreeMap::new();
    over.insert("WorkflowType".to_string(), "STANDARD".to_string());
    let model = load(&repo().join("template.yaml"), "zb", &over).unwrap();
    assert_eq!(model.state_machines[0].kind, "STANDARD");
}

fn refused(template: &str) -> String {
    match parse(template, repo(), "zb", &BTreeMap::new()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted a template the local cloud cannot run"),
    }
}

#[test]
fn unsupported_features_are_refused_with_the_resource_and_property() {
    let fun = |extra: &str| {
        format!(
            "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: ingest\n    Properties:\n      Runtime: provided.al2023\n{extra}"
        )
    };
    let e = refused(&fun("      SnapStart:\n        ApplyOn: PublishedVersions\n"));
    assert!(e.contains("Fn") && e.contains("SnapStart"), "{e}");
    let e = refused(&fun(
        "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: x\n",
    ));
    assert!(e.contains("Fn") && e.contains("SQS"), "{e}");
    let e = refused("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n");
    assert!(e.contains("Bucket") && e.contains("AWS::S3::Bucket"), "{e}");
    let e = refused("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n      StreamSpecification:\n        StreamViewType: NEW_IMAGE\n");
    assert!(e.contains("StreamSpecification"), "{e}");
    let e = refused(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      ScheduleExpression: rate(1 minute)\n",
    );
    assert!(e.contains("ScheduleExpression"), "{e}");
    let e = refused(
        "Resources:\n  X:\n    Type: AWS::Events::EventBus\n    Properties:\n      Name: !Join ['-', [a, b]]\n",
    );
    assert!(e.contains("Join"), "{e}");
    assert!(matches!(
        parse("Conditions: {}\nResources: {}\n", repo(), "zb", &BTreeMap::new()),
        Err(TemplateError::Invalid(_))
    ));
}
