//! The host running a real lambda_runtime bootstrap (src/bin/test_bootstrap.rs, built by cargo before these tests).
//! Assertions are on outcomes and orderings, never on how long things took.
#![cfg(feature = "test-bootstrap")]

use std::collections::BTreeSet;
use std::time::Duration;

use regex::Regex;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use zb_lambda_host::{FunctionSpec, HostError, HostOptions, Invocation, LambdaHost, LogLine, LogStream, ReportStatus};

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_zb-lambda-host-test-bootstrap");

fn spec(name: &str) -> FunctionSpec {
    let mut spec = FunctionSpec::new(name, BOOTSTRAP);
    spec.timeout = Duration::from_secs(5);
    spec.max_instances = 1;
    spec
}

fn with_mode(mut spec: FunctionSpec, mode: &str) -> FunctionSpec {
    spec.env.insert("ZB_TEST_MODE".into(), mode.into());
    spec
}

fn start(functions: Vec<FunctionSpec>) -> (LambdaHost, mpsc::UnboundedReceiver<LogLine>) {
    let (sink, logs) = mpsc::unbounded_channel();
    (LambdaHost::new(functions, sink), logs)
}

async fn call(host: &LambdaHost, function: &str, payload: Value) -> Invocation {
    host.invoke(function, payload.to_string().into_bytes()).await.unwrap()
}

fn body(invocation: &Invocation) -> Value {
    match &invocation.result {
        Ok(bytes) => serde_json::from_slice(bytes).unwrap(),
        Err(e) => panic!("invocation failed: {e}"),
    }
}

fn pid_of(invocation: &Invocation) -> u32 {
    u32::try_from(body(invocation)["pid"].as_u64().unwrap()).unwrap()
}

fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The log lines received so far.
fn drain(logs: &mut mpsc::UnboundedReceiver<LogLine>) -> Vec<LogLine> {
    std::iter::from_fn(|| logs.try_recv().ok()).collect()
}

fn report_regex() -> Regex {
    Regex::new(
        r"^REPORT RequestId: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB\t(Init Duration: \d+\.\d{2} ms\t)?(Status: (timeout|error\tError Type: [A-Za-z.]+))?$",
    )
    .unwrap()
}

#[tokio::test]
async fn echo_returns_the_payload_cold_then_warm() {
    let (host, mut logs) = start(vec![spec("echo")]);
    let payload = json!({"orders": [{"id": 1, "sku": "A-1"}], "partner": "acme"});

    let cold = call(&host, "echo", payload.clone()).await;
    assert_eq!(body(&cold), payload);
    assert!(
        cold.report.init_duration_ms.is_some(),
        "a cold start reports Init Duration"
    );
    assert_eq!(cold.report.status, ReportStatus::Success);

    let warm = call(&host, "echo", payload.clone()).await;
    assert_eq!(body(&warm), payload);
    assert_eq!(warm.instance, cold.instance, "the warm instance is reused");
    assert_eq!(warm.report.init_duration_ms, None, "a warm start has no Init Duration");
    assert_ne!(warm.request_id, cold.request_id);

    // Billed Duration covers Duration (+ Init Duration), rounded up to the millisecond.
    let cold_total = cold.report.duration_ms + cold.report.init_duration_ms.unwrap();
    assert!(cold.report.billed_duration_ms as f64 >= cold_total);
    assert!((cold.report.billed_duration_ms as f64) < cold_total + 1.0);
    assert!(warm.report.billed_duration_ms as f64 >= warm.report.duration_ms);
    assert!(
        cold.report.max_memory_used_mb > 0,
        "peak RSS of the instance is reported"
    );

    let re = report_regex();
    let lines = drain(&mut logs);
    let reports: Vec<&LogLine> = lines.iter().filter(|l| l.line.starts_with("REPORT ")).collect();
    assert_eq!(reports.len(), 2);
    for (line, inv) in reports.iter().zip([&cold, &warm]) {
        assert!(re.is_match(&line.line), "{:?}", line.line);
        assert_eq!(line.line, inv.report.to_string());
        assert_eq!(line.function, "echo");
        assert_eq!(line.stream, LogStream::Platform);
    }
    assert!(reports[0].line.contains("\tInit Duration: "));
    assert!(!reports[1].line.contains("Init Duration"));
    assert!(lines[0].line.starts_with("INIT_START "), "{:?}", lines[0]);
    host.shutdown().await;
}

