//! The local-cloud subcommands: `zb up`, `zb invoke`, `zb demo`, `zb load`.

use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use zb_local::{Config, Running};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(transparent)]
    Cloud(#[from] zb_local::cloud::CloudError),
    #[error(transparent)]
    Template(#[from] zb_local::template::TemplateError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Demo(#[from] zb_local::demo::DemoError),
    #[error(transparent)]
    Load(#[from] zb_local::load::LoadError),
    #[error("{0}")]
    Invoke(String),
}

#[derive(Debug, Args, Clone)]
pub struct CloudArgs {
    /// The repository root (template.yaml, statemachines/, target/).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Stack name: the prefix of every local resource name.
    #[arg(long, default_value = "zb")]
    pub stack: String,
    /// Template parameter override, e.g. --param WorkflowType=STANDARD.
    #[arg(long = "param", value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// Where the function binaries are (default: beside this zb if they are there, else <repo>/target/release).
    #[arg(long)]
    pub binaries: Option<PathBuf>,
    /// Use this DynamoDB instead of starting DynamoDB Local.
    #[arg(long, env = "ZB_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// Folder for execution histories, logs and dead letters.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Speed of Wait states and retry delays (0.01 = 100x faster).
    #[arg(long, default_value_t = 1.0, value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: f64,
    /// Fault injection only the local cloud reads: Function=ErrorType[*times],
    /// e.g. --fault ValidateFunction=TransientDependencyError*2.
    #[arg(long = "fault", value_parser = parse_kv)]
    pub faults: Vec<(String, String)>,
    /// Warm instances per function at most (Lambda scales out up to its concurrency limit).
    #[arg(long, default_value_t = 8, value_parser = parse_at_least_one)]
    pub max_instances: usize,
    /// IAM on the calls the functions, state machines and rules make: enforce (a call the
    /// template's policies do not allow fails with AccessDeniedException), soft (logged and
    /// reported, then allowed) or off.
    #[arg(long, env = "ZB_IAM", default_value = "enforce")]
    pub iam: zb_local::iam::IamMode,
}

/// The local cloud's ports (`make run`'s defaults).
#[derive(Debug, Clone, Copy, Args)]
pub struct Ports {
    #[arg(long, default_value_t = 3000)]
    pub api_port: u16,
    /// The admin API (the template's AdminApi).
    #[arg(long = "admin-port", default_value_t = 3001)]
    pub admin_port: u16,
    /// The local Cognito (the admin API's JWT issuer; `zb login` signs in there).
    #[arg(long = "cognito-port", default_value_t = 9229)]
    pub cognito_port: u16,
    #[arg(long, default_value_t = 4000)]
    pub aws_port: u16,
    #[arg(long, default_value_t = 8000)]
    pub dynamodb_port: u16,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub cloud: CloudArgs,
    #[command(flatten)]
    pub ports: Ports,
    /// Also print every function log line (raw JSON; `zb logs` reads them at any time)
    #[arg(long)]
    pub function_logs: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The repository root (.state/)
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// The state folder to delete [default: <repo>/.state]
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The ports a running local cloud would hold: reset refuses while one answers
    #[command(flatten)]
    pub ports: Ports,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// `--time-scale`: a finite number above 0 and at most 1000 (NaN, infinities,
/// zero and negatives would make every scaled wait meaningless or panic).
pub fn parse_time_scale(s: &str) -> Result<f64, String> {
    let scale: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number (1 = real time, 0.01 = 100x faster)"))?;
    zb_local::cloud::check_time_scale(scale).map_err(|e| e.to_string())
}

/// A count that must be at least 1 (0 would wait forever).
pub fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} must be a whole number of at least 1")),
    }
}

/// The ports of one local cloud: its APIs, the local Cognito, the AWS endpoint, DynamoDB Local.
struct PortSet {
    api: u16,
    admin: u16,
    cognito: u16,
    aws: u16,
    dynamodb: u16,
}

impl From<&Ports> for PortSet {
    fn from(p: &Ports) -> Self {
        Self {
            api: p.api_port,
            admin: p.admin_port,
            cognito: p.cognito_port,
            aws: p.aws_port,
            dynamodb: p.dynamodb_port,
        }
    }
}

/// demo and load: free ports for everything, beside a running `zb up`.
fn free_ports() -> PortSet {
    PortSet {
        api: 0,
        admin: 0,
        cognito: 0,
        aws: 0,
        dynamodb: free_port(),
    }
}

