//! Step Functions: the template's state machines (and those created through
//! the API, see `machines`) run by the zb-asl interpreter, with
//! StartExecution, StartSyncExecution, DescribeExecution, ListExecutions,
//! GetExecutionHistory and StopExecution served in AWS's JSON shapes (and
//! refused for the workflow type AWS refuses them for), and TestState (see
//! `test_state`). Every execution keeps the definition it started with,
//! whatever happens to its machine later. A machine's LoggingConfiguration
//! is honoured: its executions' events are written to its log group in Step
//! Functions' log format (the only way to see an Express execution, as on
//! AWS). Histories are also kept under the state folder (the API serves
//! Standard ones; cost attribution reads both).

mod machines;
mod test_state;

use machines::validate_definition;
pub use machines::TemplateSwap;

use crate::awsjson::{epoch, page, required, ApiError, SFN_PAGING};
use crate::origin::Origin;
use crate::template::StateMachineDef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;

/// How the engine calls Lambda (the cloud's Lambda host).
pub type Invoker = Arc<dyn zb_asl_invoker::DynInvoker>;

pub mod zb_asl_invoker {
    //! Object-safe wrapper around zb_asl's TaskInvoker, so the engine can
    //! hold any invoker behind an Arc.
    use futures::future::BoxFuture;
    use serde_json::Value;

    pub trait DynInvoker: Send + Sync {
        /// Invokes `function` on behalf of `caller` (the execution's role, which IAM evaluates).
        fn invoke(
            &self,
            caller: &TaskCaller,
            function: &str,
            payload: Value,
        ) -> BoxFuture<'_, Result<Value, (String, String)>>;
    }

    /// Who a state machine's task calls as: the machine's role, in a session named after the
    /// execution.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TaskCaller {
        pub role_arn: String,
        pub session: String,
    }

    pub struct Adapter<'a>(pub &'a dyn DynInvoker, pub TaskCaller);

    impl zb_asl::TaskInvoker for Adapter<'_> {
        async fn invoke_lambda(&self, function: &str, payload: Value) -> Result<Value, zb_asl::TaskFailure> {
            self.0
                .invoke(&self.1, function, payload)
                .await
                .map_err(|(error, cause)| zb_asl::TaskFailure { error, cause })
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: String,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// GetExecutionHistory events, already in AWS's JSON shape.
    pub history: Vec<Value>,
}

/// Where and how one execution's events are logged (its machine's
/// LoggingConfiguration), as Step Functions logs them to CloudWatch Logs.
struct ExecutionLog<'a> {
    state_dir: &'a std::path::Path,
    group: String,
    stream: String,
    arn: String,
    level: zb_cost::sfn_log::LogLevel,
    include_data: bool,
}

impl ExecutionLog<'_> {
    fn write(&self, event: &Value) {
        let Some(event_type) = event.get("type").and_then(Value::as_str) else {
            return;
        };
        if !self.level.logs(event_type) {
            return;
        }
        let Some(line) = zb_cost::sfn_log::log_line(event, &self.arn, self.include_data) else {
            return;
        };
        let timestamp = line
            .get("event_timestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| Utc::now().timestamp_millis());
        let ev = crate::logs::LogEvent {
            log_group_name: self.group.clone(),
            log_stream_name: self.stream.clone(),
            timestamp,
            message: line.to_string(),
            ingestion_time: Utc::now().timestamp_millis(),
        };
        if let Err(e) = crate::logs::append(self.state_dir, &self.group, &[ev]) {
            tracing::warn!(error = %e, group = %self.group, "cannot write an execution log line");
        }
    }
}

/// The log stream of an execution. Step Functions names the streams it
/// writes to a state machine's group `states/<state machine>/<UTC date and
/// minute, yyyy-mm-dd-hh-mm>/<id>` (as observed in vended log groups; the
/// developer guide documents the group, not the stream names); here each
/// execution has its own stream, the id derived from its ARN.
fn log_stream_name(machine: &str, exec_arn: &str, start: DateTime<Utc>) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    exec_arn.hash(&mut h);
    format!(
        "states/{machine}/{}/{:08x}",
        start.format("%Y-%m-%d-%H-%M"),
        h.finish() & 0xffff_ffff
    )
}