#[tokio::test]
async fn the_runtime_sees_lambdas_environment_and_headers() {
    let mut f = spec("whoami");
    f.env.insert("ORDERS_TABLE".into(), "orders-local".into());
    f.memory_mb = 256;
    let (host, _logs) = start(vec![f]);
    let inv = call(&host, "whoami", json!({"op": "whoami"})).await;
    let me = body(&inv);
    let env = &me["env"];
    assert_eq!(me["requestId"], inv.request_id.as_str());
    assert_eq!(
        me["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:whoami"
    );
    assert!(me["xrayTraceId"].as_str().unwrap().starts_with("Root=1-"));
    assert!(me["deadline"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(env["ORDERS_TABLE"], "orders-local");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "whoami");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/whoami");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["_HANDLER"], "bootstrap");
    assert_eq!(env["PATH"], "/usr/local/bin:/usr/bin/:/bin:/opt/bin");
    assert!(Regex::new(r"^127\.0\.0\.1:\d+$")
        .unwrap()
        .is_match(env["AWS_LAMBDA_RUNTIME_API"].as_str().unwrap()));
    // The host's own environment does not leak in.
    assert!(
        env.get("CARGO_PKG_NAME").is_none() && env.get("HOME").is_none(),
        "{env}"
    );
    let task_root = std::path::Path::new(BOOTSTRAP).parent().unwrap();
    assert_eq!(env["LAMBDA_TASK_ROOT"], task_root.to_str().unwrap());
    assert_eq!(me["cwd"], task_root.to_str().unwrap());
    host.shutdown().await;
}

#[tokio::test]
async fn concurrent_invokes_scale_out_up_to_max_instances() {
    let mut f = spec("busy");
    f.max_instances = 2;
    let (host, _logs) = start(vec![f]);
    let calls = (0..4).map(|_| call(&host, "busy", json!({"op": "sleep", "ms": 300})));
    let done = futures::future::join_all(calls).await;
    let instances: BTreeSet<u32> = done.iter().map(|i| i.instance).collect();
    let pids: BTreeSet<u32> = done.iter().map(pid_of).collect();
    assert_eq!(
        instances.len(),
        2,
        "two instances for four concurrent invokes with max_instances = 2"
    );
    assert_eq!(pids.len(), 2);
    assert_eq!(
        done.iter().filter(|i| i.report.init_duration_ms.is_some()).count(),
        2,
        "two cold starts"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn beyond_max_instances_invokes_queue_then_are_throttled() {
    let (sink, _logs) = mpsc::unbounded_channel();
    let options = HostOptions {
        queue_timeout: Duration::from_millis(100),
        ..HostOptions::default()
    };
    let host = LambdaHost::with_options(vec![spec("single")], sink, options);
    let slow = json!({"op": "sleep", "ms": 1500}).to_string().into_bytes();
    let (a, b) = tokio::join!(host.invoke("single", slow.clone()), host.invoke("single", slow));
    // Whichever got the only instance, the other waited 100 ms for it and was turned away.
    let (ok, throttled): (Vec<_>, Vec<_>) = [a, b].into_iter().partition(Result::is_ok);
    assert_eq!((ok.len(), throttled.len()), (1, 1));
    assert!(ok[0].as_ref().unwrap().result.is_ok());
    match &throttled[0] {
        Err(e @ HostError::TooManyRequests { .. }) => {
            assert_eq!((e.aws_error_code(), e.http_status()), ("TooManyRequestsException", 429));
        }
        other => panic!("expected TooManyRequests, got {other:?}"),
    }
    host.shutdown().await;
}

#[tokio::test]
async fn a_function_error_comes_back_with_its_type_and_message() {
    let (host, mut logs) = start(vec![spec("fails")]);
    let inv = call(
        &host,
        "fails",
        json!({"op": "fail", "errorType": "ValidationError", "errorMessage": "bad order"}),
    )
    .await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.error_type, "ValidationError");
    assert_eq!(err.error_message, "bad order");
    let raw: Value = serde_json::from_slice(&err.raw).unwrap();
    assert_eq!(
        raw,
        json!({"errorType": "ValidationError", "errorMessage": "bad order"})
    );
    assert_eq!(inv.report.status, ReportStatus::Failure);
    assert_eq!(inv.report.error_type.as_deref(), Some("ValidationError"));
    assert!(report_regex().is_match(&inv.report.to_string()));

    // A function error leaves the instance warm.
    let next = call(&host, "fails", json!({"ok": true})).await;
    assert_eq!(body(&next), json!({"ok": true}));
    assert_eq!(next.instance, inv.instance);
    assert_eq!(next.report.init_duration_ms, None);
    assert!(drain(&mut logs).iter().all(|l| !l.line.contains("Runtime.ExitError")));
    host.shutdown().await;
}

#[tokio::test]
async fn a_timeout_kills_the_instance_and_the_next_invoke_starts_fresh() {
    let mut f = spec("slow");
    f.timeout = Duration::from_secs(1);
    let (host, mut logs) = start(vec![f]);
    let first = call(&host, "slow", json!({"op": "whoami"})).await;
    let pid = pid_of(&first);

    let inv = call(&host, "slow", json!({"op": "sleep", "ms": 10_000})).await;
    assert_eq!(inv.instance, first.instance);
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.error_type, "Sandbox.Timedout");
    assert_eq!(
        err.error_message,
        format!("RequestId: {} Error: Task timed out after 1.00 seconds", inv.request_id)
    );
    let raw: Value = serde_json::from_slice(&err.raw).unwrap();
    assert_eq!(raw["errorType"], "Sandbox.Timedout");
    assert_eq!(inv.report.status, ReportStatus::Timeout);
    assert_eq!(inv.report.duration_ms, 1000.0);
    assert_eq!(inv.report.billed_duration_ms, 1000);
    assert!(inv.report.to_string().ends_with("\tStatus: timeout"));
    assert!(!process_exists(pid), "the timed-out instance's process is gone");

    let lines = drain(&mut logs);
    let timed_out = lines
        .iter()
        .position(|l| l.line.ends_with("Task timed out after 1.00 seconds"))
        .unwrap();
    let end = lines
        .iter()
        .position(|l| l.line == format!("END RequestId: {}", inv.request_id))
        .unwrap();
    assert!(timed_out < end);
    assert!(lines[timed_out].line.contains(&inv.request_id));

    let after = call(&host, "slow", json!({"op": "whoami"})).await;
    assert_ne!(after.instance, inv.instance);
    assert_ne!(pid_of(&after), pid);
    assert!(after.report.init_duration_ms.is_some(), "a fresh instance cold-starts");
    host.shutdown().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn memory_over_the_limit_is_killed_and_reported() {
    let mut f = spec("hungry");
    f.memory_mb = 64;
    let (host, mut logs) = start(vec![f]);

    let fits = call(&host, "hungry", json!({"op": "alloc", "mb": 16})).await;
    let pid = pid_of(&fits);
    assert!(fits.report.max_memory_used_mb >= 16, "{}", fits.report);
    assert!(fits.report.max_memory_used_mb <= 64);

    let inv = call(&host, "hungry", json!({"op": "alloc", "mb": 200, "holdMs": 2000})).await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.error_type, "Runtime.OutOfMemory");
    assert_eq!(
        err.error_message,
        format!(
            "RequestId: {} Error: Runtime exited with error: signal: killed",
            inv.request_id
        )
    );
    assert_eq!(inv.report.status, ReportStatus::Error);
    assert_eq!(
        inv.report.max_memory_used_mb, 64,
        "Max Memory Used tops out at the memory size"
    );
    assert!(inv
        .report
        .to_string()
        .ends_with("Max Memory Used: 64 MB\tStatus: error\tError Type: Runtime.OutOfMemory"));
    assert!(!process_exists(pid));
    assert!(drain(&mut logs).iter().any(|l| l.line == "Runtime.OutOfMemory"));

    let after = call(&host, "hungry", json!({"op": "whoami"})).await;
    assert_ne!(pid_of(&after), pid);
    host.shutdown().await;
}

#[tokio::test]
async fn a_crash_mid_invocation_is_a_runtime_exit_error() {
    let (host, mut logs) = start(vec![spec("crashy")]);
    let first = call(&host, "crashy", json!({"op": "whoami"})).await;
    let inv = call(&host, "crashy", json!({"op": "crash", "code": 7})).await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.error_type, "Runtime.ExitError");
    assert_eq!(
        err.error_message,
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 7",
            inv.request_id
        )
    );
    assert_eq!(inv.report.error_type.as_deref(), Some("Runtime.ExitError"));
    assert!(inv
        .report
        .to_string()
        .ends_with("\tStatus: error\tError Type: Runtime.ExitError"));

    let lines = drain(&mut logs);
    let crash_line = lines.iter().position(|l| l.line == "test bootstrap: crashing").unwrap();
    let exit_line = lines
        .iter()
        .position(|l| {
            l.line
                == format!(
                    "RequestId: {} Error: Runtime exited with error: exit status 7",
                    inv.request_id
                )
        })
        .unwrap();
    assert!(crash_line < exit_line);
    assert_eq!(lines[exit_line + 1].line, "Runtime.ExitError");

    let after = call(&host, "crashy", json!({"op": "whoami"})).await;
    assert_ne!(after.instance, first.instance);
    assert_ne!(pid_of(&after), pid_of(&first));
    assert!(after.report.init_duration_ms.is_some());
    host.shutdown().await;
}

