//! `zb` aimed at a running local cloud the one way every subcommand
//! shares (issue 19): `zb invoke` runs the function in that cloud (its
//! endpoints and tables), and `zb partners ... disable` says what changed
//! and when it takes effect.

use std::process::Output;
use zb_tests::cloud::{binaries, repo, start, Options};

async fn zb(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(binaries().join("zb"));
        cmd.args(&args).current_dir(repo()).env("NO_COLOR", "1");
        // Only the flags aim zb: no endpoint or credentials from the test's environment.
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("ZB_") {
                cmd.env_remove(k);
            }
        }
        cmd.output().unwrap_or_else(|e| panic!("zb runs: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("zb: {e}"))
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_runs_in_the_running_cloud_and_partner_changes_say_when_they_apply() {
    let cloud = start(Options::default()).await;
    let stack = cloud.model.stack_name.clone();

    // zb invoke: the ingest function of the running stack, through the cloud's AWS endpoint.
    let out = zb(strings(&[
        "invoke",
        "IngestFunction",
        "-e",
        "events/ingest-partner-a.json",
        "--stack",
        &stack,
        "--endpoint-url",
        &cloud.aws_url,
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let response: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the response is JSON ({e}): {stdout}"));
    assert!(response.get("statusCode").is_some(), "{response}");
    assert!(stderr.lines().any(|l| l.starts_with("REPORT RequestId: ")), "{stderr}");
    assert!(!stderr.contains("DispatchFailure"), "{stderr}");

    // An unknown stack: one line, naming --stack.
    let out = zb(strings(&[
        "invoke",
        "IngestFunction",
        "-e",
        "events/ingest-partner-a.json",
        "--stack",
        "no-such-stack",
        "--endpoint-url",
        &cloud.aws_url,
    ]))
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--stack") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );

    // zb partners disable, with --local-style flags at the test cloud's ports.
    let out = zb(strings(&[
        "partners",
        "--direct",
        "--local",
        "--endpoint-url",
        &cloud.aws_url,
        "--dynamodb-endpoint",
        &cloud.dynamodb_url,
        "--stack",
        &stack,
        "disable",
        "partner-b",
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("disabled partner partner-b at "), "{stdout}");
    assert!(
        stdout.contains("caches keys for up to 300 s (ReauthorizeEvery in template.yaml)") && stdout.contains("until "),
        "{stdout}"
    );

    // A DynamoDB call sent to the AWS endpoint: the answer names the port that serves DynamoDB.
    let out = zb(strings(&[
        "partners",
        "--direct",
        "--endpoint-url",
        &cloud.aws_url,
        "--stack",
        &stack,
        "list",
    ]))
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("UnknownOperationException") && stderr.contains("8000") && stderr.contains("--local"),
        "{stderr}"
    );

    // deliveries list without --partner: every partner's (none yet), no error.
    let out = zb(strings(&[
        "deliveries",
        "--direct",
        "--local",
        "--dynamodb-endpoint",
        &cloud.dynamodb_url,
        "--stack",
        &stack,
        "list",
    ]))
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DELIVERY"));

    cloud.shutdown().await;
}
