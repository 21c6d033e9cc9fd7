//! Runs the real release Lambda binaries (the `bootstrap` SAM deploys) as local child processes, each against a
//! Lambda Runtime API of its own, so a binary cannot tell it is not on AWS.
//!
//! * **Instances.** An instance (execution environment) is one child process of the function's binary, started
//!   with `env_clear()`, the provided.al2023 defaults, the function's variables and Lambda's reserved ones
//!   (`AWS_LAMBDA_RUNTIME_API` points at a server on a free 127.0.0.1 port of that instance alone). Warm instances
//!   are reused (most recent first); concurrent invokes start more, up to `max_instances`; further invokes queue
//!   for [`HostOptions::queue_timeout`] and then fail with [`HostError::TooManyRequests`].
//! * **Cold starts.** Init Duration runs from spawn to the runtime's first `GET /invocation/next` and is reported on
//!   the invocation that followed it only. Billed Duration = ceil(Duration + Init Duration) (see [`Report`]).
//! * **Failures, as Lambda reports them.** A timeout kills the instance: `Sandbox.Timedout`,
//!   `RequestId: <id> Error: Task timed out after 1.00 seconds`, Duration = the timeout. Peak RSS above the memory
//!   size (sampled every 10 ms from /proc and checked against VmHWM at the end) kills it: `Runtime.OutOfMemory`,
//!   `... Error: Runtime exited with error: signal: killed`. A runtime that exits mid-invocation or before its first
//!   `/next`: `Runtime.ExitError`, `... Error: Runtime exited with error: exit status 3`. A runtime that posts
//!   `/init/error` gets its own error body back. The next invoke after any of these starts a fresh instance.
//! * **Logs.** Every stdout/stderr line and Lambda's platform lines go to the [`LogSink`]: INIT_START,
//!   `START RequestId: <id> Version: $LATEST`, the invocation's own lines, `END RequestId: <id>` and the REPORT line,
//!   in that order (END/REPORT wait until the pipes are drained). With `AWS_LAMBDA_LOG_FORMAT=JSON` in the
//!   function's environment the platform lines are `platform.initStart`/`platform.start`/`platform.report` events.
//! * **Faults.** [`LambdaHost::inject_fault`] makes the next invocations fail without reaching the binary.
//! * **Credentials.** With [`HostOptions::mint_credentials`], every instance gets access keys of its own (reserved
//!   variables the function's environment cannot override, as on AWS) and [`LambdaHost::identify`] tells which
//!   function, instance and invocation an access key belongs to. Without it, the function's environment decides.
//!
//! Unix only (process groups, pipes); memory accounting needs Linux's /proc and reads 0 elsewhere.

mod credentials;
mod instance;
mod logs;
mod report;
mod runtime_api;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{watch, Semaphore};

pub use credentials::Caller;
use credentials::Identities;
use instance::{Instance, SpawnContext};
use logs::Platform;
pub use logs::{LogLine, LogSink, LogStream};
pub use report::{Report, ReportStatus};

/// "Invocation payload (request and response): 6 MB each for synchronous" (Lambda quotas).
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;

/// How long shutdown waits for instances to be reaped before it gives up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A function the host can run.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub name: String,
    /// The bootstrap to run. Its directory is the working directory and `LAMBDA_TASK_ROOT`.
    pub binary: PathBuf,
    /// The function's environment variables (template `Environment.Variables`, credentials, `AWS_REGION`,
    /// `AWS_LAMBDA_LOG_FORMAT`...). Lambda's reserved names that identify the instance are set by the host.
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Concurrent instances at most (like reserved concurrency); 0 counts as 1.
    pub max_instances: usize,
}

impl FunctionSpec {
    /// Lambda's defaults: 3 s timeout, 128 MB; up to 10 instances.
    pub fn new(name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        FunctionSpec {
            name: name.into(),
            binary: binary.into(),
            env: BTreeMap::new(),
            timeout: Duration::from_secs(3),
            memory_mb: 128,
            max_instances: 10,
        }
    }
}