/// DescribeExecution, GetExecutionHistory and StopExecution do not take an
/// Express execution: "Executions of an EXPRESS state machine aren't
/// supported by DescribeExecution" (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html),
/// "This API action is not supported by EXPRESS state machines"
/// (.../API_GetExecutionHistory.html, .../API_StopExecution.html). Their
/// service model lists no type error (DescribeExecution: ExecutionDoesNotExist,
/// InvalidArn); what AWS answers, as reported by users of the AWS CLI, is
/// InvalidArn "Invalid Arn: 'Resource type not valid in this context:
/// express'": an Express execution ARN (resource type `express`) is not an
/// execution ARN to these operations. We follow that.
fn refuse_express_arn(arn: &str) -> Result<(), ApiError> {
    if arn.split(':').nth(5) == Some("express") {
        return Err(ApiError::new(
            "InvalidArn",
            "Invalid Arn: 'Resource type not valid in this context: express'",
        ));
    }
    Ok(())
}

/// ListExecutions on an Express machine, StartSyncExecution on a Standard
/// one: StateMachineTypeNotSupported (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html,
/// .../API_StartSyncExecution.html: "StartSyncExecution is not available for
/// STANDARD workflows"; both list StateMachineTypeNotSupported, HTTP 400).
fn type_not_supported() -> ApiError {
    ApiError::new(
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    )
}

struct Machine {
    def: StateMachineDef,
    parsed: zb_asl::StateMachine,
    created: DateTime<Utc>,
    role_arn: String,
    origin: Origin,
}

/// An execution: its record, a signal when it ends, and its stop handle.
pub struct Running {
    record: Mutex<ExecutionRecord>,
    done: Notify,
    cancel: zb_asl::StopHandle,
}

pub struct StepFunctions {
    machines: RwLock<HashMap<String, Arc<Machine>>>,
    executions: RwLock<HashMap<String, Arc<Running>>>,
    /// Execution ARNs per state machine, newest last.
    order: RwLock<Vec<String>>,
    invoker: Invoker,
    state_dir: PathBuf,
    time_scale: f64,
    /// Injected StartExecution failures per state machine ARN: (error, times left; None = always).
    start_faults: Mutex<HashMap<String, (&'static str, Option<u32>)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SfnError {
    #[error("state machine {name}{}: {detail}", file.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Definition {
        name: String,
        /// The ASL file, when the definition came from one.
        file: Option<String>,
        detail: String,
    },
}

impl StepFunctions {
    pub fn new(
        defs: &[StateMachineDef],
        invoker: Invoker,
        state_dir: PathBuf,
        time_scale: f64,
    ) -> Result<Arc<Self>, SfnError> {
        let machines = parse_template(defs)?
            .into_iter()
            .map(|m| (m.def.arn.clone(), Arc::new(m)))
            .collect();
        let sfn = Arc::new(Self {
            machines: RwLock::new(machines),
            executions: RwLock::new(HashMap::new()),
            order: RwLock::new(Vec::new()),
            invoker,
            state_dir,
            time_scale,
            start_faults: Mutex::new(HashMap::new()),
        });
        sfn.load_saved();
        Ok(sfn)
    }