fn config(args: &CloudArgs, ports: PortSet) -> Config {
    let repo = args.repo.canonicalize().unwrap_or_else(|_| args.repo.clone());
    let mut c = Config::for_repo(repo.clone());
    c.stack = args.stack.clone();
    c.parameters = args.params.iter().cloned().collect::<BTreeMap<_, _>>();
    if let Some(b) = &args.binaries {
        c.binaries = b.clone();
    }
    c.dynamodb_endpoint = args.dynamodb_endpoint.clone();
    if let Some(s) = &args.state_dir {
        c.state_dir = s.clone();
    }
    c.time_scale = args.time_scale;
    c.api_port = ports.api;
    c.admin_api_port = ports.admin;
    c.cognito_port = ports.cognito;
    c.aws_port = ports.aws;
    c.dynamodb_port = ports.dynamodb;
    c.faults = args.faults.clone();
    c.max_instances = args.max_instances;
    c.iam = args.iam;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_scales_that_would_panic_are_refused_clearly() {
        for bad in [
            "0", "-1", "-0.5", "NaN", "nan", "inf", "-inf", "1e309", "1001", "fast", "",
        ] {
            let e = parse_time_scale(bad).unwrap_err();
            assert!(
                e.contains("must be a finite number above 0") || e.contains("is not a number"),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(parse_time_scale("0.01"), Ok(0.01));
        assert_eq!(parse_time_scale("1000"), Ok(1000.0));
    }

    #[test]
    fn the_banner_says_what_survives_and_how_to_reset() {
        let b = state_banner(std::path::Path::new(".state"), true);
        assert!(b.contains(".state keeps DynamoDB tables"), "{b}");
        assert!(b.contains("zb reset"), "{b}");
        let b = state_banner(std::path::Path::new(".state"), false);
        assert!(b.contains("--dynamodb-endpoint"), "{b}");
    }

    #[test]
    fn reset_refuses_while_a_port_answers() {
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
            return;
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            return;
        };
        assert_eq!(port_in_use(&[port]), Some(port));
        drop(listener);
        assert_eq!(port_in_use(&[port]), None);
    }

    #[test]
    fn counts_of_zero_are_refused() {
        assert!(parse_at_least_one("0").is_err());
        assert!(parse_at_least_one("-1").is_err());
        assert_eq!(parse_at_least_one("8"), Ok(8));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(8000)
}

/// What the state folder keeps, and how to start afresh: one lifetime for
/// DynamoDB's tables, the execution histories and the logs.
fn state_banner(state_dir: &std::path::Path, keeps_dynamodb: bool) -> String {
    let what = if keeps_dynamodb {
        "DynamoDB tables (partners, feeds, orders), execution histories and logs"
    } else {
        "execution histories and logs (DynamoDB is yours: --dynamodb-endpoint)"
    };
    format!(
        "State: {} keeps {what} across restarts; `zb reset` (or `make reset`) with the cloud stopped starts afresh.",
        state_dir.display()
    )
}

fn announce(r: &Running) {
    println!("ZeroBeta local cloud is up (stack {}):", r.model.stack_name);
    println!("  partner API      {}", r.api_url);
    // The ops console, on the partner API's port (standing in for CloudFront + S3).
    println!(
        "  console: {}  (console/site/ on the partner API's port)",
        r.console_url
    );
    if !r.admin_api_url.is_empty() {
        println!("  admin API        {}  (JWT from the local Cognito)", r.admin_api_url);
    }
    if !r.cognito_url.is_empty() {
        let pools: Vec<&str> = r.user_pools.iter().map(|p| p.pool_id.as_str()).collect();
        println!("  local Cognito    {}  (user pool {})", r.cognito_url, pools.join(", "));
    }
    println!(
        "  AWS endpoint     {}  (Step Functions, EventBridge, Lambda Invoke)",
        r.aws_url
    );
    println!("  DynamoDB         {}", r.dynamodb_url);
    for n in &r.model.not_emulated {
        println!("  · {n}");
    }
    println!("Sample partners (local only): partner-a key local-key-partner-a, partner-b key local-key-partner-b.");
    if !r.operators.is_empty() {
        println!(
            "Sample operators (local only, passwords in local/seed/operators.json): {}; `zb login --username admin`.",
            r.operators.join(", ")
        );
    }
    println!(
        "Try: curl -s -X POST {}/v1/feeds -H 'x-api-key: local-key-partner-a' -H 'content-type: application/json' \\\n  \
         -d '{{\"orders\":[{{\"sequenceNumber\":1,\"orderId\":\"A-1\",\"createdAt\":{},\"currency\":\"EUR\",\
         \"items\":[{{\"sku\":\"S1\",\"quantity\":1,\"unitPriceCents\":100}}]}}]}}'",
        r.api_url,
        chrono::Utc::now().timestamp_millis()
    );
    println!("{}", state_banner(r.state_dir(), r.keeps_dynamodb()));
    println!("Ctrl-C stops everything.");
}

/// Ctrl-C, or SIGTERM (`kill`, a process manager, CI's end): either stops
/// everything, DynamoDB Local included, which a killed `zb` would orphan.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub async fn up(args: UpArgs) -> Result<(), LocalError> {
    let mut running = zb_local::start(config(&args.cloud, PortSet::from(&args.ports))).await?;
    announce(&running);
    let Some(mut logs) = running.take_logs() else {
        return Err(LocalError::Usage("the function logs were already taken".into()));
    };
    let mut access = running.take_access_log();
    // Reload on save: template.yaml, statemachines/ and the function binaries.
    let mut reloads = running.watch();
    println!("Watching template.yaml, the state machine definitions and the function binaries for changes.");
    if args.function_logs {
        println!("One line per API request below, and every function log line.");
    } else {
        println!("One line per API request below; function logs: `zb logs --follow` (or zb up --function-logs).");
    }
    let stop = stop_requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            line = logs.recv() => match line {
                // Always drained: the files are written either way.
                Some(l) if args.function_logs => println!("[{}] {}", l.function, l.line),
                Some(_) => {}
                None => break,
            },
            Some(line) = next_access(&mut access) => println!("{line}"),
            Some(event) = reloads.recv() => println!("[reload] {event}"),
            _ = &mut stop => break,
        }
    }
    println!("stopping…");
    running.shutdown().await;
    Ok(())
}

