//! Express workflows are seen through their logs, as on AWS: the local
//! cloud refuses the execution APIs AWS refuses for a workflow type, writes
//! each execution's events to the pipeline's log group in Step Functions'
//! log format at the template's level, and serves CloudWatch Logs'
//! FilterLogEvents, GetLogEvents and DescribeLogStreams. Every call goes
//! through the AWS endpoint with the real AWS SDK.
//!
//! Run: `cargo build --workspace --bins && scripts/with-dynamodb cargo test -p zb-tests --test e2e_express_logs`

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use zb_tests::cloud::{sdk, start, Options};

const WAIT: Duration = Duration::from_secs(60);

struct Clients {
    sfn: aws_sdk_sfn::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    pipeline: String,
    group: String,
}

async fn clients(aws_url: &str, stack: &str) -> Clients {
    let config = sdk(aws_url).await;
    Clients {
        sfn: aws_sdk_sfn::Client::new(&config),
        logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        pipeline: format!("arn:aws:states:us-east-1:000000000000:stateMachine:{stack}-order-pipeline"),
        group: format!("/aws/vendedlogs/states/{stack}-order-pipeline"),
    }
}

/// Starts a pipeline execution for a feed that does not exist: Validate
/// fails (FeedNotFound), the Catch records it, the machine ends in FeedFailed.
async fn start_failing(c: &Clients) -> String {
    let input = json!({"feedId": uuid::Uuid::now_v7().to_string(), "partnerId": "partner-a", "format": "partner-a@1",
                       "receivedAt": "2026-01-01T12:00:00.000Z", "requestId": "r", "correlationId": "c"});
    c.sfn
        .start_execution()
        .state_machine_arn(&c.pipeline)
        .input(input.to_string())
        .send()
        .await
        .expect("StartExecution")
        .execution_arn()
        .to_string()
}

/// Every line of the group for one execution, once its execution-level
/// terminal line is there (or, with `expect_end` false, after a settle time).
async fn lines_of(c: &Clients, arn: &str, expect_end: bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let lines = zb_local::express_logs::lines(&c.logs, &c.group, &format!(r#"{{ $.execution_arn = "{arn}" }}"#))
            .await
            .expect("FilterLogEvents");
        let ended = lines
            .iter()
            .any(|l| l["type"] == "ExecutionFailed" || l["type"] == "ExecutionSucceeded");
        if expect_end && ended {
            return lines;
        }
        if !expect_end && started.elapsed() > Duration::from_secs(3) {
            return lines;
        }
        assert!(started.elapsed() < WAIT, "no end logged for {arn}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn types(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| l["type"].as_str().map(str::to_string))
        .collect()
}

// ListExecutions: "This API action is not supported by EXPRESS state machines",
// StateMachineTypeNotSupported (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html).
// DescribeExecution / GetExecutionHistory on an Express execution ARN: InvalidArn
// "Resource type not valid in this context: express" (the answer users of the AWS CLI
// report; the references say "not supported", https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html,
// .../API_GetExecutionHistory.html, and list no type error for them).
// StartSyncExecution "is not available for STANDARD workflows": StateMachineTypeNotSupported
// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_execution_apis_aws_refuses_for_a_workflow_type_are_refused() {
    let stack = format!("exl{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let cloud = start(Options {
        stack: Some(stack.clone()),
        ..Options::default()
    })
    .await;
    let c = clients(&cloud.aws_url, &stack).await;
    let arn = start_failing(&c).await;
    assert!(arn.contains(":express:"), "{arn}");

    let err = c
        .sfn
        .list_executions()
        .state_machine_arn(&c.pipeline)
        .send()
        .await
        .expect_err("ListExecutions on EXPRESS");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_state_machine_type_not_supported()),
        "{err:?}"
    );
    let err = c
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect_err("DescribeExecution");
    assert!(err.as_service_error().is_some_and(|e| e.is_invalid_arn()), "{err:?}");
    let err = c
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await
        .expect_err("GetExecutionHistory");
    assert!(err.as_service_error().is_some_and(|e| e.is_invalid_arn()), "{err:?}");

    // The Standard machine keeps ListExecutions, and refuses StartSyncExecution
    // (on the wire: the SDK prefixes this operation's host with "sync-").
    let webhook = format!("arn:aws:states:us-east-1:000000000000:stateMachine:{stack}-webhook-delivery");
    c.sfn
        .list_executions()
        .state_machine_arn(&webhook)
        .send()
        .await
        .expect("ListExecutions on STANDARD");
    let raw = reqwest::Client::new()
        .post(&cloud.aws_url)
        .header("x-amz-target", "AWSStepFunctions.StartSyncExecution")
        .header("content-type", "application/x-amz-json-1.0")
        .body(json!({"stateMachineArn": webhook, "input": "{}"}).to_string())
        .send()
        .await
        .expect("StartSyncExecution");
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(raw.headers()["x-amzn-errortype"], "StateMachineTypeNotSupported");

    // The execution is seen through its logs, level ALL with data (the template's default).
    let lines = lines_of(&c, &arn, true).await;
    assert_eq!(lines[0]["type"], "ExecutionStarted", "{lines:?}");
    assert!(lines[0]["details"]["input"]
        .as_str()
        .is_some_and(|i| i.contains("partner-a")));
    for l in &lines {
        for field in ["id", "previous_event_id", "event_timestamp", "redrive_count"] {
            assert!(l[field].is_string(), "{field} in {l}");
        }
        assert_eq!(l["execution_arn"], arn.as_str());
    }
    assert!(types(&lines).contains("TaskStateEntered") && types(&lines).contains("ExecutionFailed"));
    cloud.shutdown().await;
}