/// Host-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HostOptions {
    /// `AWS_REGION`/`AWS_DEFAULT_REGION` (unless the function sets them) and the region of function ARNs.
    pub region: String,
    /// The account in function ARNs.
    pub account_id: String,
    /// How long an invoke waits for a free instance before [`HostError::TooManyRequests`].
    pub queue_timeout: Duration,
    /// How long a new instance may take to reach its first `GET /next` (Lambda's init phase limit is 10 s).
    pub init_timeout: Duration,
    /// Give every instance its own `AWS_ACCESS_KEY_ID` (`ASIA...`), `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`, overriding any the function's environment sets, and remember them for
    /// [`LambdaHost::identify`]. Off by default: the instance then gets whatever credentials [`FunctionSpec::env`]
    /// holds (e.g. `local`), and `identify` knows no key.
    pub mint_credentials: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            queue_timeout: Duration::from_secs(30),
            init_timeout: Duration::from_secs(10),
            mint_credentials: false,
        }
    }
}

/// Optional per-invoke data the Runtime API passes to the runtime.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvokeContext {
    /// The request id to use (default: a new UUID).
    pub request_id: Option<String>,
    /// `Lambda-Runtime-Trace-Id` (default: a fresh, unsampled X-Ray header).
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`: the client context JSON.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`: the identity JSON.
    pub cognito_identity: Option<String>,
}

/// The outcome of one synchronous invoke.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub request_id: String,
    /// The instance that ran it (0: none did, an injected fault).
    pub instance: u32,
    /// The response payload, or the error Lambda's Invoke would return with `X-Amz-Function-Error: Unhandled`.
    pub result: Result<Vec<u8>, FunctionError>,
    pub report: Report,
}

impl Invocation {
    /// The payload Lambda's Invoke API returns: the response, or the error document.
    pub fn payload(&self) -> &[u8] {
        match &self.result {
            Ok(body) => body,
            Err(e) => &e.raw,
        }
    }
}

/// An invocation that failed: a function error the runtime posted, or one the platform raised.
#[derive(Clone, PartialEq, Eq)]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
    /// The error document as the caller gets it: the JSON body the runtime posted, or Lambda's own
    /// `{"errorMessage": ..., "errorType": ...}`.
    pub raw: Vec<u8>,
}

impl fmt::Display for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for FunctionError {}

impl fmt::Debug for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The raw document as text: a byte list helps nobody reading a test failure.
        f.debug_struct("FunctionError")
            .field("error_type", &self.error_type)
            .field("error_message", &self.error_message)
            .field("raw", &String::from_utf8_lossy(&self.raw))
            .finish()
    }
}

/// Why an invoke did not run (a function that ran and failed is an [`Invocation`] with a [`FunctionError`]).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("ResourceNotFoundException: Function not found: {0}")]
    UnknownFunction(String),
    #[error(
        "TooManyRequestsException: Rate Exceeded. ({function}: all {max_instances} instance(s) busy for {waited:?})"
    )]
    TooManyRequests {
        function: String,
        max_instances: usize,
        waited: Duration,
    },
    #[error(
        "RequestTooLargeException: Request must be smaller than {limit} bytes for the InvokeFunction operation \
         ({size} bytes)"
    )]
    RequestTooLarge { size: usize, limit: usize },
    #[error("cannot start {function} from {}: {source}", binary.display())]
    Spawn {
        function: String,
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the Runtime API for {function}: {source}")]
    RuntimeApi { function: String, source: std::io::Error },
    #[error("the Lambda host is shutting down")]
    ShuttingDown,
}