/// The next access log line; pending forever without an API.
async fn next_access(
    access: &mut Option<tokio::sync::mpsc::UnboundedReceiver<zb_local::apigw::AccessLine>>,
) -> Option<zb_local::apigw::AccessLine> {
    match access {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The first of `ports` on which something answers on 127.0.0.1.
fn port_in_use(ports: &[u16]) -> Option<u16> {
    ports.iter().copied().find(|&p| {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p));
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
    })
}

/// `zb reset`: deletes the state folder (DynamoDB Local's tables, execution
/// histories, logs, dead letters), refusing while a local cloud runs on the
/// ports. Stops nothing.
pub fn reset(args: ResetArgs) -> Result<(), LocalError> {
    let state_dir = args.state_dir.clone().unwrap_or_else(|| args.repo.join(".state"));
    if let Some(port) = port_in_use(&[
        args.ports.api_port,
        args.ports.admin_port,
        args.ports.cognito_port,
        args.ports.aws_port,
        args.ports.dynamodb_port,
    ]) {
        return Err(LocalError::Usage(format!(
            "something answers on 127.0.0.1:{port}: a local cloud is running (it holds {}); stop it (Ctrl-C in              its terminal) and run zb reset again",
            state_dir.display()
        )));
    }
    match std::fs::remove_dir_all(&state_dir) {
        Ok(()) => {
            println!(
                "reset: deleted {} (DynamoDB tables, execution histories, logs); the next zb up starts afresh",
                state_dir.display()
            );
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("reset: {} does not exist; nothing to delete", state_dir.display());
            Ok(())
        }
        Err(e) => Err(LocalError::Usage(format!("deleting {}: {e}", state_dir.display()))),
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub cloud: CloudArgs,
    /// Seconds to wait for each feed.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// demo and load keep their histories out of the developer's `.state/`.
fn throwaway(args: &CloudArgs) -> CloudArgs {
    let mut args = args.clone();
    if args.state_dir.is_none() {
        let dir = std::env::temp_dir().join(format!("zb-run-{}", std::process::id()));
        args.state_dir = Some(dir);
    }
    args
}

pub async fn demo(args: DemoArgs) -> Result<bool, LocalError> {
    let running = zb_local::start(config(&throwaway(&args.cloud), free_ports())).await?;
    let repo = args.cloud.repo.clone();
    let rows = zb_local::demo::run(
        &running.api_url,
        &running.aws_url,
        &repo.join("local/seed/feeds"),
        &repo.join("local/seed/partners.json"),
        Duration::from_secs(args.timeout),
    )
    .await;
    running.shutdown().await;
    let rows = rows?;
    print!("{}", zb_local::demo::render(&rows));
    let ok = rows.iter().all(|r| r.ok);
    println!(
        "{}",
        if ok {
            "demo: every outcome is the expected one"
        } else {
            "demo: UNEXPECTED outcomes above"
        }
    );
    Ok(ok)
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub cloud: CloudArgs,
    /// Feeds per second offered.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// How long to offer load.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 256, value_parser = parse_at_least_one)]
    pub max_in_flight: usize,
}

pub async fn load(args: LoadArgs) -> Result<(), LocalError> {
    if args.seconds > 600 || args.rate > 5000 {
        return Err(LocalError::Usage(
            "load is bounded: at most 600 s and 5000 feeds/s".into(),
        ));
    }
    let mut running = zb_local::start(config(&throwaway(&args.cloud), free_ports())).await?;
    let logs = running.take_logs();
    // Shared, not returned: the log channel may outlive the run.
    let stats = std::sync::Arc::new(std::sync::Mutex::new(zb_local::load::ReportStats::default()));
    let collector = stats.clone();
    tokio::spawn(async move {
        if let Some(mut logs) = logs {
            while let Some(l) = logs.recv().await {
                if let Ok(mut s) = collector.lock() {
                    s.add(&l.function, &l.line);
                }
            }
        }
    });
    let plan = zb_local::load::Plan {
        api_url: running.api_url.clone(),
        api_key: "local-key-partner-a".into(),
        rate_per_sec: args.rate,
        duration: Duration::from_secs(args.seconds),
        max_in_flight: args.max_in_flight,
        drain_timeout: Duration::from_secs(120),
        // Unique per run, so a rerun against the same DynamoDB never collides.
        first_sequence: chrono::Utc::now().timestamp_millis() as u64 * 1000,
    };
    println!(
        "load: {} feeds/s for {} s against {} (127.0.0.1 only)",
        args.rate, args.seconds, running.api_url
    );
    let report = zb_local::load::run(&plan).await;
    running.shutdown().await;
    let report = report?;
    print!("{}", zb_local::load::render(&report));
    if let Ok(stats) = stats.lock() {
        print!("{}", stats.render());
    }
    Ok(())
}

#[derive(Debug, Args)]
#[command(
    after_help = "The function runs in the running local cloud (`make run`; --local is the default here, --endpoint-url names another AWS endpoint): its AWS calls go to that cloud's endpoints and tables. Its log lines are in the `make run` terminal and `zb logs`. --binaries DIR runs the binary here instead, without a cloud. Exit status 0 when the function succeeded, 1 otherwise."
)]
pub struct InvokeArgs {
    /// The function's logical id in template.yaml, e.g. IngestFunction.
    pub function: String,
    /// The event file (the same files `sam local invoke -e` takes).
    #[arg(short = 'e', long = "event")]
    pub event: Option<PathBuf>,
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// The running local cloud's stack name (its functions are `<stack>-<name>`).
    #[arg(long, default_value = "zb")]
    pub stack: String,
    /// Run the binary from this folder here, without a local cloud (its AWS calls go where
    /// --local, --endpoint-url or AWS_ENDPOINT_URL* say)
    #[arg(long)]
    pub binaries: Option<PathBuf>,
}

