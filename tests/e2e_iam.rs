//! IAM enforced on every call the functions make (issue 13): a permission removed from a copy of
//! template.yaml is caught the way AWS would catch it on the first deploy. Persist loses
//! `dynamodb:PutItem` on the orders table; its write is refused with AWS's AccessDeniedException
//! ("Troubleshoot access denied error messages", IAM User Guide), the pipeline's Catch ends the
//! feed FAILED, the function's log says why, and `zb iam report` lists the denial. In soft mode the
//! same denial is reported but the call goes through.
//!
//! The rest of the end-to-end suite runs with enforcement on (the default), so a permission the
//! template lacks fails those tests too.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zb_local::iam::IamMode;
use zb_tests::cloud::{binaries, repo, start, Options};
use zb_tests::fixtures::{a_feed, a_order};

const WAIT: Duration = Duration::from_secs(120);

/// The statement persist writes orders with, as template.yaml has it.
const PERSIST_ORDERS: &str = "                - dynamodb:PutItem\n                - dynamodb:GetItem\n              Resource: !GetAtt OrdersTable.Arn";

/// A temp copy of template.yaml and statemachines/ with `remove` (found exactly once) replaced by
/// `keep`.
fn template_copy(remove: &str, keep: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zb-iam-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("statemachines")).expect("temp dir");
    for entry in std::fs::read_dir(repo().join("statemachines"))
        .expect("statemachines/")
        .flatten()
    {
        std::fs::copy(entry.path(), dir.join("statemachines").join(entry.file_name())).expect("copy definition");
    }
    let template = std::fs::read_to_string(repo().join("template.yaml")).expect("template.yaml");
    assert_eq!(
        template.matches(remove).count(),
        1,
        "template.yaml no longer holds {remove:?} once; update this test"
    );
    std::fs::write(dir.join("template.yaml"), template.replacen(remove, keep, 1)).expect("write the copy");
    dir.join("template.yaml")
}

/// The copy whose persist function may not PutItem orders.
fn template_without_persist_put_item() -> PathBuf {
    template_copy(
        PERSIST_ORDERS,
        "                - dynamodb:GetItem\n              Resource: !GetAtt OrdersTable.Arn",
    )
}

async fn post(http: &reqwest::Client, api: &str, body: &Value) -> String {
    let r = zb_tests::post_feed_http(http, api, "key-a", "application/json", body).await;
    assert_eq!(r.status().as_u16(), 202);
    let accepted: Value = r.json().await.expect("202 body");
    accepted["feedId"].as_str().expect("feedId").to_string()
}

