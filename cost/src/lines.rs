//! What one log message says, for costing: Lambda's platform lines (START
//! and REPORT, as text or as the JSON `platform.*` events), our cost records,
//! Step Functions execution log lines, API Gateway access log lines.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// The numbers of one REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request_id: String,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: Option<u32>,
    pub init_ms: Option<f64>,
}

/// One cost record (shared/src/cost.rs), the fields costing reads.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CostRecord {
    #[serde(default)]
    pub function_name: String,
    #[serde(default)]
    pub feed_id: Option<String>,
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub api_request_id: Option<String>,
    #[serde(default)]
    pub api_request_bytes: Option<u64>,
    #[serde(default)]
    pub orders_handled: u64,
    #[serde(default, rename = "DynamoDbReadUnits")]
    pub dynamodb_read_units: Decimal,
    #[serde(default, rename = "DynamoDbWriteUnits")]
    pub dynamodb_write_units: Decimal,
    #[serde(default)]
    pub event_bridge_entries: u64,
    #[serde(default)]
    pub event_bridge_bytes: u64,
    #[serde(default)]
    pub orders_received: Option<f64>,
    #[serde(default)]
    pub orders_persisted: Option<f64>,
    #[serde(default)]
    pub orders_rejected: Option<f64>,
}

/// A Step Functions history event, as an Express workflow logs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SfnLogEvent {
    pub execution_arn: String,
    pub event_type: String,
    pub timestamp_ms: i64,
    /// The `details` object (input, output, ...).
    pub details: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// An invocation starts (`START RequestId: ...` / `platform.start`).
    Start {
        request_id: String,
    },
    /// An invocation ends (`REPORT ...` / `platform.report`).
    Report(Report),
    Cost(Box<CostRecord>),
    Sfn(Box<SfnLogEvent>),
    /// An API Gateway access log line, by its `$context.requestId`.
    Access {
        request_id: String,
    },
    /// Anything else: a function's own log line, END, INIT_START, ...
    Other,
}

/// Classifies one log message. Never fails: what it cannot read is `Other`.
pub fn classify(message: &str) -> Line {
    let m = message.trim_end();
    if let Some(rest) = m.strip_prefix("START RequestId: ") {
        let id = rest.split_whitespace().next().unwrap_or_default();
        return Line::Start {
            request_id: id.to_string(),
        };
    }
    if m.starts_with("REPORT RequestId: ") {
        return text_report(m).map_or(Line::Other, Line::Report);
    }
    if !m.starts_with('{') {
        return Line::Other;
    }
    let Ok(v) = serde_json::from_str::<Value>(m) else {
        return Line::Other;
    };
    if v.get("record").and_then(Value::as_str) == Some("cost") {
        return serde_json::from_value::<CostRecord>(v).map_or(Line::Other, |r| Line::Cost(Box::new(r)));
    }
    match v.get("type").and_then(Value::as_str) {
        Some("platform.start") => {
            return v
                .pointer("/record/requestId")
                .and_then(Value::as_str)
                .map_or(Line::Other, |id| Line::Start {
                    request_id: id.to_string(),
                })
        }
        Some("platform.report") => return json_report(&v).map_or(Line::Other, Line::Report),
        _ => {}
    }
    if let Some(e) = sfn_event(&v) {
        return Line::Sfn(Box::new(e));
    }
    // Access log lines carry these three at the top level (template.yaml's
    // AccessLogSettings.Format); function lines nest requestId in "span".
    if let (Some(id), true, true) = (
        v.get("requestId").and_then(Value::as_str),
        v.get("routeKey").is_some(),
        v.get("status").is_some(),
    ) {
        return Line::Access {
            request_id: id.to_string(),
        };
    }
    Line::Other
}

/// `REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 3.40 ms\t`
fn text_report(line: &str) -> Option<Report> {
    let mut r = Report {
        request_id: String::new(),
        duration_ms: 0.0,
        billed_ms: 0,
        memory_mb: 0,
        max_memory_used_mb: None,
        init_ms: None,
    };
    let (mut billed, mut memory) = (None, None);
    for field in line.trim_start_matches("REPORT ").split('\t') {
        let Some((name, value)) = field.split_once(": ") else {
            continue;
        };
        let number = || value.split_whitespace().next().and_then(|n| n.parse::<f64>().ok());
        match name.trim() {
            "RequestId" => r.request_id = value.trim().to_string(),
            "Duration" => r.duration_ms = number()?,
            "Billed Duration" => billed = number(),
            "Memory Size" => memory = number(),
            "Max Memory Used" => r.max_memory_used_mb = number().map(|n| n as u32),
            "Init Duration" => r.init_ms = number(),
            _ => {}
        }
    }
    r.billed_ms = billed? as u64;
    r.memory_mb = memory? as u32;
    (!r.request_id.is_empty()).then_some(r)
}