#[tokio::test]
async fn a_runtime_that_exits_during_init_fails_the_invoke() {
    let (host, mut logs) = start(vec![with_mode(spec("broken"), "exit-on-start")]);
    for _ in 0..2 {
        let inv = call(&host, "broken", json!({})).await;
        let err = inv.result.as_ref().unwrap_err();
        assert_eq!(err.error_type, "Runtime.ExitError");
        assert_eq!(
            err.error_message,
            format!(
                "RequestId: {} Error: Runtime exited with error: exit status 3",
                inv.request_id
            )
        );
        assert_eq!(inv.report.status, ReportStatus::Error);
        assert_eq!(inv.report.init_duration_ms, None);
        assert!(report_regex().is_match(&inv.report.to_string()), "{}", inv.report);
    }
    let lines: Vec<String> = drain(&mut logs).into_iter().map(|l| l.line).collect();
    let init_report = lines
        .iter()
        .position(|l| l.starts_with("INIT_REPORT Init Duration: "))
        .unwrap();
    assert!(lines[init_report].ends_with("\tPhase: init\tStatus: error\tError Type: Runtime.ExitError"));
    let said = lines
        .iter()
        .position(|l| l == "test bootstrap: exiting during init")
        .unwrap();
    let start = lines.iter().position(|l| l.starts_with("START RequestId: ")).unwrap();
    assert!(said < init_report && init_report < start, "{lines:#?}");
    host.shutdown().await;
}