    /// The state folder (execution files, logs).
    pub fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }

    fn dir(&self) -> PathBuf {
        self.state_dir.join("executions")
    }

    fn file_for(&self, exec_arn: &str) -> PathBuf {
        let safe: String = exec_arn
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        self.dir().join(format!("{safe}.json"))
    }

    fn save(&self, record: &ExecutionRecord) {
        let _ = std::fs::create_dir_all(self.dir());
        if let Ok(text) = serde_json::to_string(record) {
            let path = self.file_for(&record.execution_arn);
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(tmp, path);
            }
        }
    }

    /// A finished execution's history, from its file.
    fn saved_history(&self, exec_arn: &str) -> Result<Vec<Value>, ApiError> {
        let path = self.file_for(exec_arn);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ApiError::new(
                "ExecutionDoesNotExist",
                format!("history of {exec_arn} is unreadable: {e}"),
            )
        })?;
        let record: ExecutionRecord = serde_json::from_str(&text).map_err(|e| {
            ApiError::new(
                "ExecutionDoesNotExist",
                format!("history of {exec_arn} is unreadable: {e}"),
            )
        })?;
        Ok(record.history)
    }

    /// Histories from earlier runs. An execution that was running when the
    /// cloud stopped can never finish: it is shown as ABORTED.
    fn load_saved(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return;
        };
        // Only the summaries: a history is read from its file when asked for,
        // so start-up memory does not grow with the number of past executions.
        #[derive(Deserialize)]
        struct Summary {
            execution_arn: String,
            state_machine_arn: String,
            name: String,
            status: String,
            start: DateTime<Utc>,
            stop: Option<DateTime<Utc>>,
            input: String,
            output: Option<String>,
            error: Option<String>,
            cause: Option<String>,
        }
        let mut loaded: Vec<ExecutionRecord> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str::<Summary>(&t).ok())
            .map(|s| ExecutionRecord {
                execution_arn: s.execution_arn,
                state_machine_arn: s.state_machine_arn,
                name: s.name,
                status: s.status,
                start: s.start,
                stop: s.stop,
                input: s.input,
                output: s.output,
                error: s.error,
                cause: s.cause,
                history: Vec::new(),
            })
            .collect();
        loaded.sort_by_key(|r| r.start);
        let mut execs = self.executions.write().unwrap_or_else(|e| e.into_inner());
        let mut order = self.order.write().unwrap_or_else(|e| e.into_inner());
        for mut r in loaded {
            if r.status == "RUNNING" {
                r.status = "ABORTED".into();
                r.stop = Some(Utc::now());
                r.error = Some("States.Aborted".into());
                r.cause = Some("the local cloud stopped while the execution was running".into());
                // Keep the history recorded so far in the rewritten file.
                let mut full = r.clone();
                full.history = self.saved_history(&r.execution_arn).unwrap_or_default();
                self.save(&full);
            }
            order.push(r.execution_arn.clone());
            execs.insert(
                r.execution_arn.clone(),
                Arc::new(Running {
                    record: Mutex::new(r),
                    done: Notify::new(),
                    cancel: zb_asl::StopHandle::new(),
                }),
            );
        }
    }

    fn machine(&self, arn: &str) -> Result<Arc<Machine>, ApiError> {
        let machines = self.machines.read().unwrap_or_else(|e| e.into_inner());
        machines
            .get(arn)
            .or_else(|| machines.values().find(|m| m.def.name == arn))
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    "StateMachineDoesNotExist",
                    format!("State Machine Does Not Exist: '{arn}'"),
                )
            })
    }

    fn execution(&self, arn: &str) -> Result<Arc<Running>, ApiError> {
        self.executions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(arn)
            .cloned()
            .ok_or_else(|| ApiError::new("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")))
    }

    /// Starts an execution; returns it so sync callers can wait.
    /// Makes the next `times` (None: every) StartExecution of a machine fail
    /// with a server-side error AWS documents for every Step Functions
    /// action (ServiceUnavailable 503, ThrottlingException or
    /// InternalFailure), as an outage would: the fault test's "an execution
    /// that never starts".
    pub fn inject_start_fault(&self, sm_arn: &str, error: &str, times: Option<u32>) {
        let error = match error {
            "ThrottlingException" => "ThrottlingException",
            "InternalFailure" => "InternalFailure",
            _ => "ServiceUnavailable",
        };
        let mut faults = self
            .start_faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        faults.insert(sm_arn.to_string(), (error, times));
    }

    fn take_start_fault(&self, sm_arn: &str) -> Option<ApiError> {
        let mut faults = self
            .start_faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (error, left) = faults.get_mut(sm_arn)?;
        let error = *error;
        if let Some(n) = left {
            if *n == 0 {
                faults.remove(sm_arn);
                return None;
            }
            *n -= 1;
        }
        let status = match error {
            "ThrottlingException" => axum::http::StatusCode::BAD_REQUEST,
            "InternalFailure" => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            _ => axum::http::StatusCode::SERVICE_UNAVAILABLE,
        };
        Some(ApiError {
            status,
            kind: error,
            message: "injected fault: the execution was not started".into(),
        })
    }

    pub fn start(
        self: &Arc<Self>,
        sm_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<Arc<Running>, ApiError> {
        let machine = self.machine(sm_arn)?;
        if let Some(fault) = self.take_start_fault(&machine.def.arn) {
            return Err(fault);
        }
        let input_text = input.unwrap_or("{}").to_string();
        let input_json: Value = serde_json::from_str(&input_text).map_err(|e| {
            ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if name.is_empty() || name.len() > 80 {
            return Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")));
        }
        let kind = if machine.def.kind == "EXPRESS" {
            "express"
        } else {
            "execution"
        };
        let exec_arn = format!(
            "arn:aws:states:{}:{}:{kind}:{}:{name}",
            crate::template::REGION,
            crate::template::ACCOUNT,
            machine.def.name
        );
        let start = Utc::now();
        let record = ExecutionRecord {
            execution_arn: exec_arn.clone(),
            state_machine_arn: machine.def.arn.clone(),
            name: name.clone(),
            status: "RUNNING".into(),
            start,
            stop: None,
            input: input_text,
            output: None,
            error: None,
            cause: None,
            history: Vec::new(),
        };
        let running = Arc::new(Running {
            record: Mutex::new(record.clone()),
            done: Notify::new(),
            cancel: zb_asl::StopHandle::new(),
        });
        {
            let mut execs = self.executions.write().unwrap_or_else(|e| e.into_inner());
            if execs.contains_key(&exec_arn) {
                return Err(ApiError::new(
                    "ExecutionAlreadyExists",
                    format!("Execution Already Exists: '{exec_arn}'"),
                ));
            }
            execs.insert(exec_arn.clone(), running.clone());
            self.order
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .push(exec_arn.clone());
        }
        self.save(&record);
        let this = self.clone();
        let run = running.clone();
        tokio::spawn(async move {
            this.run(machine, run, input_json, exec_arn, name, start).await;
        });
        Ok(running)
    }

    async fn run(
        &self,
        machine: Arc<Machine>,
        running: Arc<Running>,
        input: Value,
        arn: String,
        name: String,
        start: DateTime<Utc>,
    ) {
        struct Sink<'a> {
            running: &'a Running,
            log: Option<ExecutionLog<'a>>,
        }
        impl zb_asl::HistorySink for Sink<'_> {
            fn record(&mut self, event: zb_asl::HistoryEvent) {
                let json = zb_asl::render_event(&event);
                if let Some(log) = &self.log {
                    log.write(&json);
                }
                if let Ok(mut r) = self.running.record.lock() {
                    r.history.push(json);
                }
            }
        }
        let log = machine.def.logging.log_group.as_ref().and_then(|(group, _)| {
            (machine.def.logging.level != zb_cost::sfn_log::LogLevel::Off).then(|| ExecutionLog {
                state_dir: &self.state_dir,
                group: group.clone(),
                stream: log_stream_name(&machine.def.name, &arn, start),
                arn: arn.clone(),
                level: machine.def.logging.level,
                include_data: machine.def.logging.include_execution_data,
            })
        });
        let options = zb_asl::ExecutionOptions {
            execution_arn: arn,
            execution_name: name,
            state_machine_arn: machine.def.arn.clone(),
            state_machine_name: machine.def.name.clone(),
            role_arn: machine.role_arn.clone(),
            start_time: start,
            time_scale: self.time_scale,
            cancel: running.cancel.clone(),
        };
        let caller = zb_asl_invoker::TaskCaller {
            role_arn: machine.role_arn.clone(),
            session: options.execution_name.clone(),
        };
        let adapter = zb_asl_invoker::Adapter(self.invoker.as_ref(), caller);
        let mut sink = Sink { running: &running, log };
        let outcome = zb_asl::execute(&machine.parsed, input, &adapter, options, &mut sink).await;
        let record = {
            let mut r = running.record.lock().unwrap_or_else(|e| e.into_inner());
            r.stop = Some(Utc::now());
            match outcome {
                zb_asl::Outcome::Succeeded { output } => {
                    r.status = "SUCCEEDED".into();
                    r.output = Some(output.to_string());
                }
                zb_asl::Outcome::Failed { error, cause } => {
                    r.status = "FAILED".into();
                    // Absent when the failing state gave none: DescribeExecution then has no
                    // `error`/`cause` (test_base.py::TestSnfBase::test_state_fail_empty).
                    r.error = error;
                    r.cause = cause;
                }
                zb_asl::Outcome::TimedOut => {
                    r.status = "TIMED_OUT".into();
                    r.error = Some("States.Timeout".into());
                }
                zb_asl::Outcome::Aborted => {
                    if r.status != "ABORTED" {
                        r.status = "ABORTED".into();
                    }
                }
            }
            r.clone()
        };
        tracing::info!(execution = %record.name, status = %record.status, "execution finished");
        self.save(&record);
        // A finished history lives on disk only; memory keeps the summary, so
        // a long-running local cloud does not grow with every execution.
        running.record.lock().unwrap_or_else(|e| e.into_inner()).history = Vec::new();
        running.done.notify_waiters();
    }

    fn summary(r: &ExecutionRecord) -> Value {
        let mut v = json!({
            "executionArn": r.execution_arn,
            "stateMachineArn": r.state_machine_arn,
            "name": r.name,
            "status": r.status,
            "startDate": epoch(r.start),
        });
        if let Some(stop) = r.stop {
            v["stopDate"] = epoch(stop);
        }
        v
    }

    fn describe(r: &ExecutionRecord) -> Value {
        let mut v = Self::summary(r);
        v["input"] = json!(r.input);
        v["inputDetails"] = json!({"included": true});
        if let Some(o) = &r.output {
            v["output"] = json!(o);
            v["outputDetails"] = json!({"included": true});
        }
        if let Some(e) = &r.error {
            v["error"] = json!(e);
        }
        if let Some(c) = &r.cause {
            v["cause"] = json!(c);
        }
        v
    }

    /// Serves one Step Functions operation.
    pub async fn call(self: &Arc<Self>, op: &str, body: &Value) -> Result<Value, ApiError> {
        match op {
            "StartExecution" => {
                let running = self.start(
                    required(body, "stateMachineArn")?,
                    body.get("name").and_then(Value::as_str),
                    body.get("input").and_then(Value::as_str),
                )?;
                let r = running.record.lock().unwrap_or_else(|e| e.into_inner()).clone();
                Ok(json!({"executionArn": r.execution_arn, "startDate": epoch(r.start)}))
            }
            "StartSyncExecution" => {
                if self.machine(required(body, "stateMachineArn")?)?.def.kind != "EXPRESS" {
                    return Err(type_not_supported());
                }
                let running = self.start(
                    required(body, "stateMachineArn")?,
                    body.get("name").and_then(Value::as_str),
                    body.get("input").and_then(Value::as_str),
                )?;
                loop {
                    let done = running.done.notified();
                    if running.record.lock().unwrap_or_else(|e| e.into_inner()).status != "RUNNING" {
                        break;
                    }
                    done.await;
                }
                let r = running.record.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let mut v = Self::describe(&r);
                let ms = r.stop.map(|s| (s - r.start).num_milliseconds()).unwrap_or(0).max(0);
                v["billingDetails"] =
                    json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": ((ms + 99) / 100) * 100});
                Ok(v)
            }
            "DescribeExecution" => {
                refuse_express_arn(required(body, "executionArn")?)?;
                let r = self.execution(required(body, "executionArn")?)?;
                let r = r.record.lock().unwrap_or_else(|e| e.into_inner()).clone();
                Ok(Self::describe(&r))
            }
            "StopExecution" => {
                refuse_express_arn(required(body, "executionArn")?)?;
                let running = self.execution(required(body, "executionArn")?)?;
                let now = Utc::now();
                {
                    let mut r = running.record.lock().unwrap_or_else(|e| e.into_inner());
                    if r.status == "RUNNING" {
                        r.status = "ABORTED".into();
                        r.stop = Some(now);
                        r.error = body.get("error").and_then(Value::as_str).map(str::to_string);
                        r.cause = body.get("cause").and_then(Value::as_str).map(str::to_string);
                    }
                }
                running.cancel.stop(
                    body.get("error").and_then(Value::as_str).map(str::to_string),
                    body.get("cause").and_then(Value::as_str).map(str::to_string),
                );
                Ok(json!({"stopDate": epoch(now)}))
            }
            "ListExecutions" => {
                let sm = self.machine(required(body, "stateMachineArn")?)?;
                if sm.def.kind == "EXPRESS" {
                    return Err(type_not_supported());
                }
                let filter = body.get("statusFilter").and_then(Value::as_str);
                let order = self.order.read().unwrap_or_else(|e| e.into_inner()).clone();
                let execs = self.executions.read().unwrap_or_else(|e| e.into_inner());
                let matching: Vec<Value> = order
                    .iter()
                    .rev()
                    .filter_map(|arn| execs.get(arn))
                    .map(|r| r.record.lock().unwrap_or_else(|e| e.into_inner()).clone())
                    .filter(|r| r.state_machine_arn == sm.def.arn && filter.is_none_or(|f| r.status == f))
                    .map(|r| Self::summary(&r))
                    .collect();
                page(body, &SFN_PAGING, "executions", matching)
            }
            "GetExecutionHistory" => {
                refuse_express_arn(required(body, "executionArn")?)?;
                let r = self.execution(required(body, "executionArn")?)?;
                let record = r.record.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let mut events = if record.status == "RUNNING" {
                    record.history
                } else {
                    self.saved_history(&record.execution_arn)?
                };
                if body.get("reverseOrder") == Some(&Value::Bool(true)) {
                    events.reverse();
                }
                page(body, &SFN_PAGING, "events", events)
            }
            "CreateStateMachine" => self.create_machine(body),
            "UpdateStateMachine" => self.update_machine(body),
            "DeleteStateMachine" => self.delete_machine(body),
            "DescribeStateMachine" => self.describe_machine(body),
            "ListStateMachines" => self.list_machines(body),
            "ValidateStateMachineDefinition" => validate_definition(body),
            "TestState" => self.test_state(body).await,
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("the local cloud does not serve Step Functions {other}"),
            )),
        }
    }

    /// Waits until an execution is no longer RUNNING (tests and the demo).
    pub async fn wait(&self, exec_arn: &str) -> Option<ExecutionRecord> {
        let running = self.execution(exec_arn).ok()?;
        loop {
            let done = running.done.notified();
            let r = running.record.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if r.status != "RUNNING" {
                return Some(r);
            }
            done.await;
        }
    }
}

