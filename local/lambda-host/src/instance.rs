//! One execution environment: a child process of the function's binary and the Runtime API it talks to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::{sleep_until, MissedTickBehavior};

use crate::credentials::Credentials;
use crate::logs::{timeout_message, LogStream, Platform, Pump};
use crate::report::{Report, ReportStatus};
use crate::runtime_api::{self, ApiEvent, Delivery, RuntimeApi};
use crate::{FunctionError, FunctionSpec, HostError, HostOptions, Invocation, InvokeContext};

/// How often a running invocation's memory is checked against the function's memory size.
const MEMORY_POLL: Duration = Duration::from_millis(10);

/// What an instance needs from the host to start.
pub(crate) struct SpawnContext<'a> {
    pub spec: &'a FunctionSpec,
    pub options: &'a HostOptions,
    pub platform: Platform,
    pub generation: u64,
    pub registry: &'a watch::Sender<BTreeMap<u64, u32>>,
    pub key: u64,
    /// The request the instance is running, which the host may also read (see `LambdaHost::identify`).
    pub current: Arc<Mutex<Option<String>>>,
    /// Minted keys for this instance alone, or `None` to leave credentials to the function's environment.
    pub credentials: Option<Credentials>,
}

/// Removes the instance from the host's registry of live processes when it is dropped.
struct Registration {
    registry: watch::Sender<BTreeMap<u64, u32>>,
    key: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.send_modify(|live| {
            live.remove(&self.key);
        });
    }
}

pub(crate) struct Instance {
    pub id: u32,
    pub generation: u64,
    child: Child,
    /// The child's pid, which is also its process group; cleared once the child is reaped, since the number may
    /// then belong to another process.
    pid: Option<u32>,
    api: RuntimeApi,
    platform: Platform,
    spawned_at: Instant,
    /// Set once the runtime asked for its first invocation.
    ready: bool,
    peak_kb: u64,
    pumps: Vec<Pump>,
    current: Arc<Mutex<Option<String>>>,
    timeout: Duration,
    memory_mb: u32,
    init_timeout: Duration,
    // Dropped last: the process is gone (or being killed) by then.
    _registration: Registration,
}

impl Drop for Instance {
    fn drop(&mut self) {
        // kill_on_drop only reaches the direct child; the process group takes anything it forked as well.
        kill_group(self.pid);
    }
}

/// How a runtime's process ended, in the words of Lambda (which reports Go's `ProcessState.String()`).
pub(crate) fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return if code == 0 {
            "Runtime exited without providing a reason".to_owned()
        } else {
            format!("Runtime exited with error: exit status {code}")
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let core = if status.core_dumped() { " (core dumped)" } else { "" };
            return format!("Runtime exited with error: signal: {}{core}", signal_name(signal));
        }
    }
    "Runtime exited with error: unknown status".to_owned()
}

fn signal_name(signal: i32) -> String {
    match signal {
        1 => "hangup".into(),
        2 => "interrupt".into(),
        3 => "quit".into(),
        4 => "illegal instruction".into(),
        5 => "trace/breakpoint trap".into(),
        6 => "aborted".into(),
        7 => "bus error".into(),
        8 => "floating point exception".into(),
        9 => "killed".into(),
        11 => "segmentation fault".into(),
        13 => "broken pipe".into(),
        15 => "terminated".into(),
        other => format!("signal {other}"),
    }
}

/// The variables a provided.al2023 runtime sees. Defaults first (the function's variables may override them,
/// e.g. region, log format, and credentials unless the host mints them), then what identifies this instance and,
/// if minted, its credentials (never overridable, as on AWS).
pub(crate) fn environment(
    spec: &FunctionSpec,
    options: &HostOptions,
    runtime_api: &str,
    task_root: &Path,
    credentials: Option<&Credentials>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_owned(), v.to_owned());
    };
    set("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
    set("LANG", "en_US.UTF-8");
    set("TZ", ":UTC");
    set("_HANDLER", "bootstrap");
    set("AWS_REGION", &options.region);
    set("AWS_DEFAULT_REGION", &options.region);
    set("AWS_LAMBDA_LOG_FORMAT", "Text");
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_owned(), v.to_owned());
    };
    let stream = format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid::Uuid::new_v4().simple()
    );
    set("AWS_LAMBDA_FUNCTION_NAME", &spec.name);
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &spec.memory_mb.to_string());
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
    set("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{}", spec.name));
    set("AWS_LAMBDA_LOG_STREAM_NAME", &stream);
    set("AWS_LAMBDA_RUNTIME_API", runtime_api);
    set("LAMBDA_TASK_ROOT", &task_root.to_string_lossy());
    set("LAMBDA_RUNTIME_DIR", "/var/runtime");
    if let Some(c) = credentials {
        set("AWS_ACCESS_KEY_ID", &c.access_key_id);
        set("AWS_SECRET_ACCESS_KEY", &c.secret_access_key);
        set("AWS_SESSION_TOKEN", &c.session_token);
    }
    env
}