#[tokio::test]
async fn an_init_error_report_comes_back_as_the_error() {
    let (host, mut logs) = start(vec![with_mode(spec("misconfigured"), "init-error")]);
    let inv = call(&host, "misconfigured", json!({})).await;
    let err = inv.result.as_ref().unwrap_err();
    assert_eq!(err.error_type, "Runtime.ConfigError");
    assert_eq!(err.error_message, "CONFIG_TABLE is not set");
    let raw: Value = serde_json::from_slice(&err.raw).unwrap();
    assert_eq!(raw["errorType"], "Runtime.ConfigError");
    assert_eq!(inv.report.status, ReportStatus::Error);
    let lines: Vec<String> = drain(&mut logs).into_iter().map(|l| l.line).collect();
    // The runtime explains itself; Lambda adds INIT_REPORT and the invocation's START/END/REPORT, no reason line.
    assert!(!lines.iter().any(|l| l.starts_with("RequestId: ")), "{lines:#?}");
    let start = lines.iter().position(|l| l.starts_with("START RequestId: ")).unwrap();
    let end = lines.iter().position(|l| l.starts_with("END RequestId: ")).unwrap();
    assert!(start < end && lines[end + 1].ends_with("\tStatus: error\tError Type: Runtime.ConfigError"));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("INIT_REPORT ") && l.ends_with("Error Type: Runtime.ConfigError")));
    host.shutdown().await;
}

#[tokio::test]
async fn function_output_sits_between_start_and_end() {
    let (host, mut logs) = start(vec![spec("chatty")]);
    let payload = json!({"op": "print", "stdout": ["out one", "out two"], "stderr": ["err one"]});
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(call(&host, "chatty", payload.clone()).await.request_id);
    }
    let lines = drain(&mut logs);
    for id in &ids {
        let mine: Vec<&LogLine> = lines
            .iter()
            .filter(|l| l.request_id.as_deref() == Some(id.as_str()))
            .collect();
        let text: Vec<&str> = mine.iter().map(|l| l.line.as_str()).collect();
        assert_eq!(
            text.first().copied(),
            Some(format!("START RequestId: {id} Version: $LATEST").as_str())
        );
        assert_eq!(text[text.len() - 2], format!("END RequestId: {id}"));
        assert!(text[text.len() - 1].starts_with(&format!("REPORT RequestId: {id}\t")));
        let out: Vec<&str> = mine
            .iter()
            .filter(|l| l.stream == LogStream::Stdout)
            .map(|l| l.line.as_str())
            .collect();
        assert_eq!(out, ["out one", "out two"]);
        assert!(mine
            .iter()
            .any(|l| l.stream == LogStream::Stderr && l.line == "err one"));
        // And in the sink's order too, not just by tag.
        let pos = |s: &str| {
            lines
                .iter()
                .position(|l| l.line == s && l.request_id.as_deref() == Some(id))
                .unwrap()
        };
        assert!(pos(&format!("START RequestId: {id} Version: $LATEST")) < pos("out one"));
        assert!(pos("out two") < pos(&format!("END RequestId: {id}")));
        assert!(pos("err one") < pos(&format!("END RequestId: {id}")));
    }
    host.shutdown().await;
}

