//! Schemathesis (pinned in tools/requirements.txt, run from .venv) against a
//! running local cloud: the one runner both contract tests share. Bounded in
//! examples per operation and in time; traffic goes to 127.0.0.1 only.

use crate::cloud::repo;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// Generated cases per operation and phase.
const MAX_EXAMPLES: &str = "25";
/// The whole run's budget, in seconds.
const MAX_TIME: &str = "90";
/// Fixed so CI runs the same cases; ZB_SCHEMATHESIS_SEED explores others.
const DEFAULT_SEED: &str = "7";

/// The `st` executable in .venv; panics, saying how to get it, when missing.
pub fn st() -> PathBuf {
    let st = repo().join(".venv").join("bin").join("st");
    if !st.exists() {
        panic!(
            "{} is missing: run `make tools` (schemathesis is pinned in tools/requirements.txt)",
            st.display()
        );
    }
    st
}

/// One schemathesis run.
pub struct Run {
    /// The `st` executable, from [`st`].
    pub st: PathBuf,
    /// Prefix of the run's working directory under the temp dir.
    pub work_prefix: &'static str,
    /// The config file's name in tests/.
    pub config: &'static str,
    /// The OpenAPI document: a path or a URL.
    pub spec: String,
    /// The API's base URL.
    pub url: String,
    /// The header that authenticates every request (`Name: value`).
    pub header: String,
}

impl Run {
    /// Runs schemathesis (examples, coverage, fuzzing) and prints its report;
    /// returns its output for the caller to judge.
    pub async fn run(self) -> Output {
        // Hypothesis keeps its example database in the working directory.
        let work = std::env::temp_dir().join(format!("{}-{}", self.work_prefix, uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&work).expect("work dir");
        let seed = std::env::var("ZB_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_string());
        let config = repo().join("tests").join(self.config);
        let args: Vec<String> = vec![
            "--no-color".into(),
            "--config-file".into(),
            config.display().to_string(),
            "run".into(),
            self.spec,
            "--url".into(),
            self.url,
            "--header".into(),
            self.header,
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
        let st = self.st;
        let st_run = tokio::task::spawn_blocking(move || Command::new(st).args(&args).current_dir(&work).output());
        let out = tokio::time::timeout(Duration::from_secs(600), st_run)
            .await
            .expect("schemathesis ran past its time budget")
            .expect("the schemathesis task")
            .expect("schemathesis starts");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{stdout}\n{stderr}");
        out
    }
}
