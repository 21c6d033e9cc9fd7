//! The template, strictly: nested properties are supported, refused by their
//! full path, or announced as not emulated; values are checked against
//! AWS's bounds; Parameters' constraints hold for defaults and overrides.
//! Each test cites the AWS page it follows.

use std::collections::BTreeMap;
use std::path::Path;
use zb_local::template::{parse, Model};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn try_parse(template: &str, overrides: &[(&str, &str)]) -> Result<Model, String> {
    let over: BTreeMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    parse(template, root(), "zb", &over).map_err(|e| e.to_string())
}

fn refused(template: &str) -> String {
    match try_parse(template, &[]) {
        Err(e) => e,
        Ok(_) => panic!("accepted a template the local cloud must refuse:\n{template}"),
    }
}

/// A function with an HttpApi event on an API with one Lambda authorizer;
/// `event`, `identity` and `function` are extra YAML lines at those places.
fn api(event: &str, identity: &str, function: &str) -> String {
    format!(
        r#"Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt Fn.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [x-api-key]
{identity}
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: ingest
    Properties:
      Runtime: provided.al2023
{function}
      Events:
        Post:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: POST
            Path: /v1/feeds
{event}
"#
    )
}

#[test]
fn the_base_template_of_these_tests_is_accepted() {
    let model = try_parse(&api("", "", ""), &[]).unwrap();
    assert_eq!(model.http_apis[0].authorizers[0].ttl_secs, 300);
}

/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html
#[test]
fn http_api_event_properties_are_refused_by_their_full_path() {
    let e = refused(&api(
        "            RouteSettings:\n              ThrottlingBurstLimit: 10",
        "",
        "",
    ));
    assert!(
        e.starts_with("Resources.Fn.Properties.Events.Post.Properties.RouteSettings:"),
        "{e}"
    );
    let e = refused(&api(
        "            Auth:\n              AuthorizationScopes: [a]",
        "",
        "",
    ));
    assert!(
        e.starts_with("Resources.Fn.Properties.Events.Post.Properties.Auth.AuthorizationScopes:"),
        "{e}"
    );
    let e = refused(&api("            TimeoutInMillis: 30001", "", ""));
    assert!(
        e.contains("Events.Post.Properties.TimeoutInMillis: must be between 50 and 30000"),
        "{e}"
    );
    let e = refused(&api("            PayloadFormatVersion: \"1.0\"", "", ""));
    assert!(e.contains("Events.Post.Properties.PayloadFormatVersion"), "{e}");
    let e = refused(
        &api("            Condition: x", "", "").replace("            Condition: x\n", "          Condition: x\n"),
    );
    assert!(e.starts_with("Resources.Fn.Properties.Events.Post.Condition:"), "{e}");
    // TimeoutInMillis within bounds is accepted and announced.
    let model = try_parse(&api("            TimeoutInMillis: 5000", "", ""), &[]).unwrap();
    assert!(
        model
            .not_emulated
            .iter()
            .any(|n| n
                .starts_with("Resources.Fn.Properties.Events.Post.Properties.TimeoutInMillis: accepted, not emulated")),
        "{:?}",
        model.not_emulated
    );
}

