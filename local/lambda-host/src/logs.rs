//! What a function's log group would receive: the instance's stdout and stderr, line by line, and Lambda's own
//! platform lines (INIT_START, START, END, REPORT, ...) around each invocation, in text or JSON as the function's
//! `AWS_LAMBDA_LOG_FORMAT` says.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot};

use crate::report::{PlatformEvent, Report};

/// Where every log line goes. Sending never blocks the host; lines are dropped once the receiver is gone.
pub type LogSink = mpsc::UnboundedSender<LogLine>;

/// One line of a function's log stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub function: String,
    /// The instance (execution environment) that produced the line; 0 for lines no instance produced
    /// (injected faults).
    pub instance: u32,
    pub line: String,
    pub stream: LogStream,
    /// The invocation the instance was running when the line arrived (none during init).
    pub request_id: Option<String>,
    pub time: DateTime<Utc>,
}

/// Which source a [`LogLine`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    Stdout,
    Stderr,
    /// Written by the host on Lambda's behalf: INIT_START, START, END, REPORT, timeouts, runtime exits.
    Platform,
}

/// Lambda's runtime version string for the local instances (AWS prints e.g. `provided:al2023.v100`).
const RUNTIME_VERSION: &str = "provided:al2023.local";

/// CloudWatch splits longer lines into several events; the host does the same rather than buffer without bound.
const MAX_LINE_BYTES: usize = 256 * 1024;

/// Writes the platform lines of one instance.
#[derive(Clone)]
pub(crate) struct Platform {
    pub sink: LogSink,
    pub function: Arc<str>,
    pub function_arn: Arc<str>,
    pub instance: u32,
    pub json: bool,
}

impl Platform {
    fn emit(&self, line: String, request_id: Option<&str>) {
        let _ = self.sink.send(LogLine {
            function: self.function.to_string(),
            instance: self.instance,
            line,
            stream: LogStream::Platform,
            request_id: request_id.map(str::to_owned),
            time: Utc::now(),
        });
    }

    fn emit_json<R: Serialize>(&self, kind: &str, record: R, request_id: Option<&str>) {
        self.emit(PlatformEvent::new(Utc::now(), kind, record).to_line(), request_id);
    }

    pub fn init_start(&self) {
        if self.json {
            let record = InitStart {
                initialization_type: "on-demand",
                phase: "init",
                runtime_version: RUNTIME_VERSION,
                function_name: &self.function,
                function_version: "$LATEST",
            };
            self.emit_json("platform.initStart", record, None);
        } else {
            self.emit(format!("INIT_START Runtime Version: {RUNTIME_VERSION}"), None);
        }
    }

    /// Lambda writes INIT_REPORT only when init did not succeed (a successful init shows up as REPORT's
    /// Init Duration).
    pub fn init_failed(&self, elapsed: Duration, status: &str, error_type: Option<&str>) {
        let ms = elapsed.as_nanos() as f64 / 1_000_000.0;
        if self.json {
            let record = InitReport {
                initialization_type: "on-demand",
                phase: "init",
                status,
                error_type,
                metrics: InitMetrics {
                    duration_ms: (ms * 1000.0).round() / 1000.0,
                },
            };
            self.emit_json("platform.initReport", record, None);
        } else {
            let mut line = format!("INIT_REPORT Init Duration: {ms:.2} ms\tPhase: init\tStatus: {status}");
            if let Some(t) = error_type {
                line.push_str(&format!("\tError Type: {t}"));
            }
            self.emit(line, None);
        }
    }

    pub fn start(&self, request_id: &str) {
        if self.json {
            let record = Start {
                request_id,
                function_arn: &self.function_arn,
                version: "$LATEST",
            };
            self.emit_json("platform.start", record, Some(request_id));
        } else {
            let line = format!("START RequestId: {request_id} Version: $LATEST");
            self.emit(line, Some(request_id));
        }
    }