/// A Docker-free `sam local invoke`: Lambda Invoke on the running local
/// cloud (the template's environment, its endpoints and tables), or with
/// --binaries the real binary here, one invocation.
pub async fn invoke(aws: &crate::aws::AwsArgs, args: InvokeArgs) -> Result<bool, LocalError> {
    let model = zb_local::template::load(&args.repo.join("template.yaml"), &args.stack, &BTreeMap::new())?;
    let f = model
        .functions
        .iter()
        .find(|f| f.logical_id == args.function || f.name == args.function)
        .ok_or_else(|| {
            let ids: Vec<_> = model.functions.iter().map(|f| f.logical_id.as_str()).collect();
            LocalError::Usage(format!(
                "no function {} in template.yaml; it has {}",
                args.function,
                ids.join(", ")
            ))
        })?;
    let payload = match &args.event {
        Some(p) => std::fs::read(p).map_err(|e| LocalError::Usage(format!("reading {}: {e}", p.display())))?,
        None => b"{}".to_vec(),
    };
    match &args.binaries {
        Some(binaries) => invoke_here(aws, f, binaries, payload).await,
        None => invoke_in_cloud(aws, &f.name, &args.stack, payload).await,
    }
}

/// Lambda Invoke on the running cloud, with the REPORT line (LogType Tail).
async fn invoke_in_cloud(
    aws: &crate::aws::AwsArgs,
    name: &str,
    stack: &str,
    payload: Vec<u8>,
) -> Result<bool, LocalError> {
    use crate::aws::{Aws, AwsError, Service};
    use base64::Engine;
    let mut aws = aws.clone();
    if aws.endpoint_for(Service::Lambda).is_none() {
        aws.local = true;
    }
    let loaded = Aws::load_for(&aws, Service::Lambda).await;
    let target = loaded.target(Service::Lambda);
    let client = aws_sdk_lambda::Client::new(&loaded.config);
    let out = client
        .invoke()
        .function_name(name)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .log_type(aws_sdk_lambda::types::LogType::Tail)
        .send()
        .await
        .map_err(|e| {
            let e = AwsError::from_sdk(&target, "Invoke", e);
            match e.code() {
                Some("ResourceNotFoundException") => LocalError::Invoke(format!(
                    "{e} (is the running cloud's stack {stack}? pass --stack to match `zb up --stack`)"
                )),
                _ => LocalError::Invoke(e.to_string()),
            }
        })?;
    println!(
        "{}",
        String::from_utf8_lossy(out.payload().map(|b| b.as_ref()).unwrap_or_default())
    );
    if let Some(log) = out.log_result() {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(log) {
            for line in String::from_utf8_lossy(&bytes).lines() {
                eprintln!("{line}");
            }
        }
    }
    if target.is_emulator() {
        eprintln!("(the function's log lines: the `make run` terminal, or `zb logs`)");
    }
    Ok(out.function_error().is_none())
}

