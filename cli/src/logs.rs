//! `zb logs [--function <id>] [--follow]`: the local functions' logs, from
//! the log groups the local cloud keeps in `<state dir>/logs/*.jsonl`
//! (CloudWatch log events, one per line), with START/END/REPORT lines,
//! coloured on a terminal (never with NO_COLOR or into a pipe).

use crate::render::{Output, Style};
use chrono::{DateTime, Local, TimeZone, Utc};
use clap::Args;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zb_lambda_host::{Report, ReportStatus};
use zb_local::logs::LogEvent;

/// How often `--follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("reading the local logs in {dir}: {source}")]
    Read { dir: String, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    #[error("writing the output: {0}")]
    Write(std::io::Error),
}

impl LogsError {
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Write(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// One function: its logical id in template.yaml (IngestFunction) or its name (zb-ingest)
    #[arg(long, short = 'f')]
    pub function: Option<String>,
    /// Only what concerns this feed: the lines that name it, and the START/END/REPORT of those invocations
    #[arg(long, value_name = "FEED_ID")]
    pub feed: Option<String>,
    /// Only one request: a Lambda request id or the API's (apigw-requestid), with its START/END/REPORT
    #[arg(long, value_name = "REQUEST_ID")]
    pub request: Option<String>,
    /// Keep printing new lines as the functions write them (Ctrl-C stops)
    #[arg(long)]
    pub follow: bool,
    /// Only lines newer than this: 30s, 10m, 2h, 1d [default: everything kept]
    #[arg(long, value_parser = crate::executions::parse_since)]
    pub since: Option<Duration>,
    /// The repository root (template.yaml, .state/)
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Stack name, to turn a logical id into the function's name
    #[arg(long, default_value = "zb")]
    pub stack: String,
    /// The local cloud's state folder [default: <repo>/.state]
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

/// ANSI colour for terminals; plain text otherwise (no-color.org).
pub(crate) fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Whether stdout gets colours: a terminal, and NO_COLOR unset or empty.
pub(crate) fn use_color() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var("NO_COLOR").ok();
    Style::detect(std::io::stdout().is_terminal(), no_color.as_deref(), false).color
}

/// The function's name in the log group `/aws/lambda/<name>`.
fn function_of(event: &LogEvent) -> &str {
    event
        .log_group_name
        .strip_prefix("/aws/lambda/")
        .unwrap_or(&event.log_group_name)
}

/// A colour per function, stable from run to run.
fn function_color(name: &str) -> &'static str {
    const PALETTE: [&str; 6] = ["36", "35", "34", "32", "96", "95"];
    let sum: usize = name.bytes().map(usize::from).sum();
    PALETTE[sum % PALETTE.len()]
}

/// How a message reads: Lambda's own lines dim, REPORT bold, errors red, warnings yellow.
fn message_color(message: &str) -> Option<&'static str> {
    let upper_level = |level: &str| message.contains(&format!("\"level\":\"{level}\"")) || message.starts_with(level);
    if message.starts_with("REPORT ") {
        Some("1")
    } else if message.starts_with("START ") || message.starts_with("END ") || message.starts_with("INIT_START") {
        Some("2")
    } else if upper_level("ERROR") || message.contains("\"errorType\"") {
        Some("31")
    } else if upper_level("WARN") {
        Some("33")
    } else {
        None
    }
}

/// Lambda's JSON system records (functions with `LogFormat: JSON`) as the
/// text lines Lambda writes otherwise: `platform.start` as START,
/// `platform.report` as REPORT. Anything else is shown as it is.
fn readable(message: &str) -> Option<String> {
    let v: Value = serde_json::from_str(message).ok()?;
    let record = v.get("record")?;
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or_default();
    match v.get("type")?.as_str()? {
        "platform.start" => Some(format!(
            "START RequestId: {} Version: {}",
            text("requestId"),
            record.get("version").and_then(Value::as_str).unwrap_or("$LATEST")
        )),
        "platform.report" => {
            let m = record.get("metrics")?;
            let number = |key: &str| m.get(key).and_then(Value::as_f64);
            let status = match text("status") {
                "timeout" => ReportStatus::Timeout,
                "error" => ReportStatus::Error,
                "failure" => ReportStatus::Failure,
                _ => ReportStatus::Success,
            };
            let report = Report {
                request_id: text("requestId").to_string(),
                duration_ms: number("durationMs")?,
                billed_duration_ms: m.get("billedDurationMs").and_then(Value::as_u64)?,
                memory_size_mb: u32::try_from(m.get("memorySizeMB").and_then(Value::as_u64)?).ok()?,
                max_memory_used_mb: u32::try_from(m.get("maxMemoryUsedMB").and_then(Value::as_u64)?).ok()?,
                init_duration_ms: number("initDurationMs"),
                status,
                error_type: record.get("errorType").and_then(Value::as_str).map(str::to_string),
            };
            Some(report.to_string().trim_end().to_string())
        }
        _ => None,
    }
}

