//! The API contract, tested from the outside: schemathesis (pinned in
//! tools/requirements.txt, run from .venv) reads openapi.yaml as the local
//! cloud serves it, generates requests for every operation with a sample
//! partner's key, and checks every answer: no 5xx, no status code, content
//! type, header or body the spec does not document. Bounded in examples per
//! operation and in time; traffic goes to 127.0.0.1 only.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use zb_tests::cloud::{repo, start, Options};

/// Generated cases per operation and phase.
const MAX_EXAMPLES: &str = "25";
/// The whole run's budget, in seconds.
const MAX_TIME: &str = "90";
/// Fixed so CI runs the same cases; ZB_SCHEMATHESIS_SEED explores others.
const DEFAULT_SEED: &str = "7";

fn st() -> PathBuf {
    let st = repo().join(".venv").join("bin").join("st");
    if !st.exists() {
        panic!(
            "{} is missing: run `make tools` (schemathesis is pinned in tools/requirements.txt)",
            st.display()
        );
    }
    st
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_contract_violation() {
    let st = st();
    let cloud = start(Options::default()).await;
    let spec_url = format!("{}/v1/openapi.json", cloud.api_url);

    // The served document is openapi.yaml itself, and needs no key.
    let served: Value = reqwest::get(&spec_url)
        .await
        .expect("GET /v1/openapi.json")
        .json()
        .await
        .expect("the served spec is JSON");
    let text = std::fs::read_to_string(repo().join("openapi.yaml")).expect("openapi.yaml");
    let on_disk: Value = serde_yaml::from_str(&text).expect("openapi.yaml parses");
    assert_eq!(
        served, on_disk,
        "the local cloud serves another openapi.yaml (rebuild zb-local)"
    );

    // Hypothesis keeps its example database in the working directory.
    let work = std::env::temp_dir().join(format!("zb-schemathesis-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).expect("work dir");
    let seed = std::env::var("ZB_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_string());
    let config = repo().join("tests").join("schemathesis.toml");
    let args: Vec<String> = vec![
        "--no-color".into(),
        "--config-file".into(),
        config.display().to_string(),
        "run".into(),
        spec_url,
        "--url".into(),
        cloud.api_url.clone(),
        "--header".into(),
        "x-api-key: key-a".into(),
        "--phases".into(),
        "examples,coverage,fuzzing".into(),
        "--max-examples".into(),
        MAX_EXAMPLES.into(),
        "--max-time".into(),
        MAX_TIME.into(),
        "--request-timeout".into(),
        "15".into(),
        "--workers".into(),
        "1".into(),
        "--seed".into(),
        seed,
        "--suppress-health-check".into(),
        "too_slow,filter_too_much".into(),
    ];
    let st_run = tokio::task::spawn_blocking(move || Command::new(st).args(&args).current_dir(&work).output());
    let out = tokio::time::timeout(Duration::from_secs(600), st_run)
        .await
        .expect("schemathesis ran past its time budget")
        .expect("the schemathesis task")
        .expect("schemathesis starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    cloud.shutdown().await;
    assert!(
        out.status.success(),
        "schemathesis found problems (exit {:?}); its report is above",
        out.status.code()
    );
    assert!(
        stdout.contains("passed") && !stdout.contains("No operations"),
        "schemathesis ran no test"
    );
}