/// The binary run here (no cloud), with the template's environment plus the
/// endpoints the flags or the caller's environment name.
async fn invoke_here(
    aws: &crate::aws::AwsArgs,
    f: &zb_local::template::Function,
    binaries: &std::path::Path,
    payload: Vec<u8>,
) -> Result<bool, LocalError> {
    use crate::aws::Service;
    let binary = binaries.join(&f.binary);
    if !binary.exists() {
        return Err(LocalError::Usage(format!(
            "{} not found; build it with `cargo build --profile local -p {}` (or run `make run` once)",
            binary.display(),
            f.binary
        )));
    }
    let mut env = f.env.clone();
    for (k, v) in std::env::vars() {
        if k.starts_with("AWS_ENDPOINT_URL")
            || k.starts_with("AWS_ACCESS_KEY")
            || k == "AWS_SECRET_ACCESS_KEY"
            || k == "AWS_REGION"
        {
            env.insert(k, v);
        }
    }
    if aws.local || aws.endpoint_url.is_some() {
        for (var, service) in [
            ("AWS_ENDPOINT_URL", Service::StepFunctions),
            ("AWS_ENDPOINT_URL_DYNAMODB", Service::DynamoDb),
        ] {
            if let Some(url) = aws.endpoint_for(service) {
                env.insert(var.to_string(), url);
            }
        }
        env.entry("AWS_ACCESS_KEY_ID".into()).or_insert_with(|| "local".into());
        env.entry("AWS_SECRET_ACCESS_KEY".into())
            .or_insert_with(|| "local".into());
    }
    if let Some(r) = &aws.region {
        env.insert("AWS_REGION".into(), r.clone());
    }
    let spec = zb_lambda_host::FunctionSpec {
        name: f.name.clone(),
        binary,
        env,
        timeout: Duration::from_secs(f.timeout_secs),
        memory_mb: f.memory_mb,
        max_instances: 1,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let host = zb_lambda_host::LambdaHost::new(vec![spec], tx);
    let result = host.invoke(&f.name, payload).await;
    host.shutdown().await;
    // The function's own log lines and START/END/REPORT, to stderr as sam does.
    while let Ok(line) = rx.try_recv() {
        if !line.line.starts_with("REPORT ") {
            eprintln!("{}", line.line);
        }
    }
    let inv = result.map_err(|e| LocalError::Invoke(e.to_string()))?;
    println!("{}", String::from_utf8_lossy(inv.payload()));
    eprintln!("{}", inv.report);
    Ok(inv.result.is_ok())
}