/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-lambdaauthorizer.html
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-lambdaauthorizationidentity.html
/// (ReauthorizeEvery: "The maximum value is 3600 seconds")
#[test]
fn authorizer_settings_are_checked_like_top_level_properties() {
    for (ttl, ok) in [
        ("0", true),
        ("3600", true),
        ("3601", false),
        ("-1", false),
        ("18446744073709551615", false),
        ("1.5", false),
        ("soon", false),
    ] {
        let t = api("", &format!("              ReauthorizeEvery: {ttl}"), "");
        match try_parse(&t, &[]) {
            Ok(m) => {
                assert!(ok, "ReauthorizeEvery {ttl} accepted");
                assert_eq!(m.http_apis[0].authorizers[0].ttl_secs.to_string(), ttl);
            }
            Err(e) => {
                assert!(!ok, "ReauthorizeEvery {ttl} refused: {e}");
                assert!(
                    e.starts_with("Resources.Api.Properties.Auth.Authorizers.Keys.Identity.ReauthorizeEvery:"),
                    "{e}"
                );
            }
        }
    }
    let e = refused(&api("", "              QueryStrings: [key]", ""));
    assert!(
        e.starts_with("Resources.Api.Properties.Auth.Authorizers.Keys.Identity.QueryStrings:"),
        "{e}"
    );
    let e = refused(&api("", "            JwtConfiguration: {}", ""));
    assert!(
        e.starts_with("Resources.Api.Properties.Auth.Authorizers.Keys.JwtConfiguration:"),
        "{e}"
    );
    let e = refused(&api("", "", "").replace("EnableSimpleResponses: true", "EnableSimpleResponses: false"));
    assert!(
        e.starts_with("Resources.Api.Properties.Auth.Authorizers.Keys.EnableSimpleResponses:"),
        "{e}"
    );
    let e = refused(&api("", "", "").replace("            AuthorizerPayloadFormatVersion: \"2.0\"\n", ""));
    assert!(e.contains("Keys.AuthorizerPayloadFormatVersion: is required"), "{e}");
    let e = refused(&api("", "", "").replace(
        "        DefaultAuthorizer: Keys\n",
        "        EnableIamAuthorizer: true\n        DefaultAuthorizer: Keys\n",
    ));
    assert!(
        e.starts_with("Resources.Api.Properties.Auth.EnableIamAuthorizer:"),
        "{e}"
    );
    // EnableFunctionDefaultPermissions gives the function SAM's permission
    // for API Gateway (sam-property-httpapi-lambdaauthorizer.html); the
    // authorizer's invoke role is accepted and announced.
    let model = try_parse(&api("", "            EnableFunctionDefaultPermissions: true", ""), &[]).unwrap();
    let statements = model.iam.function_policy("zb-Fn").unwrap()["Statement"].clone();
    let statement = statements
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "zb-ApiKeysAuthorizerPermission")
        .unwrap();
    assert_eq!(
        statement["Condition"]["ArnLike"]["AWS:SourceArn"],
        "arn:aws:execute-api:us-east-1:000000000000:Api/authorizers/*"
    );
    let model = try_parse(
        &api(
            "",
            "            FunctionInvokeRole: arn:aws:iam::000000000000:role/invoke",
            "",
        ),
        &[],
    )
    .unwrap();
    assert!(
        model
            .not_emulated
            .iter()
            .any(|n| n.contains("Keys.FunctionInvokeRole: accepted, not emulated")),
        "{:?}",
        model.not_emulated
    );
}

/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventinvokeconfiguration.html
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventinvokeconfig.html
/// (MaximumRetryAttempts 0..2, MaximumEventAgeInSeconds 60..21600)
#[test]
fn event_invoke_config_is_checked_against_lambda_bounds() {
    let with = |yaml: &str| api("", "", &format!("      EventInvokeConfig:\n{yaml}"));
    let e = refused(&with("        MaximumRetryAttempts: 3"));
    assert_eq!(
        e,
        "Resources.Fn.Properties.EventInvokeConfig.MaximumRetryAttempts: must be between 0 and 2, got 3"
    );
    let e = refused(&with("        MaximumEventAgeInSeconds: 59"));
    assert!(
        e.contains("EventInvokeConfig.MaximumEventAgeInSeconds: must be between 60 and 21600"),
        "{e}"
    );
    let e = refused(&with("        MaximumEventAgeInSeconds: 21601"));
    assert!(e.contains("MaximumEventAgeInSeconds"), "{e}");
    let e = refused(&with("        DestinationConfig:\n          OnSuccess:\n            Type: SQS\n            Destination: arn:aws:sqs:us-east-1:000000000000:q"));
    assert!(
        e.starts_with("Resources.Fn.Properties.EventInvokeConfig.DestinationConfig.OnSuccess:"),
        "{e}"
    );
    let e = refused(&with(
        "        DestinationConfig:\n          OnFailure:\n            Type: Queue\n            Destination: x",
    ));
    assert!(
        e.starts_with("Resources.Fn.Properties.EventInvokeConfig.DestinationConfig.OnFailure.Type: must be one of"),
        "{e}"
    );
    let e = refused(&with(
        "        DestinationConfig:\n          OnFailure:\n            Type: Lambda\n            Destination: x",
    ));
    assert!(e.contains("OnFailure.Type: only SQS is emulated"), "{e}");
    let e = refused(&with("        Retries: 1"));
    assert!(
        e.starts_with("Resources.Fn.Properties.EventInvokeConfig.Retries:"),
        "{e}"
    );
    let model = try_parse(
        &with("        MaximumRetryAttempts: 0\n        MaximumEventAgeInSeconds: 60"),
        &[],
    )
    .unwrap();
    assert_eq!(model.functions[0].async_max_retries, 0);
    assert!(model
        .not_emulated
        .iter()
        .any(|n| n.contains("EventInvokeConfig.MaximumEventAgeInSeconds")));
}

