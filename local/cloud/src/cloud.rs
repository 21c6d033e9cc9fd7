//! Wires the emulated services together and serves them: the partner API,
//! the AWS-compatible endpoint, DynamoDB Local, the Lambda host, the event
//! bus and the state machine engine.

use crate::apigw::{Gateway, Invoke};
use crate::eventbridge::{Deliver, EventBridge};
use crate::iam::{Iam, IamMode};
use crate::sfn::{
    zb_asl_invoker::{DynInvoker, TaskCaller},
    StepFunctions,
};
use crate::template::{Model, TemplateError};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use zb_lambda_host::{FunctionSpec, LambdaHost, LogLine};

#[derive(Debug, Clone)]
pub struct Config {
    /// The repository root: template.yaml, statemachines/, target/.
    pub repo: PathBuf,
    pub template: PathBuf,
    pub stack: String,
    pub parameters: BTreeMap<String, String>,
    /// The port of the HttpApi `PartnerApi` (or, in a template without one,
    /// of its first HttpApi other than `AdminApi`).
    pub api_port: u16,
    /// The port of the HttpApi `AdminApi`. Every other HttpApi gets a free port
    /// ([`Running::api_urls`]).
    pub admin_api_port: u16,
    /// The local Cognito (discovery, JWKS, InitiateAuth) of the template's
    /// user pools, or of the ExistingUserPoolId parameter.
    pub cognito_port: u16,
    /// The local Cognito's users (local-only credentials); absent: none.
    pub operators_file: Option<PathBuf>,
    pub aws_port: u16,
    pub dynamodb_port: u16,
    /// Use this DynamoDB instead of starting DynamoDB Local.
    pub dynamodb_endpoint: Option<String>,
    /// Where the function binaries are (`target/release`).
    pub binaries: PathBuf,
    pub state_dir: PathBuf,
    /// Seed partners from this file after creating the tables.
    pub seed_file: Option<PathBuf>,
    /// 1.0 is real time; smaller makes Waits and retry delays faster.
    pub time_scale: f64,
    /// Instances per function under concurrent load.
    pub max_instances: usize,
    /// Fault injection, read only by the local cloud: (function logical id
    /// or name, `ErrorType` or `ErrorType*times`).
    pub faults: Vec<(String, String)>,
    /// How IAM is applied to the calls made inside the local cloud (see [`crate::iam`]).
    pub iam: IamMode,
    /// How often the TTL sweeper deletes expired items (× `time_scale`;
    /// see [`crate::dynamodb_ttl`]); None: only [`Running::sweep_ttl`] does.
    pub ttl_sweep_every: Option<Duration>,
}

/// Where the function binaries are by default: beside the running `zb`, when
/// it was built with them (`target/local/zb` runs `target/local/*`, the
/// local cloud's own build profile; `target/release/zb` the deployed
/// profile's); otherwise `<repo>/target/release`.
pub fn default_binaries(repo: &std::path::Path) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf))
        .filter(|dir| dir.join("ingest").is_file())
        .unwrap_or_else(|| repo.join("target").join("release"))
}