impl HostError {
    /// The error code Lambda's Invoke API would answer with.
    pub fn aws_error_code(&self) -> &'static str {
        match self {
            HostError::UnknownFunction(_) => "ResourceNotFoundException",
            HostError::TooManyRequests { .. } => "TooManyRequestsException",
            HostError::RequestTooLarge { .. } => "RequestTooLargeException",
            HostError::Spawn { .. } | HostError::RuntimeApi { .. } | HostError::ShuttingDown => "ServiceException",
        }
    }

    /// The HTTP status of that answer.
    pub fn http_status(&self) -> u16 {
        match self {
            HostError::UnknownFunction(_) => 404,
            HostError::TooManyRequests { .. } => 429,
            HostError::RequestTooLarge { .. } => 413,
            HostError::Spawn { .. } | HostError::RuntimeApi { .. } | HostError::ShuttingDown => 500,
        }
    }
}

struct Fault {
    error_type: String,
    remaining: Option<u32>,
}

struct Slot {
    spec: RwLock<Arc<FunctionSpec>>,
    /// Bumped by `replace_binary`; instances of an older generation are not reused.
    generation: AtomicU64,
    permits: Arc<Semaphore>,
    max_instances: usize,
    idle: Mutex<Vec<Instance>>,
    next_instance: AtomicU32,
    function_arn: Arc<str>,
}

impl Slot {
    fn spec(&self) -> Arc<FunctionSpec> {
        self.spec.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn drain_idle(&self) -> Vec<Instance> {
        std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Inner {
    slots: HashMap<String, Slot>,
    logs: LogSink,
    options: HostOptions,
    faults: Mutex<HashMap<String, Fault>>,
    stopping: AtomicBool,
    shutdown: watch::Sender<bool>,
    /// Live child processes (key → pid), so shutdown can wait for, and if need be kill, every one of them.
    registry: watch::Sender<BTreeMap<u64, u32>>,
    next_key: AtomicU64,
    /// Minted access keys and the instances holding them (empty unless `options.mint_credentials`).
    identities: Identities,
}

/// The local Lambda service. Cheap to clone; dropping the last handle kills the idle instances (prefer
/// [`LambdaHost::shutdown`], which also reaps them and stops invocations in flight).
#[derive(Clone)]
pub struct LambdaHost {
    inner: Arc<Inner>,
}

impl fmt::Debug for LambdaHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.inner.slots.keys().collect();
        names.sort();
        f.debug_struct("LambdaHost")
            .field("functions", &names)
            .finish_non_exhaustive()
    }
}

impl LambdaHost {
    /// A host for `functions` (a later spec with the same name replaces an earlier one) with default options.
    pub fn new(functions: Vec<FunctionSpec>, logs: LogSink) -> Self {
        Self::with_options(functions, logs, HostOptions::default())
    }

    pub fn with_options(functions: Vec<FunctionSpec>, logs: LogSink, options: HostOptions) -> Self {
        let slots = functions
            .into_iter()
            .map(|spec| {
                let max_instances = spec.max_instances.max(1);
                let function_arn = format!(
                    "arn:aws:lambda:{}:{}:function:{}",
                    options.region, options.account_id, spec.name
                );
                let slot = Slot {
                    spec: RwLock::new(Arc::new(spec.clone())),
                    generation: AtomicU64::new(0),
                    permits: Arc::new(Semaphore::new(max_instances)),
                    max_instances,
                    idle: Mutex::new(Vec::new()),
                    next_instance: AtomicU32::new(1),
                    function_arn: function_arn.into(),
                };
                (spec.name, slot)
            })
            .collect();
        LambdaHost {
            inner: Arc::new(Inner {
                slots,
                logs,
                options,
                faults: Mutex::new(HashMap::new()),
                stopping: AtomicBool::new(false),
                shutdown: watch::Sender::new(false),
                registry: watch::Sender::new(BTreeMap::new()),
                next_key: AtomicU64::new(0),
                identities: Identities::default(),
            }),
        }
    }

    /// Synchronous (RequestResponse) invoke: waits for the result.
    pub async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Invocation, HostError> {
        self.invoke_with(function, payload, InvokeContext::default()).await
    }