/// `{"type":"platform.report","record":{"requestId":..,"metrics":{"durationMs":..,"billedDurationMs":..,"memorySizeMB":..,"maxMemoryUsedMB":..,"initDurationMs":..}}}`
fn json_report(v: &Value) -> Option<Report> {
    let record = v.get("record")?;
    let metrics = record.get("metrics")?;
    let f = |k: &str| metrics.get(k).and_then(Value::as_f64);
    Some(Report {
        request_id: record.get("requestId")?.as_str()?.to_string(),
        duration_ms: f("durationMs")?,
        billed_ms: f("billedDurationMs")? as u64,
        memory_mb: f("memorySizeMB")? as u32,
        max_memory_used_mb: f("maxMemoryUsedMB").map(|n| n as u32),
        init_ms: f("initDurationMs"),
    })
}

/// An Express workflow's log line: `{"id": "3", "type": "TaskStateEntered",
/// "details": {...}, "execution_arn": "...", "event_timestamp": "1714559400123", ...}`.
fn sfn_event(v: &Value) -> Option<SfnLogEvent> {
    let execution_arn = v.get("execution_arn")?.as_str()?.to_string();
    let event_type = v.get("type")?.as_str()?.to_string();
    let timestamp_ms = match v.get("event_timestamp")? {
        Value::String(s) => s.trim().parse().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Some(SfnLogEvent {
        execution_arn,
        event_type,
        timestamp_ms,
        details: v.get("details").cloned().unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_platform_lines() {
        assert_eq!(
            classify("START RequestId: 8f10 Version: $LATEST"),
            Line::Start {
                request_id: "8f10".into()
            }
        );
        let line = "REPORT RequestId: 8f10\tDuration: 31414.74 ms\tBilled Duration: 31964 ms\tMemory Size: 2048 MB\tMax Memory Used: 273 MB\tInit Duration: 548.72 ms\t";
        assert_eq!(
            classify(line),
            Line::Report(Report {
                request_id: "8f10".into(),
                duration_ms: 31414.74,
                billed_ms: 31964,
                memory_mb: 2048,
                max_memory_used_mb: Some(273),
                init_ms: Some(548.72),
            })
        );
        let warm = "REPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout";
        let Line::Report(r) = classify(warm) else { panic!() };
        assert_eq!((r.billed_ms, r.init_ms), (1, None));
        assert_eq!(classify("END RequestId: a"), Line::Other);
        assert_eq!(classify("REPORT RequestId: a\tDuration: x ms"), Line::Other);
    }

    #[test]
    fn json_platform_lines() {
        let start = r#"{"time":"2026-11-25T03:35:09.803Z","type":"platform.start","record":{"requestId":"555a","functionArn":"arn","version":"$LATEST"}}"#;
        assert_eq!(
            classify(start),
            Line::Start {
                request_id: "555a".into()
            }
        );
        let report = r#"{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":"79b5","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}"#;
        let Line::Report(r) = classify(report) else { panic!() };
        assert_eq!(r.request_id, "79b5");
        assert_eq!((r.billed_ms, r.memory_mb, r.init_ms), (1698, 256, Some(463.512)));
    }

    #[test]
    fn cost_records_sfn_and_access_lines() {
        let rec = r#"{"DurationMs":81.098,"DynamoDbCalls":2,"DynamoDbReadUnits":0.5,"DynamoDbWriteUnits":2.0,"EventBridgeBytes":274,"EventBridgeEntries":1,"FeedId":"f1","FunctionName":"zb-ingest","OrdersHandled":3,"OrdersReceived":3.0,"PartnerId":"partner-a","RequestId":"r1","ApiRequestId":"api1","ApiRequestBytes":830,"record":"cost"}"#;
        let Line::Cost(c) = classify(rec) else { panic!() };
        assert_eq!(c.feed_id.as_deref(), Some("f1"));
        assert_eq!(c.api_request_id.as_deref(), Some("api1"));
        assert_eq!(c.api_request_bytes, Some(830));
        assert_eq!(c.dynamodb_read_units.to_string(), "0.5");
        assert_eq!(c.dynamodb_write_units.to_string(), "2");
        assert_eq!(
            (c.orders_handled, c.event_bridge_entries, c.event_bridge_bytes),
            (3, 1, 274)
        );
        assert_eq!(c.orders_received, Some(3.0));

        let sfn = r#"{"id":"1","type":"ExecutionStarted","details":{"input":"{\"feedId\":\"f1\"}","roleArn":"r"},"previous_event_id":"0","event_timestamp":"1714559400123","execution_arn":"arn:aws:states:us-east-1:1:express:sm:n:id","redrive_count":"0"}"#;
        let Line::Sfn(e) = classify(sfn) else { panic!() };
        assert_eq!(
            (e.event_type.as_str(), e.timestamp_ms),
            ("ExecutionStarted", 1_714_559_400_123)
        );

        let access =
            r#"{"requestId":"api1","requestTime":"t","httpMethod":"POST","routeKey":"POST /v1/feeds","status":"202"}"#;
        assert_eq!(
            classify(access),
            Line::Access {
                request_id: "api1".into()
            }
        );
        // A function's own line nests requestId: not an access line.
        let own = r#"{"level":"INFO","message":"feed accepted","span":{"requestId":"x"}}"#;
        assert_eq!(classify(own), Line::Other);
        assert_eq!(classify("{not json"), Line::Other);
    }
}