// FilterLogEvents, GetLogEvents and DescribeLogStreams with AWS's parameters and
// errors: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
// (limit, nextToken; InvalidParameterException, ResourceNotFoundException),
// .../API_GetLogEvents.html, .../API_DescribeLogStreams.html.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_logs_pages_through_a_log_group() {
    let stack = format!("exp{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let cloud = start(Options {
        stack: Some(stack.clone()),
        ..Options::default()
    })
    .await;
    let c = clients(&cloud.aws_url, &stack).await;
    let a = start_failing(&c).await;
    let b = start_failing(&c).await;
    let total = lines_of(&c, &a, true).await.len() + lines_of(&c, &b, true).await.len();

    // Pages of 3 add up to the whole group, in order, each page at most 3.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .logs
            .filter_log_events()
            .log_group_name(&c.group)
            .limit(3)
            .set_next_token(token.take())
            .send()
            .await
            .expect("FilterLogEvents");
        assert!(page.events().len() <= 3);
        seen.extend(
            page.events()
                .iter()
                .map(|e| (e.timestamp().unwrap_or_default(), e.event_id().map(str::to_string))),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "oldest first");
    assert_eq!(
        seen.iter().map(|s| &s.1).collect::<BTreeSet<_>>().len(),
        total,
        "event ids are unique"
    );

    // A token we did not issue, or issued for another filter: InvalidParameterException.
    for bad in ["forged".to_string(), "eyJsIjoieCIsIm8iOjF9".to_string()] {
        let err = c
            .logs
            .filter_log_events()
            .log_group_name(&c.group)
            .next_token(&bad)
            .send()
            .await
            .expect_err("a forged token");
        assert_eq!(err.code(), Some("InvalidParameterException"), "{bad}: {err:?}");
    }
    let first = c
        .logs
        .filter_log_events()
        .log_group_name(&c.group)
        .limit(1)
        .send()
        .await
        .expect("a first page");
    let other_filter = c
        .logs
        .filter_log_events()
        .log_group_name(&c.group)
        .filter_pattern(r#"{ $.type = "ExecutionStarted" }"#)
        .next_token(first.next_token().expect("more than one line"))
        .send()
        .await
        .expect_err("a token of another listing");
    assert_eq!(other_filter.code(), Some("InvalidParameterException"));
    // limit outside 1..=10000, an unknown group, an unserved pattern.
    let err = c
        .logs
        .filter_log_events()
        .log_group_name(&c.group)
        .limit(0)
        .send()
        .await
        .expect_err("limit 0");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let err = c
        .logs
        .filter_log_events()
        .log_group_name("/aws/nope")
        .send()
        .await
        .expect_err("no group");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{err:?}"
    );
    let err = c
        .logs
        .filter_log_events()
        .log_group_name(&c.group)
        .filter_pattern("{ $.type = ")
        .send()
        .await
        .expect_err("a broken pattern");
    assert_eq!(err.code(), Some("InvalidParameterException"));

    // One stream per execution, named as Step Functions names Express streams.
    let streams = c
        .logs
        .describe_log_streams()
        .log_group_name(&c.group)
        .send()
        .await
        .expect("DescribeLogStreams");
    assert_eq!(streams.log_streams().len(), 2);
    let name = streams.log_streams()[0]
        .log_stream_name()
        .unwrap_or_default()
        .to_string();
    assert!(name.starts_with(&format!("states/{stack}-order-pipeline/")), "{name}");
    let paged = c
        .logs
        .describe_log_streams()
        .log_group_name(&c.group)
        .limit(1)
        .send()
        .await
        .expect("a page of one stream");
    assert_eq!(paged.log_streams().len(), 1);
    assert!(paged.next_token().is_some());

    // GetLogEvents from the head, two at a time, until the forward token comes back unchanged.
    let mut events = 0;
    let mut token: Option<String> = None;
    loop {
        let page = c
            .logs
            .get_log_events()
            .log_group_name(&c.group)
            .log_stream_name(&name)
            .start_from_head(true)
            .limit(2)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("GetLogEvents");
        events += page.events().len();
        let next = page.next_forward_token().map(str::to_string);
        if next == token {
            break;
        }
        token = next;
    }
    let in_stream = c
        .logs
        .filter_log_events()
        .log_group_name(&c.group)
        .log_stream_names(&name)
        .send()
        .await
        .expect("FilterLogEvents by stream")
        .events()
        .len();
    assert_eq!(events, in_stream);
    let err = c
        .logs
        .get_log_events()
        .log_group_name(&c.group)
        .log_stream_name(&name)
        .next_token("f/forged")
        .send()
        .await
        .expect_err("a forged token");
    assert_eq!(err.code(), Some("InvalidParameterException"));
    cloud.shutdown().await;
}