    /// The runtime went away mid-invocation (or during init): `RequestId: <id> Error: <why>` and the error type
    /// on its own line, as Lambda logs it. JSON logs carry this in `platform.report` instead.
    pub fn runtime_error(&self, request_id: &str, reason: &str, error_type: &str) {
        if !self.json {
            self.emit(format!("RequestId: {request_id} Error: {reason}"), Some(request_id));
            self.emit(error_type.to_owned(), Some(request_id));
        }
    }

    pub fn timed_out(&self, request_id: &str, timeout: Duration) {
        if !self.json {
            let line = format!("{} {request_id} {}", now(), timeout_message(timeout));
            self.emit(line, Some(request_id));
        }
    }

    pub fn end_and_report(&self, report: &Report) {
        let id = report.request_id.as_str();
        if self.json {
            // JSON system logs have no END; platform.report closes the invocation.
            self.emit(report.to_platform_event(Utc::now()), Some(id));
        } else {
            self.emit(format!("END RequestId: {id}"), Some(id));
            self.emit(report.to_string(), Some(id));
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitStart<'a> {
    initialization_type: &'a str,
    phase: &'a str,
    runtime_version: &'a str,
    function_name: &'a str,
    function_version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitReport<'a> {
    initialization_type: &'a str,
    phase: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    metrics: InitMetrics,
}

#[derive(Serialize)]
struct InitMetrics {
    #[serde(rename = "durationMs")]
    duration_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Start<'a> {
    request_id: &'a str,
    function_arn: &'a str,
    version: &'a str,
}

/// Lambda's wording, e.g. `Task timed out after 3.00 seconds`: the error message of the `Sandbox.Timedout` payload
/// (`RequestId: <id> Error: Task timed out after 3.00 seconds`, as the Runtime Interface Emulator and real Invoke
/// responses show it) and, prefixed with the time and request id, the log line.
pub(crate) fn timeout_message(timeout: Duration) -> String {
    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Forwards one pipe of an instance to the sink, line by line, and answers flush requests so the host can write
/// END/REPORT only after every line the runtime wrote before finishing.
pub(crate) struct Pump {
    flush: mpsc::UnboundedSender<oneshot::Sender<()>>,
}

impl Pump {
    pub fn start<R>(pipe: R, stream: LogStream, platform: &Platform, current: Arc<Mutex<Option<String>>>) -> Pump
    where
        R: AsyncRead + AsRawFd + Unpin + Send + 'static,
    {
        let (flush, flush_rx) = mpsc::unbounded_channel();
        let writer = LineWriter {
            sink: platform.sink.clone(),
            function: platform.function.to_string(),
            instance: platform.instance,
            stream,
            current,
            pending: Vec::new(),
        };
        tokio::spawn(pump(pipe, writer, flush_rx));
        Pump { flush }
    }

    /// Waits (bounded) until every byte the process wrote so far has been forwarded.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.flush.send(ack).is_ok() {
            // A pump that has finished drops the request: everything it read is already forwarded.
            let _ = tokio::time::timeout(Duration::from_secs(2), done).await;
        }
    }
}

struct LineWriter {
    sink: LogSink,
    function: String,
    instance: u32,
    stream: LogStream,
    current: Arc<Mutex<Option<String>>>,
    pending: Vec<u8>,
}

impl LineWriter {
    fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            self.send(&line[..line.len() - 1]);
        }
        if self.pending.len() >= MAX_LINE_BYTES {
            let line = std::mem::take(&mut self.pending);
            self.send(&line);
        }
    }

    fn finish(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.send(&line);
        }
    }

    fn send(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let request_id = self.current.lock().ok().and_then(|c| c.clone());
        let _ = self.sink.send(LogLine {
            function: self.function.clone(),
            instance: self.instance,
            line: String::from_utf8_lossy(line).into_owned(),
            stream: self.stream,
            request_id,
            time: Utc::now(),
        });
    }
}

