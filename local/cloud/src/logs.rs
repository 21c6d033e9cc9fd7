//! The local log groups: every function log line is appended to
//! `<state_dir>/logs/<function name>.jsonl`, and every line a state machine
//! logs (Express executions, in Step Functions' format) to
//! `<state_dir>/logs/group<log group name, made safe>.jsonl`, one CloudWatch
//! Logs event per line in the shape `aws logs filter-log-events` prints, so
//! that another process (`zb logs`, `zb cost report`, the CloudWatch Logs
//! read APIs of the AWS endpoint) reads local and exported AWS logs the same
//! way.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use zb_lambda_host::LogLine;

/// One log event, as FilterLogEvents returns it (plus the group name, which
/// an export of several groups needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub log_group_name: String,
    pub log_stream_name: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
    pub ingestion_time: i64,
}

/// The event as `zb cost report` reads it (zb-cost's own type).
impl From<LogEvent> for zb_cost::LogEvent {
    fn from(e: LogEvent) -> Self {
        Self {
            log_group_name: e.log_group_name,
            log_stream_name: e.log_stream_name,
            timestamp: e.timestamp,
            message: e.message,
            ingestion_time: Some(e.ingestion_time),
        }
    }
}

/// The folder of the local log groups.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("logs")
}

/// Lambda's log group name for a function.
pub fn group_name(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

fn file_for(state_dir: &Path, function: &str) -> PathBuf {
    // Function names are [A-Za-z0-9-_]; anything else is replaced so a name can never leave the folder.
    let safe: String = function
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir(state_dir).join(format!("{safe}.jsonl"))
}

/// The file of any log group: a function's group keeps its historical
/// `<function>.jsonl`, any other group `group<name with every character
/// outside [A-Za-z0-9-_] replaced by '_'>.jsonl`.
pub fn group_file(state_dir: &Path, group: &str) -> PathBuf {
    match group.strip_prefix("/aws/lambda/") {
        Some(function) => file_for(state_dir, function),
        None => file_for(state_dir, &format!("group{group}")),
    }
}

/// Appends events to their group's file (a state machine's lines: few per
/// execution, so the file is opened per batch).
pub fn append(state_dir: &Path, group: &str, events: &[LogEvent]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir(state_dir))?;
    let mut text = String::new();
    for e in events {
        text.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(group_file(state_dir, group))?;
    file.write_all(text.as_bytes())
}

/// Every event of one group, oldest first; an empty list when it has none yet.
pub fn read_group(state_dir: &Path, group: &str) -> std::io::Result<Vec<LogEvent>> {
    let file = match std::fs::File::open(group_file(state_dir, group)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        if let Ok(ev) = serde_json::from_str::<LogEvent>(&line?) {
            if ev.log_group_name == group {
                out.push(ev);
            }
        }
    }
    out.sort_by_key(|e| e.timestamp);
    Ok(out)
}

impl LogEvent {
    pub fn from_line(line: &LogLine) -> Self {
        let ms = line.time.timestamp_millis();
        Self {
            log_group_name: group_name(&line.function),
            // Lambda's stream name: date/[version]instance.
            log_stream_name: format!("{}/[$LATEST]{:08x}", line.time.format("%Y/%m/%d"), line.instance),
            timestamp: ms,
            message: line.line.clone(),
            ingestion_time: ms,
        }
    }
}

/// Appends every line to its function's file and passes it on. The returned
/// receiver sees the same lines as the files, in the same order.
pub fn persist(state_dir: &Path, lines: UnboundedReceiver<LogLine>) -> UnboundedReceiver<LogLine> {
    persist_flushable(state_dir, lines).0
}

/// Asks the task [`persist_flushable`] runs to write every line received so far.
#[derive(Clone)]
pub struct Flush(UnboundedSender<tokio::sync::oneshot::Sender<()>>);

impl Flush {
    /// Returns once every line sent before the call is in its file (or the
    /// writer is gone). Called at shutdown, so a process that exits right
    /// after loses no line (a REPORT lost there made `zb cost report` warn
    /// of invocations "still open").
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.0.send(done).is_ok() {
            let _ = wait.await;
        }
    }
}