/// The types each level logs for a failing execution, and whether data is there.
async fn logged_at(level: &str, include_data: &str) -> Vec<Value> {
    let stack = format!("exv{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let cloud = start(Options {
        stack: Some(stack.clone()),
        parameters: vec![
            ("ExecutionLogLevel".into(), level.into()),
            ("IncludeExecutionData".into(), include_data.into()),
        ],
        ..Options::default()
    })
    .await;
    let c = clients(&cloud.aws_url, &stack).await;
    let arn = start_failing(&c).await;
    let lines = lines_of(&c, &arn, level != "OFF").await;
    cloud.shutdown().await;
    lines
}

// What each level logs: https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html;
// IncludeExecutionData false excludes the data:
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_LoggingConfiguration.html.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_level_and_include_execution_data_decide_what_is_logged() {
    let error = logged_at("ERROR", "true").await;
    let error_types = types(&error);
    assert!(
        error_types.contains("ExecutionFailed") && error_types.contains("TaskFailed"),
        "{error_types:?}"
    );
    for t in &error_types {
        assert!(
            [
                "ExecutionFailed",
                "TaskFailed",
                "FailStateEntered",
                "LambdaFunctionFailed"
            ]
            .contains(&t.as_str()),
            "{t} is not logged at ERROR"
        );
    }

    let fatal = logged_at("FATAL", "true").await;
    assert_eq!(types(&fatal), BTreeSet::from(["ExecutionFailed".to_string()]));

    let bare = logged_at("ALL", "false").await;
    assert!(types(&bare).contains("ExecutionStarted") && types(&bare).contains("TaskStateEntered"));
    for l in &bare {
        for data in ["input", "output", "parameters"] {
            assert!(
                l["details"].get(data).is_none(),
                "{data} logged without execution data: {l}"
            );
        }
    }
    let entered = bare
        .iter()
        .find(|l| l["type"] == "TaskStateEntered")
        .cloned()
        .unwrap_or_default();
    assert_eq!(entered["details"]["name"], "Validate", "{entered}");
    let failed = bare
        .iter()
        .find(|l| l["type"] == "ExecutionFailed")
        .cloned()
        .unwrap_or_default();
    assert_eq!(failed["details"]["error"], "FeedFailed", "errors stay: {failed}");

    assert!(logged_at("OFF", "true").await.is_empty());
}