    /// [`LambdaHost::invoke`] with a request id, trace header, client context or identity of the caller's choosing.
    ///
    /// Dropping the returned future mid-invocation kills the instance running it.
    pub async fn invoke_with(
        &self,
        function: &str,
        payload: Vec<u8>,
        context: InvokeContext,
    ) -> Result<Invocation, HostError> {
        let inner = &*self.inner;
        let slot = inner
            .slots
            .get(function)
            .ok_or_else(|| HostError::UnknownFunction(function.to_owned()))?;
        if payload.len() > MAX_SYNC_PAYLOAD {
            return Err(HostError::RequestTooLarge {
                size: payload.len(),
                limit: MAX_SYNC_PAYLOAD,
            });
        }
        if inner.stopping.load(Ordering::SeqCst) {
            return Err(HostError::ShuttingDown);
        }
        let request_id = context
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if let Some(error_type) = self.take_fault(function) {
            return Ok(self.injected(slot, request_id, error_type));
        }

        let queued = Instant::now();
        let permit = match tokio::time::timeout(inner.options.queue_timeout, slot.permits.clone().acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(HostError::ShuttingDown),
            Err(_elapsed) => {
                return Err(HostError::TooManyRequests {
                    function: function.to_owned(),
                    max_instances: slot.max_instances,
                    waited: queued.elapsed(),
                })
            }
        };
        let mut shutdown = inner.shutdown.subscribe();
        let instance = match self.take_idle(slot).await {
            Some(instance) => instance,
            None => self.spawn(slot).await?,
        };
        let (invocation, reusable) = instance.invoke(request_id, payload, &context, &mut shutdown).await?;
        if let Some(instance) = reusable {
            self.park(slot, instance).await;
        }
        drop(permit);
        Ok(invocation)
    }

    /// Fault injection that only the local cloud reads: the next `times` invocations of `function` (all of them with
    /// `times = None`) fail with `error_type` without reaching the binary. A new fault for the same function
    /// replaces the previous one; `Some(0)` removes it.
    pub fn inject_fault(&self, function: &str, error_type: &str, times: Option<u32>) {
        let mut faults = self.inner.faults.lock().unwrap_or_else(PoisonError::into_inner);
        if times == Some(0) {
            faults.remove(function);
        } else {
            if !self.inner.slots.contains_key(function) {
                tracing::warn!(function, "fault injected for a function the host does not know");
            }
            faults.insert(
                function.to_owned(),
                Fault {
                    error_type: error_type.to_owned(),
                    remaining: times,
                },
            );
        }
    }

    /// Whose credentials `access_key` (the access key id of a request's SigV4 `Credential=`) are: the function and
    /// instance the host minted it for, and the invocation that instance is running right now. `None` for any key
    /// the host did not mint (`local`, an operator's keys, or everything when [`HostOptions::mint_credentials`] is
    /// off). Keys stay known after their instance exits, so late calls are still attributed. A map lookup: cheap
    /// enough for every request, from any task (clones of the host share the map).
    pub fn identify(&self, access_key: &str) -> Option<Caller> {
        self.inner.identities.identify(access_key)
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.inner.faults.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Runs `function` from `binary` from now on: idle instances are stopped, busy ones finish their invocation and
    /// are then retired, the next invoke cold-starts the new binary.
    pub async fn replace_binary(&self, function: &str, binary: impl Into<PathBuf>) -> Result<(), HostError> {
        let slot = self
            .inner
            .slots
            .get(function)
            .ok_or_else(|| HostError::UnknownFunction(function.to_owned()))?;
        {
            let mut spec = slot.spec.write().unwrap_or_else(PoisonError::into_inner);
            let mut replaced = FunctionSpec::clone(&spec);
            replaced.binary = binary.into();
            *spec = Arc::new(replaced);
            slot.generation.fetch_add(1, Ordering::SeqCst);
        }
        for instance in slot.drain_idle() {
            instance.terminate().await;
        }
        Ok(())
    }

    /// Kills every instance (child process) and waits until they are reaped. Invocations in flight end with
    /// [`HostError::ShuttingDown`], and so does every later invoke.
    pub async fn shutdown(&self) {
        let inner = &*self.inner;
        inner.stopping.store(true, Ordering::SeqCst);
        inner.shutdown.send_replace(true);
        for slot in inner.slots.values() {
            slot.permits.close();
        }
        for slot in inner.slots.values() {
            for instance in slot.drain_idle() {
                instance.terminate().await;
            }
        }
        // Invocations in flight stop their own instance on the signal; give them a moment, then kill what is
        // left (an invoke future nobody polls any more cannot react).
        let mut live = inner.registry.subscribe();
        if tokio::time::timeout(SHUTDOWN_GRACE, live.wait_for(BTreeMap::is_empty))
            .await
            .is_err()
        {
            let pids: Vec<u32> = inner.registry.borrow().values().copied().collect();
            for pid in pids {
                instance::kill_process_group(pid);
            }
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, live.wait_for(BTreeMap::is_empty)).await;
        }
    }

