//! Webhook delivery rules: the retry schedule, jitter, Retry-After, and
//! what each answer means. No I/O: functions/deliver applies them.

use std::time::Duration;

/// About a day in total: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub const DEFAULT_SCHEDULE: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// An endpoint failing for this long without a success is disabled.
pub const DISABLE_AFTER_SECS: i64 = 24 * 60 * 60;
/// The event put on the bus when an endpoint is disabled.
pub const WEBHOOK_ENDPOINT_DISABLED: &str = "WebhookEndpointDisabled";
/// A Retry-After beyond this is not honoured as such (it would outlive the schedule).
const MAX_RETRY_AFTER_SECS: u64 = 36_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WEBHOOK_RETRY_SCHEDULE must be comma-separated whole seconds, e.g. 5,300,1800; got {0:?}")]
pub struct BadSchedule(pub String);

/// The waits before each retry, from `WEBHOOK_RETRY_SCHEDULE` (the
/// template's WebhookRetrySchedule parameter) or the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<u64>);

impl Default for Schedule {
    fn default() -> Self {
        Self(DEFAULT_SCHEDULE.to_vec())
    }
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, BadSchedule> {
        let waits = text
            .split(',')
            .map(|p| p.trim().parse::<u64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| BadSchedule(text.to_string()))?;
        if waits.is_empty() {
            return Err(BadSchedule(text.to_string()));
        }
        Ok(Self(waits))
    }

    pub fn from_env() -> Result<Self, BadSchedule> {
        match std::env::var("WEBHOOK_RETRY_SCHEDULE") {
            Ok(v) if !v.trim().is_empty() => Self::parse(&v),
            _ => Ok(Self::default()),
        }
    }

    /// Attempts in all: the first, then one per wait.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// The wait after attempt number `attempt` (1-based) failed, or None
    /// when it was the last. `jitter` in [0, 1) spreads retries of many
    /// deliveries over ±20 % so a recovering endpoint is not hit at once;
    /// a Retry-After (429/503) is honoured when it asks for longer.
    pub fn next_wait(&self, attempt: u32, jitter: f64, retry_after: Option<u64>) -> Option<u64> {
        let base = *self.0.get(attempt.checked_sub(1)? as usize)?;
        let jittered = (base as f64 * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))).round() as u64;
        let floor = retry_after.map_or(0, |r| r.min(MAX_RETRY_AFTER_SECS));
        Some(jittered.max(floor).max(1))
    }
}

/// A uniform number in [0, 1) from the OS random source (0.5 if it fails:
/// jitter is a courtesy, not a correctness matter).
pub fn jitter() -> f64 {
    let mut b = [0u8; 4];
    match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

/// `Retry-After` as seconds: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.timestamp() - now.timestamp()).max(0) as u64)
}

/// What one answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// 410 Gone: the partner retired the endpoint.
    Gone,
    Failed,
}

/// Only 2xx is success; 410 disables the endpoint; anything else (3xx
/// included: redirects are not followed) is a failure to retry.
pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        410 => Verdict::Gone,
        _ => Verdict::Failed,
    }
}

/// Whether the answer's Retry-After is honoured.
pub fn honours_retry_after(status: u16) -> bool {
    status == 429 || status == 503
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_about_a_day() {
        let s = Schedule::default();
        assert_eq!(s.attempts(), 8);
        let total: u64 = s.0.iter().sum();
        assert!((86_000..=110_000).contains(&total), "{total}");
        assert_eq!(s.next_wait(1, 0.5, None), Some(5));
        assert_eq!(s.next_wait(2, 0.5, None), Some(300));
        assert_eq!(s.next_wait(7, 0.5, None), Some(36_000));
        assert_eq!(s.next_wait(8, 0.5, None), None, "eight attempts, then dead");
        assert_eq!(s.next_wait(0, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_retry_after_wins_when_longer() {
        let s = Schedule::default();
        assert_eq!(s.next_wait(2, 0.0, None), Some(240));
        assert_eq!(s.next_wait(2, 0.999_999, None), Some(360));
        assert_eq!(s.next_wait(1, 0.5, Some(120)), Some(120));
        assert_eq!(s.next_wait(2, 0.5, Some(10)), Some(300));
        assert_eq!(s.next_wait(1, 0.5, Some(10_000_000)), Some(36_000));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn schedules_parse_from_the_environment_form() {
        assert_eq!(Schedule::parse("1, 2,3"), Ok(Schedule(vec![1, 2, 3])));
        assert!(Schedule::parse("").is_err());
        assert!(Schedule::parse("5,soon").is_err());
    }

    #[test]
    fn answers() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now), Some(60));
        assert_eq!(parse_retry_after("later", now), None);
        assert_eq!(verdict(204), Verdict::Delivered);
        assert_eq!(verdict(410), Verdict::Gone);
        assert_eq!(verdict(301), Verdict::Failed);
        assert_eq!(verdict(500), Verdict::Failed);
        assert!(honours_retry_after(429) && honours_retry_after(503) && !honours_retry_after(500));
    }
}
