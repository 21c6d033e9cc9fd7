//! Starts a local cloud for an end-to-end test: its own stack name (so its
//! tables are its own), free ports, a throwaway state folder, the debug
//! function binaries, and DynamoDB from `scripts/with-dynamodb`. Tests then
//! talk to it only through its public endpoints.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use zb_local::{Config, Running};

pub fn repo() -> PathBuf {
    crate::template::repo_root()
}

/// The function binaries `cargo build --workspace --bins` made.
pub fn binaries() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target"));
    let dir = target.join("debug");
    if !dir.join("ingest").exists() {
        panic!(
            "no function binaries in {}; run `cargo build --workspace --bins` first (make test does)",
            dir.display()
        );
    }
    dir
}

pub struct Options {
    /// Reuse a state folder (to restart a cloud); a fresh one otherwise.
    pub state_dir: Option<PathBuf>,
    /// Reuse a stack name (its tables); a fresh one otherwise.
    pub stack: Option<String>,
    pub faults: Vec<(String, String)>,
    pub seed: serde_json::Value,
    pub parameters: Vec<(String, String)>,
    /// A template other than the repository's (a temp copy a test may edit).
    pub template: Option<PathBuf>,
    /// Function binaries other than `binaries()`.
    pub binaries: Option<PathBuf>,
    /// IAM mode; enforce, as `make run`, unless a test says otherwise.
    pub iam: zb_local::iam::IamMode,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            state_dir: None,
            stack: None,
            faults: Vec::new(),
            seed: serde_json::json!([
                {"partnerId": "partner-a", "name": "A", "format": "partner-a@1", "apiKey": "key-a"},
                {"partnerId": "partner-b", "name": "B", "format": "partner-b@1", "apiKey": "key-b"}
            ]),
            parameters: Vec::new(),
            template: None,
            binaries: None,
            iam: zb_local::iam::IamMode::Enforce,
        }
    }
}

pub async fn start(options: Options) -> Running {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL_DYNAMODB is not set: run `make test` or `scripts/with-dynamodb cargo test`")
    });
    let id = uuid::Uuid::new_v4().simple().to_string();
    let state = options
        .state_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("zb-e2e-{id}")));
    std::fs::create_dir_all(&state).unwrap_or_else(|e| panic!("state folder: {e}"));
    let seed = state.join("partners.json");
    std::fs::write(&seed, options.seed.to_string()).unwrap_or_else(|e| panic!("seed file: {e}"));
    let mut c = Config::for_repo(repo());
    c.stack = options.stack.clone().unwrap_or_else(|| format!("e2e{}", &id[..10]));
    c.api_port = 0;
    c.admin_api_port = 0;
    c.cognito_port = 0;
    c.aws_port = 0;
    c.dynamodb_endpoint = Some(endpoint);
    c.binaries = options.binaries.clone().unwrap_or_else(binaries);
    if let Some(template) = &options.template {
        c.template = template.clone();
    }
    c.state_dir = state;
    c.seed_file = Some(seed);
    // Retry delays 100x faster; no timed assertion depends on it.
    c.time_scale = 0.01;
    c.max_instances = 2;
    c.faults = options.faults;
    c.iam = options.iam;
    c.parameters = options.parameters.into_iter().collect();
    let (stack, state_dir) = (c.stack.clone(), c.state_dir.clone());
    let running = zb_local::start(c)
        .await
        .unwrap_or_else(|e| panic!("the local cloud did not start: {e}"));
    note_run(&stack, &state_dir);
    running
}

/// Lists a cloud's stack and state folder where `make test` asks (ZB_IAM_RUNS), so
/// `make iam-report` can merge every test's IAM ledger into one report.
fn note_run(stack: &str, state_dir: &std::path::Path) {
    use std::io::Write;
    let Ok(list) = std::env::var("ZB_IAM_RUNS") else { return };
    // One short line per append: concurrent tests do not interleave it.
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(list) {
        let _ = writeln!(f, "{stack}\t{}", state_dir.display());
    }
}