/// Parses the template's machines, all or none.
fn parse_template(defs: &[StateMachineDef]) -> Result<Vec<Machine>, SfnError> {
    let now = Utc::now();
    defs.iter()
        .map(|def| {
            let parsed = zb_asl::StateMachine::parse(&def.definition).map_err(|e| SfnError::Definition {
                name: def.logical_id.clone(),
                file: def.definition_path.as_ref().map(|p| p.display().to_string()),
                detail: e.to_string(),
            })?;
            Ok(Machine {
                def: def.clone(),
                parsed,
                created: now,
                role_arn: def.role_arn.clone(),
                origin: Origin::Template,
            })
        })
        .collect()
}

impl Running {
    pub fn record(&self) -> ExecutionRecord {
        self.record.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoLambda;

    impl zb_asl_invoker::DynInvoker for NoLambda {
        fn invoke(
            &self,
            _: &zb_asl_invoker::TaskCaller,
            _: &str,
            _: Value,
        ) -> futures::future::BoxFuture<'_, Result<Value, (String, String)>> {
            Box::pin(async { Err(("NoLambda".to_owned(), "no functions here".to_owned())) })
        }
    }

    // A Fail state without Error and Cause: DescribeExecution has neither field and ExecutionFailed's
    // details are empty (test_base.py::TestSnfBase::test_state_fail_empty).
    #[tokio::test]
    async fn empty_fail_state_execution_has_no_error_or_cause() {
        let dir = std::env::temp_dir().join(format!("zb-sfn-test-{}", uuid::Uuid::new_v4()));
        let sfn = StepFunctions::new(&[], Arc::new(NoLambda), dir.clone(), 0.001).unwrap();
        let definition = json!({"Comment": "RAISE_EMPTY_FAILURE", "StartAt": "FailState", "States": {"FailState": {"Type": "Fail"}}});
        let created = sfn
            .call(
                "CreateStateMachine",
                &json!({"name": "empty-fail", "definition": definition.to_string(), "roleArn": "arn:aws:iam::000000000000:role/sfn"}),
            )
            .await
            .unwrap();
        let started = sfn
            .call(
                "StartExecution",
                &json!({"stateMachineArn": created["stateMachineArn"], "input": "{}"}),
            )
            .await
            .unwrap();
        let arn = started["executionArn"].as_str().unwrap();
        sfn.wait(arn).await.unwrap();

        let described = sfn
            .call("DescribeExecution", &json!({"executionArn": arn}))
            .await
            .unwrap();
        assert_eq!(described["status"], "FAILED");
        assert!(
            described.get("error").is_none() && described.get("cause").is_none(),
            "{described}"
        );
        let history = sfn
            .call("GetExecutionHistory", &json!({"executionArn": arn}))
            .await
            .unwrap();
        let last = history["events"]
            .as_array()
            .and_then(|e| e.last())
            .cloned()
            .unwrap_or_default();
        assert_eq!(last["type"], "ExecutionFailed");
        assert_eq!(last["executionFailedEventDetails"], json!({}));
        let _ = std::fs::remove_dir_all(dir);
    }
}
