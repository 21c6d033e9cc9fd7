//! The per-invocation REPORT, as Lambda writes it.
//!
//! Text format (plain-text system logs), one tab after every field, `Init Duration` only after a cold start:
//!
//! ```text
//! REPORT RequestId: <id>\tDuration: 31414.74 ms\tBilled Duration: 31964 ms\tMemory Size: 2048 MB\tMax Memory Used: 273 MB\tInit Duration: 548.72 ms\t
//! ```
//!
//! and, when the platform (not the handler) ended the invocation, `Status: timeout` or
//! `Status: error\tError Type: Runtime.OutOfMemory` after the last field. Sources: REPORT lines copied from
//! CloudWatch, the Runtime Interface Emulator's `PrintEndReports`, and the `platform.report` record of the
//! Telemetry API (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html#platform-report>),
//! which is also what a function with `LogFormat: JSON` gets in CloudWatch.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// How an invocation ended, as the `status` of Lambda's `platform.report` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    /// The runtime posted a response.
    Success,
    /// The runtime posted an error (`/invocation/{id}/error`): a function error.
    Failure,
    /// The platform ended the invocation: the runtime exited, ran out of memory or failed to initialise.
    Error,
    /// The invocation ran into the function's timeout.
    Timeout,
}

impl ReportStatus {
    /// The `status` value of `platform.report`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Success => "success",
            ReportStatus::Failure => "failure",
            ReportStatus::Error => "error",
            ReportStatus::Timeout => "timeout",
        }
    }
}

impl fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The numbers Lambda reports for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request_id: String,
    /// Wall time of the invoke phase, in milliseconds (the function's timeout when it timed out).
    pub duration_ms: f64,
    /// What Lambda bills: Duration plus, after a cold start, Init Duration, rounded up to the next millisecond.
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    /// Peak resident memory of the instance's process, in MB rounded up, never above `memory_size_mb`.
    pub max_memory_used_mb: u32,
    /// Spawn to the runtime's first `GET /invocation/next`; only on the invocation that followed a cold start.
    pub init_duration_ms: Option<f64>,
    pub status: ReportStatus,
    /// Set for `Failure` (the runtime's error type) and `Error` (e.g. `Runtime.ExitError`).
    pub error_type: Option<String>,
}

impl Report {
    /// Builds a report from measured durations, applying Lambda's billing rule.
    pub fn new(
        request_id: impl Into<String>,
        duration: Duration,
        init_duration: Option<Duration>,
        memory_size_mb: u32,
        max_memory_used_mb: u32,
    ) -> Self {
        Report {
            request_id: request_id.into(),
            duration_ms: millis(duration),
            billed_duration_ms: billed_ms(duration, init_duration),
            memory_size_mb,
            max_memory_used_mb: max_memory_used_mb.min(memory_size_mb),
            init_duration_ms: init_duration.map(millis),
            status: ReportStatus::Success,
            error_type: None,
        }
    }

    pub(crate) fn with_status(mut self, status: ReportStatus, error_type: Option<String>) -> Self {
        self.status = status;
        self.error_type = error_type;
        self
    }

    /// The `platform.report` event (one JSON line, members in CloudWatch's order) a function with
    /// `LogFormat: JSON` gets in CloudWatch instead of the END and REPORT lines.
    pub fn to_platform_event(&self, time: DateTime<Utc>) -> String {
        let record = ReportRecord {
            request_id: &self.request_id,
            metrics: ReportMetrics {
                duration_ms: round3(self.duration_ms),
                billed_duration_ms: self.billed_duration_ms,
                memory_size_mb: self.memory_size_mb,
                max_memory_used_mb: self.max_memory_used_mb,
                init_duration_ms: self.init_duration_ms.map(round3),
            },
            status: self.status.as_str(),
            error_type: self.error_type.as_deref(),
        };
        PlatformEvent::new(time, "platform.report", record).to_line()
    }
}

/// The envelope of Lambda's JSON system log events: `{"time": ..., "type": ..., "record": {...}}`.
#[derive(Serialize)]
pub(crate) struct PlatformEvent<'a, R: Serialize> {
    time: String,
    #[serde(rename = "type")]
    kind: &'a str,
    record: R,
}

impl<'a, R: Serialize> PlatformEvent<'a, R> {
    pub(crate) fn new(time: DateTime<Utc>, kind: &'a str, record: R) -> Self {
        PlatformEvent {
            time: time.to_rfc3339_opts(SecondsFormat::Millis, true),
            kind,
            record,
        }
    }

