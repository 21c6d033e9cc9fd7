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
    // partners, feeds, orders, errors, idempotency, rate limits, deliveries, outbox,
    // formats, audit, metrics, the privacy index and the erasures.
    assert_eq!(model.tables.len(), 13);
    let api = model.http_apis.iter().find(|a| a.logical_id == "PartnerApi").unwrap();
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
    let e = refused("Resources:\n  Box:\n    Type: AWS::EC2::Instance\n");
    assert!(e.contains("Box") && e.contains("AWS::EC2::Instance"), "{e}");
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
    // Condition functions belong in Conditions (and Fn::If names a condition):
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html
    let e = refused("Resources:\n  X:\n    Type: AWS::Events::EventBus\n    Properties:\n      Name: !Equals [a, b]\n");
    assert!(e.contains("Conditions"), "{e}");
    assert!(matches!(
        parse(
            "Conditions:\n  C: !Select [0, [a]]\nResources: {}\n",
            repo(),
            "zb",
            &BTreeMap::new()
        ),
        Err(TemplateError::Invalid(_))
    ));
}

#[test]
fn the_admin_plane_reads_as_a_user_pool_a_jwt_authorizer_and_a_second_api() {
    let model = load(&repo().join("template.yaml"), "zb", &BTreeMap::new()).unwrap();
    assert!(model.conditions["CreateUserPool"]);
    let pool = &model.user_pools[0].config;
    assert_eq!(
        pool.pool_id,
        zb_local::cognito::pool_id_for("us-east-1", "zb", "AdminUserPool")
    );
    assert_eq!(
        pool.issuer,
        format!("https://cognito-idp.us-east-1.amazonaws.com/{}", pool.pool_id)
    );
    assert_eq!(pool.groups, vec!["admin", "ops", "finance"]);
    let client = &pool.clients[0];
    assert_eq!(
        client.client_id,
        zb_local::cognito::client_id_for("zb", "ConsoleClient")
    );
    assert!(client
        .explicit_auth_flows
        .contains(&"ALLOW_USER_PASSWORD_AUTH".to_string()));
    // 60 minutes, 60 minutes, 12 hours (TokenValidityUnits).
    assert_eq!(
        (
            client.access_token_validity_secs,
            client.id_token_validity_secs,
            client.refresh_token_validity_secs
        ),
        (3600, 3600, 12 * 3600)
    );
    let admin = model.http_apis.iter().find(|a| a.logical_id == "AdminApi").unwrap();
    let jwt = &admin.jwt_authorizers[0];
    assert_eq!(jwt.name, "OperatorJwt");
    assert_eq!(jwt.identity_header, "authorization");
    assert_eq!(jwt.issuer, pool.issuer);
    assert_eq!(jwt.audience, vec![client.client_id.clone()]);
    // 22, the console's state machines, a feed's executions and an execution,
    // and the privacy routes: erasures (start, show) and exports.
    assert_eq!(admin.routes.len(), 28);
    // The console's CORS: its CloudFront origin, and the local console's
    // only when LocalConsoleOrigin is set (the local cloud sets it).
    let cors = admin.cors.as_ref().expect("the admin API has a CorsConfiguration");
    assert_eq!(cors.allow_origins, vec!["https://d111111abcdef8.cloudfront.net"]);
    assert!(cors.allow_headers.contains(&"authorization".to_string()));
    assert!(model.response_headers_policies.contains_key("ConsoleSecurityHeaders"));
    assert!(model
        .not_emulated
        .iter()
        .any(|n| n.contains("OpsDashboard (AWS::CloudWatch::Dashboard)") && n.contains("inert locally")));
    assert!(admin
        .routes
        .iter()
        .all(|r| r.authorizer.as_deref() == Some("OperatorJwt")
            && r.scopes == vec!["aws.cognito.signin.user.admin".to_string()]));
    assert!(model.function("CostRollupFunction").is_some());
}