/// Whether the function logs JSON, which also switches Lambda's platform lines to JSON events.
pub(crate) fn json_logs(env: &BTreeMap<String, String>) -> bool {
    env.get("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|v| v.eq_ignore_ascii_case("json"))
}

/// Starts the child. On Linux it is forked from one long-lived thread with PR_SET_PDEATHSIG = SIGKILL, so the kernel
/// kills every instance when the host dies without cleaning up (SIGKILL, abort, Ctrl-C's default action). The
/// signal follows the *thread* that forked the child, hence the dedicated thread: a runtime worker or blocking-pool
/// thread may exit long before the host does.
#[cfg(target_os = "linux")]
async fn spawn_child(mut cmd: Command) -> std::io::Result<Child> {
    use std::sync::mpsc::Sender;
    use std::sync::OnceLock;

    type Job = (
        Command,
        tokio::runtime::Handle,
        tokio::sync::oneshot::Sender<std::io::Result<Child>>,
    );
    static SPAWNER: OnceLock<Option<Sender<Job>>> = OnceLock::new();

    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("zb-lambda-host-spawner".into())
            .spawn(move || {
                for (mut cmd, runtime, reply) in queue {
                    // tokio registers the child and its pipes with the runtime that will drive them.
                    let _entered = runtime.enter();
                    let _ = reply.send(cmd.spawn());
                }
            });
        thread.ok().map(|_| jobs)
    });
    let unavailable = || std::io::Error::other("the zb-lambda-host spawner thread is not running");
    let (spawner, runtime) = match (spawner, tokio::runtime::Handle::try_current()) {
        (Some(spawner), Ok(runtime)) => (spawner, runtime),
        _ => return Err(unavailable()),
    };
    let (reply, spawned) = tokio::sync::oneshot::channel();
    spawner.send((cmd, runtime, reply)).map_err(|_| unavailable())?;
    spawned.await.map_err(|_| unavailable())?
}

#[cfg(not(target_os = "linux"))]
async fn spawn_child(mut cmd: Command) -> std::io::Result<Child> {
    cmd.spawn()
}

pub(crate) fn kill_process_group(pid: u32) {
    kill_group(Some(pid));
}

fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Peak and current resident memory of a process, in kB, from /proc (Linux only).
#[cfg(target_os = "linux")]
fn memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_memory(&status)
}

#[cfg(not(target_os = "linux"))]
fn memory_kb(_pid: u32) -> Option<(u64, u64)> {
    None
}

/// (VmHWM, VmRSS) in kB from the text of /proc/<pid>/status.
pub(crate) fn parse_memory(status: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

fn mb_rounded_up(kb: u64) -> u32 {
    u32::try_from(kb.div_ceil(1024)).unwrap_or(u32::MAX)
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An X-Ray trace header like the one Lambda passes in Lambda-Runtime-Trace-Id.
fn trace_header() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let root = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{secs:08x}-{};Parent={};Sampled=0", &root[..24], &parent[..16])
}

/// The error payload Lambda returns when the platform ends an invocation.
fn platform_error(request_id: &str, error_type: &str, reason: &str) -> FunctionError {
    let message = format!("RequestId: {request_id} Error: {reason}");
    let raw = json!({ "errorMessage": message, "errorType": error_type })
        .to_string()
        .into_bytes();
    FunctionError {
        error_type: error_type.to_owned(),
        error_message: message,
        raw,
    }
}

/// The error a runtime posted. Callers (Step Functions' Retry/Catch) match the body's `errorType`, so it wins over
/// the Lambda-Runtime-Function-Error-Type header, which lambda_runtime sets to "unhandled" for every error.
pub(crate) fn posted_error(header_type: Option<&str>, body: &[u8]) -> FunctionError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let error_type = field("errorType")
        .or_else(|| header_type.map(str::to_owned))
        .unwrap_or_else(|| "Unhandled".to_owned());
    let error_message = field("errorMessage").unwrap_or_default();
    let raw = if parsed.is_some() {
        body.to_vec()
    } else {
        json!({ "errorMessage": error_message, "errorType": error_type })
            .to_string()
            .into_bytes()
    };
    FunctionError {
        error_type,
        error_message,
        raw,
    }
}