    pub(crate) fn to_line(&self) -> String {
        // Serialising strings, numbers and derived structs cannot fail; an empty line would only hide a bug.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportRecord<'a> {
    request_id: &'a str,
    metrics: ReportMetrics,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
}

#[derive(Serialize)]
struct ReportMetrics {
    #[serde(rename = "durationMs")]
    duration_ms: f64,
    #[serde(rename = "billedDurationMs")]
    billed_duration_ms: u64,
    #[serde(rename = "memorySizeMB")]
    memory_size_mb: u32,
    #[serde(rename = "maxMemoryUsedMB")]
    max_memory_used_mb: u32,
    #[serde(rename = "initDurationMs", skip_serializing_if = "Option::is_none")]
    init_duration_ms: Option<f64>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.request_id, self.duration_ms, self.billed_duration_ms, self.memory_size_mb, self.max_memory_used_mb
        )?;
        if let Some(init) = self.init_duration_ms {
            write!(f, "Init Duration: {init:.2} ms\t")?;
        }
        // A function error (Failure) adds nothing: Lambda only reports the status when the platform ended the
        // invocation.
        match (self.status, &self.error_type) {
            (ReportStatus::Timeout, _) => f.write_str("Status: timeout"),
            (ReportStatus::Error, Some(error_type)) => write!(f, "Status: error\tError Type: {error_type}"),
            (ReportStatus::Error, None) => f.write_str("Status: error"),
            _ => Ok(()),
        }
    }
}

fn millis(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1_000_000.0
}

fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Lambda bills in 1 ms steps, rounding up, and for every runtime since 1 August 2025 (and for OS-only
/// runtimes such as provided.al2023 before that already) the init phase is billed too: Billed Duration =
/// ceil(Duration + Init Duration). "AWS Lambda standardizes billing for INIT Phase", AWS Compute Blog,
/// <https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/>; CloudWatch agrees:
/// `Duration: 31414.74 ms  Billed Duration: 31964 ms ... Init Duration: 548.72 ms`.
pub(crate) fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    let total = duration.as_nanos() + init.map_or(0, |d| d.as_nanos());
    let ms = total.div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(duration_us: u64, init_us: Option<u64>) -> Report {
        Report::new(
            "8f10f676-9f28-4dd8-ae05-83fe17ac5f8e",
            Duration::from_micros(duration_us),
            init_us.map(Duration::from_micros),
            2048,
            273,
        )
    }

    #[test]
    fn cold_start_line_matches_cloudwatch() {
        // Numbers from a REPORT line of a real cold start (see the module docs).
        let r = report(31_414_740, Some(548_720));
        assert_eq!(r.billed_duration_ms, 31_964);
        assert_eq!(
            r.to_string(),
            "REPORT RequestId: 8f10f676-9f28-4dd8-ae05-83fe17ac5f8e\tDuration: 31414.74 ms\tBilled Duration: 31964 ms\t\
             Memory Size: 2048 MB\tMax Memory Used: 273 MB\tInit Duration: 548.72 ms\t"
        );
    }

    #[test]
    fn warm_line_has_no_init_duration_and_rounds_up() {
        let r = report(1_072_146, None);
        assert_eq!(r.billed_duration_ms, 1073);
        assert_eq!(
            r.to_string(),
            "REPORT RequestId: 8f10f676-9f28-4dd8-ae05-83fe17ac5f8e\tDuration: 1072.15 ms\tBilled Duration: 1073 ms\t\
             Memory Size: 2048 MB\tMax Memory Used: 273 MB\t"
        );
    }

    #[test]
    fn billing_rounds_the_sum_up_and_never_bills_zero() {
        assert_eq!(
            billed_ms(Duration::from_micros(4_420), Some(Duration::from_micros(333_050))),
            338
        );
        assert_eq!(billed_ms(Duration::from_millis(1000), None), 1000);
        assert_eq!(billed_ms(Duration::from_nanos(1), None), 1);
        assert_eq!(billed_ms(Duration::ZERO, None), 1);
    }

    #[test]
    fn platform_errors_and_timeouts_carry_a_status() {
        let oom = report(800_100, None).with_status(ReportStatus::Error, Some("Runtime.OutOfMemory".into()));
        assert!(oom
            .to_string()
            .ends_with("Max Memory Used: 273 MB\tStatus: error\tError Type: Runtime.OutOfMemory"));
        let timeout = report(3_000_000, None).with_status(ReportStatus::Timeout, None);
        assert!(timeout.to_string().ends_with("\tStatus: timeout"));
        let failure = report(5_000, None).with_status(ReportStatus::Failure, Some("ValidationError".into()));
        assert!(failure.to_string().ends_with("Max Memory Used: 273 MB\t"));
    }

    #[test]
    fn memory_used_is_capped_at_the_memory_size() {
        let r = Report::new("id", Duration::from_millis(5), None, 128, 300);
        assert_eq!(r.max_memory_used_mb, 128);
    }

    #[test]
    fn json_report_has_the_platform_report_shape() {
        let time = DateTime::parse_from_rfc3339("2026-10-08T07:30:29.470Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = Report::new(
            "79b5",
            Duration::from_micros(1_233_960),
            Some(Duration::from_micros(463_512)),
            256,
            123,
        );
        // A CloudWatch line of a real function, byte for byte.
        assert_eq!(
            r.to_platform_event(time),
            r#"{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":"79b5","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":256,"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}"#
        );
        let oom = r
            .with_status(ReportStatus::Error, Some("Runtime.OutOfMemory".into()))
            .to_platform_event(time);
        assert!(
            oom.ends_with(r#""status":"error","errorType":"Runtime.OutOfMemory"}}"#),
            "{oom}"
        );
    }
}