#[test]
fn an_existing_user_pool_skips_the_pool_resources() {
    let mut over = BTreeMap::new();
    over.insert("ExistingUserPoolId".to_string(), "eu-west-1_AbCdEf123".to_string());
    over.insert("ExistingUserPoolClientId".to_string(), "abc123client".to_string());
    let model = load(&repo().join("template.yaml"), "zb", &over).unwrap();
    assert!(!model.conditions["CreateUserPool"]);
    assert!(model.user_pools.is_empty());
    assert!(model
        .not_emulated
        .iter()
        .any(|n| n.contains("AdminUserPool") && n.contains("CreateUserPool is false")));
    let admin = model.http_apis.iter().find(|a| a.logical_id == "AdminApi").unwrap();
    let jwt = &admin.jwt_authorizers[0];
    assert_eq!(
        jwt.issuer,
        "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_AbCdEf123"
    );
    assert_eq!(jwt.audience, vec!["abc123client"]);
    let pools = zb_local::cloud::cognito_pools(&model);
    assert_eq!(pools[0].pool_id, "eu-west-1_AbCdEf123");
    assert_eq!(pools[0].groups, vec!["admin", "ops", "finance"]);
    assert_eq!(pools[0].clients[0].client_id, "abc123client");
    assert!(pools[0].clients[0].logout_urls.is_empty());
    // With the local console's origin, its /console/ is a callback and sign-out URL too.
    over.insert("LocalConsoleOrigin".to_string(), "http://127.0.0.1:3000".to_string());
    let model = load(&repo().join("template.yaml"), "zb", &over).unwrap();
    let pools = zb_local::cloud::cognito_pools(&model);
    let client = &pools[0].clients[0];
    assert!(client
        .callback_urls
        .contains(&"http://127.0.0.1:3000/console/".to_string()));
    assert_eq!(client.logout_urls, vec!["http://127.0.0.1:3000/console/"]);
}

/// A template in the shape of the console's resources (the contract's names):
/// the admin API's CorsConfiguration with intrinsics, the hosting and the
/// dashboard as inert resources whose references resolve as CloudFormation's.
const CONSOLE_TEMPLATE: &str = r#"
Parameters:
  LocalConsoleOrigin:
    Type: String
    Default: ""
Conditions:
  HasLocalConsoleOrigin: !Not [!Equals [!Ref LocalConsoleOrigin, ""]]
Resources:
  ConsoleBucket:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
  ConsoleOriginAccessControl:
    Type: AWS::CloudFront::OriginAccessControl
    Properties:
      OriginAccessControlConfig:
        Name: !Sub "${AWS::StackName}-console"
        OriginAccessControlOriginType: s3
        SigningBehavior: always
        SigningProtocol: sigv4
  ConsoleSecurityHeaders:
    Type: AWS::CloudFront::ResponseHeadersPolicy
    Properties:
      ResponseHeadersPolicyConfig:
        Name: !Sub "${AWS::StackName}-console-security"
        SecurityHeadersConfig:
          ContentSecurityPolicy:
            ContentSecurityPolicy: !Sub "default-src 'none'; connect-src 'self' https://${AdminApi}.execute-api.${AWS::Region}.amazonaws.com"
            Override: true
          FrameOptions: {FrameOption: DENY, Override: true}
  ConsoleIndexRewrite:
    Type: AWS::CloudFront::Function
    Properties:
      Name: !Sub "${AWS::StackName}-console-index"
      AutoPublish: true
      FunctionCode: "function handler(event) { return event.request; }"
      FunctionConfig: {Comment: index, Runtime: cloudfront-js-2.0}
  ConsoleDistribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins:
          - Id: s3
            DomainName: !GetAtt ConsoleBucket.RegionalDomainName
            OriginAccessControlId: !GetAtt ConsoleOriginAccessControl.Id
            S3OriginConfig: {OriginAccessIdentity: ""}
        DefaultCacheBehavior:
          TargetOriginId: s3
          ResponseHeadersPolicyId: !Ref ConsoleSecurityHeaders
          FunctionAssociations:
            - EventType: viewer-request
              FunctionARN: !GetAtt ConsoleIndexRewrite.FunctionMetadata.FunctionARN
  ConsoleBucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref ConsoleBucket
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: cloudfront.amazonaws.com}
            Action: s3:GetObject
            Resource: !Sub "${ConsoleBucket.Arn}/*"
            Condition:
              StringEquals:
                AWS:SourceArn: !Sub "arn:aws:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"
  OpsDashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: !Sub "${AWS::StackName}-ops"
      DashboardBody: !Sub '{"widgets":[{"type":"text","properties":{"markdown":"${ConsoleDistribution.DomainName}"}}]}'
  AdminApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins:
          - !Sub "https://${ConsoleDistribution.DomainName}"
          - !If [HasLocalConsoleOrigin, !Ref LocalConsoleOrigin, !Ref AWS::NoValue]
        AllowHeaders: [authorization, content-type, x-request-id]
        AllowMethods: [GET, POST, PATCH, OPTIONS]
        ExposeHeaders: [x-request-id]
        MaxAge: 600
        AllowCredentials: false
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${ConsoleBucket}|${ConsoleBucket.Arn}|${ConsoleBucket.DomainName}|${ConsoleDistribution}|${OpsDashboard}"
"#;

