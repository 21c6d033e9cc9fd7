//! The admin API's contract, tested from the outside: schemathesis (pinned
//! in tools/requirements.txt, run from .venv) reads openapi-admin.yaml,
//! generates requests for every operation with an administrator's access
//! token (InitiateAuth on the local Cognito, as `zb login` gets it), and
//! checks every answer: no 5xx, no status code, content type, header or
//! body the document does not describe, and no operation that answers
//! without a valid token (`ignored_auth`). Bounded in examples per
//! operation and in time; traffic goes to 127.0.0.1 only.

use zb_tests::cloud::{repo, start, Options};
use zb_tests::operators::{login, Endpoints, ADMIN};
use zb_tests::schemathesis::{st, Run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_admin_contract_violation() {
    let st = st();
    let cloud = start(Options::default()).await;
    let endpoints = Endpoints::read(cloud.state_dir());
    assert!(
        endpoints.admin_api.starts_with("http://127.0.0.1:"),
        "the admin API is not on 127.0.0.1: {}",
        endpoints.admin_api
    );
    let http = reqwest::Client::new();
    let token = login(&http, &endpoints, ADMIN).await.access;

    let out = Run {
        st,
        work_prefix: "zb-schemathesis-admin",
        config: "schemathesis-admin.toml",
        spec: repo().join("openapi-admin.yaml").display().to_string(),
        url: endpoints.admin_api.trim_end_matches('/').to_string(),
        header: format!("Authorization: Bearer {token}"),
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