/// [`persist`], and a handle to wait until what was sent is written.
pub fn persist_flushable(
    state_dir: &Path,
    mut lines: UnboundedReceiver<LogLine>,
) -> (UnboundedReceiver<LogLine>, Flush) {
    let (tx, rx): (UnboundedSender<LogLine>, _) = unbounded_channel();
    let (flush_tx, mut flushes) = unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
    let state_dir = state_dir.to_path_buf();
    tokio::spawn(async move {
        let mut files: std::collections::HashMap<String, std::io::BufWriter<std::fs::File>> = Default::default();
        if let Err(e) = std::fs::create_dir_all(dir(&state_dir)) {
            tracing::warn!(error = %e, "cannot create the log folder; logs are not kept");
        }
        loop {
            let (first, done) = tokio::select! {
                biased;
                line = lines.recv() => match line {
                    Some(l) => (Some(l), None),
                    None => break,
                },
                Some(done) = flushes.recv() => (None, Some(done)),
            };
            let mut batch: Vec<LogLine> = first.into_iter().collect();
            while let Ok(more) = lines.try_recv() {
                batch.push(more);
            }
            for line in &batch {
                let file = match files.entry(line.function.clone()) {
                    std::collections::hash_map::Entry::Occupied(o) => Some(o.into_mut()),
                    std::collections::hash_map::Entry::Vacant(v) => std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(file_for(&state_dir, &line.function))
                        .ok()
                        .map(|f| v.insert(std::io::BufWriter::new(f))),
                };
                if let (Some(file), Ok(json)) = (file, serde_json::to_string(&LogEvent::from_line(line))) {
                    let _ = writeln!(file, "{json}");
                }
            }
            // Flush once the burst is written, so a reader in another process sees it promptly.
            for f in files.values_mut() {
                let _ = f.flush();
            }
            for line in batch {
                let _ = tx.send(line);
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
        for f in files.values_mut() {
            let _ = f.flush();
        }
    });
    (rx, Flush(flush_tx))
}

/// Reads the local log groups: all functions, or the one named. Lines that
/// are not log events are skipped (a file being written can end mid-line).
pub fn read(state_dir: &Path, function: Option<&str>) -> std::io::Result<Vec<LogEvent>> {
    let mut paths = Vec::new();
    match function {
        Some(f) => paths.push(file_for(state_dir, f)),
        None => match std::fs::read_dir(dir(state_dir)) {
            Ok(entries) => {
                for e in entries.flatten() {
                    if e.path().extension().is_some_and(|x| x == "jsonl") {
                        paths.push(e.path());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        },
    }
    let mut out = Vec::new();
    for p in paths {
        let file = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in BufReader::new(file).lines() {
            if let Ok(ev) = serde_json::from_str::<LogEvent>(&line?) {
                out.push(ev);
            }
        }
    }
    out.sort_by_key(|e| e.timestamp);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zb_lambda_host::LogStream;

    #[tokio::test]
    async fn lines_reach_both_the_files_and_the_receiver() {
        let state = std::env::temp_dir().join(format!("zb-logs-test-{}", uuid::Uuid::new_v4()));
        let (tx, rx) = unbounded_channel();
        let mut out = persist(&state, rx);
        let line = |function: &str, text: &str| LogLine {
            function: function.into(),
            instance: 3,
            line: text.into(),
            stream: LogStream::Stdout,
            request_id: None,
            time: chrono::Utc::now(),
        };
        tx.send(line("zb-Ingest", "hello")).unwrap();
        tx.send(line("zb-Persist", "REPORT RequestId: x")).unwrap();
        assert_eq!(out.recv().await.unwrap().line, "hello");
        assert_eq!(out.recv().await.unwrap().line, "REPORT RequestId: x");
        let all = read(&state, None).unwrap();
        assert_eq!(all.len(), 2);
        let ingest = read(&state, Some("zb-Ingest")).unwrap();
        assert_eq!(ingest.len(), 1);
        assert_eq!(ingest[0].log_group_name, "/aws/lambda/zb-Ingest");
        assert!(ingest[0].log_stream_name.ends_with("[$LATEST]00000003"));
        assert_eq!(ingest[0].message, "hello");
        // A path-looking name stays inside the folder.
        assert!(file_for(&state, "../x").starts_with(dir(&state)));
        let _ = std::fs::remove_dir_all(state);
    }
}