async fn pump<R>(mut pipe: R, mut writer: LineWriter, mut flush_rx: mpsc::UnboundedReceiver<oneshot::Sender<()>>)
where
    R: AsyncRead + AsRawFd + Unpin,
{
    let fd = pipe.as_raw_fd();
    let mut chunk = vec![0u8; 16 * 1024];
    'outer: loop {
        tokio::select! {
            // `read` is cancel-safe: losing the race to a flush request loses no bytes.
            read = pipe.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => writer.push(&chunk[..n]),
            },
            Some(ack) = flush_rx.recv() => {
                // The pump is the pipe's only reader, so bytes written before the request are either forwarded
                // already or still counted by FIONREAD.
                while bytes_available(fd) > 0 {
                    match pipe.read(&mut chunk).await {
                        Ok(0) | Err(_) => {
                            let _ = ack.send(());
                            break 'outer;
                        }
                        Ok(n) => writer.push(&chunk[..n]),
                    }
                }
                let _ = ack.send(());
            }
        }
    }
    writer.finish();
}

/// Bytes waiting in a pipe (0 when unknown).
fn bytes_available(fd: RawFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at a live local.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n as *mut libc::c_int) };
    if rc == -1 {
        0
    } else {
        usize::try_from(n).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (LineWriter, mpsc::UnboundedReceiver<LogLine>) {
        let (sink, rx) = mpsc::unbounded_channel();
        let w = LineWriter {
            sink,
            function: "f".into(),
            instance: 1,
            stream: LogStream::Stdout,
            current: Arc::new(Mutex::new(Some("req".into()))),
            pending: Vec::new(),
        };
        (w, rx)
    }

    #[test]
    fn splits_lines_across_chunks_and_keeps_the_partial_tail() {
        let (mut w, mut rx) = writer();
        w.push(b"hel");
        w.push(b"lo\r\nwor");
        w.push(b"ld\n");
        w.push(b"tail");
        w.finish();
        let lines: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).map(|l| l.line).collect();
        assert_eq!(lines, ["hello", "world", "tail"]);
    }

    #[test]
    fn tags_lines_with_the_current_request() {
        let (mut w, mut rx) = writer();
        w.push(b"x\n");
        assert_eq!(rx.try_recv().unwrap().request_id.as_deref(), Some("req"));
    }

    #[test]
    fn text_platform_lines_use_lambdas_wording() {
        let (sink, mut rx) = mpsc::unbounded_channel();
        let p = Platform {
            sink,
            function: "f".into(),
            function_arn: "arn".into(),
            instance: 2,
            json: false,
        };
        p.start("abc");
        p.runtime_error("abc", "Runtime exited with error: exit status 1", "Runtime.ExitError");
        p.timed_out("abc", Duration::from_secs(3));
        p.init_failed(Duration::from_micros(1500), "error", Some("Runtime.ExitError"));
        let lines: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).map(|l| l.line).collect();
        assert_eq!(lines[0], "START RequestId: abc Version: $LATEST");
        assert_eq!(
            lines[1],
            "RequestId: abc Error: Runtime exited with error: exit status 1"
        );
        assert_eq!(lines[2], "Runtime.ExitError");
        assert!(
            lines[3].ends_with(" abc Task timed out after 3.00 seconds"),
            "{}",
            lines[3]
        );
        assert_eq!(
            lines[4],
            "INIT_REPORT Init Duration: 1.50 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError"
        );
    }

    #[test]
    fn json_platform_start_has_the_cloudwatch_shape() {
        let (sink, mut rx) = mpsc::unbounded_channel();
        let p = Platform {
            sink,
            function: "f".into(),
            function_arn: "arn:f".into(),
            instance: 1,
            json: true,
        };
        p.start("abc");
        let line = rx.try_recv().unwrap().line;
        let record =
            r#""type":"platform.start","record":{"requestId":"abc","functionArn":"arn:f","version":"$LATEST"}}"#;
        assert!(line.starts_with(r#"{"time":""#) && line.ends_with(record), "{line}");
    }
}