/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html
/// (Timeout 1..900, MemorySize 128..10240)
#[test]
fn function_settings_are_checked_not_defaulted() {
    let e = refused(&api("", "", "      Timeout: ten"));
    assert_eq!(e, "Resources.Fn.Properties.Timeout: must be an integer, got \"ten\"");
    let e = refused(&api("", "", "      MemorySize: 64"));
    assert!(e.contains("MemorySize: must be between 128 and 10240"), "{e}");
    let e = refused(&api("", "", "      LoggingConfig:\n        LogFormat: XML"));
    assert!(e.starts_with("Resources.Fn.Properties.LoggingConfig.LogFormat:"), "{e}");
    let e = refused(&api("", "", "      Environment:\n        Vars: {}"));
    assert!(e.starts_with("Resources.Fn.Properties.Environment.Vars:"), "{e}");
}

/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedule.html
/// ("Specify either the Enabled or State property, but not both.")
#[test]
fn schedule_event_properties_are_checked() {
    let schedule = |props: &str| {
        format!(
            "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: sweeper\n    Properties:\n      Runtime: provided.al2023\n      Events:\n        Sweep:\n          Type: Schedule\n          Properties:\n            Schedule: rate(5 minutes)\n{props}"
        )
    };
    let e = refused(&schedule("            Input: '{}'\n"));
    assert!(
        e.starts_with("Resources.Fn.Properties.Events.Sweep.Properties.Input:"),
        "{e}"
    );
    let e = refused(&schedule(
        "            RetryPolicy:\n              MaximumRetryAttempts: 1\n",
    ));
    assert!(
        e.starts_with("Resources.Fn.Properties.Events.Sweep.Properties.RetryPolicy:"),
        "{e}"
    );
    let e = refused(&schedule("            Enabled: true\n            State: ENABLED\n"));
    assert!(e.contains("Enabled or State, not both"), "{e}");
    let m = try_parse(&schedule(""), &[]).unwrap();
    assert_eq!(m.schedules[0].rule, "FnSweep");
    let m = try_parse(&schedule("            Name: sweep-every-5\n"), &[]).unwrap();
    assert_eq!(m.schedules[0].rule, "sweep-every-5");
}

/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-events-rule-retrypolicy.html
/// (MaximumRetryAttempts 0..185, MaximumEventAgeInSeconds 60..86400)
#[test]
fn rule_target_settings_are_checked() {
    let rule = |target: &str| {
        format!(
            "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern:\n        source: [x]\n      Targets:\n        - Id: t\n          Arn: arn:aws:states:us-east-1:000000000000:stateMachine:m\n{target}"
        )
    };
    let e = refused(&rule("          RetryPolicy:\n            MaximumRetryAttempts: 186\n"));
    assert_eq!(
        e,
        "Resources.R.Properties.Targets[0].RetryPolicy.MaximumRetryAttempts: must be between 0 and 185, got 186"
    );
    let e = refused(&rule(
        "          DeadLetterConfig:\n            Arn: x\n            Extra: y\n",
    ));
    assert!(
        e.starts_with("Resources.R.Properties.Targets[0].DeadLetterConfig.Extra:"),
        "{e}"
    );
    let e = refused(&rule("          EcsParameters: {}\n"));
    assert!(e.starts_with("Resources.R.Properties.Targets[0].EcsParameters:"), "{e}");
}

/// The repository's own template: what it sets but the local cloud does not
/// act on is announced (README's list of what is not emulated).
#[test]
fn the_repo_template_announces_what_it_does_not_emulate() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let model = try_parse(&text, &[]).unwrap();
    let all = model.not_emulated.join("\n");
    for expected in [
        // Both HTTP APIs set them: one line names both.
        "Properties.AccessLogSettings of PartnerApi, AdminApi: accepted, not emulated",
        "Properties.DefaultRouteSettings of PartnerApi, AdminApi: accepted, not emulated",
        "Properties.Tracing of ",
        "Properties.LoggingConfig.LogGroup of ",
        "Properties.EventInvokeConfig.MaximumEventAgeInSeconds: accepted, not emulated",
    ] {
        assert!(all.contains(expected), "{expected:?} missing from\n{all}");
    }
}