/// One line of text output: local time, function, message.
pub(crate) fn render_line(event: &LogEvent, color: bool) -> String {
    let time = Utc
        .timestamp_millis_opt(event.timestamp)
        .single()
        .map(|t: DateTime<Utc>| t.with_timezone(&Local).format("%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "--:--:--.---".to_string());
    let function = function_of(event);
    let converted = readable(event.message.trim_end());
    let message = converted.as_deref().unwrap_or(event.message.trim_end());
    let message = match message_color(message) {
        Some(code) => paint(color, code, message),
        None => message.to_string(),
    };
    format!(
        "{} {} {message}",
        paint(color, "2", &time),
        paint(color, function_color(function), &format!("[{function}]"))
    )
}

/// Reads new whole lines from each log file since the last call.
struct Tail {
    dir: PathBuf,
    /// Only this file, when one function was asked for.
    only: Option<PathBuf>,
    offsets: BTreeMap<PathBuf, u64>,
}

impl Tail {
    fn files(&self) -> std::io::Result<Vec<PathBuf>> {
        if let Some(one) = &self.only {
            return Ok(vec![one.clone()]);
        }
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => Ok(entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// New events in time order. A line still being written is left for the next call.
    fn read_new(&mut self) -> std::io::Result<Vec<LogEvent>> {
        let mut out = Vec::new();
        for path in self.files()? {
            let mut file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let offset = self.offsets.entry(path).or_insert(0);
            // A file that shrank was replaced (a new state folder): start over.
            if file.metadata()?.len() < *offset {
                *offset = 0;
            }
            file.seek(SeekFrom::Start(*offset))?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            let complete = text.rfind('\n').map_or(0, |i| i + 1);
            for line in text[..complete].lines() {
                if let Ok(event) = serde_json::from_str::<LogEvent>(line) {
                    out.push(event);
                }
            }
            *offset += complete as u64;
        }
        out.sort_by_key(|e| e.timestamp);
        Ok(out)
    }
}

/// `--feed` / `--request`: an event is kept when its message names one of
/// the ids wanted, or names a request id of an invocation that does (so the
/// START, END and REPORT lines of those invocations come along). Ids are
/// learnt as events pass, in time order, and then also keep the lines of
/// the same invocation read earlier (its START).
#[derive(Debug, Default)]
pub(crate) struct Filter {
    /// What the operator asked for (a feed id or a request id).
    wanted: Vec<String>,
    /// Request ids of invocations that named what was wanted.
    requests: std::collections::BTreeSet<String>,
}

/// The request ids a log message carries: Lambda's (`requestId`, `RequestId`,
/// in platform records, tracing spans and cost records) and the API's.
fn request_ids(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(rest) = message
        .strip_prefix("START RequestId: ")
        .or_else(|| message.strip_prefix("END RequestId: "))
        .or_else(|| message.strip_prefix("REPORT RequestId: "))
    {
        if let Some(id) = rest.split_whitespace().next() {
            out.push(id.to_string());
        }
        return out;
    }
    let Ok(v) = serde_json::from_str::<Value>(message) else {
        return out;
    };
    let mut push = |v: Option<&Value>| {
        if let Some(id) = v.and_then(Value::as_str) {
            if !id.is_empty() && !out.iter().any(|o| o == id) {
                out.push(id.to_string());
            }
        }
    };
    push(v.get("RequestId"));
    push(v.get("ApiRequestId"));
    push(v.get("requestId"));
    push(v.get("record").and_then(|r| r.get("requestId")));
    push(v.get("span").and_then(|s| s.get("requestId")));
    out
}

impl Filter {
    pub(crate) fn new(feed: Option<&str>, request: Option<&str>) -> Option<Filter> {
        let wanted: Vec<String> = feed.into_iter().chain(request).map(str::to_string).collect();
        (!wanted.is_empty()).then(|| Filter {
            wanted,
            requests: Default::default(),
        })
    }

    /// The events (in time order) that concern what was wanted.
    pub(crate) fn apply(&mut self, events: Vec<LogEvent>) -> Vec<LogEvent> {
        for e in &events {
            if self.wanted.iter().any(|w| e.message.contains(w.as_str())) {
                self.requests.extend(request_ids(&e.message));
            }
        }
        events
            .into_iter()
            .filter(|e| {
                self.wanted.iter().any(|w| e.message.contains(w.as_str()))
                    || request_ids(&e.message).iter().any(|id| self.requests.contains(id))
            })
            .collect()
    }
}

/// The log file of a function, given its logical id or name.
fn function_name(args: &LogsArgs, function: &str) -> String {
    let template = args.repo.join("template.yaml");
    zb_local::template::load(&template, &args.stack, &BTreeMap::new())
        .ok()
        .and_then(|model| model.function(function).map(|f| f.name.clone()))
        .unwrap_or_else(|| function.to_string())
}

pub async fn run(output: Output, args: LogsArgs) -> Result<(), LogsError> {
    let state_dir = args.state_dir.clone().unwrap_or_else(|| args.repo.join(".state"));
    let dir = zb_local::logs::dir(&state_dir);
    let only = args.function.as_deref().map(|f| {
        let name = function_name(&args, f);
        // The same file name the local cloud writes (zb_local::logs).
        dir.join(format!("{name}.jsonl"))
    });
    if let Some(path) = &only {
        if !path.exists() && !args.follow {
            let known = known_functions(&dir);
            return Err(LogsError::Usage(format!(
                "no logs for {} in {}; functions with logs: {}",
                args.function.as_deref().unwrap_or_default(),
                dir.display(),
                if known.is_empty() {
                    "none yet".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let mut tail = Tail {
        dir: dir.clone(),
        only,
        offsets: BTreeMap::new(),
    };
    let cutoff = args
        .since
        .and_then(|d| chrono::Duration::from_std(d).ok())
        // Further back than dates go: everything.
        .map(|d| {
            Utc::now()
                .checked_sub_signed(d)
                .map_or(i64::MIN, |t| t.timestamp_millis())
        });
    let color = output == Output::Table && use_color();
    let read = |tail: &mut Tail| {
        tail.read_new().map_err(|source| LogsError::Read {
            dir: dir.display().to_string(),
            source,
        })
    };
    let mut filter = Filter::new(args.feed.as_deref(), args.request.as_deref());
    let mut keep = |events: Vec<LogEvent>| match filter.as_mut() {
        Some(f) => f.apply(events),
        None => events,
    };
    let first: Vec<LogEvent> = read(&mut tail)?
        .into_iter()
        .filter(|e| cutoff.is_none_or(|c| e.timestamp >= c))
        .collect();
    let first = keep(first);
    print(&first, output, color)?;
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => print(&keep(read(&mut tail)?), output, color)?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn known_functions(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn print(events: &[LogEvent], output: Output, color: bool) -> Result<(), LogsError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for event in events {
        let line = match output {
            Output::Table => render_line(event, color),
            Output::Json => serde_json::to_string(event).unwrap_or_default(),
        };
        writeln!(out, "{line}").map_err(LogsError::Write)?;
    }
    out.flush().map_err(LogsError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(function: &str, message: &str) -> LogEvent {
        LogEvent {
            log_group_name: format!("/aws/lambda/{function}"),
            log_stream_name: "2026/01/01/[$LATEST]00000001".into(),
            timestamp: 1_767_225_600_000,
            message: message.into(),
            ingestion_time: 1_767_225_600_000,
        }
    }

    #[test]
    fn plain_lines_carry_no_escape_codes() {
        let line = render_line(&event("zb-Ingest", "REPORT RequestId: r Duration: 3.1 ms"), false);
        assert!(
            line.ends_with(" [zb-Ingest] REPORT RequestId: r Duration: 3.1 ms"),
            "{line}"
        );
        assert!(!line.contains('\x1b'), "{line}");
    }

    #[test]
    fn json_platform_records_read_like_lambda_text_lines() {
        let report = r#"{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":"79b5","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}"#;
        let line = render_line(&event("zb-Ingest", report), false);
        assert!(
            line.ends_with("[zb-Ingest] REPORT RequestId: 79b5\tDuration: 1233.96 ms\tBilled Duration: 1698 ms\tMemory Size: 256 MB\tMax Memory Used: 123 MB\tInit Duration: 463.51 ms"),
            "{line}"
        );
        let start = r#"{"time":"t","type":"platform.start","record":{"requestId":"79b5","version":"$LATEST"}}"#;
        assert!(render_line(&event("zb-Ingest", start), false).ends_with("START RequestId: 79b5 Version: $LATEST"));
        let timeout = r#"{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":3000.0,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":20},"status":"timeout"}}"#;
        assert!(render_line(&event("f", timeout), false).ends_with("Status: timeout"));
    }

    #[test]
    fn colours_say_what_a_line_is() {
        let report = render_line(&event("zb-Ingest", "REPORT RequestId: r"), true);
        assert!(report.contains("\x1b[1mREPORT RequestId: r\x1b[0m"), "{report:?}");
        let error = render_line(&event("zb-Ingest", r#"{"level":"ERROR","message":"boom"}"#), true);
        assert!(error.contains("\x1b[31m{\"level\""), "{error:?}");
        let start = render_line(&event("zb-Ingest", "START RequestId: r"), true);
        assert!(start.contains("\x1b[2mSTART"), "{start:?}");
        let plain = render_line(&event("zb-Ingest", "hello"), true);
        assert!(plain.ends_with("\x1b[0m hello"), "{plain:?}");
    }

    #[test]
    fn feed_and_request_filters_keep_the_invocations_that_name_them() {
        let start = r#"{"time":"t","type":"platform.start","record":{"requestId":"L1","version":"$LATEST"}}"#;
        let named =
            r#"{"level":"INFO","message":"feed accepted","span":{"feedId":"F1","partnerId":"p","requestId":"L1"}}"#;
        let report = r#"{"type":"platform.report","record":{"requestId":"L1","metrics":{"durationMs":1.0,"billedDurationMs":1,"memorySizeMB":128,"maxMemoryUsedMB":20},"status":"success"}}"#;
        let other_start = r#"{"type":"platform.start","record":{"requestId":"L2"}}"#;
        let other = r#"{"level":"INFO","message":"feed accepted","span":{"feedId":"F2","requestId":"L2"}}"#;
        let cost = r#"{"ApiRequestId":"A1","FeedId":"F1","RequestId":"L1","record":"cost"}"#;
        let text = "START RequestId: L1 Version: $LATEST";
        let events: Vec<LogEvent> = [start, named, other_start, other, cost, report, text]
            .iter()
            .map(|m| event("zb-ingest", m))
            .collect();
        let mut by_feed = Filter::new(Some("F1"), None).unwrap();
        let kept: Vec<String> = by_feed.apply(events.clone()).into_iter().map(|e| e.message).collect();
        assert_eq!(kept, [start, named, cost, report, text]);
        // A request id: the API's or Lambda's.
        let mut by_api = Filter::new(None, Some("A1")).unwrap();
        let kept = by_api.apply(events.clone());
        assert_eq!(kept.len(), 5, "{kept:?}");
        let mut by_lambda = Filter::new(None, Some("L2")).unwrap();
        let kept: Vec<String> = by_lambda.apply(events).into_iter().map(|e| e.message).collect();
        assert_eq!(kept, [other_start, other]);
        assert!(Filter::new(None, None).is_none());
        // Text that is not JSON names no request.
        assert!(request_ids("hello {").is_empty());
    }

    #[test]
    fn tail_reads_each_whole_line_once() {
        let dir = std::env::temp_dir().join(format!("zb-logs-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("zb-Ingest.jsonl");
        let line = |m: &str| serde_json::to_string(&event("zb-Ingest", m)).unwrap();
        std::fs::write(&file, format!("{}\n{}", line("one"), &line("two")[..10])).unwrap();
        let mut tail = Tail {
            dir: dir.clone(),
            only: None,
            offsets: BTreeMap::new(),
        };
        let first: Vec<String> = tail.read_new().unwrap().into_iter().map(|e| e.message).collect();
        assert_eq!(first, ["one"]);
        // The half-written line is completed, and one more arrives.
        std::fs::write(&file, format!("{}\n{}\n{}\n", line("one"), line("two"), line("three"))).unwrap();
        let next: Vec<String> = tail.read_new().unwrap().into_iter().map(|e| e.message).collect();
        assert_eq!(next, ["two", "three"]);
        assert!(tail.read_new().unwrap().is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