/// How waiting for the runtime ended.
enum Waited {
    Ready(Duration),
    Response(Bytes),
    FunctionError(Option<String>, Bytes),
    InitError(Option<String>, Bytes),
    Exited(Option<ExitStatus>),
    Timeout,
    OutOfMemory,
    Shutdown,
}

impl Instance {
    pub(crate) async fn spawn(ctx: SpawnContext<'_>, id: u32) -> Result<Instance, HostError> {
        let spec = ctx.spec;
        let spawn_error = |source: std::io::Error| HostError::Spawn {
            function: spec.name.clone(),
            binary: spec.binary.clone(),
            source,
        };
        let api = runtime_api::start().await.map_err(|source| HostError::RuntimeApi {
            function: spec.name.clone(),
            source,
        })?;
        // Relative paths would resolve against the new working directory on some platforms.
        let binary: PathBuf = std::path::absolute(&spec.binary).map_err(spawn_error)?;
        let task_root = binary.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        let env = environment(
            spec,
            ctx.options,
            &api.addr.to_string(),
            &task_root,
            ctx.credentials.as_ref(),
        );

        let mut cmd = Command::new(&binary);
        cmd.env_clear()
            .envs(&env)
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        {
            // Its own process group: a terminal's Ctrl-C reaches the host, which then shuts instances down, and
            // killing the group also takes whatever the runtime forked.
            cmd.process_group(0);
        }
        let mut platform = ctx.platform;
        platform.instance = id;
        platform.json = json_logs(&env);
        let mut child = spawn_child(cmd).await.map_err(spawn_error)?;
        let spawned_at = Instant::now();
        // Before the pumps start, so INIT_START precedes anything the runtime prints.
        platform.init_start();
        let pid = child.id();
        if let Some(pid) = pid {
            ctx.registry.send_modify(|live| {
                live.insert(ctx.key, pid);
            });
        }
        let registration = Registration {
            registry: ctx.registry.clone(),
            key: ctx.key,
        };

        let current = ctx.current;
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(Pump::start(out, LogStream::Stdout, &platform, current.clone()));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(Pump::start(err, LogStream::Stderr, &platform, current.clone()));
        }
        Ok(Instance {
            id,
            generation: ctx.generation,
            child,
            pid,
            api,
            platform,
            spawned_at,
            ready: false,
            peak_kb: 0,
            pumps,
            current,
            timeout: spec.timeout,
            memory_mb: spec.memory_mb,
            init_timeout: ctx.options.init_timeout,
            _registration: registration,
        })
    }

    /// Whether the process is still running (an idle instance can die on its own).
    pub(crate) fn is_alive(&mut self) -> bool {
        let alive = matches!(self.child.try_wait(), Ok(None));
        if !alive {
            self.pid = None;
        }
        alive
    }

    /// Kills the process (group) and reaps it.
    pub(crate) async fn terminate(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        kill_group(self.pid);
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.pid = None;
    }

    fn over_limit(&mut self) -> bool {
        let Some((hwm, rss)) = self.pid.and_then(memory_kb) else {
            return false;
        };
        self.peak_kb = self.peak_kb.max(hwm);
        rss > u64::from(self.memory_mb) * 1024
    }

    fn peak_over_limit(&self) -> bool {
        self.peak_kb > u64::from(self.memory_mb) * 1024
    }

    async fn flush_logs(&self) {
        for pump in &self.pumps {
            pump.flush().await;
        }
    }

    /// Waits for the runtime: its first `/next` during init, or the answer to `request_id`.
    async fn wait(
        &mut self,
        request_id: Option<&str>,
        deadline: Instant,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Waited {
        let mut tick = tokio::time::interval(MEMORY_POLL);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                // Shutdown first: once the host stops, how the invocation would have ended no longer matters.
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return Waited::Shutdown,
                event = self.api.events.recv() => match (event, request_id) {
                    (Some(ApiEvent::Ready { at }), None) => {
                        return Waited::Ready(at.saturating_duration_since(self.spawned_at));
                    }
                    (Some(ApiEvent::InitError { error_type, body }), None) => {
                        return Waited::InitError(error_type, body);
                    }
                    (Some(ApiEvent::Response { request_id: r, body }), Some(id)) if r == id => {
                        return Waited::Response(body);
                    }
                    (Some(ApiEvent::Error { request_id: r, error_type, body }), Some(id)) if r == id => {
                        return Waited::FunctionError(error_type, body);
                    }
                    // Anything else belongs to no live invocation.
                    (Some(_), _) => {}
                    (None, _) => return Waited::Exited(None),
                },
                status = self.child.wait() => {
                    self.pid = None;
                    return Waited::Exited(status.ok());
                }
                _ = sleep_until(deadline.into()) => return Waited::Timeout,
                _ = tick.tick() => {
                    if self.over_limit() {
                        return Waited::OutOfMemory;
                    }
                }
            }
        }
    }

    /// Runs one invocation. Gives the instance back when it can serve the next one.
    pub(crate) async fn invoke(
        mut self,
        request_id: String,
        payload: Vec<u8>,
        invoke: &InvokeContext,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(Invocation, Option<Instance>), HostError> {
        let mut init_duration = None;
        if !self.ready {
            let deadline = self.spawned_at + self.init_timeout;
            match self.wait(None, deadline, shutdown).await {
                Waited::Ready(d) => {
                    self.ready = true;
                    init_duration = Some(d);
                }
                Waited::Shutdown => {
                    self.terminate().await;
                    return Err(HostError::ShuttingDown);
                }
                failed => return Ok((self.init_failed(request_id, failed).await, None)),
            }
        }

        if let Ok(mut current) = self.current.lock() {
            *current = Some(request_id.clone());
        }
        self.platform.start(&request_id);
        // A sample before the event: a process that dies at once still reports what it used.
        self.over_limit();
        let started = Instant::now();
        let deadline = started + self.timeout;
        let delivery = Delivery {
            request_id: request_id.clone(),
            payload: Bytes::from(payload),
            deadline_ms: epoch_ms(SystemTime::now() + self.timeout),
            function_arn: self.platform.function_arn.to_string(),
            trace_id: invoke.trace_id.clone().unwrap_or_else(trace_header),
            client_context: invoke.client_context.clone(),
            cognito_identity: invoke.cognito_identity.clone(),
        };
        let waited = if self.api.deliver.send(delivery).is_ok() {
            self.wait(Some(&request_id), deadline, shutdown).await
        } else {
            Waited::Exited(None)
        };
        let mut duration = started.elapsed();

        let (result, status, keep) = match waited {
            Waited::Response(body) => (Ok(body.to_vec()), ReportStatus::Success, true),
            Waited::FunctionError(header, body) => {
                (Err(posted_error(header.as_deref(), &body)), ReportStatus::Failure, true)
            }
            Waited::Timeout => {
                duration = self.timeout;
                let message = timeout_message(self.timeout);
                (
                    Err(platform_error(&request_id, "Sandbox.Timedout", &message)),
                    ReportStatus::Timeout,
                    false,
                )
            }
            Waited::OutOfMemory => (Err(self.out_of_memory(&request_id)), ReportStatus::Error, false),
            Waited::Exited(status) => {
                let reason = status.map_or_else(|| "Runtime exited without providing a reason".into(), describe_exit);
                (
                    Err(platform_error(&request_id, "Runtime.ExitError", &reason)),
                    ReportStatus::Error,
                    false,
                )
            }
            Waited::Shutdown => {
                self.terminate().await;
                return Err(HostError::ShuttingDown);
            }
            // wait() with a request id returns neither; should it ever, the instance is not trusted again.
            Waited::Ready(_) | Waited::InitError(..) => {
                let error = platform_error(&request_id, "Runtime.Unknown", "Unknown application error occurred");
                (Err(error), ReportStatus::Error, false)
            }
        };

        // Max Memory Used is the peak over the sandbox's life; a peak above the memory size means Lambda's
        // cgroup would have killed the process, even if it finished between two samples.
        let (result, status, keep) = match (keep, self.over_limit() || self.peak_over_limit()) {
            (true, true) => (Err(self.out_of_memory(&request_id)), ReportStatus::Error, false),
            _ => (result, status, keep),
        };

        if !keep {
            self.stop().await;
        }
        self.flush_logs().await;
        match (&status, &result) {
            (ReportStatus::Timeout, _) => self.platform.timed_out(&request_id, self.timeout),
            (ReportStatus::Error, Err(e)) => self.platform.runtime_error(&request_id, reason_of(e), &e.error_type),
            _ => {}
        }
        let error_type = match (&status, &result) {
            (ReportStatus::Success | ReportStatus::Timeout, _) | (_, Ok(_)) => None,
            (_, Err(e)) => Some(e.error_type.clone()),
        };
        let report = Report::new(
            &request_id,
            duration,
            init_duration,
            self.memory_mb,
            mb_rounded_up(self.peak_kb),
        )
        .with_status(status, error_type);
        self.platform.end_and_report(&report);
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }

        let invocation = Invocation {
            request_id,
            instance: self.id,
            result,
            report,
        };
        Ok((invocation, keep.then_some(self)))
    }

    /// Lambda's cgroup kills the process with SIGKILL; the caller sees Runtime.OutOfMemory with the exit reason.
    /// ("Status: error Error Type: Runtime.OutOfMemory" in REPORT; payload
    /// `{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: ... Error: Runtime exited with error: signal: killed"}`.)
    fn out_of_memory(&mut self, request_id: &str) -> FunctionError {
        self.peak_kb = self.peak_kb.max(u64::from(self.memory_mb) * 1024);
        platform_error(
            request_id,
            "Runtime.OutOfMemory",
            "Runtime exited with error: signal: killed",
        )
    }

    /// The runtime never asked for an invocation: it exited, posted /init/error, ran out of memory or time.
    async fn init_failed(mut self, request_id: String, failed: Waited) -> Invocation {
        let elapsed = self.spawned_at.elapsed();
        // (the caller's error, REPORT status, the error type Lambda logs, whether Lambda logs the reason itself)
        let (error, status, logged_type, platform_reason) = match failed {
            Waited::InitError(header, body) => {
                // The runtime said why (and usually printed it); the header names the failure in the logs, the
                // body is what the caller gets back.
                let error = posted_error(header.as_deref(), &body);
                let logged = header.unwrap_or_else(|| error.error_type.clone());
                (error, ReportStatus::Error, Some(logged), false)
            }
            Waited::Timeout => {
                let error = platform_error(&request_id, "Sandbox.Timedout", &timeout_message(self.init_timeout));
                (error, ReportStatus::Timeout, None, false)
            }
            Waited::OutOfMemory => {
                let error = self.out_of_memory(&request_id);
                let logged = error.error_type.clone();
                (error, ReportStatus::Error, Some(logged), true)
            }
            Waited::Exited(status) => {
                let reason = status.map_or_else(|| "Runtime exited without providing a reason".into(), describe_exit);
                let error = platform_error(&request_id, "Runtime.ExitError", &reason);
                let logged = error.error_type.clone();
                (error, ReportStatus::Error, Some(logged), true)
            }
            _ => {
                let error = platform_error(&request_id, "Runtime.Unknown", "Unknown application error occurred");
                let logged = error.error_type.clone();
                (error, ReportStatus::Error, Some(logged), true)
            }
        };
        self.stop().await;
        self.flush_logs().await;

        self.platform
            .init_failed(elapsed, status.as_str(), logged_type.as_deref());
        self.platform.start(&request_id);
        if status == ReportStatus::Timeout {
            self.platform.timed_out(&request_id, self.init_timeout);
        } else if platform_reason {
            self.platform
                .runtime_error(&request_id, reason_of(&error), &error.error_type);
        }
        let report = Report::new(&request_id, elapsed, None, self.memory_mb, mb_rounded_up(self.peak_kb))
            .with_status(status, logged_type);
        self.platform.end_and_report(&report);
        Invocation {
            request_id,
            instance: self.id,
            result: Err(error),
            report,
        }
    }
}

