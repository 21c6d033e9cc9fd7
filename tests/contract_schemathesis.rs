//! The API contract, tested from the outside: schemathesis (pinned in
//! tools/requirements.txt, run from .venv) reads openapi.yaml as the local
//! cloud serves it, generates requests for every operation with a sample
//! partner's key, and checks every answer: no 5xx, no status code, content
//! type, header or body the spec does not document. Bounded in examples per
//! operation and in time; traffic goes to 127.0.0.1 only.

use serde_json::Value;
use zb_tests::cloud::{repo, start, Options};
use zb_tests::schemathesis::{st, Run};

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

    let out = Run {
        st,
        work_prefix: "zb-schemathesis",
        config: "schemathesis.toml",
        spec: spec_url,
        url: cloud.api_url.clone(),
        header: "x-api-key: key-a".into(),
    }
    .run()
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
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