async fn finished(http: &reqwest::Client, api: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (status, feed) = zb_tests::get_http(http, api, "key-a", &format!("/v1/feeds/{id}")).await;
        assert_eq!(status, 200, "{feed}");
        if feed["status"] != "RECEIVED" {
            return feed;
        }
        assert!(started.elapsed() < WAIT, "feed {id} still RECEIVED: {feed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every line the functions logged in `state_dir`.
fn function_logs(state_dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(state_dir.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    all
}

/// `zb iam report --json` on the copy and the state folder.
fn zb_iam_report(template: &Path, stack: &str, state_dir: &Path) -> Value {
    let out = std::process::Command::new(binaries().join("zb"))
        .args(["iam", "report", "--json", "--stack", stack])
        .arg("--template")
        .arg(template)
        .arg("--state-dir")
        .arg(state_dir)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("zb runs: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report JSON: {e}"))
}

struct Run {
    feed: Value,
    logs: String,
    report: Value,
    denial: String,
}

async fn run_with(iam: IamMode) -> Run {
    let template = template_without_persist_put_item();
    let cloud = start(Options {
        template: Some(template.clone()),
        iam,
        ..Options::default()
    })
    .await;
    let orders = cloud
        .model
        .tables
        .iter()
        .find(|t| t.logical_id == "OrdersTable")
        .map(|t| t.name.clone())
        .expect("orders table");
    let persist = cloud
        .model
        .function("PersistFunction")
        .map(|f| f.name.clone())
        .expect("persist");
    let stack = orders.trim_end_matches("-OrdersTable").to_owned();
    let http = reqwest::Client::new();
    let id = post(&http, &cloud.api_url, &a_feed(vec![a_order(1)])).await;
    let feed = finished(&http, &cloud.api_url, &id).await;
    let state_dir = cloud.state_dir().to_path_buf();
    cloud.shutdown().await;
    // AWS's wording ("Troubleshoot access denied error messages"): the caller is the function's
    // role session, named after the function, as Lambda names it.
    let denial = format!(
        "User: arn:aws:sts::000000000000:assumed-role/{stack}-PersistFunctionRole/{persist} is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/{orders} because no identity-based policy allows the dynamodb:PutItem action"
    );
    Run {
        feed,
        logs: function_logs(&state_dir),
        report: zb_iam_report(&template, &stack, &state_dir),
        denial,
    }
}

/// The report's entry for the persist function's role.
fn persist_role(report: &Value) -> &Value {
    report["roles"]
        .as_array()
        .and_then(|roles| {
            roles
                .iter()
                .find(|r| r["role"].as_str().is_some_and(|n| n.ends_with("-PersistFunctionRole")))
        })
        .unwrap_or_else(|| panic!("no persist role in {report}"))
}

#[tokio::test]
async fn a_removed_permission_is_denied_and_the_feed_fails_through_its_catch() {
    let run = run_with(IamMode::Enforce).await;
    assert_eq!(run.feed["status"], "FAILED", "{}", run.feed);
    let cause = run.feed["failure"]["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("AccessDeniedException"), "{}", run.feed);
    assert!(cause.contains(&run.denial), "{cause}\nexpected: {}", run.denial);
    assert!(run.logs.contains(&run.denial), "the persist log lacks the denial");
    let role = persist_role(&run.report);
    let denied = role["denied"].as_array().expect("denied");
    assert!(
        denied.iter().any(|d| d["action"] == "dynamodb:PutItem"
            && d["resource"].as_str().is_some_and(|r| r.ends_with("-OrdersTable"))),
        "{role}"
    );
    assert!(denied.iter().all(|d| d["allowed_by_mode"] == 0), "{role}");
}

#[tokio::test]
async fn soft_mode_reports_the_denial_and_lets_the_call_through() {
    let run = run_with(IamMode::Soft).await;
    assert_eq!(run.feed["status"], "COMPLETED", "{}", run.feed);
    assert!(run.logs.contains(&run.denial), "the persist log lacks the denial");
    let role = persist_role(&run.report);
    let denied = role["denied"].as_array().expect("denied");
    let put = denied
        .iter()
        .find(|d| d["action"] == "dynamodb:PutItem")
        .unwrap_or_else(|| panic!("{role}"));
    assert_eq!(put["allowed_by_mode"], put["count"], "{role}");
    assert_eq!(
        json!(put["message"].as_str().map(|m| m == run.denial)),
        json!(true),
        "{put}"
    );
}

/// The sample feeds (`make demo`'s) through the repository's own template with enforcement on:
/// no call is denied, every outcome is the expected one, and the report says which grants the
/// workload left unused (SECURITY.md records the figures; `--nocapture` prints the report).
#[tokio::test]
async fn the_sample_feeds_need_no_permission_the_template_lacks() {
    let cloud = start(Options {
        seed: serde_json::from_str(&std::fs::read_to_string(repo().join("local/seed/partners.json")).expect("seed"))
            .expect("seed JSON"),
        ..Options::default()
    })
    .await;
    let rows = zb_local::demo::run(
        &cloud.api_url,
        &cloud.aws_url,
        &repo().join("local/seed/feeds"),
        &repo().join("local/seed/partners.json"),
        WAIT,
    )
    .await
    .unwrap_or_else(|e| panic!("demo: {e}"));
    let model = cloud.model.clone();
    let state_dir = cloud.state_dir().to_path_buf();
    cloud.shutdown().await;
    assert!(rows.iter().all(|r| r.ok), "{}", zb_local::demo::render(&rows));
    let report = zb_local::iam::report(&model, &zb_local::iam::read_ledger(&state_dir));
    println!("{report}");
    assert_eq!(report.totals.denied_calls, 0, "{report}");
    assert!(report.totals.used > 0, "nothing was recorded: {report}");
}

/// The state machine's own role is evaluated too: without `lambda:InvokeFunction` on transform,
/// the pipeline's call fails as Step Functions reports Lambda's 403 (Lambda.AWSLambdaException,
/// "not authorized to perform: lambda:InvokeFunction"), and its Catch ends the feed FAILED.
#[tokio::test]
async fn a_state_machine_without_permission_to_invoke_a_step_fails_the_feed_through_its_catch() {
    let template = template_copy(
        "                - !GetAtt TransformFunction.Arn\n                - !Sub \"${TransformFunction.Arn}:*\"\n",
        "",
    );
    let cloud = start(Options {
        template: Some(template),
        ..Options::default()
    })
    .await;
    let transform = cloud
        .model
        .function("TransformFunction")
        .map(|f| f.name.clone())
        .expect("transform");
    let http = reqwest::Client::new();
    let id = post(&http, &cloud.api_url, &a_feed(vec![a_order(1)])).await;
    let feed = finished(&http, &cloud.api_url, &id).await;
    cloud.shutdown().await;
    assert_eq!(feed["status"], "FAILED", "{feed}");
    assert_eq!(feed["failure"]["error"], "Lambda.AWSLambdaException", "{feed}");
    let cause = feed["failure"]["cause"].as_str().unwrap_or_default();
    // The session is the execution's, which AWS names at random: only the role is asserted.
    assert!(cause.contains("-OrderPipelineStateMachineRole/"), "{cause}");
    let expected = format!(
        " is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:{transform} because no identity-based policy allows the lambda:InvokeFunction action"
    );
    assert!(cause.contains(&expected), "{cause}\nexpected: {expected}");
    assert!(cause.contains("Error Code: AccessDeniedException"), "{cause}");
}

/// A rule's target role is evaluated as EventBridge assumes it: without `states:StartExecution`
/// the delivery is refused, and "for errors that result from missing permissions to a target ...
/// no retry attempts will happen": the event goes straight to the dead-letter queue (AWS, "Using
/// dead-letter queues to process undelivered events in EventBridge"). The feed stays RECEIVED
/// until the stuck-feed sweeper finds it.
#[tokio::test]
async fn a_rule_whose_role_cannot_start_the_pipeline_dead_letters_the_event_at_once() {
    let template = template_copy(
        "                Action:\n                  - states:StartExecution\n                Resource: !Ref OrderPipelineStateMachine\n",
        "                Action:\n                  - states:DescribeExecution\n                Resource: !Ref OrderPipelineStateMachine\n",
    );
    let cloud = start(Options {
        template: Some(template),
        ..Options::default()
    })
    .await;
    let http = reqwest::Client::new();
    let id = post(&http, &cloud.api_url, &a_feed(vec![a_order(1)])).await;
    let dead_letters = cloud.state_dir().join("dead-letters.jsonl");
    let started = Instant::now();
    let line = loop {
        let text = std::fs::read_to_string(&dead_letters).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(&id)) {
            break line.to_owned();
        }
        assert!(started.elapsed() < WAIT, "the event was not dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (status, feed) = zb_tests::get_http(&http, &cloud.api_url, "key-a", &format!("/v1/feeds/{id}")).await;
    cloud.shutdown().await;
    assert_eq!(status, 200);
    assert_eq!(feed["status"], "RECEIVED", "{feed}");
    let record: Value = serde_json::from_str(&line).expect("dead letter JSON");
    let reason = record["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("NO_PERMISSIONS: "), "{reason}");
    assert!(
        reason.contains("-OrderFeedReceivedRuleRole/")
            && reason.contains("not authorized to perform: states:StartExecution"),
        "{reason}"
    );
}