/// `Runtime exited with error: exit status 1` out of `RequestId: <id> Error: Runtime exited with error: ...`.
fn reason_of(error: &FunctionError) -> &str {
    error
        .error_message
        .split_once(" Error: ")
        .map_or(error.error_message.as_str(), |(_, reason)| reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fields_come_from_proc_status() {
        let status = "Name:\tbootstrap\nVmPeak:\t  20000 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8192 kB\n";
        assert_eq!(parse_memory(status), Some((9000, 8192)));
        assert_eq!(parse_memory("Name:\tzombie\n"), None);
        assert_eq!(mb_rounded_up(9000), 9);
        assert_eq!(mb_rounded_up(8192), 8);
        assert_eq!(mb_rounded_up(8193), 9);
    }

    #[cfg(unix)]
    #[test]
    fn exits_are_described_like_lambda() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(ExitStatus::from_raw(1 << 8)),
            "Runtime exited with error: exit status 1"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(101 << 8)),
            "Runtime exited with error: exit status 101"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(9)),
            "Runtime exited with error: signal: killed"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(11)),
            "Runtime exited with error: signal: segmentation fault"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(0)),
            "Runtime exited without providing a reason"
        );
    }

    #[test]
    fn posted_errors_prefer_the_body_error_type() {
        let e = posted_error(
            Some("unhandled"),
            br#"{"errorType":"ValidationError","errorMessage":"bad"}"#,
        );
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            ("ValidationError", "bad")
        );
        assert_eq!(e.raw, br#"{"errorType":"ValidationError","errorMessage":"bad"}"#);
        let e = posted_error(Some("Runtime.InitError"), b"not json");
        assert_eq!(e.error_type, "Runtime.InitError");
        let e = posted_error(None, b"");
        assert_eq!(e.error_type, "Unhandled");
    }

    #[test]
    fn the_environment_is_lambdas_and_reserved_names_win() {
        let mut spec = FunctionSpec::new("ingest", "/tmp/bootstrap");
        spec.env.insert("TABLE".into(), "t".into());
        spec.env.insert("AWS_REGION".into(), "eu-west-1".into());
        spec.env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), "spoofed".into());
        let env = environment(
            &spec,
            &HostOptions::default(),
            "127.0.0.1:9001",
            Path::new("/tmp"),
            None,
        );
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "ingest");
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/ingest");
        assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("/[$LATEST]"));
        assert_eq!(env["AWS_REGION"], "eu-west-1");
        assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
        assert_eq!(env["TABLE"], "t");
        assert_eq!(env["_HANDLER"], "bootstrap");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/tmp");
        assert!(!json_logs(&env));
    }

    #[test]
    fn minted_credentials_win_over_the_functions_own() {
        let mut spec = FunctionSpec::new("ingest", "/tmp/bootstrap");
        for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
            spec.env.insert(name.into(), "local".into());
        }
        let options = HostOptions::default();
        let minted = Credentials::mint();
        let env = environment(&spec, &options, "127.0.0.1:9001", Path::new("/tmp"), Some(&minted));
        assert_eq!(env["AWS_ACCESS_KEY_ID"], minted.access_key_id);
        assert_eq!(env["AWS_SECRET_ACCESS_KEY"], minted.secret_access_key);
        assert_eq!(env["AWS_SESSION_TOKEN"], minted.session_token);
        // Without minting the function's environment decides, as before.
        let env = environment(&spec, &options, "127.0.0.1:9001", Path::new("/tmp"), None);
        assert_eq!(env["AWS_ACCESS_KEY_ID"], "local");
        assert_eq!(env["AWS_SESSION_TOKEN"], "local");
    }

    #[test]
    fn trace_headers_look_like_xray() {
        let t = trace_header();
        let re = t.split(';').collect::<Vec<_>>();
        assert!(
            re[0].starts_with("Root=1-") && re[0].len() == "Root=1-".len() + 8 + 1 + 24,
            "{t}"
        );
        assert_eq!(re[1].len(), "Parent=".len() + 16, "{t}");
    }
}