/// AWS SDK configuration pointed at the local cloud's AWS endpoint.
pub async fn sdk(aws_url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "e2e",
        ))
        .load()
        .await
}

/// A local cloud shared by every test of one test binary: the handler tests
/// point their real EventBridge and Step Functions clients at it. It runs
/// on a runtime of its own (each `#[tokio::test]` has its own, which ends
/// with the test) until the test binary exits; its function instances die
/// with it. Partners are not seeded: the handler tests keep their data in
/// their own tables.
pub struct SharedCloud {
    /// The AWS endpoint: EventBridge PutEvents, Step Functions, Lambda Invoke.
    pub aws_url: String,
    pub services: Arc<zb_local::cloud::Services>,
    pub model: zb_local::template::Model,
}

static SHARED: OnceLock<SharedCloud> = OnceLock::new();

/// The test binary's shared local cloud, started on first use. Blocks while
/// it starts: call it from `spawn_blocking` in async code (see [`shared_cloud`]).
pub fn shared_cloud_blocking() -> &'static SharedCloud {
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("zb-local-cloud".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("a runtime for the local cloud: {e}"));
                rt.block_on(async move {
                    let running = start(Options {
                        seed: serde_json::json!([]),
                        ..Options::default()
                    })
                    .await;
                    let _ = tx.send(SharedCloud {
                        aws_url: running.aws_url.clone(),
                        services: running.services.clone(),
                        model: running.model.clone(),
                    });
                    // Serve until the test binary exits.
                    std::future::pending::<()>().await;
                    running.shutdown().await;
                });
            })
            .unwrap_or_else(|e| panic!("a thread for the local cloud: {e}"));
        rx.recv()
            .unwrap_or_else(|_| panic!("the shared local cloud did not start (see the panic above)"))
    })
}

/// The test binary's shared local cloud, started on first use.
pub async fn shared_cloud() -> &'static SharedCloud {
    tokio::task::spawn_blocking(shared_cloud_blocking)
        .await
        .unwrap_or_else(|e| panic!("starting the shared local cloud: {e}"))
}

/// A local cloud, seeded with the demo's partners, after `zb demo`'s sample
/// feeds ran through it (the cost tests' set-up).
pub struct Demo {
    pub cloud: Running,
    /// The cloud's state folder (its logs and execution histories).
    pub state: PathBuf,
    /// The cloud's stack name: function `f` logs to `{stack}-{f}`.
    pub stack: String,
    pub rows: Vec<zb_local::demo::Row>,
}

/// Starts a cloud on a fresh `{state_prefix}-<id>` state folder and
/// `{stack_prefix}<id>` stack, seeded with local/seed/partners.json, and
/// runs local/seed/feeds through it, waiting up to `wait` for each feed.
pub async fn run_demo(state_prefix: &str, stack_prefix: &str, wait: std::time::Duration) -> Demo {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let state = std::env::temp_dir().join(format!("{state_prefix}-{id}"));
    let stack = format!("{stack_prefix}{}", &id[..10]);
    let seed_file = repo().join("local/seed/partners.json");
    let seed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&seed_file).expect("seed")).expect("seed JSON");
    let cloud = start(Options {
        state_dir: Some(state.clone()),
        stack: Some(stack.clone()),
        seed,
        ..Options::default()
    })
    .await;
    let rows = zb_local::demo::run(
        &cloud.api_url,
        &cloud.aws_url,
        &repo().join("local/seed/feeds"),
        &seed_file,
        wait,
    )
    .await
    .expect("the demo runs");
    Demo {
        cloud,
        state,
        stack,
        rows,
    }
}

/// The cost events persist and record-error published to EventBridge (for
/// notify), from their log files in `state`.
pub fn published_cost_events(state: &std::path::Path, stack: &str) -> u64 {
    ["persist", "record-error"]
        .iter()
        .flat_map(|f| zb_local::logs::read(state, Some(&format!("{stack}-{f}"))).expect("log file"))
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.message).ok())
        .filter(|v| v["record"] == "cost")
        .map(|v| v["EventBridgeEntries"].as_u64().unwrap_or(0))
        .sum()
}