#[tokio::test]
async fn json_log_format_switches_platform_lines_to_events() {
    let mut f = spec("structured");
    f.env.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
    let (host, mut logs) = start(vec![f]);
    let inv = call(&host, "structured", json!({"op": "whoami"})).await;
    assert_eq!(body(&inv)["env"]["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    let events: Vec<Value> = drain(&mut logs)
        .into_iter()
        .filter(|l| l.stream == LogStream::Platform)
        .map(|l| serde_json::from_str(&l.line).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["platform.initStart", "platform.start", "platform.report"]);
    let report = &events[2]["record"];
    assert_eq!(report["requestId"], inv.request_id.as_str());
    assert_eq!(report["status"], "success");
    assert_eq!(report["metrics"]["memorySizeMB"], 128);
    assert_eq!(report["metrics"]["billedDurationMs"], inv.report.billed_duration_ms);
    assert!(report["metrics"]["initDurationMs"].is_number());
    assert_eq!(
        events[1]["record"]["functionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:structured"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn injected_faults_fail_the_next_invokes_then_pass() {
    let (host, _logs) = start(vec![spec("flaky")]);
    host.inject_fault("flaky", "TransientDependencyError", Some(2));
    for _ in 0..2 {
        let inv = call(&host, "flaky", json!({"n": 1})).await;
        let err = inv.result.as_ref().unwrap_err();
        assert_eq!(err.error_type, "TransientDependencyError");
        assert_eq!(inv.instance, 0, "the binary was not reached");
    }
    let ok = call(&host, "flaky", json!({"n": 1})).await;
    assert_eq!(body(&ok), json!({"n": 1}));
    assert!(
        ok.report.init_duration_ms.is_some(),
        "the first real invocation is the cold start"
    );

    host.inject_fault("flaky", "States.TaskFailed", None);
    for _ in 0..3 {
        assert!(call(&host, "flaky", json!({})).await.result.is_err());
    }
    host.clear_faults();
    assert!(call(&host, "flaky", json!({})).await.result.is_ok());
    host.shutdown().await;
}

#[tokio::test]
async fn shutdown_leaves_no_child_process() {
    let mut f = spec("pool");
    f.max_instances = 2;
    f.timeout = Duration::from_secs(30);
    let (host, _logs) = start(vec![f]);
    let warmed =
        futures::future::join_all((0..2).map(|_| call(&host, "pool", json!({"op": "sleep", "ms": 200})))).await;
    let pids: BTreeSet<u32> = warmed.iter().map(pid_of).collect();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|p| process_exists(*p)));

    // One instance busy with a long invocation while the host shuts down, the other idle.
    let busy = tokio::spawn({
        let host = host.clone();
        async move {
            host.invoke("pool", json!({"op": "sleep", "ms": 20_000}).to_string().into_bytes())
                .await
        }
    });
    host.shutdown().await;
    assert!(matches!(busy.await.unwrap(), Err(HostError::ShuttingDown)));
    for pid in &pids {
        assert!(!process_exists(*pid), "pid {pid} survived shutdown");
    }
    assert!(matches!(
        host.invoke("pool", b"{}".to_vec()).await,
        Err(HostError::ShuttingDown)
    ));
}

#[tokio::test]
async fn dropping_the_last_handle_kills_idle_instances() {
    let (host, _logs) = start(vec![spec("dropped")]);
    let pid = pid_of(&call(&host, "dropped", json!({"op": "whoami"})).await);
    drop(host);
    // SIGKILL is immediate but reaping is not: wait (bounded) for the process to be gone.
    let gone = async {
        while process_exists(pid) && !is_zombie(pid) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the idle instance was not killed");
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false)
}

#[tokio::test]
async fn replacing_the_binary_retires_warm_instances() {
    let (host, _logs) = start(vec![spec("hot")]);
    let before = call(&host, "hot", json!({"op": "whoami"})).await;
    host.replace_binary("hot", BOOTSTRAP).await.unwrap();
    assert!(!process_exists(pid_of(&before)));
    let after = call(&host, "hot", json!({"op": "whoami"})).await;
    assert_ne!(after.instance, before.instance);
    assert!(after.report.init_duration_ms.is_some());
    host.shutdown().await;
}
