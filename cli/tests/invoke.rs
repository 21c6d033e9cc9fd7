//! `zb invoke`: a Docker-free `sam local invoke` on the real debug binaries
//! (`cargo build --workspace --bins`, which `make test` runs first).

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn binaries() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target"));
    let dir = target.join("debug");
    assert!(
        dir.join("transform").exists(),
        "no function binaries in {}; run `cargo build --workspace --bins` first (make test does)",
        dir.display()
    );
    dir
}

fn zb(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zb"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("zb runs")
}

/// Creates the stack's feeds table in the DynamoDB Local `scripts/with-dynamodb`
/// points AWS_ENDPOINT_URL_DYNAMODB at: transform stages its batch there
/// (a batch with order content never travels in a state, PRIVACY.md).
fn feeds_table(stack: &str) {
    let model = zb_local::template::load(&repo().join("template.yaml"), stack, &Default::default())
        .expect("the template loads");
    let table = model
        .tables
        .iter()
        .find(|t| t.logical_id == "FeedsTable")
        .expect("FeedsTable")
        .clone();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        zb_local::tables::create(&client, &table, &table.name)
            .await
            .expect("CreateTable (run under scripts/with-dynamodb, as make test does)");
    });
}

#[test]
fn invoke_runs_a_function_on_a_sample_event_and_prints_the_report_line() {
    let bins = binaries();
    let stack = format!("inv{}", std::process::id());
    feeds_table(&stack);
    let out = zb(&[
        "invoke",
        "TransformFunction",
        "-e",
        "events/transform.json",
        "--stack",
        &stack,
        "--binaries",
        bins.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let response: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the response is JSON");
    assert!(response["batch"]["staged"]["parts"].as_u64() > Some(0), "{response}");
    let report = stderr
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .expect("a REPORT line");
    assert!(
        report.contains("\tDuration: ") && report.contains("Billed Duration: ") && report.contains("Init Duration: "),
        "{report}"
    );
    assert!(report.contains("Memory Size: 128 MB"), "{report}");
}

#[test]
fn invoke_fails_with_the_functions_error_and_names_unknown_functions() {
    let bins = binaries();
    // validate without a reachable DynamoDB: a named error, exit code 1.
    let out = Command::new(env!("CARGO_BIN_EXE_zb"))
        .args([
            "invoke",
            "ValidateFunction",
            "-e",
            "events/validate.json",
            "--binaries",
            bins.to_str().unwrap(),
        ])
        .current_dir(repo())
        .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("zb runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TransientDependencyError"), "{stdout}");

    let out = zb(&["invoke", "NoSuchFunction", "--binaries", bins.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NoSuchFunction") && stderr.contains("IngestFunction"),
        "{stderr}"
    );
}