    fn take_fault(&self, function: &str) -> Option<String> {
        let mut faults = self.inner.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = faults.get_mut(function)?;
        let error_type = fault.error_type.clone();
        if let Some(remaining) = fault.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                faults.remove(function);
            }
        }
        Some(error_type)
    }

    fn platform(&self, slot: &Slot, spec: &FunctionSpec, instance: u32) -> Platform {
        Platform {
            sink: self.inner.logs.clone(),
            function: spec.name.as_str().into(),
            function_arn: slot.function_arn.clone(),
            instance,
            json: instance::json_logs(&spec.env),
        }
    }

    /// An invocation that fails before reaching any instance; it still logs START/END/REPORT.
    fn injected(&self, slot: &Slot, request_id: String, error_type: String) -> Invocation {
        let spec = slot.spec();
        let platform = self.platform(slot, &spec, 0);
        let error_message = format!("Fault injected by the local cloud: {error_type}");
        let raw = json!({ "errorMessage": error_message, "errorType": error_type })
            .to_string()
            .into_bytes();
        let report = Report::new(&request_id, Duration::ZERO, None, spec.memory_mb, 0)
            .with_status(ReportStatus::Failure, Some(error_type.clone()));
        platform.start(&request_id);
        platform.end_and_report(&report);
        Invocation {
            request_id,
            instance: 0,
            result: Err(FunctionError {
                error_type,
                error_message,
                raw,
            }),
            report,
        }
    }

    /// The most recently used idle instance of the current binary that is still alive.
    async fn take_idle(&self, slot: &Slot) -> Option<Instance> {
        let generation = slot.generation.load(Ordering::SeqCst);
        let mut stale = Vec::new();
        let found = {
            let mut idle = slot.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut found = None;
            while let Some(mut instance) = idle.pop() {
                if instance.generation == generation && instance.is_alive() {
                    found = Some(instance);
                    break;
                }
                stale.push(instance);
            }
            found
        };
        for instance in stale {
            instance.terminate().await;
        }
        found
    }

    async fn spawn(&self, slot: &Slot) -> Result<Instance, HostError> {
        let inner = &*self.inner;
        let spec = slot.spec();
        let id = slot.next_instance.fetch_add(1, Ordering::SeqCst);
        // The request the instance is running; shared with the identity map so `identify` reads it live.
        let current = Arc::new(Mutex::new(None));
        let credentials = inner
            .options
            .mint_credentials
            .then(|| inner.identities.issue(&spec.name, id, current.clone()));
        let minted_key = credentials.as_ref().map(|c| c.access_key_id.clone());
        let context = SpawnContext {
            spec: &spec,
            options: &inner.options,
            platform: self.platform(slot, &spec, id),
            generation: slot.generation.load(Ordering::SeqCst),
            registry: &inner.registry,
            key: inner.next_key.fetch_add(1, Ordering::SeqCst),
            current,
            credentials,
        };
        let instance = match Instance::spawn(context, id).await {
            Ok(instance) => instance,
            Err(e) => {
                if let Some(key) = minted_key {
                    inner.identities.revoke(&key);
                }
                return Err(e);
            }
        };
        if inner.stopping.load(Ordering::SeqCst) {
            instance.terminate().await;
            return Err(HostError::ShuttingDown);
        }
        Ok(instance)
    }

    /// Back to the idle list, unless the host is stopping or the binary was replaced meanwhile.
    async fn park(&self, slot: &Slot, instance: Instance) {
        let rejected = {
            // Checked under the lock shutdown drains with, so no instance is parked after the drain.
            let mut idle = slot.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if self.inner.stopping.load(Ordering::SeqCst)
                || instance.generation != slot.generation.load(Ordering::SeqCst)
            {
                Some(instance)
            } else {
                idle.push(instance);
                None
            }
        };
        if let Some(instance) = rejected {
            instance.terminate().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn host() -> (LambdaHost, mpsc::UnboundedReceiver<LogLine>) {
        let (sink, rx) = mpsc::unbounded_channel();
        (
            LambdaHost::new(vec![FunctionSpec::new("f", "/nonexistent/bootstrap")], sink),
            rx,
        )
    }

    #[test]
    fn faults_count_down_and_clear() {
        let (host, _logs) = host();
        host.inject_fault("f", "States.Timeout", Some(2));
        assert_eq!(host.take_fault("f").as_deref(), Some("States.Timeout"));
        assert_eq!(host.take_fault("f").as_deref(), Some("States.Timeout"));
        assert_eq!(host.take_fault("f"), None);
        host.inject_fault("f", "Boom", None);
        for _ in 0..5 {
            assert_eq!(host.take_fault("f").as_deref(), Some("Boom"));
        }
        host.clear_faults();
        assert_eq!(host.take_fault("f"), None);
        host.inject_fault("f", "Boom", None);
        host.inject_fault("f", "Boom", Some(0));
        assert_eq!(host.take_fault("f"), None);
    }

    #[tokio::test]
    async fn unknown_functions_and_oversized_payloads_are_refused() {
        let (host, _logs) = host();
        let err = host.invoke("nope", b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(err, HostError::UnknownFunction(ref f) if f == "nope"));
        assert_eq!(
            (err.aws_error_code(), err.http_status()),
            ("ResourceNotFoundException", 404)
        );
        let err = host.invoke("f", vec![b' '; MAX_SYNC_PAYLOAD + 1]).await.unwrap_err();
        assert!(matches!(err, HostError::RequestTooLarge { .. }));
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_spawn_error() {
        let (host, _logs) = host();
        let err = host.invoke("f", b"{}".to_vec()).await.unwrap_err();
        assert!(matches!(err, HostError::Spawn { .. }), "{err}");
        // The slot is usable again afterwards (the permit was released).
        assert!(matches!(
            host.invoke("f", b"{}".to_vec()).await,
            Err(HostError::Spawn { .. })
        ));
    }

    #[tokio::test]
    async fn injected_faults_log_like_an_invocation() {
        let (host, mut logs) = host();
        host.inject_fault("f", "TransientDependencyError", Some(1));
        let inv = host.invoke("f", b"{}".to_vec()).await.unwrap();
        let err = inv.result.as_ref().unwrap_err();
        assert_eq!(err.error_type, "TransientDependencyError");
        assert_eq!(inv.instance, 0);
        let v: serde_json::Value = serde_json::from_slice(inv.payload()).unwrap();
        assert_eq!(v["errorType"], "TransientDependencyError");
        let lines: Vec<String> = std::iter::from_fn(|| logs.try_recv().ok()).map(|l| l.line).collect();
        assert_eq!(
            lines[0],
            format!("START RequestId: {} Version: $LATEST", inv.request_id)
        );
        assert_eq!(lines[1], format!("END RequestId: {}", inv.request_id));
        assert!(lines[2].starts_with("REPORT RequestId: "));
    }
}