/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
/// (AllowedPattern must match the whole value; "Malformed input-Parameter
/// MyParameter must match pattern [A-Za-z0-9]+"; ConstraintDescription
/// explains a violated constraint)
#[test]
fn parameter_constraints_hold_for_defaults_and_overrides() {
    let with = |decl: &str| format!("Parameters:\n  P:\n{decl}\nResources: {{}}\n");
    let values = with("    Type: String\n    Default: EXPRESS\n    AllowedValues: [EXPRESS, STANDARD]");
    assert!(try_parse(&values, &[("P", "STANDARD")]).is_ok());
    let e = try_parse(&values, &[("P", "express")]).unwrap_err();
    assert_eq!(
        e,
        "Parameter 'P' must be one of AllowedValues [EXPRESS, STANDARD]; got \"express\""
    );

    let bad_default = with("    Type: String\n    Default: NOPE\n    AllowedValues: [EXPRESS, STANDARD]");
    let e = try_parse(&bad_default, &[("P", "EXPRESS")]).unwrap_err();
    assert!(
        e.contains("must be one of AllowedValues") && e.contains("\"NOPE\""),
        "{e}"
    );

    let pattern = with("    Type: String\n    Default: \"5,300\"\n    AllowedPattern: \"[0-9]+(,[0-9]+)*\"\n    ConstraintDescription: comma-separated seconds");
    assert!(try_parse(&pattern, &[("P", "1,2,3")]).is_ok());
    let e = try_parse(&pattern, &[("P", "1,2,x")]).unwrap_err();
    assert_eq!(
        e,
        "Parameter 'P' must match pattern [0-9]+(,[0-9]+)* (comma-separated seconds); got \"1,2,x\""
    );
    // The whole value must match, not a part of it.
    assert!(try_parse(&pattern, &[("P", "x1")]).is_err());

    let length = with("    Type: String\n    Default: abc\n    MinLength: 2\n    MaxLength: 4");
    assert!(try_parse(&length, &[("P", "a")])
        .unwrap_err()
        .contains("must contain at least 2 characters"));
    assert!(try_parse(&length, &[("P", "abcde")])
        .unwrap_err()
        .contains("must contain at most 4 characters"));

    let number = with("    Type: Number\n    Default: 600\n    MinValue: 1\n    MaxValue: 86400");
    assert!(try_parse(&number, &[("P", "1")]).is_ok());
    assert!(try_parse(&number, &[("P", "0")])
        .unwrap_err()
        .contains("must be a number not less than 1"));
    assert!(try_parse(&number, &[("P", "86401")])
        .unwrap_err()
        .contains("must be a number not greater than 86400"));
    for not_a_number in ["ten", "", "NaN", "inf", "1e999"] {
        let e = try_parse(&number, &[("P", not_a_number)]).unwrap_err();
        assert!(e.starts_with("Parameter 'P' must be a number"), "{not_a_number:?}: {e}");
    }

    let e = try_parse(&values, &[("Typo", "x")]).unwrap_err();
    assert_eq!(e, "Parameters: [Typo] do not exist in the template");
    let e = try_parse(&with("    Type: String\n    Default: x\n    Allowed: [x]"), &[]).unwrap_err();
    assert!(e.contains("Invalid template parameter property 'Allowed'"), "{e}");
    let e = try_parse(&with("    Default: x"), &[]).unwrap_err();
    assert!(e.contains("must contain a Type member"), "{e}");
    let e = try_parse(&with("    Type: CommaDelimitedList\n    Default: a,b"), &[]).unwrap_err();
    assert!(e.contains("CommaDelimitedList is not supported"), "{e}");
}

/// The repo template's parameters, overridden the way `make` and the tests do.
#[test]
fn the_repo_template_parameters_are_enforced() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(try_parse(&text, &[("WorkflowType", "STANDARD"), ("StuckFeedAfterSeconds", "1")]).is_ok());
    let e = try_parse(&text, &[("LogRetentionDays", "2")]).unwrap_err();
    assert!(
        e.contains("Parameter 'LogRetentionDays' must be one of AllowedValues"),
        "{e}"
    );
    let e = try_parse(&text, &[("StuckFeedAfterSeconds", "0")]).unwrap_err();
    assert!(
        e.contains("Parameter 'StuckFeedAfterSeconds' must be a number not less than 1"),
        "{e}"
    );
    let e = try_parse(&text, &[("WebhookRetrySchedule", "1,,2")]).unwrap_err();
    assert!(e.contains("Parameter 'WebhookRetrySchedule' must match pattern"), "{e}");
}