#[test]
fn the_console_resources_are_inert_and_their_references_resolve() {
    let model = parse(CONSOLE_TEMPLATE, repo(), "zb", &BTreeMap::new()).unwrap();
    // Ref/GetAtt as CloudFormation answers them (bucket names lower-case).
    assert_eq!(
        model.buses,
        vec!["zb-consolebucket|arn:aws:s3:::zb-consolebucket|zb-consolebucket.s3.amazonaws.com|EDFDVBD6EXAMPLE|zb-ops"]
    );
    let cors = model.http_apis[0].cors.as_ref().unwrap();
    // AWS::NoValue removes the list item: only the distribution's origin.
    assert_eq!(cors.allow_origins, vec!["https://d111111abcdef8.cloudfront.net"]);
    assert_eq!(cors.allow_methods, vec!["GET", "POST", "PATCH", "OPTIONS"]);
    assert_eq!(cors.expose_headers, vec!["x-request-id"]);
    assert_eq!(cors.max_age, Some(600));
    assert!(!cors.allow_credentials);
    let policy = &model.response_headers_policies["ConsoleSecurityHeaders"];
    assert_eq!(
        policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "default-src 'none'; connect-src 'self' https://AdminApi.execute-api.us-east-1.amazonaws.com"
    );
    // One line for all of them.
    let inert: Vec<&String> = model
        .not_emulated
        .iter()
        .filter(|n| n.contains("inert locally"))
        .collect();
    assert_eq!(inert.len(), 1, "{:?}", model.not_emulated);
    for id in [
        "ConsoleBucket (AWS::S3::Bucket)",
        "ConsoleBucketPolicy",
        "ConsoleDistribution",
        "ConsoleOriginAccessControl",
        "ConsoleSecurityHeaders",
        "ConsoleIndexRewrite",
        "OpsDashboard (AWS::CloudWatch::Dashboard)",
    ] {
        assert!(inert[0].contains(id), "{id}: {}", inert[0]);
    }

    let mut over = BTreeMap::new();
    over.insert("LocalConsoleOrigin".to_string(), "http://127.0.0.1:3000".to_string());
    let model = parse(CONSOLE_TEMPLATE, repo(), "zb", &over).unwrap();
    assert_eq!(
        model.http_apis[0].cors.as_ref().unwrap().allow_origins,
        vec!["https://d111111abcdef8.cloudfront.net", "http://127.0.0.1:3000"]
    );
}

#[test]
fn a_bad_cors_configuration_is_refused_by_property() {
    let api = |cors: &str| {
        format!("Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      CorsConfiguration: {cors}\n")
    };
    let e = refused(&api("{AllowOrigins: ['*'], AllowCredentials: true}"));
    assert!(
        e.starts_with("Resources.Api.Properties.CorsConfiguration.AllowCredentials:"),
        "{e}"
    );
    let e = refused(&api("{MaxAge: 100000}"));
    assert!(
        e.starts_with("Resources.Api.Properties.CorsConfiguration.MaxAge:"),
        "{e}"
    );
    let e = refused(&api("{AllowOrigin: ['*']}"));
    assert!(e.contains("AllowOrigin"), "{e}");
    let model = parse(&api("true"), repo(), "zb", &BTreeMap::new()).unwrap();
    assert_eq!(model.http_apis[0].cors.as_ref().unwrap().allow_origins, vec!["*"]);
    let model = parse(&api("false"), repo(), "zb", &BTreeMap::new()).unwrap();
    assert!(model.http_apis[0].cors.is_none());
}