impl Config {
    pub fn for_repo(repo: PathBuf) -> Self {
        Self {
            template: repo.join("template.yaml"),
            stack: "zb".into(),
            parameters: BTreeMap::new(),
            api_port: 3000,
            admin_api_port: 3001,
            cognito_port: 9229,
            operators_file: Some(repo.join("local").join("seed").join("operators.json")),
            aws_port: 4000,
            dynamodb_port: 8000,
            dynamodb_endpoint: None,
            binaries: default_binaries(&repo),
            state_dir: repo.join(".state"),
            seed_file: Some(repo.join("local").join("seed").join("partners.json")),
            time_scale: 1.0,
            max_instances: 8,
            faults: Vec::new(),
            iam: IamMode::Enforce,
            ttl_sweep_every: Some(crate::dynamodb_ttl::DEFAULT_PERIOD),
            repo,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("binding {what} on 127.0.0.1:{port}: {source}")]
    Bind {
        what: &'static str,
        port: u16,
        source: std::io::Error,
    },
    #[error("creating the state folder {path}: {source}")]
    StateDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Dynamo(#[from] crate::dynamodb_local::DynamoError),
    #[error(transparent)]
    Table(#[from] crate::tables::TableError),
    #[error(transparent)]
    Rules(#[from] crate::eventbridge::RuleError),
    #[error(transparent)]
    StateMachine(#[from] crate::sfn::SfnError),
    #[error("function {function}: binary {path} not found; build with `cargo build --profile local --workspace --bins` (make run does it)")]
    MissingBinary { function: String, path: String },
    #[error("time scale {0}: must be a finite number above 0 and at most {MAX_TIME_SCALE} (0.01 = 100x faster)")]
    TimeScale(f64),
    #[error("fault for {target}: {detail}")]
    Fault { target: String, detail: String },
    #[error("seeding partners from {path}: {detail}")]
    Seed { path: String, detail: String },
    #[error("the local Cognito: {0}")]
    Cognito(#[from] crate::cognito::CognitoError),
    #[error("writing {path}: {source}")]
    Endpoints { path: String, source: std::io::Error },
    #[error(transparent)]
    Kms(#[from] crate::kms::KmsError),
}

/// Everything a request handler needs.
pub struct Services {
    pub model: Model,
    pub host: LambdaHost,
    pub sfn: Arc<StepFunctions>,
    pub events: Arc<EventBridge>,
    pub dead_letters: PathBuf,
    pub time_scale: f64,
    /// Asynchronous invocations running now (not those waiting to retry).
    pub async_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// IAM, evaluated on every call made inside the local cloud.
    pub iam: Arc<Iam>,
    /// The template's KMS keys (webhook secrets are sealed with them).
    pub kms: Arc<crate::kms::Kms>,
}

impl Services {
    /// The log groups the template declares that the local cloud writes:
    /// each function's and each state machine's logging destination.
    pub fn log_groups(&self) -> Vec<String> {
        self.model
            .functions
            .iter()
            .map(|f| crate::logs::group_name(&f.name))
            .chain(
                self.model
                    .state_machines
                    .iter()
                    .filter_map(|m| m.logging.log_group.as_ref().map(|(name, _)| name.clone())),
            )
            .collect()
    }

    /// Lambda's asynchronous invocation: retried on function errors as the
    /// function's EventInvokeConfig says (2 retries by default, about 1 and
    /// 2 minutes apart), then sent to its on-failure destination.
    pub fn invoke_async(self: &Arc<Self>, function: &str, payload: Vec<u8>) {
        let this = self.clone();
        let function = function.to_string();
        let retries = self.model.function(&function).map_or(2, |f| f.async_max_retries);
        tokio::spawn(async move {
            let mut last = String::new();
            for attempt in 0..=retries {
                if attempt > 0 {
                    let delay = 60.0 * f64::from(attempt) * this.time_scale;
                    tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                }
                this.async_in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let result = this.host.invoke(&function, payload.clone()).await;
                this.async_in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                match result {
                    Ok(inv) => match inv.result {
                        Ok(_) => return,
                        Err(e) => last = format!("{}: {}", e.error_type, e.error_message),
                    },
                    Err(e) => last = e.to_string(),
                }
            }
            use std::io::Write;
            let line = serde_json::json!({
                "time": chrono::Utc::now().to_rfc3339(),
                "function": function,
                "reason": format!("async invocation failed after {} attempts: {last}", retries + 1),
                "payload": String::from_utf8_lossy(&payload),
            });
            tracing::warn!(%function, reason = %last, "async invocation dead-lettered");
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&this.dead_letters)
            {
                let _ = writeln!(f, "{line}");
            }
        });
    }
}

/// The Lambda host seen through the ports of the other services.
struct HostPort {
    host: LambdaHost,
    /// Evaluates a state machine's calls (None for the API Gateway, whose permission to invoke
    /// is not evaluated).
    iam: Option<Arc<Iam>>,
}

impl Invoke for HostPort {
    fn invoke(&self, function: &str, payload: Vec<u8>) -> BoxFuture<'_, crate::apigw::InvokeResult> {
        let function = function.to_string();
        Box::pin(async move {
            match self.host.invoke(&function, payload).await {
                Ok(inv) => inv.result.map_err(|e| (e.error_type, e.raw)),
                Err(e) => Err(("Lambda.ServiceException".to_string(), e.to_string().into_bytes())),
            }
        })
    }
}

/// The ARN a task's FunctionName names (a name, or an ARN as given, qualified or not).
pub(crate) fn function_arn(function: &str) -> String {
    if function.starts_with("arn:") {
        function.to_owned()
    } else {
        format!(
            "arn:aws:lambda:{}:{}:function:{function}",
            crate::template::REGION,
            crate::template::ACCOUNT
        )
    }
}

impl DynInvoker for HostPort {
    fn invoke(
        &self,
        caller: &TaskCaller,
        function: &str,
        payload: Value,
    ) -> BoxFuture<'_, Result<Value, (String, String)>> {
        let check = zb_iam::actions::lambda_invoke(&function_arn(function));
        let allowed = self.iam.as_ref().map_or(Ok(()), |iam| {
            iam.authorize_role(&caller.role_arn, &caller.session, &[check])
        });
        let function = function.rsplit(':').next().unwrap_or(function).to_string();
        Box::pin(async move {
            if let Err(denied) = allowed {
                // How Step Functions reports Lambda's 403 (the AWS SDK's exception text).
                return Err((
                    "Lambda.AWSLambdaException".to_string(),
                    format!(
                        "{} (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: {}; Proxy: null)",
                        denied.message,
                        uuid::Uuid::new_v4()
                    ),
                ));
            }
            let bytes = payload.to_string().into_bytes();
            match self.host.invoke(&function, bytes).await {
                Ok(inv) => match inv.result {
                    Ok(out) => Ok(serde_json::from_slice(&out).unwrap_or(Value::Null)),
                    // Step Functions reports the function's errorType as the
                    // error and the error document as the cause.
                    Err(e) => Err((e.error_type, String::from_utf8_lossy(&e.raw).into_owned())),
                },
                Err(e) => Err(("Lambda.ServiceException".to_string(), e.to_string())),
            }
        })
    }
}

/// EventBridge's targets, late-bound to the services (which own the bus).
struct Targets {
    services: std::sync::OnceLock<std::sync::Weak<Services>>,
}

impl Targets {
    fn services(&self) -> Result<Arc<Services>, String> {
        self.services
            .get()
            .and_then(|w| w.upgrade())
            .ok_or_else(|| "the local cloud is stopping".to_string())
    }
}

impl Deliver for Targets {
    fn invoke_async(&self, function: &str, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        let function = function.to_string();
        Box::pin(async move {
            let s = self.services()?;
            s.invoke_async(&function, payload);
            Ok(())
        })
    }

    fn authorize(&self, rule: &crate::template::Rule, target: &crate::template::Target) -> Result<(), String> {
        let s = self.services()?;
        // A rule put through the API is the operator's, with roles template.yaml does not
        // declare: not evaluated (see crate::iam).
        if !s.model.rules.iter().any(|r| r.arn == rule.arn) {
            return Ok(());
        }
        let allowed = match &target.kind {
            crate::template::TargetKind::Lambda { function } => {
                s.iam
                    .authorize_rule_invoke(&rule.arn, function, &function_arn(function))
            }
            crate::template::TargetKind::StateMachine { arn } => {
                s.iam.authorize_rule_start(&rule.arn, target.role_arn.as_deref(), arn)
            }
        };
        allowed.map_err(|denied| denied.message)
    }

    fn start_execution(&self, state_machine_arn: &str, input: String) -> BoxFuture<'_, Result<(), String>> {
        let arn = state_machine_arn.to_string();
        Box::pin(async move {
            let s = self.services()?;
            s.sfn
                .start(&arn, None, Some(&input))
                .map(|_| ())
                .map_err(|e| format!("{}: {}", e.kind, e.message))
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedPartner {
    partner_id: String,
    name: String,
    format: String,
    api_key: String,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    webhook_secret: Option<String>,
    #[serde(default)]
    rate_limit: Option<zb_shared::ratelimit::RateLimit>,
}

async fn seed(
    ddb: &aws_sdk_dynamodb::Client,
    model: &Model,
    kms: &crate::kms::Kms,
    path: &std::path::Path,
) -> Result<usize, CloudError> {
    let err = |detail: String| CloudError::Seed {
        path: path.display().to_string(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let partners: Vec<SeedPartner> = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let table = model
        .tables
        .iter()
        .find(|t| t.logical_id == "PartnersTable")
        .ok_or_else(|| err("the template has no PartnersTable".into()))?;
    let store = zb_shared::store::PartnerStore::new(ddb.clone(), &table.name);
    let meter = zb_shared::cost::CostMeter::default();
    let mut seeded = 0;
    for p in &partners {
        // The partners table survives a restart (DynamoDB Local keeps its
        // data in the state folder): a sample partner already there keeps
        // what was done to it (disabled, key rotated) instead of being reset.
        if store
            .get_partner(&p.partner_id, &meter)
            .await
            .map_err(|e| err(e.to_string()))?
            .is_some()
        {
            continue;
        }
        let partner = zb_shared::partner::Partner {
            partner_id: p.partner_id.clone(),
            name: p.name.clone(),
            status: zb_shared::partner::PartnerStatus::Active,
            format: p.format.clone(),
            webhook_url: p.webhook_url.clone(),
            webhook_secret: p
                .webhook_secret
                .as_deref()
                .map(|secret| seal_seed_secret(kms, model, &p.partner_id, secret))
                .transpose()
                .map_err(err)?,
            rate_limit: p.rate_limit,
        };
        store
            .put_partner(&partner, &meter)
            .await
            .map_err(|e| err(e.to_string()))?;
        let key = zb_shared::partner::ApiKey {
            key_hash: zb_shared::apikey::hash_api_key(&p.api_key),
            partner_id: p.partner_id.clone(),
            status: zb_shared::partner::PartnerStatus::Active,
        };
        store.put_key(&key, &meter).await.map_err(|e| err(e.to_string()))?;
        seeded += 1;
    }
    Ok(seeded)
}

/// A seed partner's webhook secret as the functions store it: sealed with the template's
/// webhook secrets key (the local KMS, in-process), bound to the partner id
/// (zb_shared::secrets). A template without the key keeps it in clear, as the functions then do.
fn seal_seed_secret(kms: &crate::kms::Kms, model: &Model, partner_id: &str, secret: &str) -> Result<String, String> {
    let Some(key) = model.kms_keys.iter().find(|k| k.logical_id == "WebhookSecretsKey") else {
        return Ok(secret.to_string());
    };
    let context =
        std::collections::BTreeMap::from([(zb_shared::secrets::CONTEXT_KEY.to_string(), partner_id.to_string())]);
    let (blob, _) = kms
        .encrypt(&key.arn, secret.as_bytes(), &context)
        .map_err(|e| format!("sealing the webhook secret of {partner_id}: {}", e.message))?;
    Ok(zb_shared::secrets::sealed_form(&blob))
}

/// A running local cloud.
pub struct Running {
    /// The partner API (`Config.api_port`).
    pub api_url: String,
    /// The console (`<api_url>/console/`, served by [`crate::cloudfront`]).
    pub console_url: String,
    /// The admin API (`Config.admin_api_port`); empty if the template has no `AdminApi`.
    pub admin_api_url: String,
    /// Every HttpApi of the template: logical id → URL.
    pub api_urls: BTreeMap<String, String>,
    /// The local Cognito (`Config.cognito_port`); empty if the template has no user pool.
    pub cognito_url: String,
    /// The local Cognito, to rotate its keys or sign chosen claims (tests).
    pub cognito: Option<Arc<crate::cognito::Cognito>>,
    /// The pools it serves.
    pub user_pools: Vec<crate::cognito::PoolConfig>,
    /// The seeded operators' user names (their passwords are in `Config.operators_file`).
    pub operators: Vec<String>,
    pub aws_url: String,
    pub dynamodb_url: String,
    pub services: Arc<Services>,
    pub model: Model,
    _dynamo: Option<crate::dynamodb_local::DynamoLocal>,
    _dynamodb_proxy: Option<crate::dynamodb_proxy::Proxy>,
    /// DynamoDB's Time to Live, which DynamoDB Local does not do.
    pub ttl_sweeper: Arc<crate::dynamodb_ttl::TtlSweeper>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    logs: Option<tokio::sync::mpsc::UnboundedReceiver<LogLine>>,
    flush_logs: crate::logs::Flush,
    access: Option<tokio::sync::mpsc::UnboundedReceiver<crate::apigw::AccessLine>>,
    config: Config,
}

impl Running {
    /// Reload on save: from now on, changes to template.yaml, the state
    /// machine definitions and the function binaries are picked up (see
    /// [`crate::reload`]). What each reload did arrives on the receiver.
    pub fn watch(&mut self) -> tokio::sync::mpsc::UnboundedReceiver<crate::reload::ReloadEvent> {
        let config = crate::reload::WatchConfig {
            template: self.config.template.clone(),
            stack: self.config.stack.clone(),
            parameters: self.config.parameters.clone(),
            binaries: self.config.binaries.clone(),
        };
        let (handle, events) = crate::reload::spawn(config, self.model.clone(), self.services.clone());
        self.servers.push(handle);
        events
    }

    /// The function logs (stdout/stderr lines and START/END/REPORT), once.
    pub fn take_logs(&mut self) -> Option<tokio::sync::mpsc::UnboundedReceiver<LogLine>> {
        self.logs.take()
    }

    /// One line per API request, of every HttpApi (`POST /v1/feeds 202 41 ms feed=… partner=…`), once.
    pub fn take_access_log(&mut self) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::apigw::AccessLine>> {
        self.access.take()
    }

    /// The state folder: histories, logs and (unless an external DynamoDB is
    /// used) DynamoDB Local's tables.
    pub fn state_dir(&self) -> &std::path::Path {
        &self.config.state_dir
    }

    /// Runs one TTL sweep now: deletes every expired item of the tables
    /// with TTL enabled (tests use it instead of waiting for the period).
    pub async fn sweep_ttl(&self) -> Result<crate::dynamodb_ttl::SweepReport, crate::dynamodb_ttl::TtlError> {
        self.ttl_sweeper.sweep().await
    }

    /// Whether DynamoDB Local was started with its tables in the state folder
    /// (false with `dynamodb_endpoint`).
    pub fn keeps_dynamodb(&self) -> bool {
        self._dynamo.is_some()
    }

    /// Stops every server and kills every function instance and DynamoDB Local.
    /// Asynchronous invocations still running (a notification after the last
    /// execution) get up to [`ASYNC_GRACE`] to finish first, and every log
    /// line is written before this returns: an invocation killed mid-way or a
    /// REPORT line lost at exit would read as an invocation "still open".
    pub async fn shutdown(self) {
        for s in &self.servers {
            s.abort();
        }
        let deadline = tokio::time::Instant::now() + ASYNC_GRACE;
        while self.services.async_in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.services.host.shutdown().await;
        self.services.iam.flush();
        self.flush_logs.flush().await;
    }
}

/// Runs a Schedule event: every period (scaled by the time scale) an
/// asynchronous invocation of the function with EventBridge's Scheduled
/// Event (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html),
/// as the rule SAM creates would send it. The first run is one period after
/// start, as a new rate rule's is.
fn spawn_schedule(services: Arc<Services>, schedule: crate::template::Schedule) -> tokio::task::JoinHandle<()> {
    // Capped at 100 years: a longer period never fires either, and cannot overflow an Instant.
    let period = Duration::try_from_secs_f64(schedule.every.as_secs_f64() * services.time_scale.max(1e-6))
        .unwrap_or(Duration::MAX)
        .min(Duration::from_secs(100 * 365 * 86_400));
    tracing::info!(function = %schedule.function, expression = %schedule.expression, ?period, "schedule");
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // The same ARN the function's resource policy names as SourceArn (template/iam.rs).
        let rule_arn = schedule.rule_arn();
        loop {
            ticks.tick().await;
            // The schedule's rule invokes the function through its resource policy (SAM adds the
            // permission); a refusal drops the run, as EventBridge would dead-letter it.
            if let Err(denied) =
                services
                    .iam
                    .authorize_rule_invoke(&rule_arn, &schedule.function, &function_arn(&schedule.function))
            {
                tracing::warn!(function = %schedule.function, "scheduled run not delivered: {}", denied.message);
                continue;
            }
            let event = serde_json::json!({
                "version": "0",
                "id": uuid::Uuid::new_v4().to_string(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": crate::template::ACCOUNT,
                "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "region": crate::template::REGION,
                "resources": [rule_arn.clone()],
                "detail": {},
            });
            services.invoke_async(&schedule.function, event.to_string().into_bytes());
        }
    })
}

/// The logical id of the admin API, served on `Config.admin_api_port`.
pub const ADMIN_API: &str = "AdminApi";
/// The logical id of the partner API, served on `Config.api_port`.
pub const PARTNER_API: &str = "PartnerApi";

/// The HttpApi served on `Config.api_port`: `PartnerApi`, else (another
/// template) the first HttpApi that is not `AdminApi`.
fn primary_api(model: &Model) -> Option<&str> {
    let ids = || model.http_apis.iter().map(|a| a.logical_id.as_str());
    ids()
        .find(|id| *id == PARTNER_API)
        .or_else(|| ids().find(|id| *id != ADMIN_API))
}

/// The console's app client: the template's `ConsoleClient`, else (an
/// existing pool, another template) the first pool's first client.
fn console_client_id(model: &Model, pools: &[crate::cognito::PoolConfig]) -> Option<String> {
    let console = crate::cognito::client_id_for(&model.stack_name, "ConsoleClient");
    let clients = || pools.iter().flat_map(|p| p.clients.iter());
    clients()
        .find(|c| c.client_id == console)
        .or_else(|| clients().next())
        .map(|c| c.client_id.clone())
}

/// Every flow an app client can allow: an existing pool's client is assumed
/// to allow what `zb login` uses (its settings are not in the template).
const ALL_AUTH_FLOWS: &[&str] = &[
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_USER_AUTH",
];

/// The pools the local Cognito serves: the template's (those whose
/// Condition holds), or, without any, the pool the ExistingUserPoolId
/// parameter names (with ExistingUserPoolClientId as its client, the groups
/// admin, ops and finance the README asks an existing pool to have, every
/// flow, and Cognito's default validities), so the same template runs
/// locally either way.
pub fn cognito_pools(model: &Model) -> Vec<crate::cognito::PoolConfig> {
    if !model.user_pools.is_empty() {
        return model.user_pools.iter().map(|p| p.config.clone()).collect();
    }
    let param = |name: &str| model.parameters.get(name).filter(|v| !v.is_empty()).cloned();
    let Some(pool_id) = param("ExistingUserPoolId") else {
        return Vec::new();
    };
    // The local console signs in and out through the existing pool's client
    // too, as the template registers it on a pool of its own.
    let local_console = param(LOCAL_CONSOLE_ORIGIN)
        .map(|origin| format!("{}{}/", origin.trim_end_matches('/'), crate::cloudfront::PREFIX));
    let clients = param("ExistingUserPoolClientId")
        .map(|client_id| crate::cognito::ClientConfig {
            client_id,
            explicit_auth_flows: ALL_AUTH_FLOWS.iter().map(|f| f.to_string()).collect(),
            access_token_validity_secs: 3600,
            id_token_validity_secs: 3600,
            refresh_token_validity_secs: 30 * 86_400,
            // Its hosted UI settings are not in the template either: the
            // loopback redirect `zb login` uses, the code grant and the
            // scopes the admin API needs.
            callback_urls: [crate::cognito::DEFAULT_LOOPBACK_CALLBACK.to_string()]
                .into_iter()
                .chain(local_console.clone())
                .collect(),
            logout_urls: local_console.clone().into_iter().collect(),
            allowed_oauth_flows: vec!["code".to_string()],
            allowed_oauth_scopes: ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
        .into_iter()
        .collect();
    vec![crate::cognito::PoolConfig {
        logical_id: "ExistingUserPoolId".into(),
        issuer: crate::template::cognito_issuer(&pool_id),
        pool_id,
        groups: ["admin", "ops", "finance"].iter().map(|g| g.to_string()).collect(),
        clients,
    }]
}

/// What `<state_dir>/endpoints.json` says (`zb login` reads it).
struct Endpoints<'a> {
    api: &'a str,
    admin_api: &'a str,
    aws: &'a str,
    cognito: &'a str,
    console: &'a str,
    pool: Option<&'a crate::cognito::PoolConfig>,
}

/// Writes `<state_dir>/endpoints.json`: `{"api", "adminApi", "aws",
/// "cognito", "console", "userPoolId", "clientId", "issuer", "hostedUi"}` (the first
/// pool and its first client; null without).
fn write_endpoints(state_dir: &std::path::Path, e: &Endpoints<'_>) -> Result<(), CloudError> {
    let doc = serde_json::json!({
        "api": e.api,
        "adminApi": e.admin_api,
        "aws": e.aws,
        "cognito": e.cognito,
        "console": e.console,
        "userPoolId": e.pool.map(|p| p.pool_id.clone()),
        "clientId": e.pool.and_then(|p| p.clients.first()).map(|c| c.client_id.clone()),
        "issuer": e.pool.map(|p| p.issuer.clone()),
        // The hosted UI (/oauth2/authorize, /oauth2/token, /login, ...) is
        // served on the Cognito port, as Cognito serves it on the pool's
        // domain (cognito/hosted.rs).
        "hostedUi": e.pool.map(|_| e.cognito),
    });
    let path = state_dir.join("endpoints.json");
    let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string());
    std::fs::write(&path, text + "\n").map_err(|source| CloudError::Endpoints {
        path: path.display().to_string(),
        source,
    })
}

/// Binds 127.0.0.1:`port` (0 = any free port) and returns the listener and its URL.
async fn bind(what: &'static str, port: u16) -> Result<(TcpListener, String), CloudError> {
    let err = |source| CloudError::Bind { what, port, source };
    let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(err)?;
    let url = format!("http://{}", listener.local_addr().map_err(err)?);
    Ok((listener, url))
}

/// How long shutdown waits for asynchronous invocations in flight.
pub const ASYNC_GRACE: Duration = Duration::from_secs(5);

/// The largest time scale: beyond it, scaled waits and TTLs stop being durations.
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// A time scale the local cloud can run with: finite, above 0, at most [`MAX_TIME_SCALE`].
pub fn check_time_scale(scale: f64) -> Result<f64, CloudError> {
    if scale.is_finite() && scale > 0.0 && scale <= MAX_TIME_SCALE {
        Ok(scale)
    } else {
        Err(CloudError::TimeScale(scale))
    }
}

/// The template parameter naming the local console's origin: an origin the
/// admin API's CORS allows and whose `/console/` is a callback and sign-out
/// URL of the console's app client.
pub const LOCAL_CONSOLE_ORIGIN: &str = "LocalConsoleOrigin";

pub async fn start(mut config: Config) -> Result<Running, CloudError> {
    check_time_scale(config.time_scale)?;
    // The partner API's port first: it serves the console, whose origin the
    // template must know (LocalConsoleOrigin) before it is read.
    let (api_listener, api_url) = bind("the partner API", config.api_port).await?;
    if !config.parameters.contains_key(LOCAL_CONSOLE_ORIGIN)
        && crate::template::parameter_names(&config.template)?
            .iter()
            .any(|p| p == LOCAL_CONSOLE_ORIGIN)
    {
        // Kept in the running config: the reload watcher reads the template with it too.
        config
            .parameters
            .insert(LOCAL_CONSOLE_ORIGIN.to_string(), api_url.clone());
    }
    let model = crate::template::load(&config.template, &config.stack, &config.parameters)?;
    std::fs::create_dir_all(&config.state_dir).map_err(|source| CloudError::StateDir {
        path: config.state_dir.display().to_string(),
        source,
    })?;
    let (aws_listener, aws_url) = bind("the AWS endpoint", config.aws_port).await?;
    // Every HttpApi on its own port, bound now so a busy port fails the start early.
    let primary = primary_api(&model);
    let mut api_listener = Some(api_listener);
    let mut apis = Vec::new();
    let mut api_urls = BTreeMap::new();
    for api in &model.http_apis {
        let (listener, url) = if Some(api.logical_id.as_str()) == primary {
            match api_listener.take() {
                Some(l) => (l, api_url.clone()),
                None => bind("an HTTP API", 0).await?,
            }
        } else if api.logical_id == ADMIN_API {
            bind("the admin API", config.admin_api_port).await?
        } else {
            bind("an HTTP API", 0).await?
        };
        api_urls.insert(api.logical_id.clone(), url);
        apis.push((api.clone(), listener));
    }
    let admin_api_url = api_urls.get(ADMIN_API).cloned().unwrap_or_default();
    // The local Cognito of the template's user pools (or of an existing pool named by parameters).
    let user_pools = cognito_pools(&model);
    let mut cognito_server = None;
    let (cognito, cognito_url, operators) = if user_pools.is_empty() {
        (None, String::new(), Vec::new())
    } else {
        let users = match &config.operators_file {
            Some(path) if path.exists() => crate::cognito::load_seed_users(path)?,
            _ => Vec::new(),
        };
        let operators = users.iter().map(|u| u.username.clone()).collect();
        let cognito = crate::cognito::Cognito::open(&config.state_dir, user_pools.clone(), users)?;
        let (listener, url) = bind("the local Cognito", config.cognito_port).await?;
        let router = cognito.router();
        cognito_server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
        (Some(cognito), url, operators)
    };

    let (dynamo, dynamodb_url) = match &config.dynamodb_endpoint {
        Some(url) => (None, url.clone()),
        None => {
            let dir = crate::dynamodb_local::default_dir(&config.repo);
            let d = crate::dynamodb_local::start(&dir, config.dynamodb_port, &config.state_dir).await?;
            let url = d.endpoint.clone();
            (Some(d), url)
        }
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&dynamodb_url)
        .region(aws_config::Region::new(crate::template::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "zb-local",
        ))
        .load()
        .await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for t in &model.tables {
        crate::tables::create(&ddb, t, &t.name).await?;
    }
    let ttl_sweeper = Arc::new(crate::dynamodb_ttl::TtlSweeper::new(
        ddb.clone(),
        crate::dynamodb_ttl::ttl_tables(&model.tables),
        crate::dynamodb_ttl::system_now(),
    ));
    let kms = Arc::new(crate::kms::Kms::open(&config.state_dir, &model.kms_keys)?);
    if let Some(seed_file) = &config.seed_file {
        if seed_file.exists() {
            let n = seed(&ddb, &model, &kms, seed_file).await?;
            tracing::info!(partners = n, "seeded partners");
        }
    }

    let iam = Arc::new(Iam::new(config.iam, model.iam.clone(), &config.state_dir));
    // Functions reach DynamoDB through the proxy that evaluates their calls; the local cloud,
    // the CLI and the tests keep the direct endpoint (their keys are the operator's anyway).
    let dynamodb_proxy = match config.iam {
        IamMode::Off => None,
        IamMode::Enforce | IamMode::Soft => {
            let gate: Arc<dyn crate::dynamodb_proxy::Gate> = iam.clone();
            Some(
                crate::dynamodb_proxy::start_as(dynamodb_url.clone(), gate, Some("local".to_owned()))
                    .await
                    .map_err(|source| CloudError::Bind {
                        what: "the DynamoDB proxy",
                        port: 0,
                        source,
                    })?,
            )
        }
    };
    let functions_dynamodb_url = dynamodb_proxy.as_ref().map_or(dynamodb_url.clone(), |p| p.url.clone());
    let mut specs = Vec::new();
    for f in &model.functions {
        let binary = config.binaries.join(&f.binary);
        if !binary.exists() {
            return Err(CloudError::MissingBinary {
                function: f.logical_id.clone(),
                path: binary.display().to_string(),
            });
        }
        let mut env = f.env.clone();
        for (k, v) in [
            ("AWS_ENDPOINT_URL_DYNAMODB", functions_dynamodb_url.as_str()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", aws_url.as_str()),
            ("AWS_ENDPOINT_URL_SFN", aws_url.as_str()),
            ("AWS_ENDPOINT_URL_LAMBDA", aws_url.as_str()),
            // cost-rollup reads the functions' logs (FilterLogEvents).
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", aws_url.as_str()),
            // Webhook secrets are sealed and opened with KMS (shared/src/secrets.rs).
            ("AWS_ENDPOINT_URL_KMS", aws_url.as_str()),
            ("AWS_REGION", crate::template::REGION),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        // Without IAM every instance shares the operator's key; with it the host mints one
        // per instance, as Lambda hands each execution environment its role's session.
        if config.iam == IamMode::Off {
            env.insert("AWS_ACCESS_KEY_ID".to_string(), "local".to_string());
            env.insert("AWS_SECRET_ACCESS_KEY".to_string(), "local".to_string());
        }
        specs.push(FunctionSpec {
            name: f.name.clone(),
            binary,
            env,
            timeout: Duration::from_secs(f.timeout_secs),
            memory_mb: f.memory_mb,
            max_instances: f.reserved_concurrency.unwrap_or(config.max_instances).max(1),
        });
    }
    let (log_tx, logs) = tokio::sync::mpsc::unbounded_channel();
    let host_options = zb_lambda_host::HostOptions {
        mint_credentials: config.iam != IamMode::Off,
        ..Default::default()
    };
    let host = LambdaHost::with_options(specs, log_tx.clone(), host_options);
    iam.attach(host.clone(), log_tx);
    let sfn = StepFunctions::new(
        &model.state_machines,
        Arc::new(HostPort {
            host: host.clone(),
            iam: Some(iam.clone()),
        }),
        config.state_dir.clone(),
        config.time_scale,
    )?;
    let targets = Arc::new(Targets {
        services: std::sync::OnceLock::new(),
    });
    let dead_letters = config.state_dir.join("dead-letters.jsonl");
    let events = Arc::new(EventBridge::new(
        &model.buses,
        &model.rules,
        targets.clone(),
        dead_letters.clone(),
        config.time_scale,
    )?);
    for (target, fault) in &config.faults {
        let (error_type, times) = match fault.split_once('*') {
            Some((e, n)) => (
                e,
                Some(n.parse::<u32>().map_err(|_| CloudError::Fault {
                    target: target.clone(),
                    detail: format!("{n:?} is not a whole count (ErrorType*count)"),
                })?),
            ),
            None => (fault.as_str(), None),
        };
        // A rule's fault makes every delivery to its targets fail: the event
        // is retried, then dead-lettered. A state machine's makes
        // StartExecution fail: an execution that never starts. Anything else
        // names a function.
        if let Some(rule) = model
            .rules
            .iter()
            .find(|r| &r.logical_id == target || &r.name == target || &r.arn == target)
        {
            events.inject_target_fault(&rule.arn, &format!("injected fault: {error_type}"));
            tracing::warn!(rule = %rule.name, %error_type, "target fault injected");
            continue;
        }
        if let Some(machine) = model
            .state_machines
            .iter()
            .find(|m| &m.logical_id == target || &m.name == target || &m.arn == target)
        {
            sfn.inject_start_fault(&machine.arn, error_type, times);
            tracing::warn!(machine = %machine.name, %error_type, ?times, "StartExecution fault injected");
            continue;
        }
        let name = model
            .function(target)
            .map(|f| f.name.clone())
            .unwrap_or_else(|| target.clone());
        host.inject_fault(&name, error_type, times);
        tracing::warn!(%name, %error_type, ?times, "fault injected");
    }
    let services = Arc::new(Services {
        model: model.clone(),
        host: host.clone(),
        sfn,
        events,
        dead_letters,
        time_scale: config.time_scale,
        async_in_flight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        iam: iam.clone(),
        kms: kms.clone(),
    });
    let _ = targets.services.set(Arc::downgrade(&services));

    let mut servers: Vec<_> = cognito_server.into_iter().collect();
    for schedule in &model.schedules {
        servers.push(spawn_schedule(services.clone(), schedule.clone()));
    }
    if let Some(every) = config.ttl_sweep_every {
        let period = Duration::try_from_secs_f64(every.as_secs_f64() * config.time_scale.max(1e-6))
            .unwrap_or(every)
            // Each sweep Scans every TTL table: at a tiny time scale (the
            // tests') no faster than once a second.
            .max(Duration::from_secs(1));
        servers.push(crate::dynamodb_ttl::spawn(ttl_sweeper.clone(), period));
    }
    // The ledger `zb iam report` reads: written every second while it changes, and at shutdown.
    let flushing = iam.clone();
    servers.push(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticks.tick().await;
            flushing.flush();
        }
    }));
    let aws_router = crate::aws_api::router(services.clone());
    servers.push(tokio::spawn(async move {
        let _ = axum::serve(aws_listener, aws_router).await;
    }));
    // The JWT authorizers find the template's pools at the local Cognito:
    // their issuer is the AWS URL (what tokens carry), their discovery local.
    let discovery = user_pools
        .iter()
        .map(|p| {
            (
                p.issuer.clone(),
                format!("{cognito_url}/{}/.well-known/openid-configuration", p.pool_id),
            )
        })
        .collect();
    let jwks = Arc::new(crate::apigw::jwt::Jwks::new(discovery));
    let console_url = format!("{api_url}{}/", crate::cloudfront::PREFIX);
    let console_settings = crate::cloudfront::Settings {
        admin_api: admin_api_url.clone(),
        hosted_ui: cognito_url.clone(),
        client_id: console_client_id(&model, &user_pools),
        console_url: console_url.clone(),
    };
    let console_site = crate::cloudfront::ConsoleSite::new(
        config.repo.join("console").join("site"),
        &console_settings,
        model
            .response_headers_policies
            .get(crate::cloudfront::SECURITY_HEADERS_POLICY),
    );
    let (access_tx, access_rx) = tokio::sync::mpsc::unbounded_channel();
    let access = (!apis.is_empty()).then_some(access_rx);
    for (api, listener) in apis {
        let gateway_port = HostPort {
            host: host.clone(),
            iam: None,
        };
        let openapi = if api.logical_id == ADMIN_API {
            Some(crate::apigw::OpenApi {
                path: crate::apigw::ADMIN_OPENAPI_PATH.into(),
                source: crate::apigw::OpenApiSource::File(config.repo.join("openapi-admin.yaml")),
            })
        } else if Some(api.logical_id.as_str()) == primary {
            Some(crate::apigw::OpenApi::partner())
        } else {
            None
        };
        let options = crate::apigw::GatewayOptions {
            openapi,
            jwks: Some(jwks.clone()),
        };
        let is_primary = Some(api.logical_id.as_str()) == primary;
        let gw = Gateway::with_options(api, Arc::new(gateway_port), config.time_scale, options);
        gw.access_to(access_tx.clone());
        let mut router = gw.router();
        if is_primary {
            // The console, standing in for CloudFront + S3, beside the partner API's routes.
            router = console_site.router().merge(router);
        }
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
    }
    let (logs, flush_logs) = crate::logs::persist_flushable(&config.state_dir, logs);
    write_endpoints(
        &config.state_dir,
        &Endpoints {
            api: &api_url,
            admin_api: &admin_api_url,
            aws: &aws_url,
            cognito: &cognito_url,
            console: &console_url,
            pool: user_pools.first(),
        },
    )?;
    Ok(Running {
        console_url,
        api_url,
        admin_api_url,
        api_urls,
        cognito_url,
        cognito,
        user_pools,
        operators,
        aws_url,
        dynamodb_url,
        services,
        model,
        _dynamo: dynamo,
        _dynamodb_proxy: dynamodb_proxy,
        ttl_sweeper,
        servers,
        logs: Some(logs),
        flush_logs,
        access,
        config,
    })
}
