//! The `zb` binary against a local cloud started in-process, the way ops
//! point it at AWS: `zb cost report --source cloudwatch` reads the stack's
//! log groups through the AWS endpoint (FilterLogEvents) and prices a feed;
//! `zb executions show <feedId>` tells where a failed feed went and why when
//! the pipeline's log carries no execution data, from the feed's record.
//!
//! The local cloud serves CloudWatch Logs' FilterLogEvents over each
//! function's group and the state machine's logging destination
//! (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html);
//! with IncludeExecutionData false, Step Functions leaves input and output
//! out of the log lines
//! (https://docs.aws.amazon.com/step-functions/latest/apireference/API_LoggingConfiguration.html,
//! https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html).
//!
//! Run: `cargo build --workspace --bins && scripts/with-dynamodb cargo test -p zb-tests --test e2e_ops_cli`

use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};
use zb_tests::cloud::{binaries, repo, sdk, start, Options};
use zb_tests::fixtures::{a_feed, a_order};

/// Debug binaries on two busy cores.
const WAIT: Duration = Duration::from_secs(120);

fn stack(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Posts a feed as partner-a ("key-a") and waits until it is no longer RECEIVED.
async fn post_and_finish(api_url: &str, body: &Value) -> (String, Value) {
    let http = reqwest::Client::new();
    let r = zb_tests::post_feed_http(&http, api_url, "key-a", "application/json", body).await;
    assert_eq!(r.status().as_u16(), 202);
    let accepted: Value = r.json().await.unwrap_or(Value::Null);
    let id = accepted["feedId"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty(), "{accepted}");
    let started = Instant::now();
    loop {
        let (status, feed) = zb_tests::get_http(&http, api_url, "key-a", &format!("/v1/feeds/{id}")).await;
        assert_eq!(status, 200, "{feed}");
        if feed["status"] != "RECEIVED" {
            return (id, feed);
        }
        assert!(started.elapsed() < WAIT, "feed {id} still RECEIVED");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the pipeline's log group holds `count` execution-end lines.
async fn executions_ended(aws_url: &str, stack: &str, count: usize) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk(aws_url).await);
    let group = format!("/aws/vendedlogs/states/{stack}-order-pipeline");
    let started = Instant::now();
    loop {
        let ended = logs
            .filter_log_events()
            .log_group_name(&group)
            .filter_pattern(r#"{ ($.type = "ExecutionSucceeded") || ($.type = "ExecutionFailed") }"#)
            .send()
            .await
            .map(|o| o.events().len())
            .unwrap_or(0);
        if ended >= count {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "{ended} of {count} executions ended in {group}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the zb binary `cargo build --workspace --bins` made, from the repository root.
async fn zb(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(binaries().join("zb"))
            .args(&args)
            .current_dir(repo())
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("NO_COLOR", "1")
            .output()
            .unwrap_or_else(|e| panic!("zb runs: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("zb: {e}"))
}

fn stdout_of(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zb_cost_report_prices_a_feed_from_the_log_groups_through_the_aws_endpoint() {
    let stack = stack("cwc");
    let cloud = start(Options {
        stack: Some(stack.clone()),
        ..Options::default()
    })
    .await;
    let (feed_id, feed) = post_and_finish(&cloud.api_url, &a_feed(vec![a_order(1), a_order(2)])).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    executions_ended(&cloud.aws_url, &stack, 1).await;

    // `--since 999999999d` reaches back past the epoch: read from the epoch, not a panic.
    let mut args = strings(&[
        "cost",
        "report",
        "--source",
        "cloudwatch",
        "--format",
        "json",
        "--since",
    ]);
    args.extend(strings(&[
        "999999999d",
        "--stack",
        &stack,
        "--endpoint-url",
        &cloud.aws_url,
    ]));
    let out = zb(args).await;
    let text = stdout_of(&out, "zb cost report --source cloudwatch");
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON report ({e}): {text}"));
    let row = report["feeds"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["feedId"] == feed_id.as_str()))
        .unwrap_or_else(|| panic!("no row for feed {feed_id} in {report:#}"));
    assert_eq!(row["partnerId"], "partner-a", "{row:#}");
    let usd: f64 = row["usd"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    assert!(usd > 0.0, "{row:#}");
    for service in ["stepFunctions", "lambda"] {
        let part: f64 = row["byService"][service]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        assert!(part > 0.0, "no {service} part: {row:#}");
    }

    // With execution data (the default), `show <feedId>` finds the feed's
    // execution through its input and prints what each step changed.
    let mut args = strings(&["--endpoint-url", &cloud.aws_url, "executions", "--dynamodb-endpoint"]);
    args.extend(strings(&[&cloud.dynamodb_url, "show", &feed_id]));
    let text = stdout_of(&zb(args).await, "zb executions show <feedId>");
    assert!(text.contains("✓ COMPLETED"), "{text}");
    assert!(text.contains("Source     CloudWatch Logs"), "{text}");
    for state in ["Validate", "Transform", "Persist", "Done"] {
        assert!(text.contains(state), "{state} missing from:\n{text}");
    }
    assert!(text.contains("      changed "), "{text}");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zb_executions_show_a_feed_id_tells_why_it_failed_when_the_log_has_no_data() {
    let stack = stack("shw");
    let cloud = start(Options {
        stack: Some(stack.clone()),
        parameters: vec![("IncludeExecutionData".into(), "false".into())],
        faults: vec![("TransformFunction".into(), "InvalidPipelineInput".into())],
        ..Options::default()
    })
    .await;
    let (feed_id, feed) = post_and_finish(&cloud.api_url, &a_feed(vec![a_order(1)])).await;
    assert_eq!(feed["status"], "FAILED", "{feed}");
    executions_ended(&cloud.aws_url, &stack, 1).await;

    // The record as the pipeline wrote it, read beside zb.
    let ddb = aws_sdk_dynamodb::Client::new(&sdk(&cloud.dynamodb_url).await);
    let record = zb_shared::store::FeedStore::new(ddb, format!("{stack}-FeedsTable"))
        .get("partner-a", &feed_id, &zb_shared::cost::CostMeter::default())
        .await
        .unwrap_or_else(|e| panic!("GetItem: {e}"))
        .unwrap_or_else(|| panic!("no record of {feed_id}"));
    let failure = record
        .failure
        .clone()
        .unwrap_or_else(|| panic!("no failure in {record:?}"));
    assert!(failure.error.contains("InvalidPipelineInput"), "{failure:?}");

    let show = |output: &str| {
        let mut args = strings(&["--endpoint-url", &cloud.aws_url, "--output", output, "executions"]);
        args.extend(strings(&[
            "--dynamodb-endpoint",
            &cloud.dynamodb_url,
            "--since",
            "999999999d",
        ]));
        args.extend(strings(&["show", &feed_id]));
        zb(args)
    };
    let text = stdout_of(&show("table").await, "zb executions show <feedId>");
    assert!(
        text.contains(&format!("Feed       {feed_id}  partner partner-a")),
        "{text}"
    );
    assert!(text.contains("✗ FAILED"), "{text}");
    assert!(text.contains(&format!("Failure    {}", failure.error)), "{text}");
    let cause_start: String = failure.cause.chars().take(60).collect();
    assert!(text.contains(&format!("Cause      {cause_start}")), "{text}");
    assert!(
        text.contains("no execution data"),
        "says why no execution is named: {text}"
    );

    let json = stdout_of(&show("json").await, "zb executions show <feedId> --output json");
    let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("JSON ({e}): {json}"));
    assert_eq!(v["feedId"], feed_id.as_str());
    assert_eq!(v["feed"]["status"], "FAILED", "{v:#}");
    assert_eq!(v["feed"]["failure"]["Error"], failure.error.as_str(), "{v:#}");
    assert_eq!(v["feed"]["failure"]["Cause"], failure.cause.as_str(), "{v:#}");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zb_executions_show_a_feed_id_on_a_standard_pipeline_reads_the_history_api() {
    let stack = stack("shs");
    let cloud = start(Options {
        stack: Some(stack.clone()),
        parameters: vec![("WorkflowType".into(), "STANDARD".into())],
        ..Options::default()
    })
    .await;
    let (feed_id, feed) = post_and_finish(&cloud.api_url, &a_feed(vec![a_order(1)])).await;
    assert_eq!(feed["status"], "COMPLETED", "{feed}");
    let mut args = strings(&["--endpoint-url", &cloud.aws_url, "--output", "json", "executions"]);
    args.extend(strings(&["--dynamodb-endpoint", &cloud.dynamodb_url, "show", &feed_id]));
    let started = Instant::now();
    // Persist finishes the feed a moment before the execution ends.
    let v = loop {
        let json = stdout_of(&zb(args.clone()).await, "zb executions show <feedId>");
        let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("JSON ({e}): {json}"));
        if v["execution"]["outcome"]["status"] == "SUCCEEDED" {
            break v;
        }
        assert!(started.elapsed() < WAIT, "{v:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(v["feed"]["status"], "COMPLETED", "{v:#}");
    assert_eq!(v["execution"]["source"], "GetExecutionHistory", "{v:#}");
    assert_eq!(v["executions"].as_array().map(Vec::len), Some(1), "{v:#}");
    let states: Vec<&str> = v["execution"]["states"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        states,
        ["Validate", "Transform", "Persist", "HasRejections", "Done"],
        "{v:#}"
    );
    cloud.shutdown().await;
}
