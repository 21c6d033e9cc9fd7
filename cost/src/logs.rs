//! Log events in the shape `aws logs filter-log-events` prints (and the local
//! cloud keeps in `.state/logs/<function>.jsonl`), and the file formats an
//! export comes in.

use serde::{Deserialize, Serialize};

/// One CloudWatch Logs event. The group name is needed to tell functions
/// apart; the stream to tell a function's execution environments apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub log_group_name: String,
    pub log_stream_name: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
    #[serde(default)]
    pub ingestion_time: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error("line {line}: not a log event: {source}")]
    Line {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("not a log event export: {0}")]
    Json(#[source] serde_json::Error),
    #[error(
        "the export has events without logGroupName; export with `aws logs filter-log-events` per group and \
         add it, or use the local cloud's .state/logs files"
    )]
    NoGroup,
}

/// `{"events": [...]}` as the AWS CLI prints it, possibly several of them
/// (one per page or group) concatenated.
#[derive(Deserialize)]
struct Wrapper {
    events: Vec<RawEvent>,
}

/// An exported event: the group name is missing when the CLI was asked for a
/// single group, so it may come from outside.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(default)]
    log_group_name: Option<String>,
    #[serde(default)]
    log_stream_name: String,
    timestamp: i64,
    message: String,
    #[serde(default)]
    ingestion_time: Option<i64>,
}

impl RawEvent {
    fn into_event(self, group: Option<&str>) -> Result<LogEvent, LogFileError> {
        let log_group_name = self
            .log_group_name
            .or_else(|| group.map(str::to_string))
            .ok_or(LogFileError::NoGroup)?;
        Ok(LogEvent {
            log_group_name,
            log_stream_name: self.log_stream_name,
            timestamp: self.timestamp,
            message: self.message,
            ingestion_time: self.ingestion_time,
        })
    }
}

/// Parses a file of exported events: the AWS CLI's `{"events": [...]}`
/// (one or several such documents), a JSON array of events, or one event per
/// line (the local cloud's files). `group` names the log group of events
/// that do not carry one.
pub fn parse_export(text: &str, group: Option<&str>) -> Result<Vec<LogEvent>, LogFileError> {
    let trimmed = text.trim_start();
    let mut out = Vec::new();
    if trimmed.starts_with('[') {
        let events: Vec<RawEvent> = serde_json::from_str(trimmed).map_err(LogFileError::Json)?;
        for e in events {
            out.push(e.into_event(group)?);
        }
        return Ok(out);
    }
    // A stream of JSON documents: CLI wrappers (pretty-printed over many
    // lines), or events one per line.
    let mut docs = serde_json::Deserializer::from_str(trimmed).into_iter::<serde_json::Value>();
    loop {
        // The line the next document starts on, to name it if it is not an event.
        let offset = docs.byte_offset();
        let rest = &trimmed[offset..];
        let start = offset + (rest.len() - rest.trim_start().len());
        let line = trimmed[..start].matches('\n').count() + 1;
        let Some(doc) = docs.next() else { break };
        let doc = doc.map_err(|source| LogFileError::Line {
            line: source.line(),
            source,
        })?;
        if doc.get("events").is_some() {
            let w: Wrapper = serde_json::from_value(doc).map_err(LogFileError::Json)?;
            for e in w.events {
                out.push(e.into_event(group)?);
            }
        } else {
            let e: RawEvent = serde_json::from_value(doc).map_err(|source| LogFileError::Line { line, source })?;
            out.push(e.into_event(group)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"logGroupName":"/aws/lambda/zb-ingest","logStreamName":"s1","timestamp":1,"message":"hello","ingestionTime":2}"#;

    #[test]
    fn reads_lines_arrays_and_cli_wrappers() {
        let lines = format!("{EVENT}\n{EVENT}\n");
        assert_eq!(parse_export(&lines, None).unwrap().len(), 2);
        assert_eq!(parse_export(&format!("[{EVENT},{EVENT}]"), None).unwrap().len(), 2);
        let cli = format!(r#"{{"events":[{EVENT}],"searchedLogStreams":[]}}{{"events":[{EVENT}]}}"#);
        let events = parse_export(&cli, None).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].log_group_name, "/aws/lambda/zb-ingest");
        assert_eq!(events[0].ingestion_time, Some(2));
        assert!(parse_export("", None).unwrap().is_empty());
    }

    #[test]
    fn a_group_can_come_from_outside_and_must_come_from_somewhere() {
        let bare = r#"{"events":[{"logStreamName":"s","timestamp":1,"message":"m"}]}"#;
        let events = parse_export(bare, Some("/aws/lambda/zb-persist")).unwrap();
        assert_eq!(events[0].log_group_name, "/aws/lambda/zb-persist");
        assert!(matches!(parse_export(bare, None), Err(LogFileError::NoGroup)));
    }

    #[test]
    fn a_bad_line_is_named() {
        let text = format!("{EVENT}\n{{\"timestamp\":\"x\"}}\n");
        let e = parse_export(&text, None).unwrap_err();
        assert!(e.to_string().starts_with("line 2: not a log event"), "{e}");
    }
}
